/**
 * The log pipeline under load: a store slower than the host must pause the output (bounded memory) without
 * losing or reordering a line, and what is stored must be the text exactly, whichever insert path wrote it.
 */
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import pino from 'pino';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { Deployer } from '../../src/deploy/engine.js';
import { DeployEvents } from '../../src/deploy/events.js';
import { LocalTransport } from '../../src/deploy/local-transport.js';
import { DeployLog, LogWriter } from '../../src/deploy/log-pipeline.js';
import { Masker } from '../../src/deploy/mask.js';
import { sqlitePath } from '../../src/store/db.js';
import type { StoredLine } from '../../src/store/deploys.js';
import { SQLITE_WAL_AUTOCHECKPOINT_PAGES } from '../../src/store/db-sqlite.js';
import { CHECKPOINT_MAX_CHARS, type LineSink, LogLineStore, type NewChunk } from '../../src/store/log-lines.js';
import { startedDeploy, TEST_DB, type TempStore, tempStore } from '../support/db.js';
import { skipWithoutSshd, startSshd } from '../support/sshd.js';

/** A LogLineStore behind a database that takes 1 ms per 100 lines: about 100k lines/s, far below a host's rate. */
class SlowSink implements LineSink {
  /** 'warm' and 'insert', in the order the sink was asked. */
  readonly calls: string[] = [];
  constructor(private readonly inner: LineSink) {}
  warm(): void {
    this.calls.push('warm');
    this.inner.warm?.();
  }
  async insert(lines: readonly StoredLine[]): Promise<void> {
    this.calls.push('insert');
    // Not a wait in the test: this delay IS the slow database the test is about (writes that take time).
    await new Promise((r) => setTimeout(r, 5 + lines.length / 100));
    await this.inner.insert(lines);
  }
  async insertChunks(chunks: readonly NewChunk[]): Promise<void> {
    this.calls.push('insert');
    const lines = chunks.reduce((n, c) => n + c.lastSeq - c.firstSeq + 1, 0);
    await new Promise((r) => setTimeout(r, 5 + lines / 100));
    await this.inner.insertChunks(chunks);
  }
  close(): Promise<void> {
    return this.inner.close();
  }
}

/** Every stored line of a deploy, by seq, read back through Prisma as the viewer reads it. */
async function stored(t: TempStore, deployId: number) {
  return t.store.deploys.lines(deployId, { limit: 1_000_000 });
}

const LINE = (n: number) => `line ${String(n).padStart(6, '0')} of the slow store test`;

describe('a store slower than the host', () => {
  let t: TempStore | undefined;
  afterEach(async () => {
    await t?.close();
    t = undefined;
  });

  it('GIVEN a local step printing 100k lines into a slow store THEN the queue stays under its high-water mark plus a chunk, and every line is stored once, in order', async () => {
    t = await tempStore();
    const id = await startedDeploy(t);
    const sink = new SlowSink(await t.lines());
    const writer = new LogWriter(sink, undefined, { highWater: 2000, batchLines: 500 });
    const log = new DeployLog(id, { events: new DeployEvents(), masker: new Masker([]), writer });
    const out = log.host('local');
    // Most lines one chunk can carry: what may arrive after the queue passed the mark, before the pause.
    let chunkLines = 0;
    const session = await new LocalTransport().connect({ label: 'local', host: 'localhost', port: 0, stage: 0 }, 1000);
    const result = await session.run({
      script: `seq -f 'line %06g of the slow store test' 1 100000; echo 'to stderr' >&2`,
      onOutput: (stream, chunk) => {
        let n = 0;
        for (const byte of chunk) if (byte === 10) n++;
        chunkLines = Math.max(chunkLines, n);
        return out.onOutput(stream, chunk);
      },
    });
    out.end();
    await writer.drain();
    expect(result.code).toBe(0);
    expect(writer.dropped).toBe(0);
    // Without the pause the whole output would wait in memory (the store is ~10× slower than seq).
    expect(writer.peakQueued).toBeGreaterThanOrEqual(2000);
    expect(writer.peakQueued).toBeLessThanOrEqual(2000 + 2 * chunkLines);
    const rows = await stored(t, id);
    expect(rows.map((r) => r.seq)).toEqual(rows.map((_, i) => i + 1));
    const stdout = rows.filter((r) => r.stream === 'stdout').map((r) => r.text);
    expect(stdout).toHaveLength(100_000);
    expect(stdout.every((text, i) => text === LINE(i + 1))).toBe(true);
    expect(rows.filter((r) => r.stream === 'stderr').map((r) => r.text)).toEqual(['to stderr']);
    await sink.close();
  });

  it.skipIf(skipWithoutSshd())(
    'GIVEN a deploy over real sshd printing 60k lines into a slow store THEN ssh is paused: the queue stays bounded and the deploy stores every line in order',
    async () => {
      const sshd = await startSshd({ hosts: 1 });
      t = await tempStore();
      const cfgDir = mkdtempSync(join(tmpdir(), 'shepherd-load-'));
      const host = sshd.hosts[0]!;
      writeFileSync(
        join(cfgDir, 'shepherd.yml'),
        JSON.stringify({
          apps: {
            logs: {
              repo_url: '/nonexistent',
              deploy_to: sshd.deployTo,
              ssh: { user: 'root', private_key_path: sshd.clientKey, known_hosts: join(sshd.dir, 'known_hosts') },
              steps: [`seq -f 'line %06g of the slow store test' 1 60000`],
              environments: { load: { hosts: [host.entry] } },
            },
          },
        }),
      );
      const config = loadConfig({ SHEPHERD_CONFIG: join(cfgDir, 'shepherd.yml'), ...t.env, WEB_BASE_URL: 'http://viewer.test' });
      const sink = new SlowSink(await t.lines());
      const deployer = new Deployer({
        config,
        store: t.store,
        events: new DeployEvents(),
        masker: new Masker([]),
        lines: sink,
        github: null,
        gitCacheDir: join(t.dir, 'git'),
        logger: pino({ level: 'silent' }),
      });
      try {
        const requester = await t.store.users.identify({ provider: 'shell', id: 'load', handle: 'load' });
        const r = await deployer.request({
          app: 'logs',
          environment: 'load',
          ref: 'main',
          sha: 'b'.repeat(40),
          requester,
          provider: 'shell',
          room: { room: 'load' },
        });
        if (r.outcome !== 'started') throw new Error(r.outcome);
        await deployer.waitFor(r.deploy.id);
        const d = await t.store.deploys.get(r.deploy.id);
        expect(d?.state).toBe('succeeded');
        expect(deployer.writer.dropped).toBe(0);
        // The writer's default high-water mark is 10,000 lines; one ssh2 data packet (32 KiB) holds at most ~860
        // of these 38-byte lines. Unpaused, most of the 60,000 would have queued.
        expect(deployer.writer.peakQueued).toBeLessThanOrEqual(10_000 + 2 * 1000);
        // The store was told to get ready when the deploy started, before its first lines (SQLite: its thread starts).
        expect(sink.calls[0]).toBe('warm');
        expect(sink.calls.filter((c) => c === 'warm')).toHaveLength(1);
        const rows = await stored(t, r.deploy.id);
        expect(rows.map((x) => x.seq)).toEqual(rows.map((_, i) => i + 1));
        const stdout = rows.filter((x) => x.stream === 'stdout').map((x) => x.text);
        expect(stdout).toHaveLength(60_000);
        expect(stdout.every((text, i) => text === LINE(i + 1))).toBe(true);
      } finally {
        await deployer.idle().catch(() => {});
        await deployer.stop();
        await sink.close();
        rmSync(cfgDir, { recursive: true, force: true });
        await sshd.stop();
      }
    },
    60_000,
  );
});

describe('LogLineStore', () => {
  let t: TempStore | undefined;
  afterEach(async () => {
    await t?.close();
    t = undefined;
  });

  // Escapes, NUL, quotes, backslashes, astral and lone surrogates, separators, a capped 8 KiB line.
  const TRICKY = [
    'plain',
    'tab\there',
    '\u001b[31mred\u001b[0m',
    'nul\u0000after',
    'quote " back \\ slash',
    'emoji 😀 ✓ é',
    'lone high \ud83d',
    'lone low \ude00 x',
    '\u2028\u2029',
    '',
    '\\ud83d written out',
    'x'.repeat(8192),
  ];

  it('GIVEN the same texts as one chunk and as chunks of a line each THEN both store exactly the texts, with host, stream and time', async () => {
    t = await tempStore();
    const id = await startedDeploy(t);
    const sink = await t.lines();
    const at = new Date('2026-11-22T10:00:00.123Z');
    const later = new Date('2026-11-22T10:00:01.456Z');
    let seq = 0;
    const lines: StoredLine[] = [];
    // One run: consecutive lines of one host, stream and time.
    for (const text of TRICKY) lines.push({ deployId: id, seq: ++seq, host: 'web-1', stream: 'stdout', text, at });
    // Single rows: two hosts taking turns, a line each.
    for (const text of TRICKY) lines.push({ deployId: id, seq: ++seq, host: seq % 2 ? 'web-2' : null, stream: seq % 2 ? 'stderr' : 'system', text, at: later });
    await sink.insert(lines);
    const rows = await stored(t, id);
    expect(rows.map((r) => [r.seq, r.host, r.stream, r.at.toISOString()])).toEqual(lines.map((l) => [l.seq, l.host, l.stream, l.at.toISOString()]));
    const asRun = rows.slice(0, TRICKY.length).map((r) => r.text);
    const asRows = rows.slice(TRICKY.length).map((r) => r.text);
    // A lone surrogate is not valid UTF-8: SQLite keeps what the driver encoded, the same on both paths.
    expect(asRun).toEqual(asRows);
    const valid = (s: string) => !/[\ud800-\udfff]/.test(s.replace(/[\ud800-\udbff][\udc00-\udfff]/g, ''));
    // PostgreSQL text cannot hold NUL: the PostgreSQL writer stores U+FFFD in its place.
    const expected = TEST_DB === 'postgresql' ? TRICKY.map((s) => s.replaceAll('\u0000', '\ufffd')) : TRICKY;
    expect(asRun.filter((_, i) => valid(TRICKY[i] as string))).toEqual(expected.filter(valid));
    await sink.close();
  });

  it('GIVEN a store told to get ready (warm) THEN it closes without a batch, and a batch after it is stored', async () => {
    t = await tempStore();
    const id = await startedDeploy(t);
    const idle = await t.lines();
    idle.warm?.();
    await idle.close();
    const sink = await t.lines();
    sink.warm?.();
    sink.warm?.();
    await sink.insertChunks([{ deployId: id, firstSeq: 1, lastSeq: 2, host: 'h', stream: 'stdout', text: 'one\ntwo', at: new Date() }]);
    expect((await stored(t, id)).map((r) => r.text)).toEqual(['one', 'two']);
    await sink.close();
  });

  // The writing thread's checkpoints (SQLite's write-ahead log only; PostgreSQL has no checkpoint the bot runs): the
  // database file grows only when one copies the log in.
  const burst = async (sink: LineSink, id: number, batches: number) => {
    const text = Array.from({ length: 1000 }, (_, i) => `line ${i} ${'x'.repeat(200)}`).join('\n');
    const at = new Date();
    for (let n = 0; n < batches; n++)
      await sink.insertChunks([{ deployId: id, firstSeq: n * 1000 + 1, lastSeq: n * 1000 + 1000, host: 'h', stream: 'stdout', text, at }]);
  };
  const fileBefore = async (store: TempStore) => {
    // Whatever Prisma's connection wrote is in the file first; from here only a checkpoint grows it.
    await store.store.db.$executeRawUnsafe('PRAGMA wal_checkpoint(TRUNCATE)');
    return statSync(sqlitePath(store.url)).size;
  };

  it.runIf(TEST_DB === 'sqlite')(
    'GIVEN a burst of log batches on SQLite THEN the writing thread does not checkpoint while they come, and does once it is idle',
    async () => {
      t = await tempStore();
      const id = await startedDeploy(t);
      const before = await fileBefore(t);
      // Idle only after 5 s: the burst (each batch awaited) never leaves it that long, even on a loaded machine.
      const path = sqlitePath(t.url);
      const sink = new LogLineStore(path, { checkpointIdleMs: 5000 });
      await burst(sink, id, 25);
      expect(await t.store.deploys.lineCount(id)).toBe(25_000);
      // 25 × 206 KiB committed, in the write-ahead log only (a checkpoint every 4 MiB would have copied 4 of them in).
      expect(statSync(path).size).toBe(before);
      // Nothing more comes: the idle checkpoint copies it in.
      await vi.waitFor(() => expect(statSync(path).size - before).toBeGreaterThan(5 * 1024 * 1024), { timeout: 30_000, interval: 50 });
      await sink.close();
    },
  );

  it.runIf(TEST_DB === 'sqlite')(
    'GIVEN a burst longer than the checkpoint bound on SQLite THEN the writing thread checkpoints during it (the write-ahead log stays bounded)',
    async () => {
      t = await tempStore();
      const id = await startedDeploy(t);
      const before = await fileBefore(t);
      // Never idle within the test; a checkpoint after every 1 MiB written.
      const path = sqlitePath(t.url);
      const sink = new LogLineStore(path, { checkpointIdleMs: 600_000, checkpointMaxChars: 1024 * 1024 });
      await burst(sink, id, 10);
      await vi.waitFor(() => expect(statSync(path).size - before).toBeGreaterThan(1024 * 1024), { timeout: 15_000, interval: 50 });
      expect(await t.store.deploys.lineCount(id)).toBe(10_000);
      await sink.close();
    },
  );

  it.runIf(TEST_DB === 'sqlite')(
    "GIVEN the bot's own SQLite connection THEN its commits leave the log writer's checkpoints to it (they would copy a burst on the event loop)",
    async () => {
      t = await tempStore();
      const [row] = await t.store.db.$queryRawUnsafe<{ wal_autocheckpoint: number | bigint }[]>('PRAGMA wal_autocheckpoint');
      expect(Number(row?.wal_autocheckpoint)).toBe(SQLITE_WAL_AUTOCHECKPOINT_PAGES);
      expect(SQLITE_WAL_AUTOCHECKPOINT_PAGES * 4096).toBeGreaterThan(CHECKPOINT_MAX_CHARS);
    },
  );

  // SQLite's single write lock only: PostgreSQL writers do not wait for each other here.
  it.runIf(TEST_DB === 'sqlite')(
    'GIVEN another connection holds the SQLite write lock THEN a batch waits for it in the writing thread while the event loop goes on, and is stored once the lock is released',
    async () => {
      t = await tempStore();
      const id = await startedDeploy(t);
      const sink = await t.lines();
      // The writing thread is up (it starts with the first batch), so the next batch reaches it at once.
      const text = Array.from({ length: 1000 }, (_, i) => `line ${i}`).join('\n');
      await sink.insertChunks([{ deployId: id, firstSeq: 1, lastSeq: 1000, host: 'h', stream: 'stdout', text, at: new Date() }]);
      // Another connection (the bot's or another process's) in a write transaction.
      const other = new Database(sqlitePath(t.url));
      other.exec('BEGIN IMMEDIATE');
      let stored = false;
      const write = sink.insertChunks([{ deployId: id, firstSeq: 1001, lastSeq: 2000, host: 'h', stream: 'stdout', text, at: new Date() }]).then(() => {
        stored = true;
      });
      // The event loop answers (a read through Prisma) while the batch waits for the lock.
      for (let i = 0; i < 5; i++) expect(await t.store.deploys.lineCount(id)).toBe(1000);
      expect(stored).toBe(false);
      other.exec('COMMIT');
      other.close();
      await write;
      expect(await t.store.deploys.lineCount(id)).toBe(2000);
      await sink.close();
    },
  );

  // The writing thread's queue: only SQLite's store is `ordered` (a PostgreSQL pool could commit out of order).
  it.runIf(TEST_DB === 'sqlite')(
    "GIVEN the writing thread waits for another connection's write lock THEN the log writer goes on handing it batches, and once the lock is released each is stored, in order, and a colliding one alone is refused",
    async () => {
      t = await tempStore();
      const id = await startedDeploy(t);
      const sink = await t.lines();
      expect(sink.ordered).toBe(true);
      const at = new Date();
      const line = (seq: number): StoredLine => ({ deployId: id, seq, host: 'h', stream: 'stdout', text: `l${seq}`, at });
      // The thread is up, so what follows reaches it at once.
      await sink.insert([line(1)]);
      const other = new Database(sqlitePath(t.url));
      other.exec('BEGIN IMMEDIATE');
      const writer = new LogWriter(sink, undefined, { batchLines: 10, highWater: 1_000 });
      let seq = 1;
      for (let batch = 0; batch < 3; batch++) {
        for (let i = 0; i < 10; i++) writer.add(line(++seq));
        writer.flush();
      }
      // A batch that collides with line 1, among the waiting ones: refused alone (its own savepoint).
      writer.add(line(1));
      writer.flush();
      for (let i = 0; i < 10; i++) writer.add(line(++seq));
      writer.flush();
      // Handed over on the next turn (flush starts each write in a microtask).
      await new Promise((r) => setImmediate(r));
      // Five batches handed over while none could be written.
      expect(writer.peakInFlight).toBe(5);
      expect(await t.store.deploys.lineCount(id)).toBe(1);
      other.exec('COMMIT');
      other.close();
      await writer.drain();
      expect(writer.dropped).toBe(1);
      expect((await stored(t, id)).map((r) => r.seq)).toEqual(Array.from({ length: seq }, (_, i) => i + 1));
      await sink.close();
    },
  );

  it('GIVEN a batch whose seqs collide with stored ones THEN nothing of it is stored and insert rejects', async () => {
    t = await tempStore();
    const id = await startedDeploy(t);
    const sink = await t.lines();
    const line = (seq: number): StoredLine => ({ deployId: id, seq, host: 'h', stream: 'stdout', text: `l${seq}`, at: new Date() });
    await sink.insert([1, 2, 3, 4, 5].map(line));
    await expect(sink.insert([6, 7, 8, 9, 3, 10].map(line))).rejects.toThrow(/unique/i);
    expect((await stored(t, id)).map((r) => r.seq)).toEqual([1, 2, 3, 4, 5]);
    await sink.close();
  });
});
