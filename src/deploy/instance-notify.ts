/**
 * What other instances need to hear about the deploys this one runs, as wake-ups through the notifier:
 * "deploy 12 has lines stored up to seq 340" (sent once a batch is committed, so a reader finds them) and
 * "deploy 12 is now succeeded" (sent after the state is recorded). Their viewers read the lines from the
 * database by seq; their schedulers look at the queue again.
 *
 *   const lines = notifyingLineSink(database.lines(), notifier);     // give this to the deployer
 *   const off = relayDeployStates(events, notifier);                 // stop with off()
 */
import type { StoredLine } from '../store/deploys.js';
import type { LineSink, NewChunk } from '../store/log-lines.js';
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
 * The same sink, and after each committed batch a 'lines' notification with the highest seq per deploy. With a
 * notifier that reaches other processes, batches are written sooner (CROSS_INSTANCE_BATCH_MS).
 */
export function notifyingLineSink(sink: LineSink, notifier: Notifier): LineSink {
  return {
    batchMs: notifier.crossProcess ? CROSS_INSTANCE_BATCH_MS : sink.batchMs,
    async insert(lines: readonly StoredLine[]): Promise<void> {
      await sink.insert(lines);
      const last = new Map<number, number>();
      for (const l of lines) if ((last.get(l.deployId) ?? 0) < l.seq) last.set(l.deployId, l.seq);
      if (last.size === 0) return;
      const d = [...last];
      traceLine({ leg: 'stored', d });
      void notifier.notify('lines', { d });
    },
    async insertChunks(chunks: readonly NewChunk[]): Promise<void> {
      await sink.insertChunks(chunks);
      const last = new Map<number, number>();
      for (const c of chunks) if ((last.get(c.deployId) ?? 0) < c.lastSeq) last.set(c.deployId, c.lastSeq);
      if (last.size === 0) return;
      const d = [...last];
      traceLine({ leg: 'stored', d });
      void notifier.notify('lines', { d });
    },
    close: () => sink.close(),
  };
}

/** Publishes every state change of this process's deploy events (already masked) as a 'deploy' notification. */
export function relayDeployStates(events: DeployEvents, notifier: Notifier): () => void {
  return events.subscribe((e) => {
    if (e.type !== 'state') return;
    const error = e.error ? e.error.slice(0, MAX_ERROR) : null;
    void notifier.notify('deploy', { id: e.deployId, state: e.state, error });
  });
}
