/**
 * docs/push-session.md stays true: its setup and session blocks are run as written (real git, `npm start` on
 * the shell chat, the real deploy engine on the local transport), and the whole push happens.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const root = new URL('../../', import.meta.url).pathname;
const doc = readFileSync(join(root, 'docs/push-session.md'), 'utf8');
const block = (name: string) => {
  const m = new RegExp(`\`\`\`bash ${name}\\n([\\s\\S]*?)\`\`\``).exec(doc);
  if (!m) throw new Error(`docs/push-session.md has no \`\`\`bash ${name} block`);
  return m[1] as string;
};

describe('docs/push-session.md', () => {
  const demo = mkdtempSync(join(tmpdir(), 'shepherd-push-session-'));
  afterAll(() => rmSync(demo, { recursive: true, force: true }));

  it('runs a whole push from the shell chat', () => {
    const env = { ...process.env, DEMO: join(demo, 'demo'), LOG_LEVEL: 'error', WEB_PORT: '0' };
    execFileSync('bash', ['-euo', 'pipefail', '-c', block('setup')], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    const run = spawnSync('bash', ['-c', block('session')], { cwd: root, env, encoding: 'utf8', timeout: 120_000 });
    expect(run.status, run.stderr).toBe(0);
    const out = run.stdout;
    const shipped = execFileSync('git', ['-C', join(demo, 'demo', 'web.git'), 'log', '-n', '1', '--format=%h', '-F', '--grep=Merge pull request #1 ', 'main'], {
      encoding: 'utf8',
    }).trim();

    expect(out).toMatch(/✋ you have ★★☆☆☆ \(2\/5\): picks are paused .* talk to a release manager/);
    expect(out).toMatch(/🚫 @bob: rm rejected pick 4/);
    expect(out).toMatch(/🙋 @alice @carol @erin: push 1 \(push\/[\d-]+\) has your approved picks/);
    expect(out).toMatch(/shipped: push\/[\d-]+ is at [0-9a-f]{7} — 1 pick in, 1 conflict, 1 deferred/);
    expect(out).toMatch(/💥 pick 2 .* conflicts in greeting.txt/);
    expect(out).toMatch(/⏭ pick 3 .*\(erin\) deferred to the next push/);
    expect(out).toMatch(/🎉 @alice: your picks are live in staging/);
    expect(out).toMatch(new RegExp(`📍 ${shipped} "Merge pull request #1 from acme/fix-login" by alice\\n[\\s\\S]*staging: running it since`));
    expect(out).toMatch(/📝 pick 6 requested for push 2: #4 .* by dave ★★★★☆ \(4\/5\)/);
    expect(out).toMatch(/push 2 opened with 1 pick deferred from the last push: pick 5/);

    // The push branch on the remote: the release base plus alice's change, recorded with -x.
    const branch = /push 1 \((push\/[\d.-]+)\) started/.exec(out)![1]!;
    const log = execFileSync('git', ['-C', join(demo, 'demo', 'web.git'), 'log', '--format=%s%n%b', `release..${branch}`], { encoding: 'utf8' });
    expect(log.match(/cherry picked from commit/g)).toHaveLength(1);
    expect(log).toContain('Fix the login redirect');
  });
});
