/**
 * What other instances need to hear about the deploys this one runs, as wake-ups through the notifier:
 * "deploy 12 has lines stored up to seq 340" (sent once a batch is committed, so a reader finds them; small
 * batches travel in it) and "deploy 12 is now succeeded" (sent after the state is recorded). Their viewers show
 * the lines carried, else read them from the database by seq; their schedulers look at the queue again.
 *
 *   const lines = notifyingLineSink(database.lines(), notifier);     // give this to the deployer
 *   const off = relayDeployStates(events, notifier);                 // stop with off()
 */
import type { StoredLine } from '../store/deploys.js';
import type { LineSink, NewChunk } from '../store/log-lines.js';
import type { CommitNotice } from '../store/log-lines-postgresql.js';
import type { Notifier } from '../store/notify.js';
import { traceLine } from '../web/line-trace.js';
import type { DeployEvents } from './events.js';

/** Error texts can be long (a failing command's output); a notification stays far below PostgreSQL's 8000 bytes. */
const MAX_ERROR = 1_000;

/**
 * How long a line waits for its batch when other instances' viewers read it from the database: each wait is
 * lag on their screens (the batch interval was most of the 160 ms median), while a batch is one round trip.
 */
export const CROSS_INSTANCE_BATCH_MS = 15;

/**
 * Most bytes of stored lines a 'lines' notification carries (PostgreSQL refuses payloads of 8000 bytes or more;
 * the rest is the envelope). A bigger batch (a burst of output) is announced by seq only and read from the database.
 */
export const CARRIED_LINES_BYTES = 6_000;

/**
 * A stored chunk as a 'lines' notification carries it: [deployId, firstSeq, lastSeq, host, stream, at (ms), text]
 * (text = the lines joined by '\n', as stored).
 */
export type CarriedChunk = [number, number, number, string | null, string, number, string];

/**
 * The same sink, and after each committed batch a 'lines' notification: the highest seq per deploy (`d`) and,
 * when they fit in `carryBytes`, the stored chunks themselves (`c`), so viewers on other instances show them
 * without reading them back (one query and one wake-up of the database fewer per batch on each instance). With a
 * notifier that reaches other processes, batches are written sooner (CROSS_INSTANCE_BATCH_MS).
 *
 * On PostgreSQL the statement storing a batch sends the notification itself (notifyOnCommit, default true).
 *
 *   notifyingLineSink(database.lines(), notifier, { carryBytes: 0 }) // announce by seq only
 */
export function notifyingLineSink(sink: LineSink, notifier: Notifier, options: { carryBytes?: number; notifyOnCommit?: boolean } = {}): LineSink {
  const carryBytes = notifier.crossProcess ? (options.carryBytes ?? CARRIED_LINES_BYTES) : 0;
  const announcement = (chunks: readonly NewChunk[]) => {
    const last = new Map<number, number>();
    for (const c of chunks) if ((last.get(c.deployId) ?? 0) < c.lastSeq) last.set(c.deployId, c.lastSeq);
    return last.size === 0 ? null : { d: [...last], ...carried(chunks, carryBytes) };
  };
  const announce = (data: ReturnType<typeof announcement>) => {
    if (!data) return;
    traceLine({ leg: 'stored', d: data.d });
    void notifier.notify('lines', data);
  };
  // PostgreSQL: the statement that stores a batch sends its notification too (delivered at its commit).
  const onCommit =
    options.notifyOnCommit !== false && 'notifiesOnCommit' in sink && 'envelope' in notifier
      ? { sink: sink as NoticeSink, notifier: notifier as EnvelopeNotifier }
      : null;
  return {
    batchMs: notifier.crossProcess ? CROSS_INSTANCE_BATCH_MS : sink.batchMs,
    // Stored in order, so notified in order (each notification after its own batch's commit).
    ordered: sink.ordered,
    async insert(lines: readonly StoredLine[]): Promise<void> {
      await sink.insert(lines);
      announce(
        announcement(lines.map((l) => ({ deployId: l.deployId, firstSeq: l.seq, lastSeq: l.seq, host: l.host, stream: l.stream, text: l.text, at: l.at }))),
      );
    },
    async insertChunks(chunks: readonly NewChunk[]): Promise<void> {
      const data = onCommit ? announcement(chunks) : null;
      const notice = data ? onCommit?.notifier.envelope('lines', data) : null;
      if (!onCommit || !data || !notice) {
        await sink.insertChunks(chunks);
        // Announced after the commit instead (the announcement is made once: it may have been made above).
        announce(onCommit ? data : announcement(chunks));
        return;
      }
      await onCommit.sink.insertChunks(chunks, notice);
      traceLine({ leg: 'stored', d: data.d });
    },
    close: () => sink.close(),
    warm: () => sink.warm?.(),
  };
}

/** `{ c: chunks }` when the batch's text fits in `budget` bytes (all of it or none: readers need no holes). */
function carried(chunks: readonly NewChunk[], budget: number): { c?: CarriedChunk[] } {
  // Cheap bounds first: a character is 1 to 6 bytes in the JSON (3 in UTF-8, 6 as an escape such as \u001b).
  let chars = 0;
  for (const k of chunks) chars += k.text.length + 64;
  if (chars > budget) return {};
  const c = chunks.map((k): CarriedChunk => [k.deployId, k.firstSeq, k.lastSeq, k.host, k.stream, k.at.getTime(), k.text]);
  if (chars * 6 <= budget || Buffer.byteLength(JSON.stringify(c)) <= budget) return { c };
  return {};
}

/** A sink whose insertChunks can send a notification when its batch commits (PgLogLineStore). */
interface NoticeSink extends LineSink {
  notifiesOnCommit: true;
  insertChunks(chunks: readonly NewChunk[], notice?: CommitNotice): Promise<void>;
}

/** A notifier that hands out its notifications for another connection to send (PgNotifier). */
interface EnvelopeNotifier extends Notifier {
  envelope(topic: 'lines', data: Record<string, unknown>): CommitNotice | null;
}

/** Publishes every state change of this process's deploy events (already masked) as a 'deploy' notification. */
export function relayDeployStates(events: DeployEvents, notifier: Notifier): () => void {
  return events.subscribe((e) => {
    if (e.type !== 'state') return;
    const error = e.error ? e.error.slice(0, MAX_ERROR) : null;
    void notifier.notify('deploy', { id: e.deployId, state: e.state, error });
  });
}
