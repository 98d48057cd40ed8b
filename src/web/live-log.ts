/**
 * Live deploy logs over server-sent events, with no line shown twice or lost.
 *
 * The hub subscribes to DeployEvents once, for the whole server, and keeps a ring of the most recent lines of
 * every deploy. That ring is what closes the gap the deploy engine leaves: it publishes a line first and
 * stores it a little later in a batch, so a viewer that joins in between would find the line neither in the
 * database (not stored yet) nor in its own subscription (published before it subscribed).
 *
 * A viewer that connects (or reconnects with Last-Event-ID = the last seq it got) is registered first, then
 * catches up: stored lines after its seq, page by page, then the ring's lines after that. Only when the two
 * meet without a hole does it go live, synchronously, so no published line falls between catch-up and live.
 * A live viewer that ever sees a hole (seq jumps) goes back to catching up. Event id = seq.
 *
 * A deploy another instance runs publishes nothing here: its viewers catch up again (from the database, by seq)
 * whenever the notifier says that instance stored lines or changed the deploy's state, and on a slow poll that
 * makes good a lost notification (and is all there is between processes on SQLite).
 *
 *   const hub = new LiveLog({ events, readModel, redactor, logger });
 *   hub.start();
 *   hub.attach(42, lastSeq, reply.raw, 'running');   // in the SSE route
 */
import type { ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import type { DeployEvent, DeployEvents, LogLineEvent } from '../deploy/events.js';
import type { Notification, Notifier } from '../store/notify.js';
import { isActive, type LineRow, type ReadModel } from './read-model.js';
import type { Redactor } from './redact.js';

export interface LiveLogOptions {
  events: DeployEvents;
  readModel: ReadModel;
  redactor: Redactor;
  logger: Logger;
  /** Recent lines kept per deploy (default 20,000): must cover what is published but not yet stored. */
  ringSize?: number;
  /** How long a finished deploy's ring is kept for late viewers (default 60 s). */
  keepAfterEndMs?: number;
  /** Stored lines read per database query while catching up (default 1,000: each read blocks the loop briefly). */
  pageSize?: number;
  /** A viewer whose unsent output exceeds this is cut off; its browser resumes from Last-Event-ID (default 4 MiB). */
  maxBufferBytes?: number;
  /** Comment lines that keep idle connections open through proxies (default 15 s). */
  heartbeatMs?: number;
  /** How long a catch-up waits for lines published but not stored and no longer in the ring (default 15 s). */
  gapWaitMs?: number;
  /** Wake-ups from other instances (lines stored, states changed) for deploys they run. */
  notifier?: Notifier;
  /** How often viewers of a deploy not run here look at the database anyway (default 1 s; 250 ms without a cross-process notifier). */
  remotePollMs?: number;
}

interface Entry {
  seq: number;
  line: LogLineEvent | LineRow;
  /** The SSE frame, built (and masked) once however many viewers get it. */
  frame?: string;
}

interface Channel {
  deployId: number;
  ring: Entry[];
  viewers: Set<Viewer>;
  /** Last state event seen, for viewers that finish catching up after it. */
  state?: string;
  ended?: boolean;
  dropTimer?: NodeJS.Timeout;
  /** This process publishes the deploy's events (it runs it); otherwise another instance does. */
  local?: boolean;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** One open SSE response. Writes are coalesced per event-loop turn: one socket write for a burst of lines. */
class Viewer {
  live = false;
  closed = false;
  /** A catch-up is under way; `again`: another was asked for meanwhile (see LiveLog.refresh). */
  catching = false;
  again = false;
  private chunks: string[] = [];
  private scheduled = false;

  constructor(
    readonly deployId: number,
    public last: number,
    private readonly res: ServerResponse,
    private readonly maxBufferBytes: number,
    private readonly onClose: (v: Viewer) => void,
  ) {
    res.on('close', () => this.close());
  }

  send(frame: string): void {
    if (this.closed) return;
    this.chunks.push(frame);
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(() => this.flush());
    }
  }

  private flush(): void {
    this.scheduled = false;
    if (this.closed || this.chunks.length === 0) return;
    const data = this.chunks.join('');
    this.chunks = [];
    this.res.write(data);
    // A stalled browser must not make the server hold the whole log: cut it off; it reconnects and resumes.
    if (this.res.writableLength > this.maxBufferBytes) this.res.destroy();
  }

  /** Sends what is queued, then ends the response. */
  end(): void {
    if (this.closed) return;
    this.flush();
    this.res.end();
    this.close();
  }

  /** Drops the connection: the browser reconnects and resumes from Last-Event-ID. */
  abort(): void {
    this.res.destroy();
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.chunks = [];
    this.onClose(this);
  }
}

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

  constructor(private readonly options: LiveLogOptions) {
    this.ringSize = options.ringSize ?? 20_000;
    this.keepAfterEndMs = options.keepAfterEndMs ?? 60_000;
    this.pageSize = options.pageSize ?? 1_000;
    this.maxBufferBytes = options.maxBufferBytes ?? 4 * 1024 * 1024;
    this.gapWaitMs = options.gapWaitMs ?? 15_000;
  }

  start(): void {
    this.unsubscribe ??= this.options.events.subscribe((e) => this.onEvent(e));
    this.heartbeat ??= setInterval(() => {
      for (const ch of this.channels.values()) for (const v of ch.viewers) v.send(': keepalive\n\n');
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
      for (const v of [...ch.viewers]) v.end();
    }
    this.channels.clear();
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
    const viewer = new Viewer(deployId, lastSeq, res, this.maxBufferBytes, (v) => this.detach(v));
    ch.viewers.add(viewer);
    if (!isActive(storedState) && !ch.state) {
      // Over before this server saw it end: nothing more will be published, and no ring needs keeping.
      ch.state = storedState;
      ch.ended = true;
    }
    this.refresh(ch, viewer);
  }

  /**
   * Catches viewer `v` up from the database (and the ring) and puts it live again; one catch-up per viewer at a
   * time, and one more after it when asked for meanwhile (a wake-up must never be lost while one runs).
   */
  private refresh(ch: Channel, v: Viewer): void {
    if (v.closed) return;
    v.live = false;
    if (v.catching) {
      v.again = true;
      return;
    }
    v.catching = true;
    void (async () => {
      do {
        v.again = false;
        v.live = false;
        await this.catchUp(ch, v);
      } while (v.again && !v.closed);
    })()
      .catch((err) => {
        this.options.logger.warn({ err, deployId: ch.deployId }, 'log stream failed; the browser will reconnect');
        v.abort();
      })
      .finally(() => {
        v.catching = false;
      });
  }

  /** Another instance stored lines of deploys it runs: their viewers here read them from the database. */
  private onRemoteLines(n: Notification): void {
    if (n.origin === this.options.notifier?.origin) return;
    const pairs = Array.isArray(n.data.d) ? (n.data.d as [number, number][]) : [];
    for (const [deployId, seq] of pairs) {
      const ch = this.channels.get(deployId);
      if (!ch || ch.local) continue;
      for (const v of ch.viewers) if (v.last < seq) this.refresh(ch, v);
    }
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
    ch.state = state;
    if (!isActive(state)) this.markEnded(ch);
    else ch.ended = false;
    // catchUp sends the state once the viewer is level with the database, and the end when it is final.
    for (const v of ch.viewers) this.refresh(ch, v);
  }

  /**
   * The safety net under the notifications: viewers of deploys this process does not run look at the database
   * (state, then lines after their seq). Cheap: one query per watched deploy per round.
   */
  private async sweep(): Promise<void> {
    for (const ch of [...this.channels.values()]) {
      if (ch.local || ch.ended || ch.viewers.size === 0) continue;
      try {
        const stored = await this.options.readModel.exists(ch.deployId);
        if (ch.local || ch.ended) continue;
        if (stored && stored.state !== ch.state) this.remoteState(ch, stored.state);
        else for (const v of ch.viewers) if (!v.catching) this.refresh(ch, v);
      } catch (err) {
        this.options.logger.debug({ err, deployId: ch.deployId }, 'log poll failed; next round');
      }
    }
  }

  private channel(deployId: number): Channel {
    let ch = this.channels.get(deployId);
    if (!ch) {
      ch = { deployId, ring: [], viewers: new Set() };
      this.channels.set(deployId, ch);
    }
    return ch;
  }

  private detach(viewer: Viewer): void {
    const ch = this.channels.get(viewer.deployId);
    if (!ch) return;
    ch.viewers.delete(viewer);
    // Nobody watching a deploy that is over: its ring is only for viewers arriving soon, see onEvent.
    if (ch.viewers.size === 0 && ch.ended && !ch.dropTimer) this.channels.delete(ch.deployId);
  }

  private frame(entry: Entry): string {
    if (entry.frame === undefined) {
      const l = entry.line;
      const data = { seq: l.seq, host: l.host, stream: l.stream, text: this.options.redactor.line(l.text), at: l.at };
      entry.frame = `id: ${l.seq}\nevent: line\ndata: ${JSON.stringify(data)}\n\n`;
    }
    return entry.frame;
  }

  private onEvent(event: DeployEvent): void {
    if (event.type === 'line') {
      const ch = this.channel(event.line.deployId);
      ch.local = true;
      const entry: Entry = { seq: event.line.seq, line: event.line };
      ch.ring.push(entry);
      // Trim in chunks, not one shift per line.
      if (ch.ring.length > this.ringSize + 1024) ch.ring.splice(0, ch.ring.length - this.ringSize);
      for (const v of ch.viewers) {
        if (!v.live || entry.seq <= v.last) continue;
        if (entry.seq === v.last + 1) {
          v.send(this.frame(entry));
          v.last = entry.seq;
        } else {
          // A hole: something was published out of order. Catch up again rather than skip lines.
          this.refresh(ch, v);
        }
      }
      return;
    }
    const ch = this.channels.get(event.deployId);
    // Errors quote failing commands: masked again here, as lines are (defence in depth, see redact.ts).
    const error = 'error' in event && event.error ? this.options.redactor.text(event.error) : null;
    if (event.type === 'host') {
      if (!ch) return;
      const frame = `event: host\ndata: ${JSON.stringify({ host: event.host, state: event.state, error })}\n\n`;
      for (const v of ch.viewers) v.send(frame);
      return;
    }
    if (event.type !== 'state') return;
    const c = ch ?? this.channel(event.deployId);
    c.local = true;
    c.state = event.state;
    const frame = `event: state\ndata: ${JSON.stringify({ state: event.state, error })}\n\n`;
    for (const v of c.viewers) if (v.live) v.send(frame);
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
      if (c.viewers.size === 0) this.channels.delete(c.deployId);
      else c.ring = [];
    }, this.keepAfterEndMs);
    c.dropTimer.unref();
  }

  /** Tells the browser the log is complete so it stops reconnecting. */
  private finish(v: Viewer): void {
    v.send('event: end\ndata: {}\n\n');
    v.end();
  }

  private async catchUp(ch: Channel, v: Viewer): Promise<void> {
    let waited = 0;
    while (!v.closed) {
      // 1. Stored lines after the viewer's position, a page at a time.
      const rows = await this.options.readModel.lines(ch.deployId, { after: v.last, limit: this.pageSize });
      if (v.closed) return;
      for (const row of rows) {
        if (row.seq <= v.last) continue;
        v.send(this.frame({ seq: row.seq, line: row }));
        v.last = row.seq;
      }
      if (rows.length === this.pageSize) continue;

      // 2. The rest was published but may not be stored yet: take it from the ring, without awaiting, so
      // nothing can be published between this check and going live.
      const ring = ch.ring;
      let i = firstAfter(ring, v.last);
      const contiguous = i >= ring.length || ring[i]!.seq === v.last + 1;
      if (contiguous || waited >= this.gapWaitMs) {
        if (!contiguous)
          this.options.logger.warn({ deployId: ch.deployId, from: v.last + 1, to: ring[i]!.seq - 1 }, 'log lines never reached the database; skipping them');
        for (; i < ring.length; i++) {
          const entry = ring[i]!;
          if (entry.seq <= v.last) continue;
          v.send(this.frame(entry));
          v.last = entry.seq;
        }
        v.live = true;
        if (ch.state) v.send(`event: state\ndata: ${JSON.stringify({ state: ch.state, error: null })}\n\n`);
        if (ch.state && !isActive(ch.state)) this.finish(v);
        return;
      }
      // 3. A hole between the database and the ring: the engine's next batch will fill it.
      await sleep(25);
      waited += 25;
    }
  }
}

/** Index of the first entry with seq > after (entries are in seq order). */
function firstAfter(ring: Entry[], after: number): number {
  let lo = 0;
  let hi = ring.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (ring[mid]!.seq <= after) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
