/**
 * "Where is my rev?" — `status <sha|branch|#PR>` over real git and the real deploy engine (local transport).
 * GIVEN a commit only in trunk, a pick shipped in the push and deployed to staging, and a SHA nobody has
 * THEN status says, for each: in trunk or not, which push and pick state, which environment runs it since
 * when — or that it does not know the revision.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { pickIdOf, type PushBot, pushBot } from './helpers.js';

describe('status <rev>', () => {
  let t: PushBot;
  let trunkOnly = '';
  let shippedSha = '';
  let shippedPick = 0;
  let shipReplies = '';

  beforeAll(async () => {
    t = await pushBot({ deployer: true });
    expect(await t.chat.say('rm', 'push start')).toMatch(/push 1 .* started/);
    shippedSha = t.git.mergePr(41, 'hotfix', { 'hotfix.txt': 'fixed\n' }, 'Hotfix the checkout', 'alice').merge;
    trunkOnly = t.git.commit({ 'later.txt': 'later\n' }, 'something for next week', 'bob');
    shippedPick = pickIdOf(await t.chat.say('alice', 'cp #41'));
    await t.chat.say('rm', `approve ${shippedPick}`);
    await t.chat.say('alice', 'here');
    shipReplies = await t.chat.say('rm', 'push ship');
    await t.deployer!.idle();
  });
  afterAll(async () => t?.close());

  it('ship deployed the push branch through the deploy engine and told the author it is live', async () => {
    expect(shipReplies).toMatch(/🚀 deploying push\/[\d-]+ to staging: deploy #1/);
    // Told from the deploy's finished event, after `push ship` has returned.
    expect(shipReplies).not.toMatch(/your picks are live/);
    await vi.waitFor(
      () => expect(t.chat.sent.map((s) => s.text).join('\n')).toMatch(/🎉 @alice: your picks are live in staging \(deploy #1 of push 1 .* succeeded\)/),
      { timeout: 10_000 },
    );
    const deploy = await t.store.db.deploy.findUniqueOrThrow({ where: { id: 1 } });
    const push = await t.store.db.push.findUniqueOrThrow({ where: { id: 1 } });
    expect(deploy).toMatchObject({ app: 'web', environment: 'staging', ref: push.branch, sha: push.headSha, state: 'succeeded' });
    expect(push).toMatchObject({ deployId: 1, environment: 'staging' });
    // The host really runs the push branch: the release has the cherry-picked file.
    const current = join(t.git.root, 'hosts', 'current');
    expect(existsSync(current)).toBe(true);
    expect(readFileSync(join(current, 'hotfix.txt'), 'utf8')).toBe('fixed\n');
  });

  it('a shipped pick: in trunk, in the push as shipped, running in staging since the deploy', async () => {
    const reply = await t.chat.say('bob', `status ${shippedSha.slice(0, 9)}`);
    const pickedSha = (await t.store.db.cherryPick.findUniqueOrThrow({ where: { id: shippedPick } })).pickedSha!;
    expect(reply).toMatch(new RegExp(`^📍 ${shippedSha.slice(0, 7)} "Merge pull request #41 from acme/hotfix" by alice`));
    expect(reply).toContain('CI: unknown (no GITHUB_TOKEN)');
    expect(reply).toContain('main: yes, it is in trunk');
    expect(reply).toMatch(new RegExp(`push 1 \\(push/[\\d-]+\\) \\[shipped\\]: pick ${shippedPick} shipped as ${pickedSha.slice(0, 7)}`));
    expect(reply).toMatch(/staging: running it since \d\d:\d\d \(.*, deploy #1\)/);
    expect(reply).toMatch(/production: nothing deployed yet/);
    // By PR number too (the pick records its commit), and by the push branch name.
    expect(await t.chat.say('bob', 'status #41')).toMatch(/\(PR #41\)[\s\S]*staging: running it since/);
    const push = await t.store.db.push.findUniqueOrThrow({ where: { id: 1 } });
    expect(await t.chat.say('bob', `status ${push.branch}`)).toMatch(new RegExp(`\\(branch ${push.branch}\\)[\\s\\S]*staging: running it since`));
  });

  it('a SHA in trunk only: in no push, not in staging', async () => {
    const reply = await t.chat.say('bob', `status ${trunkOnly}`);
    expect(reply).toContain('main: yes, it is in trunk');
    expect(reply).toContain('pushes: in none');
    expect(reply).toMatch(/staging: not there — it runs [0-9a-f]{7} \(deploy #1\)/);
  });

  it('an unknown SHA, branch or PR: says so in one line', async () => {
    expect(await t.chat.say('bob', 'status deadbeef')).toBe("❓ I don't know deadbeef: no such commit, branch or tag in the web repository (fetched just now)");
    expect(await t.chat.say('bob', 'status no-such-branch')).toMatch(/^❓ I don't know no-such-branch/);
    expect(await t.chat.say('bob', 'status #77')).toMatch(/^✋ I cannot look up PR #77: there is no GITHUB_TOKEN/);
    expect(await t.chat.say('bob', 'status $(id)')).toMatch(/^✋ "\$\(id\)" is not a SHA, a branch or #PR/);
  });

  it('every time it reached an environment and left it again (a rollback) is listed', async () => {
    const push = await t.store.db.push.findUniqueOrThrow({ where: { id: 1 } });
    const idle = () => t.deployer!.idle();
    // production: first the push's base (without the pick), then the push branch (with it), then a rollback.
    expect(await t.chat.say('rm', `deploy web/${push.baseSha} to production`)).not.toMatch(/✋/);
    await idle();
    expect(await t.chat.say('rm', `deploy web/${push.branch} to production`)).not.toMatch(/✋/);
    await idle();
    expect(await t.chat.say('rm', 'rollback web in production')).not.toMatch(/✋/);
    await idle();
    const deploys = await t.store.db.deploy.findMany({ where: { environment: 'production' }, orderBy: { id: 'asc' } });
    expect(deploys.map((d) => [d.kind, d.state])).toEqual([
      ['deploy', 'succeeded'],
      ['deploy', 'succeeded'],
      ['rollback', 'succeeded'],
    ]);
    const [, reached, rolledBack] = deploys;
    const reply = await t.chat.say('bob', `status ${shippedSha}`);
    expect(reply).toMatch(
      new RegExp(
        `production: not there since \\d\\d:\\d\\d \\(rolled back by deploy #${rolledBack!.id}\\) — it runs ${push.baseSha!.slice(0, 7)} \\(deploy #${rolledBack!.id}\\) — reached \\d\\d:\\d\\d \\(deploy #${reached!.id}\\), left \\d\\d:\\d\\d \\(deploy #${rolledBack!.id}, rollback\\)`,
      ),
    );
    // staging is untouched: still running it since the push's deploy, with no trail.
    expect(reply).toMatch(/staging: running it since \d\d:\d\d \(.*, deploy #1\)\n/);
  });

  it('the status overview shows the push', async () => {
    expect(await t.chat.say('bob', 'status')).toMatch(/Push:\n\s+push 1 \(push\/[\d-]+\) — shipped at [0-9a-f]{7} to staging\n\s+1 pick: 1 shipped/);
  });
});
