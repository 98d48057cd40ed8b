import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../src/config.js';

const dir = mkdtempSync(join(tmpdir(), 'shepherd-config-'));
function file(name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}
function problems(env: Record<string, string>): string[] {
  try {
    loadConfig(env);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as ConfigError).problems;
  }
  throw new Error('expected a ConfigError');
}

describe('loadConfig', () => {
  it('loads the example config with every default', () => {
    const config = loadConfig({});
    expect(config.configPath).toMatch(/shepherd\.example\.yml$/);
    expect(config.env.DATABASE_URL).toBe('file:./data/shepherd.db');
    expect(config.env.WEB_HOST).toBe('127.0.0.1');
    expect(config.env.WEB_PORT).toBe(8080);
    expect(config.webBaseUrl).toBe('http://127.0.0.1:8080');
    expect(config.karma).toEqual({ initial: 4, block_at: 2 });
    expect(config.apps.demo?.transport).toBe('local');
    expect(config.apps.demo?.step_timeout).toBe(600_000);
    expect(config.apps.demo?.connect_timeout).toBe(10_000);
    expect(config.push.confirm_window).toBe(1_800_000);
    expect(Object.isFrozen(config)).toBe(true);
    expect(Object.isFrozen(config.apps.demo)).toBe(true);
  });

  it('reads booleans from the environment as words: "false" is false', () => {
    expect(loadConfig({ IRC_TLS: 'false' }).env.IRC_TLS).toBe(false);
    expect(loadConfig({ IRC_TLS: 'true' }).env.IRC_TLS).toBe(true);
    expect(loadConfig({ IRC_TLS: '0' }).env.IRC_TLS).toBe(false);
  });

  it('splits IRC_CHANNELS and takes WEB_BASE_URL without a trailing slash', () => {
    const config = loadConfig({ IRC_SERVER: 'irc.example', IRC_CHANNELS: '#deploys, #web', WEB_BASE_URL: 'https://ship.example/' });
    expect(config.env.IRC_CHANNELS).toEqual(['#deploys', '#web']);
    expect(config.webBaseUrl).toBe('https://ship.example');
  });

  it('reports every bad environment variable at once, naming each', () => {
    const found = problems({
      IRC_TLS: 'maybe',
      WEB_PORT: 'eighty',
      LOG_LEVEL: 'loud',
      DATABASE_URL: 'mysql://x',
      SLACK_BOT_TOKEN: 'xoxb-1',
      IRC_SERVER: 'irc',
    });
    const text = found.join('\n');
    for (const key of ['IRC_TLS', 'WEB_PORT', 'LOG_LEVEL', 'DATABASE_URL', 'SLACK_APP_TOKEN', 'IRC_CHANNELS']) expect(text).toContain(key);
    expect(found.length).toBeGreaterThanOrEqual(6);
  });

  it('reads push.auto_approve.max_risk next to push.risk, and names it when it is out of 0..100', () => {
    const ok = file('auto.yml', 'push: { risk: { lines: 100, comments: 5 }, auto_approve: { max_risk: 20 } }\n');
    const config = loadConfig({ SHEPHERD_CONFIG: ok });
    expect(config.push.auto_approve).toEqual({ max_risk: 20 });
    expect(config.push.risk).toEqual({ lines: 100, comments: 5 });
    const bad = file('auto-bad.yml', 'push: { auto_approve: { max_risk: 120 } }\n');
    expect(problems({ SHEPHERD_CONFIG: bad }).join('\n')).toContain('push.auto_approve.max_risk');
  });

  it('reads validate: (durations in ms, s, m; check or url with {host}) and names every bad key of it', () => {
    const app = (validate: string) =>
      `apps:\n  web:\n    repo: acme/web\n    deploy_to: /srv/web\n    environments:\n      production:\n        hosts: [web-1]\n        validate: ${validate}\n`;
    const ok = loadConfig({ SHEPHERD_CONFIG: file('validate.yml', app('{ for: 5m, every: 200ms, url: "http://{host}:8080/health", max_failures: 2 }')) });
    expect(ok.apps.web?.environments.production?.validate).toEqual({ for: 300_000, every: 200, url: 'http://{host}:8080/health', max_failures: 2 });
    const check = loadConfig({ SHEPHERD_CONFIG: file('validate-check.yml', app('{ for: 1m, every: 15s, check: "curl -fsS localhost/health" }')) });
    expect(check.apps.web?.environments.production?.validate).toMatchObject({ for: 60_000, every: 15_000, max_failures: 0 });

    const bad = (validate: string) => problems({ SHEPHERD_CONFIG: file('validate-bad.yml', app(validate)) }).join('\n');
    expect(bad('{ for: 5m, every: often, check: "true" }')).toMatch(
      /apps\.web\.environments\.production\.validate\.every: expected a duration like 30s, 10m or 1h30m, got "often"/,
    );
    expect(bad('{ for: 5m, every: 15s }')).toContain('environments.production.validate.check: give check (a command) or url');
    expect(bad('{ for: 5m, every: 15s, check: "true", url: "http://{host}/" }')).toContain('environments.production.validate.url: give check or url, not both');
    expect(bad('{ for: 5m, every: 15s, url: "http://web/health" }')).toContain('environments.production.validate.url: expected {host}');
    expect(bad('{ for: 5m, every: 15s, url: "ftp://{host}/health" }')).toContain('environments.production.validate.url: expected an http:// or https:// URL');
    expect(bad('{ for: 10s, every: 1m, check: "true" }')).toContain('environments.production.validate.every: must not be longer than for');
    expect(bad('{ for: 5m, every: 15s, check: "true", max_failures: -1 }')).toContain('environments.production.validate.max_failures');
    expect(bad('{ for: 5m, every: 15s, check: "true", retries: 3 }')).toContain('environments.production.validate: unknown key "retries"');
  });

  it('reports every bad key of shepherd.yml at once, with its path and what was expected', () => {
    const path = file(
      'bad.yml',
      `
release_managers: ["slack:*"]
karma: { initial: 9 }
push: { app: nope }
apps:
  web:
    repo: not-a-repo
    deploy_to: relative/path
    keep_releases: 0
    step_timeout: soon
    colour: blue
    default_environment: prod
    environments:
      staging:
        hosts: ["bad host!", { host: a, port: 99999 }]
        concurrency: 0
`,
    );
    const text = problems({ SHEPHERD_CONFIG: path }).join('\n');
    for (const key of [
      'release_managers[0]',
      'karma.initial',
      'push.app',
      'apps.web.repo',
      'apps.web.deploy_to',
      'apps.web.keep_releases',
      'apps.web.step_timeout',
      '"colour"',
      'apps.web.default_environment',
      'apps.web.environments.staging.hosts[0]',
      'apps.web.environments.staging.hosts[1]',
      'apps.web.environments.staging.concurrency',
    ]) {
      expect(text, key).toContain(key);
    }
    expect(text).toContain('expected a duration');
  });

  it('says when the file is missing or is not YAML', () => {
    expect(problems({ SHEPHERD_CONFIG: join(dir, 'missing.yml') }).join()).toMatch(/cannot read \(ENOENT\)/);
    const broken = file('broken.yml', 'apps: [unclosed\n  web: {');
    expect(problems({ SHEPHERD_CONFIG: broken }).join()).toMatch(/broken\.yml/);
    const duplicate = file('dup.yml', 'karma: {}\nkarma: {}\n');
    expect(problems({ SHEPHERD_CONFIG: duplicate }).join()).toMatch(/unique|duplicate/i);
  });

  it('accepts host, host:port and {host, port, user} entries', () => {
    const path = file(
      'hosts.yml',
      `
apps:
  web:
    repo: acme/web
    deploy_to: /srv/web
    environments:
      production:
        hosts: [web-1.example.com, "web-2.example.com:2222", { host: 127.0.0.2, port: 2200, user: deploy }]
`,
    );
    expect(loadConfig({ SHEPHERD_CONFIG: path }).apps.web?.environments.production?.hosts).toHaveLength(3);
  });
});

describe('config that would misbehave later is refused at start, naming the key', () => {
  const app = (extra: string) => `apps:\n  web:\n    repo: acme/web\n    deploy_to: /srv/web\n${extra}`;

  it('a NUL byte in a step, a path, a host or a key name', () => {
    const path = file(
      'nul.yml',
      `${app('    steps:\n      - "npm ci\\0; rm -rf /"\n    environments:\n      staging: { hosts: ["stg-1\\0"] }\n')}teams:\n  "we\\0b": {}\n`,
    );
    const found = problems({ SHEPHERD_CONFIG: path });
    expect(found).toContain(`${path}: apps.web.steps[0]: contains a NUL byte (\\0) — remove it`);
    expect(found).toContain(`${path}: apps.web.environments.staging.hosts[0]: contains a NUL byte (\\0) — remove it`);
    expect(found).toContain(`${path}: teams.we\\0b: contains a NUL byte (\\0) — remove it`);
  });

  it('several transport: local hosts in one environment (they would share deploy_to)', () => {
    const path = file(
      'local.yml',
      app('    transport: local\n    environments:\n      staging: { hosts: [localhost, 127.0.0.1] }\n      production: { hosts: [localhost] }\n'),
    );
    expect(problems({ SHEPHERD_CONFIG: path })).toEqual([
      `${path}: apps.web.environments.staging.hosts: transport: local runs every host on this machine in one deploy_to (/srv/web): list one host, or deploy over ssh`,
    ]);
  });
});
