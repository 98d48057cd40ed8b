/**
 * Where a live line waits on its way to a viewer on another instance, as diagnostics_channel messages: the
 * instance running the deploy says when a batch is stored (and its NOTIFY sent), the viewer's instance when the
 * wake-up arrived, when its read of the stored lines came back and when the frames were written to the viewer.
 * Nothing is built or sent while nobody subscribes (one hasSubscribers check), so it stays on in production: an
 * operator (or the `ha` benchmark, bench/support/line-probe.mjs) subscribes by name with `node --import`.
 *
 *   import { subscribe } from 'node:diagnostics_channel';
 *   subscribe('shepherd:live-line', (m) => console.log(Date.now(), m)); // { leg: 'stored', d: [[12, 340]] }
 */
import { channel } from 'node:diagnostics_channel';

export const LINE_TRACE = 'shepherd:live-line';

/**
 * stored: a batch committed, d = [deployId, last seq][]; notified: a 'lines' wake-up arrived, same d;
 * read: lines after `after` read back up to `last`; sent: frames first..last written to one viewer.
 */
export type LineTrace =
  | { leg: 'stored' | 'notified'; d: [number, number][] }
  | { leg: 'read'; deployId: number; after: number; last: number }
  | { leg: 'sent'; deployId: number; first: number; last: number };

const trace = channel(LINE_TRACE);

/** True when someone listens: callers skip building the message otherwise. */
export function tracing(): boolean {
  return trace.hasSubscribers;
}

export function traceLine(message: LineTrace): void {
  if (trace.hasSubscribers) trace.publish(message);
}
