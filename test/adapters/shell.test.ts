/**
 * The README's promise, as a subprocess: `printf 'help\nkarma\n' | npm start` prints the help and the karma
 * reply and exits cleanly; broken configuration stops the bot with a message naming every bad key.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
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

/** shepherd.example.yml as shipped, except that the demo's releases land in a temp dir instead of ./data. */
function exampleConfig(): string {
  const dir = mkdtempSync(join(tmpdir(), 'shepherd-example-'));
  const yaml = readFileSync(join(root, 'shepherd.example.yml'), 'utf8');
  expect(yaml).toMatch(/production:\n(\s+.*\n)*?\s+confirm: true/);
  const path = join(dir, 'shepherd.yml');
  writeFileSync(path, yaml.replace('deploy_to: ./data/demo-deploy', `deploy_to: ${join(dir, 'demo-deploy')}`).replace('repo_url: .', `repo_url: ${root}`));
  return path;
}

describe('confirmations at the terminal (piped input, the example config)', () => {
  it('GIVEN `deploy demo to production` then `yes` THEN production deploys, and the shell exits only after the deploy', () => {
    const { status, stdout } = start('deploy demo to production\nyes\n', { SHEPHERD_CONFIG: exampleConfig() });
    expect(status).toBe(0);
    const askedAt = stdout.indexOf('about to deploy demo/HEAD');
    expect(askedAt).toBeGreaterThanOrEqual(0);
    expect(stdout).toContain('(type `yes` or `no`)');
    expect(stdout.indexOf('🚀 #1 deploying demo/HEAD')).toBeGreaterThan(askedAt);
    expect(stdout).toMatch(/✅ #1 demo\/HEAD \([0-9a-f]{7}\) → production succeeded/);
    expect(stdout).not.toContain('cancelled');
  });

  it('GIVEN another command while the question waits THEN it runs as a command and the question still takes `yes`', () => {
    const { status, stdout } = start('deploy demo to production\nkarma\nyes\n', { SHEPHERD_CONFIG: exampleConfig() });
    expect(status).toBe(0);
    const askedAt = stdout.indexOf('about to deploy demo/HEAD');
    const karmaAt = stdout.indexOf('★★★★☆ (4/5)');
    expect(karmaAt).toBeGreaterThan(askedAt);
    expect(stdout.indexOf('🚀 #1 deploying demo/HEAD')).toBeGreaterThan(karmaAt);
    expect(stdout).toMatch(/✅ #1 demo\/HEAD \([0-9a-f]{7}\) → production succeeded/);
  });

  it('GIVEN `no` THEN nothing deploys and the shell says so; lines after an answered question wait for its command', () => {
    const { status, stdout } = start('deploy demo to production\nno\ndeploys\n', { SHEPHERD_CONFIG: exampleConfig() });
    expect(status).toBe(0);
    const cancelledAt = stdout.indexOf('cancelled: not confirmed — demo/production stays on what it runs now, nothing was deployed');
    expect(cancelledAt).toBeGreaterThanOrEqual(0);
    expect(stdout).not.toContain('🚀');
    // `deploys` ran after the deploy command had finished (its answer comes after the cancel line).
    expect(stdout.indexOf('no deploys', cancelledAt)).toBeGreaterThan(cancelledAt);
  });

  it('GIVEN `yes` with no question pending THEN the bot says there is nothing to answer', () => {
    const { status, stdout } = start('yes\n');
    expect(status).toBe(0);
    expect(stdout).toContain('there is no question waiting for your `yes` here');
  });
});

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

/** Runs `printf <input> | npm start` with stdout on a pseudo-terminal (util-linux `script`), as in a real terminal. */
function startOnTty(input: string, env: Record<string, string>) {
  const dir = mkdtempSync(join(tmpdir(), 'shepherd-tty-'));
  const printf = `printf '${input.replace(/\n/g, '\\n')}'`;
  return spawnSync('script', ['-q', '-e', '-c', `${printf} | ${npm} start --silent`, '/dev/null'], {
    cwd: root,
    input: '',
    encoding: 'utf8',
    timeout: 90_000,
    env: { PATH: process.env.PATH, HOME: process.env.HOME, TERM: 'xterm', WEB_PORT: '0', DATABASE_URL: `file:${join(dir, 'tty.db')}`, ...env },
  });
}

function scriptUnavailable(): boolean {
  const found = spawnSync('script', ['--version'], { encoding: 'utf8' }).status === 0;
  if (!found && process.env.CI) throw new Error('util-linux `script` is needed for the terminal progress test in CI');
  if (!found) console.warn('skipping the pseudo-terminal test: util-linux `script` not found');
  return !found;
}

describe('the terminal: compact help, deploy progress', () => {
  it('GIVEN piped output THEN `help` is two lines and a deploy prints plain lines only (no \\r, no escape codes)', () => {
    const { status, stdout } = start('help\ndeploy demo to staging\n', { SHEPHERD_CONFIG: exampleConfig() });
    expect(status).toBe(0);
    const lines = stdout.split('\n');
    const helpAt = lines.findIndex((l) => l.startsWith('Commands: '));
    expect(lines[helpAt + 1]).toBe('`help <command>` for usage and examples, `help all` for a line on each');
    expect(lines[helpAt + 2]).not.toMatch(/^ {2}\S/); // not the long list
    expect(stdout).toMatch(/🚀 #1 deploying demo\/HEAD/);
    expect(stdout).toMatch(/✅ #1 demo\/HEAD \([0-9a-f]{7}\) → staging succeeded/);
    expect(stdout).not.toMatch(/[\r\x1b]/);
    expect(stdout).not.toContain('░');
  });

  it.skipIf(scriptUnavailable())('GIVEN stdout is a terminal THEN the progress is one line rewritten in place (\\r, clear line)', () => {
    const { status, stdout } = startOnTty('deploy demo to staging\n', { SHEPHERD_CONFIG: exampleConfig() });
    expect(status).toBe(0);
    expect(stdout).toMatch(/🚀 #1 deploying demo\/HEAD/);
    // One line: it shows 0/1 and is rewritten on the spot (carriage return + erase line, no newline between).
    expect(stdout).toMatch(/\n {2}↳ #1 ░ 0\/1 host\r\x1b\[K {2}↳ #1 ▓ 1\/1 host/);
    expect(stdout).toMatch(/✅ #1 demo\/HEAD \([0-9a-f]{7}\) → staging succeeded/);
  });
});
