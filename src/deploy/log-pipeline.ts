/**
 * The log pipeline of a deploy: output chunks → lines (LineSplitter) → masked (Masker) → numbered (a per-deploy,
 * gap-free seq) → published on DeployEvents (viewer, chat sink) → stored by the LogWriter in batches.
 *
 *   const log = new DeployLog(7, { events, masker, writer });
 *   const out = log.host('web-1');
 *   out.onOutput('stdout', chunk); out.end();
 *   log.system('web-1', '$ npm ci');
 */
import type { Logger } from 'pino';
import type { StoredLine } from '../store/deploys.js';
import type { LineSink } from '../store/log-lines.js';
import type { DeployEvents, LogLineEvent, LogStream } from './events.js';
import { LineSplitter } from './line-splitter.js';
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
 * batch is written at a time; lines that arrive meanwhile form the next batch (so batches grow while the
 * database is busy). A write that fails for good is logged and its lines counted as dropped.
 */
export class LogWriter {
  private pending: StoredLine[] = [];
  private writing: Promise<void> | null = null;
  private writingCount = 0;
  private timer: NodeJS.Timeout | undefined;
  private immediate: NodeJS.Immediate | undefined;
  private waiters: (() => void)[] = [];
  private readonly intervalMs: number;
  private readonly batchLines: number;
  private readonly highWater: number;
  dropped = 0;
  /** Most lines ever waiting to be stored at once (queued plus being written): what back-pressure bounds. */
  peakQueued = 0;

  constructor(
    private readonly sink: LineSink,
    private readonly logger?: Logger,
    options: LogWriterOptions = {},
  ) {
    this.intervalMs = options.intervalMs ?? sink.batchMs ?? 100;
    this.batchLines = options.batchLines ?? 500;
    this.highWater = options.highWater ?? 10_000;
  }

  add(line: StoredLine): void {
    this.pending.push(line);
    if (this.pending.length + this.writingCount > this.peakQueued) this.peakQueued = this.pending.length + this.writingCount;
    this.schedule();
  }

  /** A promise while too many lines wait to be written (pause the source until it resolves), else undefined. */
  room(): Promise<void> | undefined {
    if (this.pending.length + this.writingCount < this.highWater) return undefined;
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  /** Starts writing what is pending now (unless a write is under way: its end starts the next one). */
  flush(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    if (this.writing || this.pending.length === 0) return;
    const batch = this.pending;
    this.pending = [];
    this.writingCount = batch.length;
    this.writing = this.sink
      .insert(batch)
      .catch((err) => {
        this.dropped += batch.length;
        this.logger?.error({ err, lines: batch.length, deployId: batch[0]?.deployId }, 'could not store log lines; they are lost');
      })
      .finally(() => {
        this.writing = null;
        this.writingCount = 0;
        this.wake();
        this.schedule();
      });
  }

  /** Resolves when every line added so far is stored (or given up on). */
  async drain(): Promise<void> {
    while (this.pending.length > 0 || this.writing) {
      this.flush();
      await (this.writing ?? new Promise((r) => setTimeout(r, 5)));
    }
  }

  private schedule(): void {
    if (this.pending.length === 0 || this.writing) return;
    if (this.pending.length >= this.batchLines) {
      // Next turn of the event loop, so a chunk of many lines becomes one transaction.
      this.immediate ??= setImmediate(() => {
        this.immediate = undefined;
        this.flush();
      });
    } else this.timer ??= setTimeout(() => this.flush(), this.intervalMs);
  }

  private wake(): void {
    if (this.waiters.length === 0 || this.pending.length + this.writingCount >= this.highWater / 2) return;
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

  /** Splits a host's raw output into lines, one splitter per stream. */
  host(host: string): HostOutput {
    // When the chunk being split arrived: every line completed by that chunk is stamped with it.
    let at = this.now();
    const splitter = (stream: OutputStream) => {
      const key = this.maskKey(host, stream);
      return new LineSplitter((l) => this.emit(host, stream, key, l, at));
    };
    const splitters = { stdout: splitter('stdout'), stderr: splitter('stderr') };
    return {
      onOutput: (stream, chunk) => {
        at = this.now();
        splitters[stream].push(chunk);
        return this.deps.writer.room();
      },
      end: () => {
        at = this.now();
        splitters.stdout.end();
        splitters.stderr.end();
      },
    };
  }
}
