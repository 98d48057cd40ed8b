/**
 * The one in-process stream every deploy publishes to. The log store, the chat sink and the web viewer
 * subscribe; the deploy engine never knows who listens.
 *
 *   const off = events.subscribe((e) => { if (e.type === 'line') console.log(e.line.text); });
 *   events.publish({ type: 'state', deployId: 3, state: 'running' });
 */
import { EventEmitter } from 'node:events';
import { type MaskText, maskPatterns } from './mask.js';

export type DeployState = 'queued' | 'running' | 'succeeded' | 'failed' | 'cancelled' | 'interrupted';
export type HostState = 'pending' | 'running' | 'succeeded' | 'failed' | 'cancelled' | 'skipped' | 'rolled_back';
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

export type DeployEvent =
  | { type: 'line'; line: LogLineEvent }
  | { type: 'state'; deployId: number; state: DeployState; error?: string | null }
  | { type: 'host'; deployId: number; host: string; state: HostState; error?: string | null };

export class DeployEvents {
  private readonly emitter = new EventEmitter();

  /** `mask`: applied to the error text of every event (it quotes failing commands) before anyone hears it. */
  constructor(private readonly mask: MaskText = maskPatterns) {
    // Every viewer tab is a listener; the default cap of 10 is a leak detector for code, not for users.
    this.emitter.setMaxListeners(0);
  }

  publish(event: DeployEvent): void {
    // Lines are masked by the log pipeline (with per-stream state); errors are masked here, whatever their event.
    const masked = 'error' in event && event.error ? { ...event, error: this.mask(event.error) } : event;
    this.emitter.emit('event', masked);
  }

  /** Returns the function that unsubscribes. */
  subscribe(listener: (event: DeployEvent) => void): () => void {
    this.emitter.on('event', listener);
    return () => this.emitter.off('event', listener);
  }
}
