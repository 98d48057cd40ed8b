/**
 * The log pipeline of a deploy: output chunks → lines (LineSplitter) → masked (Masker) → numbered (a per-deploy,
 * gap-free seq) → published on DeployEvents (viewer, chat sink) → stored by the LogWriter in batches. An output
 * chunk's lines travel together: one mask check for the whole chunk, and when nothing in it changed, its own
 * text is what is stored (one chunk row per output chunk, the lines never joined again).
 *
 *   const log = new DeployLog(7, { events, masker, writer });
 *   const out = log.host('web-1');
 *   out.onOutput('stdout', chunk); out.end();
 *   log.system('web-1', '$ npm ci');
 */
import type { Logger } from 'pino';
import type { StoredLine } from '../store/deploys.js';
import { batchChunks, CHUNK_MAX_CHARS, CHUNK_MAX_LINES, type LineSink, type NewChunk } from '../store/log-lines.js';
import { type DeployEvents, type LogLineEvent, type LogStream, linesEvent } from './events.js';
import { LineSplitter, type SplitLines } from './line-splitter.js';
import type { Masker } from './mask.js';
import type { OutputStream } from './transport.js';

export interface LogWriterOptions {
  /** Longest a line waits before it is written (default: the sink's batchMs, else 100 ms). */
  intervalMs?: number;
  /** Lines that trigger a write at once. */
  batchLines?: number;
  /** Lines waiting to be written above which output is paused (the hosts wait, memory stays bounded). */
  highWater?: number;
}

/**
 * Batches lines of every deploy into transactions: every intervalMs or batchLines lines, whichever first. One
 * batch is written at a time, lines that arrive meanwhile forming the next (so batches grow while the database
 * is busy), unless the sink stores batches in the order given (`ordered`): then each is handed over at once.
 * Either way, lines handed over and not yet stored count against highWater. A write that fails for good is
 * logged and its lines counted as dropped.
 */
export class LogWriter {
  /** Lines and chunks in the order they were added: a chunk is a host's output chunk of clean lines, stored as printed. */
  private pending: (StoredLine | NewChunk)[] = [];
  /** Lines in `pending`. */
  private pendingLines = 0;
  /** The last batch handed to the sink, while any is being written. */
  private writing: Promise<void> | null = null;
  /** Lines handed to the sink and not yet stored. */
  private writingCount = 0;
  /** Batches handed to the sink and not yet stored (at most one unless the sink is `ordered`). */
  private inFlight = 0;
  private timer: NodeJS.Timeout | undefined;
  private immediate: NodeJS.Immediate | undefined;
  private waiters: (() => void)[] = [];
  private readonly intervalMs: number;
  private readonly batchLines: number;
  private readonly highWater: number;
  dropped = 0;
  /** Most lines ever waiting to be stored at once (queued plus being written): what back-pressure bounds. */
  peakQueued = 0;
  /** Most batches ever handed to the sink and not yet stored. */
  peakInFlight = 0;
  /** How often room() asked a source to wait, and for how long in all (ms): the time output was held back by storage. */
  pauses = 0;
  pausedMs = 0;

  constructor(
    private readonly sink: LineSink,
    private readonly logger?: Logger,
    options: LogWriterOptions = {},
  ) {
    this.intervalMs = options.intervalMs ?? sink.batchMs ?? 100;
    this.batchLines = options.batchLines ?? 500;
    this.highWater = options.highWater ?? 10_000;
  }

  /** A deploy is starting: the sink gets ready for its first lines (LineSink.warm). */
  warm(): void {
    this.sink.warm?.();
  }

  add(line: StoredLine): void {
    this.pending.push(line);
    this.added(1);
  }

  /** Consecutive lines as one chunk (lastSeq - firstSeq + 1 lines, joined by '\n'). */
  addChunk(chunk: NewChunk): void {
    this.pending.push(chunk);
    this.added(chunk.lastSeq - chunk.firstSeq + 1);
  }

  private added(lines: number): void {
    this.pendingLines += lines;
    if (this.pendingLines + this.writingCount > this.peakQueued) this.peakQueued = this.pendingLines + this.writingCount;
    this.schedule();
  }

  /** A promise while too many lines wait to be written (pause the source until it resolves), else undefined. */
  room(): Promise<void> | undefined {
    if (this.pendingLines + this.writingCount < this.highWater) return undefined;
    this.pauses++;
    const since = performance.now();
    return new Promise((resolve) =>
      this.waiters.push(() => {
        this.pausedMs += performance.now() - since;
        resolve();
      }),
    );
  }

  /**
   * Starts writing what is pending now. A sink that stores batches in the order given (`ordered`: SQLite's writing
   * thread) gets it at once, so it never waits for the event loop between batches; any other gets it once the
   * write under way ended (its end starts the next one).
   */
  flush(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    if (this.pending.length === 0 || (this.writing && !this.sink.ordered)) return;
    const batch = this.pending;
    const lines = this.pendingLines;
    this.pending = [];
    this.pendingLines = 0;
    this.writingCount += lines;
    this.inFlight++;
    // Only the deploy is kept for the error: the batch (every text in it) is the sink's once handed over.
    const deployId = batch[0]?.deployId;
    const write: Promise<void> = Promise.resolve()
      .then(() => this.sink.insertChunks(batchChunks(batch)))
      .catch((err) => {
        this.dropped += lines;
        this.logger?.error({ err, lines, deployId }, 'could not store log lines; they are lost');
      })
      .finally(() => {
        this.inFlight--;
        this.writingCount -= lines;
        if (this.writing === write) this.writing = null;
        this.wake();
        this.schedule();
      });
    this.writing = write;
    if (this.inFlight > this.peakInFlight) this.peakInFlight = this.inFlight;
  }

  /** Resolves when every line added so far is stored (or given up on). */
  async drain(): Promise<void> {
    while (this.pending.length > 0 || this.writing) {
      this.flush();
      await (this.writing ?? new Promise((r) => setTimeout(r, 5)));
    }
  }

  private schedule(): void {
    if (this.pending.length === 0 || (this.writing && !this.sink.ordered)) return;
    if (this.pendingLines >= this.batchLines) {
      // Next turn of the event loop, so a chunk of many lines becomes one transaction.
      this.immediate ??= setImmediate(() => {
        this.immediate = undefined;
        this.flush();
      });
    } else this.timer ??= setTimeout(() => this.flush(), this.intervalMs);
  }

  private wake(): void {
    if (this.waiters.length === 0 || this.pendingLines + this.writingCount >= this.highWater / 2) return;
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w();
  }
}

export interface LogPipelineDeps {
  events: DeployEvents;
  masker: Masker;
  writer: LogWriter;
  now?: () => Date;
}

/** Where one host's output goes: feed it chunks, end it when the command ended (flushes a last partial line). */
export interface HostOutput {
  onOutput(stream: OutputStream, chunk: Buffer): Promise<void> | undefined;
  end(): void;
}

export class DeployLog {
  private seq = 0;
  /** Lines published so far (seq of the last one). */
  get lastSeq(): number {
    return this.seq;
  }

  constructor(
    readonly deployId: number,
    private readonly deps: LogPipelineDeps,
  ) {}

  /** One line: masked, numbered, published, queued for storage. */
  line(host: string | null, stream: LogStream, raw: string): void {
    this.emit(host, stream, this.maskKey(host, stream), raw, this.now());
  }

  /**
   * The per-line work, kept lean because a deploy can print hundreds of thousands of lines: the masker's
   * stream key is built once per host and stream, and the lines of one output chunk share one Date.
   */
  private emit(host: string | null, stream: LogStream, maskKey: string, raw: string, at: Date): void {
    const line: LogLineEvent = { deployId: this.deployId, seq: ++this.seq, host, stream, text: this.deps.masker.line(raw, maskKey), at };
    this.deps.events.publish({ type: 'line', line });
    this.deps.writer.add(line);
  }

  private maskKey(host: string | null, stream: LogStream): string {
    return `${this.deployId}\0${host ?? ''}\0${stream}`;
  }

  private now(): Date {
    return this.deps.now?.() ?? new Date();
  }

  /** A line Shepherd itself writes about a host (or about the deploy when host is null). */
  system(host: string | null, text: string): void {
    for (const part of text.split('\n')) this.line(host, 'system', part);
  }

  /**
   * The lines one output chunk completed, all stamped with its time. When the chunk holds nothing the masker
   * could hide (one scan of the whole text) its lines skip masking; when besides no line was changed (no CR,
   * none capped) and they fit in one stored chunk, the writer gets the chunk's own text instead of the lines to
   * join again; its lines are published as one event (numbered firstSeq…).
   */
  private lines(host: string, stream: LogStream, maskKey: string, split: SplitLines, at: Date): void {
    const { count, source } = split;
    if (count === 0) return;
    const clean = this.deps.masker.clean(source, maskKey);
    if (clean && split.verbatim && count <= CHUNK_MAX_LINES && source.length <= CHUNK_MAX_CHARS) {
      const firstSeq = this.seq + 1;
      this.seq += count;
      // The lines are cut from `source` only if a listener asks (see LogLinesEvent).
      this.deps.events.publish({ type: 'lines', lines: linesEvent({ deployId: this.deployId, firstSeq, count, host, stream, text: source, at }) });
      this.deps.writer.addChunk({ deployId: this.deployId, firstSeq, lastSeq: this.seq, host, stream, text: source, at, ascii: split.ascii === true });
      return;
    }
    for (const raw of split.lines) {
      const line: LogLineEvent = { deployId: this.deployId, seq: ++this.seq, host, stream, text: clean ? raw : this.deps.masker.line(raw, maskKey), at };
      this.deps.events.publish({ type: 'line', line });
      this.deps.writer.add(line);
    }
  }

  /** Splits a host's raw output into lines, one splitter per stream. */
  host(host: string): HostOutput {
    const splitter = (stream: 'stdout' | 'stderr') => ({ stream, key: this.maskKey(host, stream), lines: new LineSplitter() });
    const splitters = { stdout: splitter('stdout'), stderr: splitter('stderr') };
    return {
      onOutput: (stream, chunk) => {
        const s = splitters[stream];
        this.lines(host, stream, s.key, s.lines.take(chunk), this.now());
        return this.deps.writer.room();
      },
      end: () => {
        const at = this.now();
        for (const s of [splitters.stdout, splitters.stderr]) this.lines(host, s.stream, s.key, s.lines.takeEnd(), at);
      },
    };
  }
}
