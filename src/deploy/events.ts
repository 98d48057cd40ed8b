/**
 * The one in-process stream every deploy publishes to. The log store, the chat sink and the web viewer
 * subscribe; the deploy engine never knows who listens.
 *
 *   const off = events.subscribe((e) => { for (const l of eventLines(e)) console.log(l.text); });
 *   events.publish({ type: 'state', deployId: 3, state: 'running' });
 */
import { type MaskText, maskPatterns } from './mask.js';

import type { FullDeploy } from '../store/deploys.js';
import type { DeployState, HostState } from './lifecycle.js';
import type { CommitList } from './source.js';
import type { ValidationRound } from './validation.js';

// The state names are the lifecycle table's (deploy/lifecycle.ts): one definition for engine, store and viewer.
export type { DeployState, HostState };
export type LogStream = 'stdout' | 'stderr' | 'system';

/** One line of output, already masked. seq is per deploy, 1-based, gap-free: viewers resume from it. */
export interface LogLineEvent {
  deployId: number;
  seq: number;
  host: string | null;
  stream: LogStream;
  text: string;
  at: Date;
}

/**
 * Consecutive lines of one host and stream printed at one time (an output chunk's lines, none of which needed
 * masking), numbered firstSeq, firstSeq + 1, …: one event for all of them, since a deploy can print hundreds of
 * thousands of lines and each event is an allocation and a call per listener. `text` is the lines joined by '\n';
 * `texts` cuts it into lines the first time a listener asks (most never do: nobody watches most deploys live).
 */
export interface LogLinesEvent {
  deployId: number;
  firstSeq: number;
  /** How many lines (texts.length). */
  count: number;
  host: string | null;
  stream: LogStream;
  text: string;
  readonly texts: readonly string[];
  at: Date;
}

/** A LogLinesEvent whose texts are cut from `text` when first asked for (or given, when already cut). */
export function linesEvent(fields: Omit<LogLinesEvent, 'texts'>, texts?: readonly string[]): LogLinesEvent {
  return new LinesBatch(fields, texts);
}

/** A class, not an object literal with a getter: every event then has one shape (a literal's cost 2× the pipeline). */
class LinesBatch implements LogLinesEvent {
  readonly deployId: number;
  readonly firstSeq: number;
  readonly count: number;
  readonly host: string | null;
  readonly stream: LogStream;
  readonly text: string;
  readonly at: Date;
  private cut: readonly string[] | undefined;

  constructor(fields: Omit<LogLinesEvent, 'texts'>, texts?: readonly string[]) {
    this.deployId = fields.deployId;
    this.firstSeq = fields.firstSeq;
    this.count = fields.count;
    this.host = fields.host;
    this.stream = fields.stream;
    this.text = fields.text;
    this.at = fields.at;
    this.cut = texts;
  }

  get texts(): readonly string[] {
    this.cut ??= this.text.split('\n');
    return this.cut;
  }
}

/** The last `n` lines of a 'lines' event (all of them if it has no more), without cutting the others. */
export function lastLines(lines: LogLinesEvent, n: number): string[] {
  if (n <= 0 || lines.count === 0) return [];
  if (n >= lines.count) return [...lines.texts];
  // At least n newlines in text (count - 1 ≥ n): each step finds the one before.
  let start = lines.text.length;
  for (let i = 0; i < n; i++) start = lines.text.lastIndexOf('\n', start - 1);
  return lines.text.slice(start + 1).split('\n');
}

/**
 * The lines an event carries, one by one: a 'line' event's line, each line of a 'lines' event, none for others.
 *   events.subscribe((e) => { for (const l of eventLines(e)) console.log(l.seq, l.text); });
 */
export function eventLines(event: DeployEvent): LogLineEvent[] {
  if (event.type === 'line') return [event.line];
  if (event.type !== 'lines') return [];
  const { deployId, firstSeq, host, stream, texts, at } = event.lines;
  return texts.map((text, i) => ({ deployId, seq: firstSeq + i, host, stream, text, at }));
}

/** What a start message needs beyond the deploy row. */
export interface StartedInfo {
  hostCount: number;
  commits: CommitList | null;
  previousSha: string | null;
  notes: string[];
}

export type DeployEvent =
  | { type: 'line'; line: LogLineEvent }
  | { type: 'lines'; lines: LogLinesEvent }
  | { type: 'state'; deployId: number; state: DeployState; error?: string | null }
  | { type: 'host'; deployId: number; host: string; state: HostState; error?: string | null }
  /** A run began (after the commit list was looked up, boundedly). */
  | { type: 'started'; deployId: number; deploy: FullDeploy; info: StartedInfo }
  /** A host ended: how far the deploy is, and the failure if it failed. */
  | { type: 'progress'; deployId: number; done: number; total: number; failed: number; failure?: { host: string; reason: string } }
  /** One round of the validation window (validation.ts): who failed, how often so far. */
  | ({ type: 'validation'; deployId: number } & ValidationRound)
  /** Any other line about a running deploy ("cancelling for bob"). */
  | { type: 'note'; deployId: number; text: string }
  /**
   * A deploy reached a final state and was recorded so (the row as stored). `recovered`: another process
   * ran it and died (this one found it stale), so no start message went out from here.
   */
  | { type: 'ended'; deployId: number; deploy: FullDeploy; failedHosts: string[]; recovered?: boolean };

/** A subscriber that works in the background says how to wait for it (before exiting, in tests). */
export interface SubscribeOptions {
  flushed?: () => Promise<void>;
}

export class DeployEvents {
  /**
   * Replaced, never changed, when someone subscribes or leaves: publish walks the array it found, so a listener
   * that unsubscribes while an event is delivered changes nothing mid-walk (as EventEmitter, which copies the
   * list at every emit instead: a line event is published hundreds of thousands of times per deploy).
   */
  private listeners: ((event: DeployEvent) => void)[] = [];
  private readonly waiters = new Set<() => Promise<void>>();

  /** `mask`: applied to the error text of every event (it quotes failing commands) before anyone hears it. */
  constructor(private readonly mask: MaskText = maskPatterns) {}

  publish(event: DeployEvent): void {
    const masked = this.masked(event);
    for (const listener of this.listeners) listener(masked);
  }

  /** Lines are masked by the log pipeline (with per-stream state); every other free text is masked here. */
  private masked(event: DeployEvent): DeployEvent {
    switch (event.type) {
      case 'state':
      case 'host':
        return event.error ? { ...event, error: this.mask(event.error) } : event;
      case 'note':
        return { ...event, text: this.mask(event.text) };
      case 'validation':
        return { ...event, failing: event.failing.map((f) => ({ ...f, reason: this.mask(f.reason) })) };
      case 'progress':
        return event.failure ? { ...event, failure: { ...event.failure, reason: this.mask(event.failure.reason) } } : event;
      default:
        return event;
    }
  }

  /** Returns the function that unsubscribes. */
  subscribe(listener: (event: DeployEvent) => void, options: SubscribeOptions = {}): () => void {
    this.listeners = [...this.listeners, listener];
    const flushed = options.flushed;
    if (flushed) this.waiters.add(flushed);
    let subscribed = true;
    return () => {
      if (!subscribed) return;
      subscribed = false;
      const at = this.listeners.lastIndexOf(listener);
      if (at >= 0) this.listeners = [...this.listeners.slice(0, at), ...this.listeners.slice(at + 1)];
      if (flushed) this.waiters.delete(flushed);
    };
  }

  /** Resolves when every subscriber's background work for the events so far is done. */
  async flushed(): Promise<void> {
    await Promise.allSettled([...this.waiters].map((w) => w()));
  }
}
