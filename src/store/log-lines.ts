/**
 * A deploy's log in the database: chunks, not a row per line. A chunk (table LogChunk) holds consecutive lines
 * firstSeq..lastSeq of one host and stream printed at one time, joined by '\n'. Storing a row per line cost
 * ~2650 ns a line, 60% of a 500k-line deploy; a chunk of ~400 lines is one row, so storing now costs about what
 * joining the texts costs. Every line keeps its own number (seq, per deploy, 1-based, gap-free): the viewer's
 * #L<n>, the API's ?after= and SSE's Last-Event-ID count in it, and reading cuts chunks back into lines.
 *
 * The one store interface, for SQLite and PostgreSQL alike:
 *   - writing: LineSink.insert(lines) — LogLineStore (here, better-sqlite3 on a connection of its own, in a thread of its own) or
 *     PgLogLineStore (log-lines-postgresql.ts, a pg pool of its own); both cut lines with toChunks();
 *   - reading: LogReader — chunks(…) ("lines after N", as stored: what SSE and other instances stream from),
 *     page(…) (the API's and viewer's pages of lines), raw(…) (every chunk in order, for the download),
 *     lastSeq(…). One implementation (LogLines) over Prisma serves both databases: a page is a few rows.
 *
 *   const sink = new LogLineStore('/var/lib/shepherd/shepherd.db');
 *   await sink.insert([{ deployId: 3, seq: 1, host: 'web-1', stream: 'stdout', text: 'ok', at: new Date() }]);
 *   const page = await new LogLines(prisma).page(3, { after: 0, limit: 1000 }); // [{ seq: 1, text: 'ok', … }]
 */
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import type { Db } from './db.js';
import type { StoredLine } from './deploys.js';
import { type RingMark, TextRing } from './text-ring.js';

/** Most lines in one chunk: a page read never decodes much more than it returns. */
export const CHUNK_MAX_LINES = 1000;
/** Most characters in one chunk (lines can be 8 KiB each). */
export const CHUNK_MAX_CHARS = 256 * 1024;
/**
 * Most characters of a chunk batchChunks() joins from smaller ones: enough to turn a host's many small outputs
 * (a line each) into few rows; larger chunks are stored as they came, since their joined text is a rope that V8
 * copies again whole when the batch goes to SQLite's writing thread.
 */
export const CHUNK_JOIN_CHARS = 16 * 1024;
/** How long a batch keeps retrying while another connection holds the SQLite write lock. */
const BUSY_GIVE_UP_MS = 30_000;

/** One stored line, as pages and SSE give it out. */
export interface LineRow {
  seq: number;
  host: string | null;
  stream: string;
  text: string;
  at: Date;
}

/** One stored chunk: lines firstSeq..lastSeq of one host and stream, printed at `at`, joined by '\n'. */
export interface LogChunkRow {
  firstSeq: number;
  lastSeq: number;
  host: string | null;
  stream: string;
  text: string;
  at: Date;
}

export interface LineSink {
  /** Stores the lines (in seq order per deploy) in one transaction; resolves once committed, rejects with the reason when not. */
  insert(lines: readonly StoredLine[]): Promise<void>;
  /**
   * The same for lines already cut into chunks (toChunks(), or the log pipeline's chunks as a host printed them):
   * what the log writer uses, so a 500k-line deploy's lines are never joined again one by one.
   */
  insertChunks(chunks: readonly NewChunk[]): Promise<void>;
  close(): Promise<void>;
  /**
   * Gets ready for a first batch soon (a deploy started), so that batch does not wait for it: SQLite's writing
   * thread takes ~100-200 ms to start and open its connection, while a deploy's first output comes after the SSH
   * handshake. Optional (nothing to get ready on PostgreSQL).
   */
  warm?(): void;
  /**
   * Longest a line should wait for its batch, when someone reads the database for it as it happens (another
   * instance's live viewers); the log writer's own interval otherwise.
   */
  readonly batchMs?: number;
  /**
   * Batches handed over while earlier ones are still being written are stored after them, in the order given
   * (one writing thread, one queue): the log writer may then hand over the next batch at once. Without it, it
   * waits for each (a pool could commit two batches out of order, and a reader of "lines after N" skip some).
   */
  readonly ordered?: boolean;
}

/** Reading a deploy's log, on either database. */
export interface LogReader {
  /**
   * "Lines after N" as stored: the chunks in seq order that hold the lines after `after` (the first may start
   * before it: skip seq ≤ after), enough to cover at least `lines` of them unless the log ends first.
   */
  chunks(deployId: number, after: number, lines: number, host?: string | null): Promise<LogChunkRow[]>;
  /** A page: the lines with seq > after, in order, at most `limit`; `host` (null: the bot's own lines) filters. */
  page(deployId: number, query: { after: number; limit: number; host?: string | null | undefined }): Promise<LineRow[]>;
  /** Every chunk of the log in order (the raw download), read a few at a time. */
  raw(deployId: number): AsyncIterable<LogChunkRow>;
  /** Number of the last stored line (0: none). */
  lastSeq(deployId: number): Promise<number>;
  /** How many lines are stored. */
  count(deployId: number): Promise<number>;
}

/** A chunk to store: which deploy it belongs to, and its row. */
export interface NewChunk extends LogChunkRow {
  deployId: number;
  /** The text is known to be ASCII (an output chunk that took LineSplitter's ASCII path): copied as bytes, not encoded. */
  ascii?: boolean;
}

/**
 * Cuts lines (in seq order per deploy, as the log pipeline hands them over) into chunks: a chunk ends where the
 * deploy, host or stream changes, the time changes (lines of one output chunk share one Date), a seq is skipped,
 * or it is full. A '\n' inside a line (never from the pipeline, which splits on it) would split it on reading,
 * so it is stored as a space.
 */
export function toChunks(lines: readonly StoredLine[]): NewChunk[] {
  const out: NewChunk[] = [];
  let i = 0;
  while (i < lines.length) {
    const first = lines[i] as StoredLine;
    const t = first.at.getTime();
    let chars = first.text.length;
    let end = i + 1;
    while (end < lines.length && end - i < CHUNK_MAX_LINES) {
      const l = lines[end] as StoredLine;
      if (l.seq !== first.seq + (end - i) || l.deployId !== first.deployId || l.host !== first.host || l.stream !== first.stream || l.at.getTime() !== t) break;
      chars += l.text.length + 1;
      if (chars > CHUNK_MAX_CHARS) break;
      end++;
    }
    let text: string;
    if (end - i === 1) text = oneLine(first.text);
    else {
      const texts: string[] = new Array(end - i);
      for (let j = i; j < end; j++) texts[j - i] = oneLine((lines[j] as StoredLine).text);
      text = texts.join('\n');
    }
    out.push({ deployId: first.deployId, firstSeq: first.seq, lastSeq: first.seq + (end - i) - 1, host: first.host, stream: first.stream, text, at: first.at });
    i = end;
  }
  return out;
}

/**
 * The log writer's queue as chunks to store: runs of single lines cut by toChunks(), chunks kept as they are,
 * and a chunk that continues the one before it (same deploy, host, stream and time, the next seq) joined to it
 * while the joined one stays small (CHUNK_MAX_LINES, CHUNK_JOIN_CHARS).
 *   batchChunks([line1, line2, chunk3to400]) // one chunk 1..400 when all three share host, stream and time
 */
export function batchChunks(items: readonly (StoredLine | NewChunk)[]): NewChunk[] {
  const out: NewChunk[] = [];
  let i = 0;
  while (i < items.length) {
    const item = items[i] as StoredLine | NewChunk;
    let next: NewChunk[];
    if ('firstSeq' in item) {
      next = [item];
      i++;
    } else {
      let end = i + 1;
      while (end < items.length && !('firstSeq' in (items[end] as StoredLine | NewChunk))) end++;
      next = toChunks(items.slice(i, end) as StoredLine[]);
      i = end;
    }
    for (const c of next) {
      const last = out[out.length - 1];
      if (
        last &&
        last.deployId === c.deployId &&
        last.lastSeq + 1 === c.firstSeq &&
        last.host === c.host &&
        last.stream === c.stream &&
        last.at.getTime() === c.at.getTime() &&
        c.lastSeq - last.firstSeq < CHUNK_MAX_LINES &&
        last.text.length + 1 + c.text.length <= CHUNK_JOIN_CHARS
      )
        out[out.length - 1] = { ...last, lastSeq: c.lastSeq, text: `${last.text}\n${c.text}`, ascii: last.ascii && c.ascii ? true : undefined };
      else out.push(c);
    }
  }
  return out;
}

/**
 * Throws (a message naming "unique", as the old per-line unique key did) when two chunks of the batch share a
 * line number: a line is stored once. Against stored chunks each store checks in its insert statement.
 */
export function assertDisjoint(chunks: readonly NewChunk[]): void {
  const byDeploy = new Map<number, NewChunk[]>();
  for (const c of chunks) (byDeploy.get(c.deployId) ?? byDeploy.set(c.deployId, []).get(c.deployId))?.push(c);
  for (const list of byDeploy.values()) {
    const sorted = [...list].sort((a, b) => a.firstSeq - b.firstSeq);
    for (let i = 1; i < sorted.length; i++) {
      const [a, b] = [sorted[i - 1] as NewChunk, sorted[i] as NewChunk];
      if (b.firstSeq <= a.lastSeq) throw overlap(b);
    }
  }
}

/** Which lines a chunk holds. */
type ChunkRef = Pick<NewChunk, 'deployId' | 'firstSeq' | 'lastSeq'>;

/** The error for a chunk whose lines are stored already. */
export function overlap(c: ChunkRef): Error {
  return new Error(`log lines ${c.firstSeq}..${c.lastSeq} of deploy ${c.deployId} are stored already (line numbers are unique)`);
}

function oneLine(text: string): string {
  return text.includes('\n') ? text.replaceAll('\n', ' ') : text;
}

/** A chunk's lines with seq > after (all of them by default). */
export function linesOf(chunk: LogChunkRow, after = 0): LineRow[] {
  const texts = chunk.text.split('\n');
  const out: LineRow[] = [];
  for (let i = Math.max(0, after - chunk.firstSeq + 1); i < texts.length; i++)
    out.push({ seq: chunk.firstSeq + i, host: chunk.host, stream: chunk.stream, text: texts[i] as string, at: chunk.at });
  return out;
}

const chunkFields = { firstSeq: true, lastSeq: true, host: true, stream: true, text: true, at: true } as const;

/** LogReader over Prisma: the same queries on SQLite and PostgreSQL, a few rows per page. */
export class LogLines implements LogReader {
  constructor(private readonly db: Db) {}

  async chunks(deployId: number, after: number, lines: number, host?: string | null): Promise<LogChunkRow[]> {
    const out: LogChunkRow[] = [];
    let covered = 0;
    let from = after;
    let perChunk = 200;
    while (covered < lines) {
      // Ask for about as many chunks as the lines need, at the lines per chunk seen so far (a few hundred from a
      // chatty host, one when hosts take turns line by line), plus one.
      const take = Math.min(lines - covered + 1, Math.ceil((lines - covered) / perChunk) + 1);
      const rows = await this.db.logChunk.findMany({
        where: { deployId, lastSeq: { gt: from }, ...(host !== undefined ? { host } : {}) },
        orderBy: { lastSeq: 'asc' },
        take,
        select: chunkFields,
      });
      const before = covered;
      for (const row of rows) {
        out.push(row);
        covered += row.lastSeq - Math.max(row.firstSeq, after + 1) + 1;
        from = row.lastSeq;
        if (covered >= lines) break;
      }
      if (rows.length < take) break;
      perChunk = Math.max(1, (covered - before) / rows.length);
    }
    return out;
  }

  async page(deployId: number, query: { after: number; limit: number; host?: string | null | undefined }): Promise<LineRow[]> {
    const out: LineRow[] = [];
    for (const chunk of await this.chunks(deployId, query.after, query.limit, query.host)) {
      for (const line of linesOf(chunk, query.after)) {
        if (out.length === query.limit) return out;
        out.push(line);
      }
    }
    return out;
  }

  async *raw(deployId: number): AsyncIterable<LogChunkRow> {
    let after = 0;
    for (;;) {
      const rows = await this.db.logChunk.findMany({ where: { deployId, lastSeq: { gt: after } }, orderBy: { lastSeq: 'asc' }, take: 32, select: chunkFields });
      yield* rows;
      if (rows.length < 32) return;
      after = (rows[rows.length - 1] as LogChunkRow).lastSeq;
    }
  }

  async lastSeq(deployId: number): Promise<number> {
    const agg = await this.db.logChunk.aggregate({ where: { deployId }, _max: { lastSeq: true } });
    return agg._max.lastSeq ?? 0;
  }

  async count(deployId: number): Promise<number> {
    const rows = await this.db.logChunk.findMany({ where: { deployId }, select: { firstSeq: true, lastSeq: true } });
    return rows.reduce((n, r) => n + r.lastSeq - r.firstSeq + 1, 0);
  }
}

/**
 * When the writing thread copies the write-ahead log into the database file (a PASSIVE checkpoint: never waits
 * for, nor blocks, other writers or readers, but fsyncs twice: ~250 ms for 38 MiB, mostly waiting for the disk).
 * Not while batches keep coming: a checkpoint in the middle of a burst held every batch behind it (the output
 * of a 500k-line deploy was paused ~600 ms for it). It runs once the thread has had nothing to write for
 * CHECKPOINT_IDLE_MS, or at once after CHECKPOINT_MAX_CHARS were written since the last (a longer burst: the
 * write-ahead log stays bounded). Prisma's connection leaves checkpoints to this thread while the log is below
 * twice that (SQLITE_WAL_AUTOCHECKPOINT_PAGES in db-sqlite.ts).
 */
export const CHECKPOINT_IDLE_MS = 200;
export const CHECKPOINT_MAX_CHARS = 64 * 1024 * 1024;

/**
 * The writing thread: a connection of its own; the batches waiting for it in one IMMEDIATE transaction, each
 * batch in a savepoint of its own (stored whole or not at all), each chunk stored only when no stored chunk holds
 * any of its lines (an index probe on lastSeq; appends find nothing). It may wait for the write lock (busy_timeout): Prisma's transactions on the main thread go on
 * meanwhile. Its commits never checkpoint; it checkpoints when idle (above). Plain JavaScript evaluated in the
 * thread, so it runs the same from the sources (tsx, vitest) and from the build.
 */
const WRITER = `
const { parentPort, receiveMessageOnPort, workerData } = require('node:worker_threads');
const Database = require(workerData.driver);
const ring = Buffer.from(workerData.ring);
const db = new Database(workerData.path);
db.pragma('busy_timeout = ${BUSY_GIVE_UP_MS}');
db.pragma('synchronous = NORMAL');
db.pragma('wal_autocheckpoint = 0');
const insert = db.prepare(
  'INSERT INTO "LogChunk" ("deployId", "firstSeq", "lastSeq", "host", "stream", "text", "at") SELECT ?, ?, ?, ?, ?, CAST(? AS TEXT), ? ' +
  'WHERE NOT EXISTS (SELECT 1 FROM "LogChunk" WHERE "deployId" = ? AND "lastSeq" >= ? AND "firstSeq" <= ?)');
const failure = (err) => ({ message: String(err && err.message), code: err && err.code, overlap: err && err.overlap });
// A row's text: the string, or (null) its UTF-8 bytes in the shared ring at offset r[7], r[8] long, bound as a
// blob that CAST makes text again without a copy through a JavaScript string.
const text = (r) => (r[5] === null ? ring.subarray(r[7], r[7] + r[8]) : r[5]);
// Nested in writeAll: a savepoint, so a batch that fails is rolled back alone.
const writeOne = db.transaction((rows) => {
  for (const r of rows)
    if (insert.run(r[0], r[1], r[2], r[3], r[4], text(r), r[6], r[0], r[1], r[2]).changes !== 1) throw Object.assign(new Error('overlap'), { overlap: [r[0], r[1]] });
});
const writeAll = db.transaction((batches) =>
  batches.map(({ id, rows }) => {
    try {
      writeOne(rows);
      return { id };
    } catch (err) {
      return { id, error: failure(err) };
    }
  }),
);
let written = 0;
let idle;
const checkpoint = () => {
  idle = undefined;
  written = 0;
  try { db.pragma('wal_checkpoint(PASSIVE)'); } catch {}
};
parentPort.on('message', (first) => {
  if (idle !== undefined) clearTimeout(idle);
  idle = undefined;
  // The batches that queued up meanwhile go in the same transaction (one commit), each still stored whole or not.
  const batches = [first];
  for (let m = receiveMessageOnPort(parentPort); m; m = receiveMessageOnPort(parentPort)) batches.push(m.message);
  let results;
  try {
    results = writeAll.immediate(batches);
  } catch (err) {
    results = batches.map(({ id }) => ({ id, error: failure(err) }));
  }
  for (const { rows } of batches) for (const r of rows) written += r[5] === null ? r[8] : r[5].length;
  for (const r of results) parentPort.postMessage(r);
  if (written >= workerData.checkpointMaxChars) checkpoint();
  else if (written > 0) idle = setTimeout(checkpoint, workerData.checkpointIdleMs);
});`;

/** A chunk as the writing thread takes it: its text, or null and where its bytes are in the ring (offset, length). */
type Row = [
  deployId: number,
  firstSeq: number,
  lastSeq: number,
  host: string | null,
  stream: string,
  text: string | null,
  at: string,
  offset: number,
  length: number,
];

/**
 * Bytes of shared memory the log texts go through to the writing thread (TextRing): twice what the log writer lets
 * wait for storage before it pauses the hosts (10k lines of 80 characters: 800 KB; 840 KB was the most in use in
 * the 500k-line benchmark). A text that finds no room goes as a string in the message.
 */
export const RING_BYTES = 2 * 1024 * 1024;

/**
 * Writes deploy log chunks straight to SQLite (not through Prisma) on a connection of its own, in a thread of its
 * own (WRITER): the event loop only hands over each batch (a row per output chunk: one string of ~400 lines) and
 * goes on splitting, masking and publishing while it is written. Storing 500k lines (38 MiB) costs ~250 ms of
 * CPU in SQLite, a third of what the event loop spent per line; handing the texts over costs a copy of each, into
 * shared memory (TextRing), which the thread binds as it is. (When every line was a row, a writing thread used more CPU and memory than it saved: each line cost more to
 * hand over than to write.)
 */
export class LogLineStore implements LineSink {
  /** One thread takes the batches off one queue: they are committed in the order handed over. */
  readonly ordered = true;
  private worker: Worker | undefined;
  private nextId = 1;
  /** Batches handed over: what settles them, where each chunk starts (an overlap names it) and their ring mark. */
  private readonly waiting = new Map<number, { resolve: () => void; reject: (err: Error) => void; chunks: readonly ChunkRef[]; mark: RingMark }>();
  private readonly ring = new TextRing(RING_BYTES);
  private lastTime = Number.NaN;
  private lastStamp = '';
  private closed = false;

  constructor(
    private readonly path: string,
    private readonly options: { checkpointIdleMs?: number; checkpointMaxChars?: number } = {},
  ) {}

  insert(lines: readonly StoredLine[]): Promise<void> {
    return this.insertChunks(toChunks(lines));
  }

  async insertChunks(chunks: readonly NewChunk[]): Promise<void> {
    if (chunks.length === 0) return;
    if (this.closed) throw new Error('the log line store is closed');
    assertDisjoint(chunks);
    const worker = this.thread();
    const rows: Row[] = new Array(chunks.length);
    for (let i = 0; i < chunks.length; i++) {
      const c = chunks[i] as NewChunk;
      const slice = this.ring.put(c.text, c.ascii === true);
      rows[i] = [c.deployId, c.firstSeq, c.lastSeq, c.host, c.stream, slice ? null : c.text, this.stamp(c.at), slice?.offset ?? 0, slice?.length ?? 0];
    }
    const id = this.nextId++;
    const mark = this.ring.mark();
    // Kept without their texts (copied into the ring or the message): those can go as soon as this returns.
    const refs = chunks.map(({ deployId, firstSeq, lastSeq }) => ({ deployId, firstSeq, lastSeq }));
    const done = new Promise<void>((resolve, reject) => this.waiting.set(id, { resolve, reject, chunks: refs, mark }));
    // Only while a batch is being written does the thread keep the process alive.
    if (this.waiting.size === 1) worker.ref();
    worker.postMessage({ id, rows });
    return done;
  }

  warm(): void {
    if (!this.closed) this.thread();
  }

  async close(): Promise<void> {
    this.closed = true;
    // Batches handed over are written first.
    await Promise.allSettled(
      [...this.waiting.values()].map(
        (w) =>
          new Promise<void>((r) => {
            const { resolve, reject } = w;
            w.resolve = () => {
              resolve();
              r();
            };
            w.reject = (err) => {
              reject(err);
              r();
            };
          }),
      ),
    );
    const worker = this.worker;
    this.worker = undefined;
    await worker?.terminate();
  }

  private thread(): Worker {
    if (this.worker) return this.worker;
    const driver = createRequire(import.meta.url).resolve('better-sqlite3');
    const worker = new Worker(WRITER, {
      eval: true,
      workerData: {
        driver,
        path: this.path,
        ring: this.ring.shared,
        checkpointIdleMs: this.options.checkpointIdleMs ?? CHECKPOINT_IDLE_MS,
        checkpointMaxChars: this.options.checkpointMaxChars ?? CHECKPOINT_MAX_CHARS,
      },
    });
    worker.unref();
    worker.on('message', (m: { id: number; error?: { message: string; code?: string; overlap?: [deployId: number, firstSeq: number] } }) => {
      const w = this.waiting.get(m.id);
      if (!w) return;
      this.waiting.delete(m.id);
      // Stored or not, the thread is done with the batch's texts (batches are answered in order).
      this.ring.release(w.mark);
      if (this.waiting.size === 0) worker.unref();
      if (!m.error) return w.resolve();
      const clash = m.error.overlap;
      const chunk = clash && w.chunks.find((c) => c.deployId === clash[0] && c.firstSeq === clash[1]);
      w.reject(chunk ? overlap(chunk) : Object.assign(new Error(m.error.message), { code: m.error.code }));
    });
    // The thread died (it could not open the database, or crashed): what it was writing is lost, the next
    // batch starts a new one.
    const died = (err: Error) => {
      // Once: 'error' is followed by 'exit', and by then a new thread may be writing new batches.
      if (this.worker !== worker) return;
      this.worker = undefined;
      for (const w of this.waiting.values()) w.reject(err);
      this.waiting.clear();
      this.ring.reset();
    };
    worker.on('error', died);
    worker.on('exit', (code) => died(new Error(`the log writing thread exited (${code})`)));
    this.worker = worker;
    return worker;
  }

  /** Prisma's SQLite adapter stores DateTime as ISO 8601 with +00:00: write the same so Prisma reads it back. */
  private stamp(at: Date): string {
    const t = at.getTime();
    if (t !== this.lastTime) {
      this.lastTime = t;
      this.lastStamp = at.toISOString().replace('Z', '+00:00');
    }
    return this.lastStamp;
  }
}
