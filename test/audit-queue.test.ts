/**
 * Every command leaves its audit row, written off the reply path: the answer goes out first, the row follows in
 * a batch (AuditQueue), and a graceful stop (SIGTERM) writes whatever is still queued before the database closes.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { testBot, type TestBot } from './support/bot.js';

const root = fileURLToPath(new URL('..', import.meta.url));

/** A gate the test opens: while it is shut the queue writes nothing. */
function gate(): { shut: Promise<void>; open: () => void } {
  let open: () => void = () => {};
  const shut = new Promise<void>((resolve) => {
    open = resolve;
  });
  return { shut, open };
}

const rowsFor = (t: TestBot, command: string) => t.store.db.auditEvent.count({ where: { kind: 'command', command } });

describe('audit rows of commands', () => {
  let t: TestBot | undefined;
  afterEach(async () => {
    await t?.close();
    t = undefined;
  });

  it('GIVEN the audit write held THEN the answer still goes out, and the row is there once the write may proceed', async () => {
    t = await testBot();
    const held = gate();
    t.bot.audit.hold = held.shut;
    const answered = t.chat.say('alice', 'karma');
    await vi.waitFor(() => expect(t?.chat.sent.map((s) => s.text).join('\n')).toMatch(/\(4\/5\)/), { timeout: 10_000 });
    expect(await rowsFor(t, 'karma')).toBe(0);
    held.open();
    await answered;
    const rows = await t.store.db.auditEvent.findMany({ where: { command: 'karma' } });
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ identity: 'irc:alice', room: '#deploys', text: 'karma', outcome: 'ok', kind: 'command' });
  });

  it('GIVEN several commands at once THEN each has its row', async () => {
    t = await testBot();
    const held = gate();
    t.bot.audit.hold = held.shut;
    const all = Promise.all(['karma', 'whoami', 'nonsense'].map((text, i) => t?.chat.say(`user${i}`, text)));
    await vi.waitFor(() => expect(t?.chat.sent).toHaveLength(3), { timeout: 10_000 });
    held.open();
    await all;
    const rows = await t.store.db.auditEvent.findMany({ where: { kind: 'command' }, orderBy: { id: 'asc' } });
    expect(rows.map((r) => [r.identity, r.command, r.outcome]).sort()).toEqual([
      ['irc:user0', 'karma', 'ok'],
      ['irc:user1', 'whoami', 'ok'],
      ['irc:user2', 'nonsense', 'unknown'],
    ]);
  });

  it('GIVEN a row still queued when the bot stops THEN stop() writes it before it resolves', async () => {
    t = await testBot();
    const held = gate();
    t.bot.audit.hold = held.shut;
    void t.chat.say('alice', 'karma');
    await vi.waitFor(() => expect(t?.chat.sent).toHaveLength(1), { timeout: 10_000 });
    let stopped = false;
    const stopping = t.bot.stop().then(() => {
      stopped = true;
    });
    // stop() waits for the queued row (the command has answered; only its row is pending).
    await new Promise((resolve) => setImmediate(resolve));
    expect(stopped).toBe(false);
    expect(await rowsFor(t, 'karma')).toBe(0);
    held.open();
    await stopping;
    expect(await rowsFor(t, 'karma')).toBe(1);
  });
});

describe('audit rows and SIGTERM (npm start, the terminal chat)', () => {
  it('GIVEN a command answered THEN SIGTERM right after the answer stops the bot with exit 0 and the row is in the database', async () => {
    const db = join(mkdtempSync(join(tmpdir(), 'shepherd-audit-')), 'audit.db');
    const child = spawn('node', ['scripts/start.mjs'], {
      cwd: root,
      stdio: ['pipe', 'pipe', 'pipe'],
      env: { PATH: process.env.PATH, HOME: process.env.HOME, WEB_PORT: '0', DATABASE_URL: `file:${db}`, LOG_LEVEL: 'warn' },
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
    });
    child.stderr.on('data', (d: Buffer) => {
      err += d.toString();
    });
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    // stdin stays open: only SIGTERM ends this bot.
    child.stdin.write('karma\n');
    await vi.waitFor(() => expect(out, err).toMatch(/\(4\/5\)/), { timeout: 60_000, interval: 20 });
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
    const raw = new Database(db, { readonly: true });
    try {
      const rows = raw.prepare(`SELECT command, outcome FROM "AuditEvent" WHERE kind = 'command'`).all();
      expect(rows).toEqual([{ command: 'karma', outcome: 'ok' }]);
    } finally {
      raw.close();
    }
  });
});
