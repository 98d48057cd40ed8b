/**
 * The dashboard's push section, filled by the real push workflow: picks requested, approved and confirmed in
 * chat over a real git remote, then read by the web server through services.push.
 */
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DeployEvents } from '../../src/deploy/events.js';
import { createWebServer, type WebServer } from '../../src/web/server.js';
import { type PushBot, pickIdOf, pushBot } from '../push/helpers.js';

describe('dashboard push section from the push workflow', () => {
  let t: PushBot;
  let web: WebServer;

  beforeAll(async () => {
    t = await pushBot();
    web = createWebServer({
      host: '127.0.0.1',
      port: 0,
      store: t.store,
      events: new DeployEvents(),
      logger: pino({ level: 'silent' }),
      services: { push: t.push },
      pushRisk: t.config.push.risk,
    });
    await web.start();
  });
  afterAll(async () => {
    await web?.stop();
    await t?.close();
  });

  const dashboard = async () => (await fetch(`${web.url}/`)).text();
  /** The push-tallies row of push `id`: state, requested, approved, conflicted, shipped. */
  const tallyRow = (page: string, id: number) => {
    const table = /<table class="grid" id="push-tallies">(.*?)<\/table>/s.exec(page)?.[1] ?? '';
    const row = new RegExp(`<tr><td>push ${id}\\b[^<]*</td>(.*?)</tr>`, 's').exec(table)?.[1] ?? '';
    return [...row.matchAll(/<td[^>]*>(?:<span[^>]*>)?([^<]*)/g)].map((m) => m[1]);
  };

  it('says "no push open" before anything is requested, then shows picks with size, karma and confirmations', async () => {
    expect(await dashboard()).toContain('no push open');

    const big = t.git.commit({ 'big.txt': 'x\n'.repeat(80) }, 'feat: <big> change', 'alice');
    const small = t.git.commit({ 'small.txt': 'y\n' }, 'fix: typo', 'bob');
    const alicePick = pickIdOf(await t.chat.say('alice', `cp ${big}`));
    const bobPick = pickIdOf(await t.chat.say('bob', `cp ${small}`));
    await t.chat.say('rm', 'unlike @bob sloppy last week');
    await t.chat.say('rm', 'approve all');
    await t.chat.say('rm', 'push start');
    await t.chat.say('alice', 'here');

    const page = await dashboard();
    expect(page).not.toContain('no push open');
    expect(page).toMatch(/<h2>Push <code>push\/[\d-]+<\/code> <span class="badge s-confirming">confirming<\/span><\/h2>/);
    expect(page).toContain('1/2 authors confirmed');
    const row = (id: number) => new RegExp(`<tr[^>]*><td>${id}</td>(.*?)</tr>`, 's').exec(page)?.[1] ?? '';
    expect(row(alicePick)).toContain('feat: &lt;big&gt; change');
    expect(row(alicePick)).toContain('<td>alice</td>');
    expect(row(alicePick)).toContain('★★★★☆');
    expect(row(alicePick)).toContain('<td class="num">80</td>');
    expect(row(alicePick)).toContain('✔ confirmed');
    expect(row(bobPick)).toContain('★★★☆☆');
    expect(row(bobPick)).toContain('<td class="num">1</td>');
    expect(row(bobPick)).toContain('waiting');
    // Without GitHub the discussion is unknown.
    expect(row(bobPick)).toContain('<td class="num">?</td>');
    // Scores, highest risk first, and the push's picks counted by outcome.
    expect(row(alicePick)).toMatch(/<td class="num risk" title="[^"]+">\d+\/100<\/td>/);
    expect(page.indexOf(`<td>${alicePick}</td>`)).toBeLessThan(page.indexOf(`<td>${bobPick}</td>`));
    expect(tallyRow(page, 1)).toEqual(['confirming', '2', '2', '0', '0']);
  });

  it('counts per push what was requested, approved, conflicted and shipped', async () => {
    // carol's change needs a commit the push does not have: it conflicts when shipped.
    t.git.commit({ 'shared.txt': 'a = 1\n' }, 'add shared', 'dave');
    const conflicting = t.git.commit({ 'shared.txt': 'a = 2\n' }, 'change shared', 'carol');
    const carolPick = pickIdOf(await t.chat.say('carol', `cp ${conflicting}`));
    await t.chat.say('rm', `approve ${carolPick}`);
    await t.chat.say('carol', 'here');
    await t.chat.say('bob', 'here');
    const late = t.git.commit({ 'late.txt': 'late\n' }, 'late change', 'erin');
    pickIdOf(await t.chat.say('erin', `cp ${late}`));
    expect(await t.chat.say('rm', 'push ship')).toMatch(/shipped/);
    // A new push opens with the deferred request, so the board shows it and the shipped one below it.
    await t.chat.say('erin', `cp ${t.git.commit({ 'next.txt': 'n\n' }, 'next change', 'erin')}`);
    const page = await dashboard();
    expect(tallyRow(page, 1)).toEqual(['shipped', '4', '3', '1', '2']);
  });
});
