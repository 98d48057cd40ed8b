/**
 * The GitHub-driven keys of shepherd.yml (allow_prs, outdated, auto_deploy) and GITHUB_WEBHOOK_SECRET: each
 * wrong value stops start with the key named; good values load with their defaults.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { allowsPullRequests, ConfigError, loadConfig } from '../../src/config.js';

const dir = mkdtempSync(join(tmpdir(), 'shepherd-github-config-'));
let n = 0;
function path(text: string): string {
  const p = join(dir, `c${++n}.yml`);
  writeFileSync(p, text);
  return p;
}
function problems(text: string): string {
  try {
    loadConfig({ SHEPHERD_CONFIG: path(text) });
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as ConfigError).problems.join('\n');
  }
  throw new Error('expected a ConfigError');
}
const yml = (environments: string, extra = '') => `
apps:
  web:
    repo: acme/web
    deploy_to: /srv/web
${extra}    environments:
${environments}
`;

describe('GitHub-driven configuration', () => {
  it('loads allow_prs and outdated; allow_prs defaults to false only where release managers alone may deploy', () => {
    const c = loadConfig({
      SHEPHERD_CONFIG: path(
        yml(`      staging: { hosts: [stg-1], outdated: 0 }
      production: { hosts: [web-1], allowed_roles: [release_manager] }
      demo: { hosts: [demo-1], allowed_roles: [release_manager], allow_prs: true }`),
      ),
      GITHUB_WEBHOOK_SECRET: 'hook-secret',
    });
    const envs = c.apps.web!.environments;
    expect(envs.staging!.outdated).toBe(0);
    expect(allowsPullRequests(envs.staging!)).toBe(true);
    expect(allowsPullRequests(envs.production!)).toBe(false);
    expect(allowsPullRequests(envs.demo!)).toBe(true);
    expect(c.env.GITHUB_WEBHOOK_SECRET).toBe('hook-secret');
  });

  it('names the key of a bad allow_prs or outdated', () => {
    const text = problems(yml(`      staging: { hosts: [stg-1], allow_prs: "yes", outdated: -1 }`));
    expect(text).toMatch(/apps\.web\.environments\.staging\.allow_prs/);
    expect(text).toMatch(/apps\.web\.environments\.staging\.outdated/);
  });

  it('loads auto_deploy with when: green by default and poll in ms; names every bad key', () => {
    const c = loadConfig({
      SHEPHERD_CONFIG: path(yml('      staging: { hosts: [stg-1] }', '    auto_deploy: { branch: main, to: staging, poll: 60s }\n')),
    });
    expect(c.apps.web!.auto_deploy).toEqual({ branch: 'main', to: 'staging', when: 'green', poll: 60_000 });
    const text = problems(yml('      staging: { hosts: [stg-1] }', `    auto_deploy: { branch: "a b", to: prod, when: always, poll: 2s, extra: 1 }\n`));
    expect(text).toMatch(/apps\.web\.auto_deploy\.branch/);
    expect(text).toMatch(/apps\.web\.auto_deploy\.to: "prod" is not one of its environments \(staging\)/);
    expect(text).toMatch(/apps\.web\.auto_deploy\.when/);
    expect(text).toMatch(/apps\.web\.auto_deploy\.poll: poll accepts 5s and up/);
    expect(text).toMatch(/apps\.web\.auto_deploy.*extra/);
  });
});
