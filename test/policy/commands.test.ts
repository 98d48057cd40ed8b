/**
 * freeze, unfreeze, audit and the policy parts of status through the real Bot and a real SQLite file, on a
 * clock the test sets.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { testBot, type TestBot } from '../support/bot.js';

const CONFIG = `
release_managers: [rm-login, "irc:boss"]
timezone: Europe/Berlin
freezes:
  - { environments: [production], weekly: "fri 16:00 - mon 08:00", reason: weekend }
apps:
  web:
    repo: acme/web
    deploy_to: /srv/web
    default_environment: staging
    environments:
      staging: { hosts: [stg-1.example.com] }
      production: { hosts: [web-1.example.com], requires: staging, url: "https://www.example.com" }
`;

let t: TestBot;
beforeEach(async () => {
  t = await testBot(CONFIG);
  t.clock.current = new Date('2026-12-01T12:00:00Z'); // Tuesday 13:00 in Berlin
  for (const who of ['boss', 'alice']) await t.chat.say(who, 'whoami');
});
afterEach(async () => t.close());

describe('freeze and unfreeze', () => {
  it('lets a release manager freeze until a local clock time, shows it in status, and unfreeze lifts it', async () => {
    expect(await t.chat.say('boss', 'freeze production until wed 09:00 black friday load')).toBe(
      '❄️ production is frozen until wed 09:00: black friday load — deploys to it are refused; `unfreeze production` to lift it',
    );
    const row = await t.store.db.freeze.findFirstOrThrow();
    expect(row).toMatchObject({ environment: 'production', reason: 'black friday load', endedAt: null });
    expect(row.until?.toISOString()).toBe('2026-12-02T08:00:00.000Z'); // 09:00 CET

    const status = await t.chat.say('alice', 'status');
    expect(status).toContain('Freezes:\n  ❄️ production is frozen until wed 09:00: black friday load (set by boss)');
    expect(status).toContain('next: production: from fri 16:00 until mon 08:00 — weekend');

    expect(await t.chat.say('boss', 'unfreeze production')).toBe('🌤 production is no longer frozen ("black friday load" lifted)');
    expect((await t.store.db.freeze.findFirstOrThrow()).endedAt).not.toBeNull();
    expect(await t.chat.say('boss', 'unfreeze production')).toBe('✋ production is not frozen');
  });

  it('ends by itself at its time', async () => {
    await t.chat.say('boss', 'freeze staging until 2h migration');
    expect(await t.chat.say('alice', 'status')).toContain('staging is frozen until today 15:00: migration');
    t.clock.advance(2 * 3_600_000);
    expect(await t.chat.say('alice', 'status')).not.toContain('staging is frozen');
  });

  it('refuses developers, and says why and whom to ask', async () => {
    expect(await t.chat.say('alice', 'freeze production incident')).toBe('✋ only a release manager can use `freeze` — ask one of: rm-login, irc:boss');
    expect(await t.chat.say('alice', 'unfreeze production')).toBe('✋ only a release manager can use `unfreeze` — ask one of: rm-login, irc:boss');
    expect(await t.store.db.freeze.count()).toBe(0);
  });

  it('answers bad input with one line and changes nothing', async () => {
    expect(await t.chat.say('boss', 'freeze prod incident')).toBe('✋ unknown environment "prod" — known: production, staging');
    expect(await t.chat.say('boss', 'freeze production')).toMatch(/^say why, so a refused deploy can tell people\nusage: freeze <env>/);
    expect(await t.chat.say('boss', 'freeze production until someday x')).toMatch(/^✋ cannot read the time "someday x"/);
    expect(await t.chat.say('boss', 'freeze production until 2026-11-01 old')).toBe('✋ that time has passed — give a time still ahead');
    expect(await t.store.db.freeze.count()).toBe(0);
  });

  it('cannot lift a freeze from shepherd.yml, and says so', async () => {
    t.clock.current = new Date('2026-12-05T11:00:00Z'); // Saturday
    expect(await t.chat.say('boss', 'unfreeze production')).toBe(
      '✋ production is frozen until mon 08:00: weekend (shepherd.yml) — a release manager can deploy through it with --force',
    );
  });
});

describe('audit', () => {
  it('shows the last commands, refusals and gate decisions, filtered by user, environment and deploy id', async () => {
    await t.chat.say('alice', 'freeze production nope'); // refused
    await t.chat.say('boss', 'freeze staging until 1h tests');
    await t.chat.say('alice', 'status 42');
    const boss = await t.store.users.resolve('boss');
    await t.store.audit.recordDecision({
      userId: boss!.id,
      app: 'web',
      environment: 'production',
      deployId: 42,
      gate: 'freeze',
      decision: 'override',
      detail: 'production is frozen until mon 08:00: weekend; forced through by a release manager',
      at: t.clock.now(),
    });

    const all = await t.chat.say('bob', 'audit');
    expect(all.split('\n')[0]).toMatch(/^last \d+ \(oldest first; all of it: http:\/\/127\.0\.0\.1:8080\/audit\):$/);
    expect(all).toMatch(/alice: freeze production nope — refused: only a release manager can use `freeze`/);
    expect(all).toMatch(/boss: deploy web\/production #42 — freeze gate override: production is frozen until mon 08:00/);

    const byAlice = (await t.chat.say('bob', 'audit @alice')).split('\n');
    expect(byAlice[0]).toMatch(/^last 3 by alice/);
    expect(byAlice.slice(1).every((l) => / alice: /.test(l))).toBe(true);

    const production = (await t.chat.say('bob', 'audit production')).split('\n');
    expect(production.slice(1).map((l) => l.replace(/^#\d+ \S+ \S+ /, ''))).toEqual([
      'alice: freeze production nope — refused: only a release manager can use `freeze` — ask one of: rm-login, irc:boss',
      'boss: deploy web/production #42 — freeze gate override: production is frozen until mon 08:00: weekend; forced through by a release manager',
    ]);

    const deploy42 = (await t.chat.say('bob', 'audit 42')).split('\n');
    // (`status 42` is refused here: no deploy engine or push in this bot; the audit keeps it either way.)
    expect(deploy42.slice(1).map((l) => l.replace(/^#\d+ \S+ \S+ /, ''))).toEqual([
      expect.stringMatching(/^alice: status 42 — refused: /),
      'boss: deploy web/production #42 — freeze gate override: production is frozen until mon 08:00: weekend; forced through by a release manager',
    ]);
    expect(await t.chat.say('bob', 'audit @nobody')).toMatch(/^✋ I don't know @nobody/);
  });

  it('shows at most 10, oldest first', async () => {
    for (let i = 0; i < 12; i++) await t.chat.say('alice', `karma ${i === 0 ? '' : '@boss'}`.trim());
    const lines = (await t.chat.say('bob', 'audit @alice')).split('\n');
    expect(lines[0]).toMatch(/^last 10 by alice/);
    expect(lines).toHaveLength(11);
    expect(lines.slice(1).every((l) => l.includes('alice: karma @boss — ok'))).toBe(true);
  });
});

describe('status <sha>', () => {
  it('shows the path through the environments in promotion order', async () => {
    const alice = await t.store.users.resolve('alice');
    const sha = 'abcdef1234567890abcdef1234567890abcdef12';
    const d = await t.store.db.deploy.create({
      data: {
        app: 'web',
        environment: 'staging',
        ref: 'main',
        sha,
        state: 'succeeded',
        kind: 'deploy',
        requesterId: alice!.id,
        room: '#d',
        releaseId: 'r1',
        finishedAt: t.clock.now(),
      },
    });
    const reply = await t.chat.say('alice', 'status abcdef1');
    expect(reply).toContain(`path of web: staging ✓ (#${d.id}, just now) → production · not yet`);
  });
});
