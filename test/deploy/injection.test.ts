import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exportPrefix, quote, quotePath } from '../../src/deploy/shell-quote.js';
import { type Sshd, skipWithoutSshd, startSshd } from '../support/sshd.js';
import { type DeployHarness, deployHarness, makeRepo, sshApp, type TestRepo } from './harness.js';

const HOSTILE = ["it's", '$(id)', '`id`', 'a"b', 'new\nline', '; rm -rf / #', "'\\''", '$HOME ${PATH}', '-n', '*', '\\', ' lead and trail '];

describe('shell quoting (through a real /bin/sh)', () => {
  it('GIVEN hostile values THEN quote() and exportPrefix() hand them to the shell byte for byte', () => {
    for (const value of HOSTILE) {
      expect(execFileSync('/bin/sh', ['-c', `printf '%s' ${quote(value)}`]).toString()).toBe(value);
      expect(execFileSync('/bin/sh', ['-c', `${exportPrefix({ SHEPHERD_REF: value })}printf '%s' "$SHEPHERD_REF"`]).toString()).toBe(value);
    }
  });
  it('GIVEN ~/ paths THEN quotePath keeps them relative to $HOME and quotes the rest', () => {
    expect(execFileSync('/bin/sh', ['-c', `printf '%s' ${quotePath("~/a b/$(x)'")}`], { env: { HOME: '/home/d' } }).toString()).toBe("/home/d/a b/$(x)'");
  });
  it('GIVEN a variable name that is not an identifier THEN exportPrefix refuses it', () => {
    expect(() => exportPrefix({ 'A;B': 'x' })).toThrow(/not an environment variable name/);
  });
});

describe.skipIf(skipWithoutSshd())('injection through chat is refused or treated as data', () => {
  let sshd: Sshd;
  let repo: TestRepo;
  let h: DeployHarness;
  let markers: string;

  beforeAll(async () => {
    sshd = await startSshd({ hosts: 1 });
    repo = makeRepo();
    repo.commit('first');
    markers = mkdtempSync(join(tmpdir(), 'shepherd-pwned-'));
    h = await deployHarness(
      sshApp({
        repoUrl: repo.bare,
        deployTo: sshd.deployTo,
        key: sshd.clientKey,
        hosts: [sshd.hosts[0]!.entry],
        steps: ['git clone --quiet "$SHEPHERD_REPO_URL" . && git checkout --quiet "$SHEPHERD_SHA"', 'printf "ref=[%s]\\n" "$SHEPHERD_REF"'],
      }),
    );
  });
  afterAll(async () => {
    await h?.close();
    repo?.close();
    await sshd?.stop();
    if (markers) rmSync(markers, { recursive: true, force: true });
  });

  it('GIVEN refs, app and environment names carrying shell syntax THEN each is refused with a reason and nothing runs', async () => {
    const m = (n: number) => join(markers, `pwned-${n}`);
    const attempts = [
      `deploy web/main;touch ${m(1)}`,
      `deploy "web/main;touch ${m(2)}"`,
      `deploy 'web/$(touch ${m(3)})'`,
      `deploy "web/\`touch ${m(4)}\`"`,
      'deploy web/--upload-pack=touch',
      `deploy "web/--upload-pack=touch ${m(5)}"`,
      'deploy web --upload-pack=x',
      `deploy "$(touch ${m(6)})"`,
      `deploy "web;touch ${m(7)}"/main`,
      `deploy web/main to "staging;touch ${m(8)}"`,
      `rollback "web;touch ${m(9)}"`,
      `deploys "$(touch ${m(10)})"`,
      `cancel "1;touch ${m(11)}"`,
      'deploy web/main..HEAD',
      'deploy web/.hidden',
    ];
    for (const text of attempts) {
      const reply = await h.chat.say('mallory', text);
      expect(reply, text).toMatch(/✋|usage:/);
      expect(reply, text).not.toMatch(/something went wrong/);
    }
    const texts = h.texts().join('\n');
    expect(texts).toContain('is not a branch, tag or SHA I will deploy: a ref may only contain letters, digits and . _ / + -');
    expect(texts).toContain('a ref cannot contain ".."');
    expect(texts).toContain('unknown option --upload-pack');
    expect(await h.store.deploys.recent({ limit: 100 })).toEqual([]);
    expect(readdirSync(markers)).toEqual([]);
    expect(readdirSync(sshd.hosts[0]!.root)).toEqual([]);
    // The bot is still fine.
    expect(await h.chat.say('mallory', 'deploys')).toMatch(/no deploys yet/);
  });

  it('GIVEN a valid but unusual branch name THEN it reaches the steps as data, exactly as typed', async () => {
    const sha = repo.commit('odd branch', { branch: 'feat/a+b_c-1.2' });
    await h.chat.say('alice', 'deploy web/feat/a+b_c-1.2');
    await h.deployer.idle();
    const [d] = await h.store.deploys.recent({});
    expect(d?.state).toBe('succeeded');
    expect(d?.sha).toBe(sha);
    const lines = await h.store.deploys.lines(d!.id);
    expect(lines.map((l) => l.text)).toContain('ref=[feat/a+b_c-1.2]');
    expect(existsSync(join(sshd.hosts[0]!.root, 'current'))).toBe(true);
  });
});
