/**
 * Live deploy logs over server-sent events, with no line shown twice or lost, and memory that does not grow
 * with the number of viewers.
 *
 * The hub subscribes to DeployEvents once, for the whole server. The lines a deploy publishes in one turn of the
 * event loop become one block: their SSE frames (masked and serialised once) in one Buffer, with the byte offset
 * of each frame. Every viewer is sent that same Buffer (or the tail of it from its next line, a view, never a
 * copy), so 50 viewers cost 50 socket writes of one buffer, not 50 strings. The Buffer is cut from a slab that is
 * written over once no ring holds the block and every socket has flushed it (frame-arena.ts): a deploy's log
 * costs the ring's worth of memory, not everything it printed until the next major garbage collection. A ring of recent blocks per deploy
 * closes the gap the engine leaves: it publishes a line first and stores it a little later in a batch. While
 * nobody watches a deploy, its blocks keep the lines as published and are framed only when a viewer needs them.
 *
 * A viewer that connects (or reconnects with Last-Event-ID = the last seq it got) is registered, then catches
 * up: stored chunks after its seq (LogReader.chunks; each chunk made into a block once and shared by the viewers
 * reading it, see `stored`), then the ring's blocks. Only when the two meet without a hole does it go live,
 * synchronously, so no published line falls between catch-up and live. A live viewer that ever sees a hole
 * (seq jumps) goes back to catching up.
 *
 * Back-pressure: a viewer whose socket holds more than maxBufferBytes unsent is paused (nothing more is queued
 * for it) and resumes from where it is on 'drain', from the ring or the store: a slow browser costs one buffer's
 * worth of memory, never a copy of the log, and is never cut off. Event id = seq.
 *
 * A deploy another instance runs publishes nothing here. When that instance's notification of a stored batch
 * carries the lines (small batches, see instance-notify.ts), they go through the ring as this process's own lines
 * do; otherwise its viewers catch up again (from the database, by seq) whenever the notifier says that instance
 * stored lines or changed the deploy's state, and on a slow poll that makes good a lost notification (and is all
 * there is between processes on SQLite).
 *
 *   const hub = new LiveLog({ events, logs: store.logs, redactor, logger });
 *   hub.start();
 *   hub.attach(42, lastSeq, reply.raw, 'running');   // in the SSE route
 */
import type { ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import type { DeployEvent, DeployEvents } from '../deploy/events.js';
import type { LogChunkRow, LogReader } from '../store/log-lines.js';
import type { Notification, Notifier } from '../store/notify.js';
import { type ArenaStats, FrameArena, type Slab } from './frame-arena.js';
import { traceLine, tracing } from './line-trace.js';
import { isActive } from './read-model.js';
import type { Redactor } from './redact.js';

export interface LiveLogOptions {
  events: DeployEvents;
  /** Where stored lines are read from (chunks, as stored). */
  logs: LogReader;
  redactor: Redactor;
  logger: Logger;
  /** Recent lines kept per deploy (default 20,000): must cover what is published but not yet stored. */
  ringSize?: number;
  /** How long a finished deploy's ring is kept for late viewers (default 60 s). */
  keepAfterEndMs?: number;
  /** Stored lines read per database query while catching up (default 1,000: each read blocks the loop briefly). */
  pageSize?: number;
  /** Unsent bytes on a viewer's socket above which it is paused until the socket drains (default 256 KiB). */
  maxBufferBytes?: number;
  /** Comment lines that keep idle connections open through proxies (default 15 s). */
  heartbeatMs?: number;
  /** How long a catch-up waits for lines published but not stored and no longer in the ring (default 15 s). */
  gapWaitMs?: number;
  /** Wake-ups from other instances (lines stored, states changed) for deploys they run. */
  notifier?: Notifier;
  /** How often viewers of a deploy not run here look at the database anyway (default 1 s; 250 ms without a cross-process notifier). */
  remotePollMs?: number;
  /** The deploy's state in the database (for deploys another instance runs); without it the poll reads lines only. */
  storedState?: (deployId: number) => Promise<string | null>;
}

/**
 * Frames of consecutive lines first..last in one Buffer; ends[i] = byte offset where frame first+i ends. A block
 * published while nobody watched the deploy keeps its lines as published (`raw`) and is framed the first time a
 * viewer needs it (framed()): most deploys' lines are never watched live, and framing every line (masking it
 * again, JSON, bytes) cost more than the rest of the log's way to the database.
 */
interface Block {
  first: number;
  last: number;
  bytes?: Buffer;
  ends?: Uint32Array;
  raw?: Segment[];
  /** Where live blocks' bytes live (see FrameArena); none for blocks made from stored chunks or raw ones (own Buffer). */
  slab?: Slab;
}

/** A framed block. */
type Framed = Block & { bytes: Buffer; ends: Uint32Array };

/** Lines as a deploy published them: firstSeq, firstSeq + 1, … of one host and stream (texts cut when read). */
interface Segment {
  firstSeq: number;
  host: string | null;
  stream: string;
  lines: { readonly texts: readonly string[] };
  at: Date;
}

/** The frames of `block` from line `seq` on (first ≤ seq ≤ last): a view of the shared Buffer. */
function tail(block: Framed, seq: number): Buffer {
  return seq <= block.first ? block.bytes : block.bytes.subarray(block.ends[seq - block.first - 1] as number);
}

interface LineLike {
  seq: number;
  host: string | null;
  stream: string;
  text: string;
  at: Date;
}

interface Channel {
  deployId: number;
  /** Recent live blocks, in seq order, about ringSize lines in all. */
  ring: Block[];
  ringLines: number;
  /** Lines published this turn (pendingLines of them from pendingFirst), made into one block at the end of it. */
  pending: Segment[];
  pendingFirst: number;
  pendingLines: number;
  flushScheduled: boolean;
  /**
   * Blocks made from stored chunks (key: chunk firstSeq), shared by viewers catching up over the same lines;
   * dropped once no viewer of the deploy is catching up (32 chunks, ~7 MiB, stayed behind for nobody).
   */
  stored: Map<number, Framed>;
  /** Reads of "lines after N" under way (key: N), joined by viewers at the same line since the same wake-up. */
  reads: Map<number, { wake: number; chunks: Promise<LogChunkRow[]> }>;
  /** Counts wake-ups (another instance stored lines or changed the state, a poll): a read begun before one may miss what it announced. */
  wake: number;
  /** A carried block continued the ring since the last sweep (notifications for this deploy arrive whole). */
  carried?: boolean;
  viewers: Set<Viewer>;
  /** Last state event seen, for viewers that finish catching up after it. */
  state?: string;
  ended?: boolean;
  dropTimer?: NodeJS.Timeout;
  /** This process publishes the deploy's events (it runs it); otherwise another instance does. */
  local?: boolean;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** Stored blocks kept per deploy for viewers catching up together. */
const STORED_BLOCKS = 32;

function size(b: Block): number {
  return b.last - b.first + 1;
}

/** One open SSE response. */
class Viewer {
  /** Gets each new block as it is made. */
  live = false;
  /** A catch-up is running for it (cleared synchronously as it goes live, so a hole found next turn restarts one). */
  catching = false;
  /** Another catch-up was asked for while one ran (a wake-up from another instance): it reads the store again. */
  again = false;
  closed = false;
  /** The last state this viewer was sent. */
  stateSent: string | undefined;

  constructor(
    readonly deployId: number,
    public last: number,
    readonly res: ServerResponse,
    private readonly maxBufferBytes: number,
    private readonly arena: FrameArena,
    private readonly onClose: (v: Viewer) => void,
  ) {
    res.on('close', () => this.close());
  }

  /**
   * Writes; false when the socket holds more than maxBufferBytes unsent (stop sending until drained). Bytes of a
   * slab keep it held until the socket has flushed them (the callback), so it is not written over meanwhile.
   */
  write(data: Buffer | string, slab?: Slab): boolean {
    if (this.closed) return false;
    if (slab) {
      const arena = this.arena;
      arena.hold(slab);
      this.res.write(data, () => arena.release(slab));
    } else this.res.write(data);
    return this.res.writableLength <= this.maxBufferBytes;
  }

  /** The socket holds more than maxBufferBytes unsent. */
  backlogged(): boolean {
    return this.res.writableLength > this.maxBufferBytes;
  }

  /** Resolves when the socket has drained (or closed). */
  drained(): Promise<void> {
    if (this.closed || this.res.writableLength <= this.maxBufferBytes) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        this.res.off('drain', done);
        this.res.off('close', done);
        resolve();
      };
      this.res.on('drain', done);
      this.res.on('close', done);
    });
  }

  /** Ends the response after what is queued. */
  end(): void {
    if (this.closed) return;
    this.res.end();
    this.close();
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.onClose(this);
  }
}

const KEEPALIVE = Buffer.from(': keepalive\n\n');
const END = 'event: end\ndata: {}\n\n';

export class LiveLog {
  private readonly channels = new Map<number, Channel>();
  private unsubscribe: (() => void) | undefined;
  private heartbeat: NodeJS.Timeout | undefined;
  private poll: NodeJS.Timeout | undefined;
  private offRemote: (() => void)[] = [];
  private readonly ringSize: number;
  private readonly keepAfterEndMs: number;
  private readonly pageSize: number;
  private readonly maxBufferBytes: number;
  private readonly gapWaitMs: number;
  private readonly arena = new FrameArena();

  constructor(private readonly options: LiveLogOptions) {
    this.ringSize = options.ringSize ?? 20_000;
    this.keepAfterEndMs = options.keepAfterEndMs ?? 60_000;
    this.pageSize = options.pageSize ?? 1_000;
    this.maxBufferBytes = options.maxBufferBytes ?? 256 * 1024;
    this.gapWaitMs = options.gapWaitMs ?? 15_000;
  }

  start(): void {
    this.unsubscribe ??= this.options.events.subscribe((e) => this.onEvent(e));
    this.heartbeat ??= setInterval(() => {
      for (const ch of this.channels.values()) for (const v of ch.viewers) if (v.live) v.write(KEEPALIVE);
    }, this.options.heartbeatMs ?? 15_000);
    this.heartbeat.unref();
    const notifier = this.options.notifier;
    if (notifier && this.offRemote.length === 0) {
      this.offRemote.push(
        notifier.listen('lines', (n) => this.onRemoteLines(n)),
        notifier.listen('deploy', (n) => this.onRemoteState(n)),
        notifier.onReconnect(() => void this.sweep()),
      );
    }
    const pollMs = this.options.remotePollMs ?? (notifier?.crossProcess ? 1_000 : 250);
    this.poll ??= setInterval(() => void this.sweep(), pollMs);
    this.poll.unref();
  }

  /** Ends every open stream (browsers would reconnect to a restarted server and resume). */
  stop(): void {
    this.unsubscribe?.();
    this.unsubscribe = undefined;
    if (this.heartbeat) clearInterval(this.heartbeat);
    this.heartbeat = undefined;
    if (this.poll) clearInterval(this.poll);
    this.poll = undefined;
    for (const off of this.offRemote) off();
    this.offRemote = [];
    for (const ch of this.channels.values()) {
      if (ch.dropTimer) clearTimeout(ch.dropTimer);
      this.flush(ch);
      for (const v of [...ch.viewers]) v.end();
    }
    this.channels.clear();
  }

  /** The live blocks' memory: slabs allocated and reused (tests, the benchmark). */
  arenaStats(): ArenaStats {
    return this.arena.stats();
  }

  /** Open SSE connections, for tests and the benchmark. */
  viewerCount(): number {
    let n = 0;
    for (const ch of this.channels.values()) n += ch.viewers.size;
    return n;
  }

  /**
   * Streams deploy `deployId` to `res` (headers already written) from the line after `lastSeq`.
   * `storedState` is the deploy's state in the database when the request came in.
   */
  attach(deployId: number, lastSeq: number, res: ServerResponse, storedState: string): void {
    const ch = this.channel(deployId);
    const viewer = new Viewer(deployId, lastSeq, res, this.maxBufferBytes, this.arena, (v) => this.detach(v));
    ch.viewers.add(viewer);
    if (!isActive(storedState) && !ch.state) {
      // Over before this server saw it end: nothing more will be published, and no ring needs keeping.
      ch.state = storedState;
      ch.ended = true;
    }
    this.startCatchUp(ch, viewer);
  }

  private channel(deployId: number): Channel {
    let ch = this.channels.get(deployId);
    if (!ch) {
      ch = {
        deployId,
        ring: [],
        ringLines: 0,
        pending: [],
        pendingFirst: 0,
        pendingLines: 0,
        flushScheduled: false,
        stored: new Map(),
        reads: new Map(),
        wake: 0,
        viewers: new Set(),
      };
      this.channels.set(deployId, ch);
    }
    return ch;
  }

  private detach(viewer: Viewer): void {
    const ch = this.channels.get(viewer.deployId);
    if (!ch) return;
    ch.viewers.delete(viewer);
    // Nobody watching a deploy that is over: its ring is only for viewers arriving soon, see onEvent.
    if (ch.viewers.size === 0 && ch.ended && !ch.dropTimer) this.dropChannel(ch);
  }

  private dropChannel(ch: Channel): void {
    this.dropRing(ch);
    this.channels.delete(ch.deployId);
  }

  /** Empties the ring, releasing its blocks' slabs. */
  private dropRing(ch: Channel): void {
    for (const b of ch.ring) if (b.slab) this.arena.release(b.slab);
    ch.ring = [];
    ch.ringLines = 0;
  }

  /** One line's SSE frame, masked again on the way out (defence in depth, see redact.ts). */
  /** The channel whose pending frames line `seq` continues (what is pending is sent first if it does not), flushed next turn. */
  private pendingFrom(deployId: number, seq: number): Channel {
    const ch = this.channel(deployId);
    ch.local = true;
    if (ch.pending.length > 0 && seq !== ch.pendingFirst + ch.pendingLines) this.flush(ch);
    if (ch.pending.length === 0) ch.pendingFirst = seq;
    if (!ch.flushScheduled) {
      ch.flushScheduled = true;
      setImmediate(() => this.flush(ch));
    }
    return ch;
  }

  private frame(l: LineLike): string {
    const data = { seq: l.seq, host: l.host, stream: l.stream, text: this.options.redactor.line(l.text), at: l.at };
    return `id: ${l.seq}\nevent: line\ndata: ${JSON.stringify(data)}\n\n`;
  }

  /** The frames in one Buffer of its own, written in place (no joined string to collect afterwards). */
  private block(first: number, frames: readonly string[]): Framed {
    const ends = new Uint32Array(frames.length);
    let at = 0;
    for (let i = 0; i < frames.length; i++) ends[i] = at += Buffer.byteLength(frames[i] as string);
    const bytes = Buffer.allocUnsafeSlow(at);
    let from = 0;
    for (let i = 0; i < frames.length; i++) from += bytes.write(frames[i] as string, from);
    return { first, last: first + frames.length - 1, bytes, ends };
  }

  /**
   * Live frames as blocks cut from the arena's slabs, each held once for the ring. A burst bigger than a slab
   * becomes several blocks, so that its memory is reused too (a loaded server makes blocks of thousands of lines).
   */
  private liveBlocks(first: number, frames: readonly string[]): Block[] {
    const lengths = frames.map((f) => Buffer.byteLength(f));
    const blocks: Block[] = [];
    for (let i = 0; i < frames.length; ) {
      let total = lengths[i] as number;
      let j = i + 1;
      for (; j < frames.length && total + (lengths[j] as number) <= this.arena.slabBytes; j++) total += lengths[j] as number;
      const { slab, bytes } = this.arena.alloc(total);
      const ends = new Uint32Array(j - i);
      let at = 0;
      for (let k = i; k < j; k++) ends[k - i] = at += bytes.write(frames[k] as string, at);
      blocks.push({ first: first + i, last: first + j - 1, bytes, ends, slab });
      i = j;
    }
    return blocks;
  }

  /** A stored chunk as a block, made once and kept a while for the other viewers catching up. */
  private storedBlock(ch: Channel, chunk: LogChunkRow): Framed {
    const known = ch.stored.get(chunk.firstSeq);
    if (known && known.last === chunk.lastSeq) return known;
    const texts = chunk.text.split('\n');
    const frames = texts.map((text, i) => this.frame({ seq: chunk.firstSeq + i, host: chunk.host, stream: chunk.stream, text, at: chunk.at }));
    const b = this.block(chunk.firstSeq, frames);
    ch.stored.delete(chunk.firstSeq); // re-inserted last: the oldest entries go first
    ch.stored.set(chunk.firstSeq, b);
    if (ch.stored.size > STORED_BLOCKS) ch.stored.delete(ch.stored.keys().next().value as number);
    return b;
  }

  private onEvent(event: DeployEvent): void {
    if (event.type === 'line') {
      const { deployId, seq, host, stream, text, at } = event.line;
      const ch = this.pendingFrom(deployId, seq);
      ch.pending.push({ firstSeq: seq, host, stream, lines: { texts: [text] }, at });
      ch.pendingLines++;
      return;
    }
    if (event.type === 'lines') {
      const { deployId, firstSeq, host, stream, count, at } = event.lines;
      if (count === 0) return;
      const ch = this.pendingFrom(deployId, firstSeq);
      ch.pending.push({ firstSeq, host, stream, lines: event.lines, at });
      ch.pendingLines += count;
      return;
    }
    const ch = this.channels.get(event.deployId);
    // Errors quote failing commands: masked again here, as lines are (defence in depth, see redact.ts).
    const error = 'error' in event && event.error ? this.options.redactor.text(event.error) : null;
    if (event.type === 'host') {
      if (!ch) return;
      this.flush(ch);
      const frame = `event: host\ndata: ${JSON.stringify({ host: event.host, state: event.state, error })}\n\n`;
      for (const v of ch.viewers) if (v.live) v.write(frame);
      return;
    }
    if (event.type !== 'state') return;
    const c = ch ?? this.channel(event.deployId);
    c.local = true;
    this.flush(c);
    c.state = event.state;
    const frame = `event: state\ndata: ${JSON.stringify({ state: event.state, error })}\n\n`;
    for (const v of c.viewers)
      if (v.live) {
        v.write(frame);
        v.stateSent = event.state;
      }
    if (!isActive(event.state)) {
      for (const v of [...c.viewers]) if (v.live) this.finish(v);
      this.markEnded(c);
    } else {
      c.ended = false;
    }
  }

  /** Over: the ring is kept a while for late viewers, then dropped. */
  private markEnded(c: Channel): void {
    c.ended = true;
    if (c.dropTimer) clearTimeout(c.dropTimer);
    c.dropTimer = setTimeout(() => {
      c.dropTimer = undefined;
      if (c.viewers.size === 0) this.dropChannel(c);
      else {
        this.dropRing(c);
        c.stored.clear();
      }
    }, this.keepAfterEndMs);
    c.dropTimer.unref();
  }

  /** Another instance stored lines of deploys it runs: their viewers here read them from the database. */
  private onRemoteLines(n: Notification): void {
    if (n.origin === this.options.notifier?.origin) return;
    const pairs = Array.isArray(n.data.d) ? (n.data.d as [number, number][]) : [];
    traceLine({ leg: 'notified', d: pairs });
    // The stored lines themselves, when the batch was small: live viewers get them without a read.
    if (Array.isArray(n.data.c)) for (const c of n.data.c as unknown[]) this.onCarried(c);
    for (const [deployId, seq] of pairs) {
      const ch = this.channels.get(deployId);
      if (!ch || ch.local) continue;
      ch.wake++;
      // Every viewer at the same line reads these lines through one query (see readChunks).
      for (const v of ch.viewers) if (v.last < seq) this.refresh(ch, v);
    }
  }

  /**
   * A stored chunk carried by a notification ([deployId, firstSeq, lastSeq, host, stream, at ms, text], see
   * instance-notify.ts): made a block (shared with catch-up reads of the same chunk) and delivered as this
   * process's own lines are, through the ring: live viewers at its first line get it now, the others (behind, or
   * after a lost notification) catch up from the database as before. The ring of a deploy run elsewhere holds
   * only consecutive lines: a block that does not follow it starts it again.
   */
  private onCarried(c: unknown): void {
    if (!Array.isArray(c) || c.length !== 7) return;
    const [deployId, firstSeq, lastSeq, host, stream, at, text] = c as unknown[];
    if (typeof deployId !== 'number' || typeof firstSeq !== 'number' || typeof lastSeq !== 'number' || typeof text !== 'string') return;
    if (typeof stream !== 'string' || typeof at !== 'number' || (host !== null && typeof host !== 'string')) return;
    const ch = this.channels.get(deployId);
    if (!ch || ch.local || lastSeq < firstSeq || text.split('\n').length !== lastSeq - firstSeq + 1) return;
    const end = ch.ring.at(-1)?.last;
    if (end !== undefined && firstSeq <= end) return; // already here (a doubled notification)
    if (end !== undefined && firstSeq !== end + 1) {
      ch.ring = [];
      ch.ringLines = 0;
    } else if (end !== undefined) ch.carried = true;
    this.deliver(ch, [this.storedBlock(ch, { firstSeq, lastSeq, host, stream, text, at: new Date(at) })]);
  }

  /** Another instance changed the state of a deploy: viewers here catch up, then get the state (and the end). */
  private onRemoteState(n: Notification): void {
    if (n.origin === this.options.notifier?.origin) return;
    const { id, state } = n.data as { id?: number; state?: string };
    if (typeof id !== 'number' || typeof state !== 'string') return;
    const ch = this.channels.get(id);
    if (!ch || ch.local) return;
    this.remoteState(ch, state);
  }

  private remoteState(ch: Channel, state: string): void {
    ch.wake++;
    ch.state = state;
    if (!isActive(state)) this.markEnded(ch);
    else ch.ended = false;
    // catchUp sends the state once the viewer is level with the database, and the end when it is final.
    for (const v of ch.viewers) this.refresh(ch, v);
  }

  /** Catches `v` up again from the store: now, or once more after the catch-up under way (never lost). */
  private refresh(ch: Channel, v: Viewer): void {
    if (v.closed) return;
    if (v.catching) {
      v.again = true;
      return;
    }
    v.live = false;
    this.startCatchUp(ch, v);
  }

  /**
   * The safety net under the notifications: viewers of deploys this process does not run look at the database
   * (state, then lines after their seq). Cheap: one query per watched deploy per round.
   */
  private async sweep(): Promise<void> {
    for (const ch of [...this.channels.values()]) {
      if (ch.local || ch.ended || ch.viewers.size === 0) continue;
      try {
        const stored = await this.options.storedState?.(ch.deployId);
        if (ch.local || ch.ended) continue;
        if (stored && stored !== ch.state) this.remoteState(ch, stored);
        else {
          // Viewers live at the end of a ring that notifications kept continuing need no read this round: a lost
          // notification shows as a hole at the next one, or (the deploy falling silent) is read next round.
          const flowing = ch.carried === true;
          ch.carried = false;
          const end = ch.ring.at(-1)?.last;
          ch.wake++;
          for (const v of ch.viewers) if (!v.catching && !(flowing && v.live && v.last === end)) this.refresh(ch, v);
        }
      } catch (err) {
        this.options.logger.debug({ err, deployId: ch.deployId }, 'log poll failed; next round');
      }
    }
  }

  /**
   * Stored chunks after line `after`: one query for every viewer at that line since the last wake-up (50 viewers
   * of another instance's deploy, woken by one notification, read its lines once). A read begun before a wake-up
   * is not joined: it may have missed the lines the wake-up announced.
   */
  private readChunks(ch: Channel, after: number): Promise<LogChunkRow[]> {
    const known = ch.reads.get(after);
    if (known && known.wake === ch.wake) return known.chunks;
    const read = { wake: ch.wake, chunks: this.options.logs.chunks(ch.deployId, after, this.pageSize) };
    if (tracing())
      void read.chunks.then(
        (rows) => traceLine({ leg: 'read', deployId: ch.deployId, after, last: rows.at(-1)?.lastSeq ?? after }),
        () => {},
      );
    ch.reads.set(after, read);
    const forget = () => {
      if (ch.reads.get(after) === read) ch.reads.delete(after);
    };
    read.chunks.then(forget, forget);
    return read.chunks;
  }

  /**
   * Makes this turn's lines one block, keeps it in the ring and sends it to every live viewer. With no viewer of
   * the deploy, the block keeps the lines unframed until one comes (framed()).
   */
  private flush(ch: Channel): void {
    ch.flushScheduled = false;
    if (ch.pending.length === 0) return;
    const first = ch.pendingFirst;
    const segments = ch.pending;
    const last = first + ch.pendingLines - 1;
    ch.pending = [];
    ch.pendingLines = 0;
    this.deliver(ch, ch.viewers.size > 0 ? this.liveBlocks(first, this.frames(segments)) : [{ first, last, raw: segments }]);
  }

  /** The SSE frames of published lines. */
  private frames(segments: readonly Segment[]): string[] {
    const out: string[] = [];
    for (const { firstSeq, host, stream, lines, at } of segments) {
      const texts = lines.texts;
      for (let i = 0; i < texts.length; i++) out.push(this.frame({ seq: firstSeq + i, host, stream, text: texts[i] as string, at }));
    }
    return out;
  }

  /** `b`, framed: a raw block (published while nobody watched) gets its frames now, in a Buffer of its own. */
  private framed(b: Block): Framed {
    if (!b.bytes || !b.ends) {
      const made = this.block(b.first, this.frames(b.raw ?? []));
      b.bytes = made.bytes;
      b.ends = made.ends;
      b.raw = undefined;
    }
    return b as Framed;
  }

  /** Keeps `blocks` (consecutive, the lines after the ring's) in the ring and sends them to every live viewer. */
  private deliver(ch: Channel, blocks: readonly Block[]): void {
    if (blocks.length === 0) return;
    for (const b of blocks) {
      ch.ring.push(b);
      ch.ringLines += size(b);
    }
    const first = blocks[0] as Block;
    const last = blocks[blocks.length - 1] as Block;
    for (const v of ch.viewers) {
      if (!v.live || last.last <= v.last) continue;
      if (first.first > v.last + 1) {
        // A hole: something was published out of order. Catch up again rather than skip lines.
        v.live = false;
        this.startCatchUp(ch, v);
        continue;
      }
      if (v.backlogged()) {
        // Back-pressure: its socket still holds what it was sent before; nothing more until that drains, then it
        // resumes from v.last (from the ring). One big burst alone never pauses a viewer that keeps up.
        v.live = false;
        void v.drained().then(() => this.startCatchUp(ch, v));
        continue;
      }
      for (const b of blocks) {
        if (b.last <= v.last) continue;
        v.write(tail(this.framed(b), v.last + 1), b.slab);
        if (!ch.local && tracing()) traceLine({ leg: 'sent', deployId: ch.deployId, first: v.last + 1, last: b.last });
        v.last = b.last;
      }
    }
    // Drop the oldest blocks while the rest still holds ringSize lines; only now, after the writes above, so that a
    // block leaves the ring (and its slab may be reused) only once the sockets writing it hold it themselves.
    for (let oldest = ch.ring[0] as Block; ch.ring.length > 1 && ch.ringLines - size(oldest) >= this.ringSize; oldest = ch.ring[0] as Block) {
      ch.ring.shift();
      ch.ringLines -= size(oldest);
      if (oldest.slab) this.arena.release(oldest.slab);
    }
  }

  /** Tells the browser the log is complete so it stops reconnecting. */
  private finish(v: Viewer): void {
    v.write(END);
    v.end();
  }

  private startCatchUp(ch: Channel, v: Viewer): void {
    if (v.catching || v.closed) return;
    v.catching = true;
    this.catchUp(ch, v).catch((err) => {
      v.catching = false;
      v.again = false;
      this.options.logger.warn({ err, deployId: ch.deployId }, 'log stream failed; the browser will reconnect');
      v.res.destroy();
    });
  }

  private async catchUp(ch: Channel, v: Viewer): Promise<void> {
    let waited = 0;
    while (!v.closed) {
      // 1. The ring holds the next line: send from it, without awaiting, and go live where it ends.
      const ring = ch.ring;
      const i = firstEndingAfter(ring, v.last);
      const inRing = i < ring.length && (ring[i] as Block).first <= v.last + 1;
      // This process publishes the deploy and its ring reaches back to the viewer's next line: every line after
      // it is in the ring or pending, so the database has nothing more (a viewer resuming after a pause).
      const level = ch.local === true && ring.length > 0 && (ring[0] as Block).first <= v.last + 1;
      if (!inRing && !level) {
        // 2. Stored lines after the viewer's position, a page at a time (shared blocks, see storedBlock).
        const chunks = await this.readChunks(ch, v.last);
        if (v.closed) return;
        let sent = 0;
        let room = true;
        for (const chunk of chunks) {
          if (chunk.lastSeq <= v.last) continue;
          if (chunk.firstSeq > v.last + 1) break; // a hole in the store: the ring may have it
          room = v.write(tail(this.storedBlock(ch, chunk), v.last + 1));
          if (tracing()) traceLine({ leg: 'sent', deployId: ch.deployId, first: v.last + 1, last: chunk.lastSeq });
          sent += chunk.lastSeq - v.last;
          v.last = chunk.lastSeq;
          if (!room) break;
        }
        if (!room) {
          await v.drained();
          continue;
        }
        // A whole page: there may be more. Less: the store had no more when it was read (what it gets later, the
        // ring or the next wake-up brings), so no second query to find that out.
        if (sent >= this.pageSize) continue;
      }
      // 3. Nothing stored after it (or the ring has it): the rest was published but may not be stored yet.
      const j = firstEndingAfter(ch.ring, v.last);
      const contiguous = j >= ch.ring.length || (ch.ring[j] as Block).first <= v.last + 1;
      if (contiguous || waited >= this.gapWaitMs) {
        if (!contiguous)
          this.options.logger.warn(
            { deployId: ch.deployId, from: v.last + 1, to: (ch.ring[j] as Block).first - 1 },
            'log lines never reached the database; skipping them',
          );
        // All of the ring at once, even past maxBufferBytes: its blocks are kept (and shared) anyway, so this costs
        // no copy, and waiting for a drain here would only leave the viewer further behind. The next block checks.
        for (let k = j; k < ch.ring.length; k++) {
          const b = ch.ring[k] as Block;
          if (b.last <= v.last) continue;
          v.write(tail(this.framed(b), Math.max(b.first, v.last + 1)), b.slab);
          v.last = b.last;
        }
        if (v.again) {
          // A wake-up came while reading: the store may hold more now.
          v.again = false;
          continue;
        }
        // Lines published this turn and not yet in a block reach it with the block (flush starts at its seq).
        v.catching = false;
        v.live = true;
        // The last viewer behind (catching up, or paused until its socket drains) is live: the blocks of stored
        // chunks are nobody's any more.
        if (ch.stored.size > 0 && !someBehind(ch)) ch.stored.clear();
        // Once per state: a viewer of another instance's deploy goes live again after every wake-up.
        if (ch.state && ch.state !== v.stateSent) {
          v.write(`event: state\ndata: ${JSON.stringify({ state: ch.state, error: null })}\n\n`);
          v.stateSent = ch.state;
        }
        if (ch.state && !isActive(ch.state)) {
          this.flush(ch);
          this.finish(v);
        }
        return;
      }
      // 4. A hole between the database and the ring: the engine's next batch will fill it.
      await sleep(25);
      waited += 25;
    }
  }
}

function someBehind(ch: Channel): boolean {
  for (const v of ch.viewers) if (!v.live && !v.closed) return true;
  return false;
}

/** Index of the first block whose last line is after `after` (blocks are in seq order). */
function firstEndingAfter(ring: readonly Block[], after: number): number {
  let lo = 0;
  let hi = ring.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if ((ring[mid] as Block).last <= after) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
