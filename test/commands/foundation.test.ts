/**
 * Every foundation command through the real Bot and a real SQLite file: replies and database rows,
 * including every refusal.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { testBot, type TestBot } from '../support/bot.js';

let t: TestBot;
beforeEach(async () => {
  t = await testBot();
  // People the bot has seen: boss is a release manager (irc:boss), alice and bob are developers.
  for (const who of ['boss', 'alice', 'bob']) await t.chat.say(who, 'whoami');
});
afterEach(async () => t.close());

const db = () => t.store.db;
const userId = async (handle: string) => (await db().identity.findFirstOrThrow({ where: { handle } })).userId;

describe('help', () => {
  it('names every command in two lines, lists them with `help all`, and shows one with usage and examples', async () => {
    const names = ['status', 'lock', 'unlock', 'lock!', 'unlock!', 'locks', 'karma', 'like', 'unlike', 'oncall', 'whoami', 'iam'];
    const brief = await t.chat.say('alice', 'help');
    expect(brief.split('\n')).toHaveLength(2);
    for (const name of names) expect(brief.split('\n')[0]?.split(' ')).toContain(name);
    expect(brief).toContain('`help all`');
    const list = await t.chat.say('alice', 'help all');
    for (const name of names) {
      expect(list).toMatch(new RegExp(`^  ${name.replace('!', '\\!')} `, 'm'));
    }
    const one = await t.chat.say('alice', 'help oncall');
    expect(one).toContain('usage: oncall [team]');
    expect(one).toContain('oncall take web for 2h');
    expect(await t.chat.say('alice', 'help lokc')).toMatch(/did you mean `help lock`/);
  });

  it('answers an unknown command with the closest match, and audits it', async () => {
    expect(await t.chat.say('alice', 'karm')).toBe('unknown command `karm` — try `help` (did you mean `karma`?)');
    expect(await t.chat.say('alice', 'xyzzy')).toBe('unknown command `xyzzy` — try `help`');
    const audit = await db().auditEvent.findMany({ where: { outcome: 'unknown' } });
    expect(audit.map((a) => a.text)).toEqual(['karm', 'xyzzy']);
  });

  it('answers malformed input with a one-line reason', async () => {
    expect(await t.chat.say('alice', 'lock staging "half')).toMatch(/^unterminated quote/);
    expect(await t.chat.say('alice', `lock ${'x'.repeat(3000)}`)).toMatch(/^command too long/);
  });
});

describe('whoami and iam', () => {
  it('shows identity, roles and karma', async () => {
    expect(await t.chat.say('boss', 'whoami')).toBe(
      'you are irc:boss; GitHub: not linked — `iam github <login>`; roles: developer, release manager; karma ★★★★☆ (4/5)',
    );
    expect(await t.chat.say('alice', 'whoami')).toContain('roles: developer;');
  });

  it('links a GitHub login, which names the user but grants no roles until verified (test/commands/identity.test.ts)', async () => {
    expect(await t.chat.say('alice', 'iam github RM-Login')).toMatch(/^ok, you are rm-login on GitHub — linked, not verified/);
    expect((await db().user.findUniqueOrThrow({ where: { id: await userId('alice') } })).githubLogin).toBe('rm-login');
    expect(await t.chat.say('alice', 'whoami')).toContain('roles: developer;');
    expect(await t.chat.say('bob', 'karma @rm-login')).toMatch(/^alice: ★★★★☆/);
  });

  it('refuses a login already linked to someone else, and a malformed login', async () => {
    await t.chat.say('alice', 'iam github alice-gh');
    expect(await t.chat.say('bob', 'iam github alice-gh')).toBe(
      '✋ GitHub login alice-gh is already linked to alice — if that is wrong, ask a release manager',
    );
    expect(await t.chat.say('bob', 'iam github -bad-')).toMatch(/is not a GitHub login/);
    expect(await t.chat.say('bob', 'iam gitlab bob')).toMatch(/^usage: iam github <login>/);
    expect((await db().user.findUniqueOrThrow({ where: { id: await userId('bob') } })).githubLogin).toBeNull();
  });
});

describe('karma', () => {
  it('starts at karma.initial and shows history', async () => {
    expect(await t.chat.say('alice', 'karma')).toBe('you: ★★★★☆ (4/5)\n  no changes yet');
    await t.chat.say('boss', 'unlike @alice broke the build');
    const shown = await t.chat.say('bob', 'karma alice');
    expect(shown).toMatch(/^alice: ★★★☆☆ \(3\/5\)\n {2}just now: unlike by boss 4→3 — "broke the build"$/);
  });

  it('lets only release managers change it, records who and why, and tells the user', async () => {
    expect(await t.chat.say('alice', 'unlike @bob')).toMatch(/^✋ only a release manager can use `unlike` — ask one of: rm-login, irc:boss$/);
    expect(await t.chat.say('alice', 'karma reset @bob')).toMatch(/^✋ only a release manager can reset karma/);
    expect(await db().karmaEvent.count()).toBe(0);

    expect(await t.chat.say('boss', 'unlike @bob pick broke prod')).toBe('@bob: boss took a star from you — "pick broke prod": ★★★☆☆ (3/5)');
    expect(await t.chat.say('boss', 'unlike bob')).toBe(
      '@bob: boss took a star from you: ★★☆☆☆ (2/5) — your cherry-picks are paused until a release manager runs `karma reset bob`',
    );
    const events = await db().karmaEvent.findMany({ orderBy: { id: 'asc' } });
    expect(events.map((e) => [e.kind, e.before, e.after, e.reason, e.actorId])).toEqual([
      ['unlike', 4, 3, 'pick broke prod', await userId('boss')],
      ['unlike', 3, 2, null, await userId('boss')],
    ]);
    expect(await t.chat.say('boss', 'karma reset @bob paired on the fix')).toBe('@bob: boss reset the karma of you — "paired on the fix": ★★★★☆ (4/5)');
    expect((await db().user.findUniqueOrThrow({ where: { id: await userId('bob') } })).karma).toBe(4);
  });

  it('is bounded to 1..5', async () => {
    for (let i = 0; i < 6; i++) await t.chat.say('boss', 'unlike @bob');
    expect(await t.chat.say('boss', 'unlike @bob')).toContain('★☆☆☆☆ (1/5) (already at the bottom)');
    await t.chat.say('boss', 'karma reset bob');
    await t.chat.say('boss', 'like bob');
    expect(await t.chat.say('boss', 'like bob')).toContain('★★★★★ (5/5) (already at the top)');
    const users = await db().user.findMany({ where: { karma: { not: null } } });
    for (const u of users) expect(u.karma).toBeGreaterThanOrEqual(1);
    for (const u of users) expect(u.karma).toBeLessThanOrEqual(5);
  });

  it('refuses unknown users and self-likes', async () => {
    expect(await t.chat.say('boss', 'unlike @nobody')).toBe(
      "✋ I don't know @nobody — they need to say something to me first, or link their GitHub login with `iam github <login>`",
    );
    expect(await t.chat.say('boss', 'like @boss')).toBe('✋ you cannot like yourself — ask another release manager');
    expect(await t.chat.say('boss', 'like')).toMatch(/^name a user, e.g. @alice\nusage: like @user \[reason\]$/);
    expect(await db().karmaEvent.count()).toBe(0);
    const refused = await db().auditEvent.findMany({ where: { outcome: 'refused' } });
    expect(refused).toHaveLength(3);
  });
});

describe('locks', () => {
  it('locks, lists and unlocks an environment, with who, why and since when', async () => {
    expect(await t.chat.say('alice', 'lock staging testing the migration')).toBe(
      '🔒 staging held by alice since just now — "testing the migration" — `unlock staging` when done',
    );
    const row = await db().lock.findFirstOrThrow();
    expect([row.app, row.environment, row.reason, row.holderId]).toEqual(['*', 'staging', 'testing the migration', await userId('alice')]);
    expect(await t.chat.say('bob', 'locks')).toBe('🔒 staging held by alice since just now — "testing the migration"');
    expect(await t.chat.say('alice', 'unlock staging')).toBe('🔓 staging is free');
    expect(await db().lock.count()).toBe(0);
    expect(await t.chat.say('bob', 'locks')).toBe('no locks: every environment is free');
  });

  it('refuses a lock held by someone else, and says who holds it and what to do', async () => {
    await t.chat.say('alice', 'lock web/staging demo prep');
    expect(await t.chat.say('bob', 'lock web/staging')).toBe(
      '✋ 🔒 web/staging held by alice since just now — "demo prep" — ask them, or a release manager can `lock! web/staging`',
    );
    // An environment-wide lock conflicts with an app's lock there, and the other way round.
    expect(await t.chat.say('bob', 'lock staging')).toMatch(/^✋ 🔒 web\/staging held by alice/);
    expect(await t.chat.say('bob', 'lock api/staging')).toMatch(/^🔒 api\/staging held by bob/);
    expect(await t.chat.say('bob', 'unlock web/staging')).toMatch(/^✋ 🔒 web\/staging held by alice .* a release manager can `unlock! web\/staging`$/);
    expect(await t.chat.say('alice', 'lock web/staging')).toBe('✋ you already hold web/staging — `unlock web/staging` to free it');
    expect(await db().lock.count()).toBe(2);
  });

  it('refuses unknown apps and environments, and unlocking what is not locked', async () => {
    expect(await t.chat.say('alice', 'lock qa')).toBe('✋ unknown environment "qa" — known: production, staging');
    expect(await t.chat.say('alice', 'lock shop/staging')).toBe('✋ unknown app "shop" — known apps: web, api');
    expect(await t.chat.say('alice', 'lock api/production')).toBe('✋ api has no environment "production" — it has: staging');
    expect(await t.chat.say('alice', 'unlock staging')).toBe('✋ staging is not locked');
    expect(await t.chat.say('alice', 'lock')).toMatch(/^name an environment/);
    expect(await db().lock.count()).toBe(0);
  });

  it('lets release managers take over or break a lock, and tells the holder', async () => {
    await t.chat.say('alice', 'lock staging long test');
    expect(await t.chat.say('bob', 'lock! staging')).toMatch(/^✋ only a release manager can use `lock!`/);
    expect(await t.chat.say('bob', 'unlock! staging')).toMatch(/^✋ only a release manager can use `unlock!`/);
    expect(await t.chat.say('boss', 'lock! staging hotfix')).toBe('@alice: 🔒 staging held by boss since just now — "hotfix" (taken over from alice)');
    expect((await db().lock.findFirstOrThrow()).holderId).toBe(await userId('boss'));
    await t.chat.say('boss', 'unlock staging');
    await t.chat.say('alice', 'lock production');
    expect(await t.chat.say('boss', 'unlock! production')).toBe('@alice: 🔓 production lock broken by boss');
    expect(await db().lock.count()).toBe(0);
  });

  it('lets exactly one of many racing users win an environment', async () => {
    const racers = Array.from({ length: 12 }, (_, i) => `dev${i}`);
    for (const r of racers) await t.chat.say(r, 'whoami');
    const before = t.chat.sent.length;
    await Promise.all(racers.map((r) => t.chat.say(r, 'lock production release')));
    const replies = t.chat.sent.slice(before).map((s) => s.text);
    expect(replies.filter((r) => r.startsWith('🔒 production held by'))).toHaveLength(1);
    expect(replies.filter((r) => r.startsWith('✋ 🔒 production held by'))).toHaveLength(racers.length - 1);
    expect(await db().lock.count()).toBe(1);
  });

  it('lets exactly one win when environment-wide and per-app locks race (different rows, same environment)', async () => {
    const racers = Array.from({ length: 12 }, (_, i) => `dev${i}`);
    for (const r of racers) await t.chat.say(r, 'whoami');
    const before = t.chat.sent.length;
    await Promise.all(racers.map((r, i) => t.chat.say(r, i % 2 ? 'lock staging' : 'lock web/staging')));
    const replies = t.chat.sent.slice(before).map((s) => s.text);
    expect(replies.filter((r) => r.startsWith('🔒'))).toHaveLength(1);
    expect(await db().lock.count()).toBe(1);
  });

  it('refuses to hand out a lock a deploy holds', async () => {
    const deploy = await db().deploy.create({
      data: {
        app: 'web',
        environment: 'staging',
        ref: 'main',
        sha: 'a'.repeat(40),
        state: 'running',
        requesterId: await userId('alice'),
        room: '#d',
        releaseId: 'r1',
      },
    });
    await t.store.locks.acquire({ app: 'web', environment: 'staging', holderId: await userId('alice'), deployId: deploy.id });
    expect(await t.chat.say('boss', 'lock! web/staging')).toBe(`✋ web/staging is held by running deploy #${deploy.id} — \`cancel ${deploy.id}\` first`);
    expect(await t.chat.say('alice', 'unlock web/staging')).toMatch(/is held by deploy #\d+ — `cancel \d+` to stop it/);
    expect(await db().lock.count()).toBe(1);
  });
});

describe('oncall', () => {
  it('sets the rotation (release managers), shows now and next, and takes overrides that end by themselves', async () => {
    expect(await t.chat.say('alice', 'oncall')).toBe(
      'infra: nobody on call — a release manager can `oncall set infra @user`\nweb: nobody on call — a release manager can `oncall set web @user`',
    );
    expect(await t.chat.say('alice', 'oncall set web @bob')).toMatch(/^✋ only a release manager can set the on-call rotation/);
    expect(await t.chat.say('boss', 'oncall set web @alice until 3h')).toMatch(/^📟 @alice is on call for web from now until .+?/);
    expect(await t.chat.say('boss', 'oncall set web @bob from 3h')).toMatch(/^📟 @bob is on call for web from /);
    expect(await t.chat.say('bob', 'oncall web')).toMatch(/^web: on call now alice until .+?, next: bob from .+$/);

    expect(await t.chat.say('bob', 'oncall take web for 30m')).toMatch(/^📟 bob has the web pager until /);
    expect(await t.chat.say('bob', 'oncall web')).toMatch(/^web: on call now bob \(override\) until .+?, next: alice from /);
    t.clock.advance(31 * 60_000);
    expect(await t.chat.say('bob', 'oncall web')).toMatch(/^web: on call now alice until .+?, next: bob from /);
    t.clock.advance(3 * 3_600_000);
    expect(await t.chat.say('bob', 'oncall web')).toBe('web: on call now bob');
    const shifts = await db().onCall.findMany({ orderBy: { id: 'asc' } });
    expect(shifts.map((s) => s.kind)).toEqual(['rotation', 'rotation', 'override']);
  });

  it('refuses bad durations, times, teams and users', async () => {
    expect(await t.chat.say('bob', 'oncall take web for ever')).toBe('✋ "ever" is not a duration — try 30m, 2h or 1h30m');
    expect(await t.chat.say('bob', 'oncall take web for 30d')).toMatch(/^✋ an override lasts at most 7 days/);
    expect(await t.chat.say('bob', 'oncall take web 2h')).toMatch(/^usage: oncall \[team\]/);
    expect(await t.chat.say('boss', 'oncall set web @alice until someday')).toMatch(/^✋ cannot read the time "someday"/);
    expect(await t.chat.say('boss', 'oncall set web @alice from 5h until 2h')).toMatch(/^✋ the shift would end/);
    expect(await t.chat.say('boss', 'oncall set payments @alice')).toBe('✋ unknown team "payments" — teams: web, infra');
    expect(await t.chat.say('boss', 'oncall set web @ghost')).toMatch(/^✋ I don't know @ghost/);
    expect(await db().onCall.count()).toBe(0);
  });
});

describe('status', () => {
  it('shows locks and who is on call', async () => {
    await t.chat.say('alice', 'lock staging load test');
    await t.chat.say('boss', 'oncall set infra @bob');
    expect(await t.chat.say('bob', 'status')).toBe(
      [
        'Locks:',
        '  🔒 staging held by alice since just now — "load test"',
        'On call:',
        '  infra: on call now bob',
        '  web: nobody on call — a release manager can `oncall set web @user`',
      ].join('\n'),
    );
  });
});

describe('audit', () => {
  it('records every command with who, where, what and outcome', async () => {
    await t.chat.say('alice', 'lock staging');
    await t.chat.say('bob', 'lock staging');
    await t.chat.say('bob', 'nonsense');
    const rows = await db().auditEvent.findMany({ orderBy: { id: 'desc' }, take: 3 });
    expect(rows.map((r) => [r.identity, r.room, r.command, r.text, r.outcome])).toEqual([
      ['irc:bob', '#deploys', 'nonsense', 'nonsense', 'unknown'],
      ['irc:bob', '#deploys', 'lock', 'lock staging', 'refused'],
      ['irc:alice', '#deploys', 'lock', 'lock staging', 'ok'],
    ]);
  });
});
