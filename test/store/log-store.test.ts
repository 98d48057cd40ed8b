/**
 * The log store round-trips a 500k-line deploy exactly (issue 11): lines go through the real pipeline
 * (LineSplitter → Masker → numbering → LogWriter → LogLineStore/PgLogLineStore, stored as chunks), then come
 * back numbered 1..N without a gap, masked, in pages (with and without a host filter, from any line), as the
 * raw download and over SSE resumed with Last-Event-ID. Also: the migration that turned rows into chunks
 * converts an existing per-line log. Runs on SQLite and PostgreSQL (test/store is in the matrix).
 */
import { cpSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DeployEvents, eventLines } from '../../src/deploy/events.js';
import { DeployLog, LogWriter } from '../../src/deploy/log-pipeline.js';
import { MASK, Masker } from '../../src/deploy/mask.js';
import { MIGRATIONS_DIRS, openDatabase } from '../../src/store/db.js';
import { createStore } from '../../src/store/index.js';
import { type LineRow, LogLines } from '../../src/store/log-lines.js';
import { createWebServer, type WebServer } from '../../src/web/server.js';
import { queryRows, startedDeploy, TEST_DB, tempDatabase, tempStore, type TempStore } from '../support/db.js';
import { openSse, type SseEvent } from '../web/sse-client.js';

const LINES = 500_000;
const SECRET = 'hunter2-s3cret-value';
/** What each host prints: build-log-like lines, some coloured, some non-ASCII, every 997th quoting the secret. */
const printed = (host: number, i: number) =>
  i % 997 === 0 ? `h${host} ${i} curl -H "X-Key: ${SECRET}" https://api` : `h${host} ${i} \x1b[32mcompile\x1b[0m src/module-${i % 113}.ts ✓`;
const masked = (host: number, i: number) => printed(host, i).replace(SECRET, MASK);

/**
 * The first place two long lists differ (index and both values), or null: toEqual on 500k items costs minutes
 * on a busy machine, and a mismatch reported this way says just as much.
 */
function firstDifference<T>(actual: readonly T[], expected: readonly T[], key: (x: T) => unknown = (x) => x) {
  const n = Math.max(actual.length, expected.length);
  for (let i = 0; i < n; i++) {
    const a = i < actual.length ? JSON.stringify(key(actual[i] as T)) : '(missing)';
    const e = i < expected.length ? JSON.stringify(key(expected[i] as T)) : '(missing)';
    if (a !== e) return { index: i, actual: a, expected: e };
  }
  return null;
}

describe(`the log store round-trips ${LINES.toLocaleString('en')} lines (${TEST_DB})`, () => {
  let t: TempStore;
  let id: number;
  let published: LineRow[];
  let web: WebServer;

  beforeAll(async () => {
    t = await tempStore();
    id = await startedDeploy(t);
    const events = new DeployEvents();
    published = [];
    events.subscribe((e) => {
      published.push(...eventLines(e));
    });
    const sink = await t.lines();
    const writer = new LogWriter(sink);
    const log = new DeployLog(id, { events, masker: new Masker([SECRET]), writer });
    log.system(null, 'starting');
    // Two hosts, stdout and stderr, in 32 KiB pieces cut anywhere (inside a line, inside a UTF-8 character).
    const per = (LINES - 2) / 2;
    const outputs = [1, 2].map((h) => Buffer.from(Array.from({ length: per }, (_, i) => `${printed(h, i + 1)}\n`).join('')));
    const streams = [log.host('web-1'), log.host('web-2')];
    for (let offset = 0; offset < Math.max(...outputs.map((o) => o.length)); offset += 32 * 1024) {
      for (const [h, out] of outputs.entries()) {
        if (offset >= out.length) continue;
        await streams[h]?.onOutput(h === 0 ? 'stdout' : 'stderr', out.subarray(offset, offset + 32 * 1024));
      }
    }
    for (const s of streams) s.end();
    log.system(null, 'done');
    await writer.drain();
    await sink.close();
    expect(writer.dropped).toBe(0);
    await t.store.db.deploy.update({ where: { id }, data: { state: 'succeeded', finishedAt: new Date() } });
    web = createWebServer({ host: '127.0.0.1', port: 0, store: t.store, events: new DeployEvents(), logger: pino({ level: 'silent' }) });
    await web.start();
  }, 300_000);
  afterAll(async () => {
    await web?.stop();
    await t?.close();
  });

  const key = (l: LineRow) => [l.seq, l.host, l.stream, l.text, l.at.getTime()];

  it('numbers every line 1..N once, masks before storing, and pages give back exactly what was published', async () => {
    expect(published).toHaveLength(LINES);
    expect(
      firstDifference(
        published.map((l) => l.seq),
        Array.from({ length: LINES }, (_, i) => i + 1),
      ),
    ).toBeNull();
    // Each host's lines in its order, masked.
    for (const [h, host] of ['web-1', 'web-2'].entries()) {
      const texts = published.filter((l) => l.host === host).map((l) => l.text);
      expect(
        firstDifference(
          texts,
          Array.from({ length: (LINES - 2) / 2 }, (_, i) => masked(h + 1, i + 1)),
        ),
      ).toBeNull();
    }
    // Pages of 5,000 (the API's largest) read back everything, in order, identical.
    const stored: LineRow[] = [];
    for (let after = 0; ; ) {
      const page = await t.store.logs.page(id, { after, limit: 5_000 });
      if (page.length === 0) break;
      stored.push(...page);
      after = page[page.length - 1]!.seq;
    }
    expect(firstDifference(stored, published, key)).toBeNull();
    expect(await t.store.logs.lastSeq(id)).toBe(LINES);
    expect(await t.store.logs.count(id)).toBe(LINES);
  });

  it('stores chunks, not rows, and no stored byte holds the secret', async () => {
    const [row] = await queryRows<{ n: number }>(t.url, `SELECT CAST(count(*) AS INTEGER) AS n FROM "LogChunk" WHERE "deployId" = ${id}`);
    expect(row!.n).toBeLessThan(LINES / 50);
    const [leak] = await queryRows<{ n: number }>(t.url, `SELECT CAST(count(*) AS INTEGER) AS n FROM "LogChunk" WHERE "text" LIKE '%${SECRET}%'`);
    expect(leak!.n).toBe(0);
  });

  it('a page from any line, and one host’s lines, through the API', async () => {
    const res = await fetch(`${web.url}/api/deploys/${id}/lines?after=123456&limit=1000`);
    const body = (await res.json()) as { lines: { seq: number; text: string }[]; next: number };
    expect(body.lines.map((l) => l.seq)).toEqual(Array.from({ length: 1000 }, (_, i) => 123_457 + i));
    expect(body.lines.map((l) => l.text)).toEqual(published.slice(123_456, 124_456).map((l) => l.text));
    expect(body.next).toBe(124_456);
    const host = (await (await fetch(`${web.url}/api/deploys/${id}/lines?after=400000&limit=3000&host=web-2`)).json()) as { lines: { seq: number }[] };
    const expected = published.filter((l) => l.seq > 400_000 && l.host === 'web-2').slice(0, 3000);
    expect(host.lines.map((l) => l.seq)).toEqual(expected.map((l) => l.seq));
    const bot = (await (await fetch(`${web.url}/api/deploys/${id}/lines?host=-`)).json()) as { lines: { seq: number; text: string }[] };
    expect(bot.lines.map((l) => [l.seq, l.text])).toEqual([
      [1, 'starting'],
      [LINES, 'done'],
    ]);
  });

  it('the raw download is every line in order, masked', async () => {
    const raw = await (await fetch(`${web.url}/deploys/${id}/raw`)).text();
    const lines = raw.split('\n');
    expect(lines.pop()).toBe('');
    expect(lines).toHaveLength(LINES);
    expect(
      firstDifference(
        lines,
        published.map((l) => `${l.host ?? '-'} ${l.stream} ${l.text}`),
      ),
    ).toBeNull();
    expect(raw).not.toContain(SECRET);
  });

  it('SSE resumed with Last-Event-ID sends every line after it once, then the end', async () => {
    const got: SseEvent[] = [];
    const conn = openSse(`${web.url}/deploys/${id}/events`, { lastEventId: 450_000, onEvent: (e) => got.push(e) });
    await conn.ended;
    const lines = got.filter((e) => e.event === 'line');
    expect(
      firstDifference(
        lines.map((e) => Number(e.id)),
        Array.from({ length: LINES - 450_000 }, (_, i) => 450_001 + i),
      ),
    ).toBeNull();
    expect(
      firstDifference(
        lines.map((e) => (JSON.parse(e.data) as { text: string }).text),
        published.slice(450_000).map((l) => l.text),
      ),
    ).toBeNull();
    expect(got.at(-1)?.event).toBe('end');
  });
});

describe(`the migration to chunks converts a per-line log (${TEST_DB})`, () => {
  it('keeps every line, number, host, stream, time and text', async () => {
    const db = await tempDatabase();
    const before = mkdtempSync(join(tmpdir(), 'shepherd-migrations-'));
    try {
      const dir = MIGRATIONS_DIRS[TEST_DB];
      for (const name of readdirSync(dir)) if (name < '20261202050000') cpSync(join(dir, name), join(before, name), { recursive: true });
      const old = await openDatabase(db.url, { migrationsDir: before });
      const store = createStore(old.prisma, { karmaInitial: 4 });
      const user = await store.users.identify({ provider: 'shell', id: 'a', handle: 'a' });
      const deploy = await old.prisma.deploy.create({
        data: { app: 'web', environment: 'production', ref: 'main', sha: 'f'.repeat(40), state: 'succeeded', requesterId: user.id, room: 'r', releaseId: 'r1' },
      });
      // 2,500 lines: a run of one host and time longer than a chunk, hosts taking turns, the bot's lines, a
      // different time in the middle of a run, and a line holding a newline (stored as a space).
      const t1 = new Date('2026-11-30T10:00:00.000Z');
      const t2 = new Date('2026-11-30T10:00:01.500Z');
      const rows: LineRow[] = [];
      for (let seq = 1; seq <= 2500; seq++) {
        const host = seq <= 1500 ? 'web-1' : seq <= 2400 ? (seq % 2 ? 'web-2' : null) : 'web-3';
        const stream = host === null ? 'system' : seq % 7 === 0 && seq > 1500 ? 'stderr' : 'stdout';
        rows.push({ seq, host, stream, text: seq === 2450 ? 'two\nparts' : `line ${seq} ✓`, at: seq > 1200 && seq <= 1300 ? t2 : t1 });
      }
      const pg = TEST_DB === 'postgresql';
      for (let i = 0; i < rows.length; i += 500) {
        const part = rows.slice(i, i + 500);
        const values = part.flatMap((r) => [deploy.id, r.seq, r.host, r.stream, r.text, pg ? r.at : r.at.toISOString().replace('Z', '+00:00')]);
        const placeholders = part.map((_, k) => (pg ? `(${[1, 2, 3, 4, 5, 6].map((n) => `$${k * 6 + n}`).join(', ')})` : '(?, ?, ?, ?, ?, ?)')).join(', ');
        await old.prisma.$executeRawUnsafe(`INSERT INTO "LogLine" ("deployId", "seq", "host", "stream", "text", "at") VALUES ${placeholders}`, ...values);
      }
      await old.prisma.$disconnect();

      const now = await openDatabase(db.url);
      try {
        expect(now.applied).toContain('20261202050000_log_chunks');
        const logs = new LogLines(now.prisma);
        const back = await logs.page(deploy.id, { after: 0, limit: 10_000 });
        const want = rows.map((r) => ({ ...r, text: r.text.replace('\n', ' ') }));
        expect(back.map((l) => [l.seq, l.host, l.stream, l.text, l.at.toISOString()])).toEqual(
          want.map((l) => [l.seq, l.host, l.stream, l.text, l.at.toISOString()]),
        );
        // Runs became chunks of at most 1,000 lines: far fewer rows than lines.
        const chunks = await now.prisma.logChunk.findMany({ where: { deployId: deploy.id }, orderBy: { firstSeq: 'asc' } });
        expect(chunks.length).toBeLessThan(1000);
        expect(Math.max(...chunks.map((c) => c.lastSeq - c.firstSeq + 1))).toBe(1000);
      } finally {
        await now.prisma.$disconnect();
      }
    } finally {
      rmSync(before, { recursive: true, force: true });
      await db.drop();
    }
  });
});
