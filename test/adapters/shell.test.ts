/**
 * The README's promise, as a subprocess: `printf 'help\nkarma\n' | npm start` prints the help and the karma
 * reply and exits cleanly; broken configuration stops the bot with a message naming every bad key.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../..', import.meta.url));
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';

function start(input: string, env: Record<string, string> = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'shepherd-shell-'));
  const result = spawnSync(npm, ['start', '--silent'], {
    cwd: root,
    input,
    encoding: 'utf8',
    timeout: 60_000,
    env: { PATH: process.env.PATH, HOME: process.env.HOME, WEB_PORT: '0', DATABASE_URL: `file:${join(dir, 'shell.db')}`, ...env },
  });
  return { ...result, dir };
}

describe('shell adapter via npm start', () => {
  it('answers piped commands in order and exits 0 at end of input', () => {
    const { status, stdout, stderr, dir } = start('help\nkarma\n');
    expect(stderr.replace(/npm warn Unknown user config.*\n/g, '')).toBe('');
    expect(status).toBe(0);
    const helpAt = stdout.indexOf('`help <command>` for usage and examples, `help all` for a line on each');
    const karmaAt = stdout.indexOf('you: ★★★★☆ (4/5)');
    expect(helpAt).toBeGreaterThanOrEqual(0);
    expect(karmaAt).toBeGreaterThan(helpAt);
    expect(existsSync(join(dir, 'shell.db'))).toBe(true);
  });

  it('keeps state across runs in the SQLite file and lets /as speak for someone else', () => {
    const first = start('lock staging demo\n/as alice lock staging\n');
    expect(first.status).toBe(0);
    expect(first.stdout).toMatch(/🔒 staging held by \S+ since just now — "demo"/);
    expect(first.stdout).toMatch(/✋ 🔒 staging held by \S+ .*ask them/);
    const second = start('locks\n', { DATABASE_URL: `file:${join(first.dir, 'shell.db')}` });
    expect(second.stdout).toMatch(/🔒 staging held by \S+ since .* — "demo"/);
  });

  it('exits non-zero naming every bad key of a broken shepherd.yml', () => {
    const dir = mkdtempSync(join(tmpdir(), 'shepherd-bad-'));
    const path = join(dir, 'shepherd.yml');
    writeFileSync(path, 'karma: { initial: 11 }\napps:\n  web: { deploy_to: /srv/web, environments: {} }\nsurprise: 1\n');
    const { status, stderr, stdout } = start('help\n', { SHEPHERD_CONFIG: path });
    expect(status).toBe(2);
    expect(stdout).toBe('');
    expect(stderr).toContain('shepherd: invalid configuration:');
    expect(stderr).toContain('karma.initial');
    expect(stderr).toContain('apps.web.environments: needs at least one environment');
    expect(stderr).toContain('apps.web.repo: give repo (owner/name) or repo_url');
    expect(stderr).toContain('unknown key "surprise"');
    expect(stderr).not.toMatch(/\n\s+at /); // no stack trace
  });

  it('exits non-zero naming a missing variable', () => {
    const { status, stderr } = start('help\n', { SLACK_BOT_TOKEN: 'xoxb-test', WEB_PORT: 'http' });
    expect(status).toBe(2);
    expect(stderr).toContain('environment variable SLACK_APP_TOKEN: SLACK_BOT_TOKEN is set: also set SLACK_APP_TOKEN');
    expect(stderr).toContain('environment variable WEB_PORT');
  });
});
