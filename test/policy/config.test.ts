/**
 * The policy keys of shepherd.yml (timezone, freezes, url, requires): each wrong value stops start with
 * the key named; good values load.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config.js';
import { machineTimeZone } from '../../src/zoned-time.js';

const dir = mkdtempSync(join(tmpdir(), 'shepherd-policy-config-'));
let n = 0;
function config(text: string): string {
  const path = join(dir, `c${++n}.yml`);
  writeFileSync(path, text);
  return path;
}
function problems(text: string): string {
  try {
    loadConfig({ SHEPHERD_CONFIG: config(text) });
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as ConfigError).problems.join('\n');
  }
  throw new Error('expected a ConfigError');
}

const app = (environments: string) => `
apps:
  web:
    repo: acme/web
    deploy_to: /srv/web
    environments:
${environments}
`;
const GOOD_ENVS = `      staging: { hosts: [stg-1] }
      production: { hosts: [web-1], requires: staging, url: "https://www.example.com" }`;

describe('policy configuration', () => {
  it('loads timezone, freezes, url and requires', () => {
    const c = loadConfig({
      SHEPHERD_CONFIG: config(`timezone: America/New_York
freezes:
  - { environments: [production], weekly: "fri 16:00 - mon 08:00", reason: weekend }
  - { environments: [production, staging], from: "2026-12-23 00:00", until: "2027-01-02 00:00", reason: holidays }
${app(GOOD_ENVS)}`),
    });
    expect(c.timezone).toBe('America/New_York');
    expect(c.freezes).toHaveLength(2);
    expect(c.apps.web?.environments.production).toMatchObject({ requires: 'staging', url: 'https://www.example.com' });
  });

  it('defaults the time zone to the machine’s and freezes to none', () => {
    const c = loadConfig({ SHEPHERD_CONFIG: config(app(GOOD_ENVS)) });
    expect(c.timezone).toBe(machineTimeZone());
    expect(c.freezes).toEqual([]);
    expect(c.apps.web?.environments.production).toMatchObject({ lock_after_rollback: true, approvals: 0, approval_window: 1_800_000 });
  });

  it.each([
    ['timezone', `timezone: Mars/Base\n${app(GOOD_ENVS)}`, /timezone: expected an IANA time zone/],
    ['timezone (not a string)', `timezone: 1\n${app(GOOD_ENVS)}`, /timezone: .*expected string/],
    ['freezes (not a list)', `freezes: weekend\n${app(GOOD_ENVS)}`, /freezes: .*expected array/],
    [
      'freezes[0].weekly',
      `freezes: [{ environments: [production], weekly: "fri 16:00 until mon", reason: x }]\n${app(GOOD_ENVS)}`,
      /freezes\[0\]\.weekly: expected a weekly window/,
    ],
    ['freezes[0].weekly (neither)', `freezes: [{ environments: [production], reason: x }]\n${app(GOOD_ENVS)}`, /freezes\[0\]\.weekly: give weekly/],
    [
      'freezes[0].weekly (both)',
      `freezes: [{ environments: [production], weekly: "fri 16:00 - mon 08:00", from: "2026-12-23", until: "2026-12-24", reason: x }]\n${app(GOOD_ENVS)}`,
      /freezes\[0\]\.weekly: give either/,
    ],
    [
      'freezes[0].from',
      `freezes: [{ environments: [production], from: "23.12.2026", until: "2027-01-02 00:00", reason: x }]\n${app(GOOD_ENVS)}`,
      /freezes\[0\]\.from: expected a local date and time/,
    ],
    [
      'freezes[0].until (alone)',
      `freezes: [{ environments: [production], from: "2026-12-23 00:00", reason: x }]\n${app(GOOD_ENVS)}`,
      /freezes\[0\]\.until: from and until go together/,
    ],
    [
      'freezes[0].until (before from)',
      `freezes: [{ environments: [production], from: "2027-01-02 00:00", until: "2026-12-23 00:00", reason: x }]\n${app(GOOD_ENVS)}`,
      /freezes\[0\]\.until: "2026-12-23 00:00" is not after from/,
    ],
    [
      'freezes[0].environments',
      `freezes: [{ environments: [prod], weekly: "fri 16:00 - mon 08:00", reason: x }]\n${app(GOOD_ENVS)}`,
      /freezes\[0\]\.environments\[0\]: "prod" is no app's environment/,
    ],
    ['freezes[0].reason', `freezes: [{ environments: [production], weekly: "fri 16:00 - mon 08:00" }]\n${app(GOOD_ENVS)}`, /freezes\[0\]\.reason/],
    [
      'url',
      app(`      production: { hosts: [web-1], url: "ftp://example.com" }`),
      /apps\.web\.environments\.production\.url: expected an http:\/\/ or https:\/\/ URL/,
    ],
    ['url (not a URL)', app(`      production: { hosts: [web-1], url: "www.example.com" }`), /apps\.web\.environments\.production\.url/],
    [
      'lock_after_rollback',
      app('      production: { hosts: [web-1], lock_after_rollback: "no" }'),
      /apps\.web\.environments\.production\.lock_after_rollback: .*expected boolean/,
    ],
    ['approvals', app('      production: { hosts: [web-1], approvals: -1 }'), /apps\.web\.environments\.production\.approvals/],
    ['approvals (more than 10)', app('      production: { hosts: [web-1], approvals: 11 }'), /apps\.web\.environments\.production\.approvals: .*10/],
    ['approvals (a fraction)', app('      production: { hosts: [web-1], approvals: 1.5 }'), /apps\.web\.environments\.production\.approvals: .*expected int/],
    [
      'approval_window (zero)',
      app('      production: { hosts: [web-1], approvals: 1, approval_window: 0 }'),
      /apps\.web\.environments\.production\.approval_window/,
    ],
    [
      'approvals (not a number)',
      app('      production: { hosts: [web-1], approvals: "one" }'),
      /apps\.web\.environments\.production\.approvals: .*expected number/,
    ],
    [
      'approval_window',
      app('      production: { hosts: [web-1], approvals: 1, approval_window: soon }'),
      /apps\.web\.environments\.production\.approval_window: expected a duration like 30s, 10m or 1h30m, got "soon"/,
    ],
    [
      'requires (unknown)',
      app('      production: { hosts: [web-1], requires: stagign }'),
      /apps\.web\.environments\.production\.requires: "stagign" is not one of its environments/,
    ],
    [
      'requires (itself)',
      app('      production: { hosts: [web-1], requires: production }'),
      /apps\.web\.environments\.production\.requires: "production" cannot require itself/,
    ],
    [
      'requires (cycle)',
      app('      staging: { hosts: [stg-1], requires: production }\n      production: { hosts: [web-1], requires: staging }'),
      /apps\.web\.environments\.(staging|production)\.requires: promotion order has a cycle: (staging → production → staging|production → staging → production)/,
    ],
  ])('stops start on a bad %s, naming the key', (_key, text, expected) => {
    expect(problems(text)).toMatch(expected);
  });

  it('stops the bot at start with every bad policy key named at once', async () => {
    const bad = config(
      `timezone: Mars/Base\nfreezes: [{ environments: [production], weekly: "someday", reason: x }]\n${app(
        '      production: { hosts: [web-1], requires: nowhere, approvals: -1, approval_window: soon, lock_after_rollback: maybe, url: "ftp://x" }',
      )}`,
    );
    const { startShepherd } = await import('../../src/main.js');
    const started = startShepherd({ env: { SHEPHERD_CONFIG: bad, DATABASE_URL: `file:${join(dir, 'never.db')}`, LOG_LEVEL: 'silent', WEB_PORT: '0' } });
    const err = await started.then(
      async (s) => {
        await s.stop();
        throw new Error('started with a bad config');
      },
      (e: unknown) => e as Error,
    );
    for (const key of [
      'timezone',
      'freezes[0].weekly',
      'production.requires',
      'production.approvals',
      'production.approval_window',
      'production.lock_after_rollback',
      'production.url',
    ]) {
      expect(err.message).toContain(key);
    }
  });

  it('requires another app’s environment only by name inside the same app', () => {
    const text = `
apps:
  web:
    repo: acme/web
    deploy_to: /srv/web
    environments:
      production: { hosts: [web-1], requires: qa }
  api:
    repo: acme/api
    deploy_to: /srv/api
    environments:
      qa: { hosts: [qa-1] }
`;
    expect(problems(text)).toMatch(/apps\.web\.environments\.production\.requires: "qa" is not one of its environments \(production\)/);
  });
});
