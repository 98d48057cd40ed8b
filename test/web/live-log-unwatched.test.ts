/**
 * A deploy nobody watches costs the live log no framing: its lines wait in the ring as published, and are framed
 * (masked again, serialised) once, when a viewer comes for them. Whoever comes gets every line once, masked.
 */
import { EventEmitter } from 'node:events';
import type { ServerResponse } from 'node:http';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { DeployEvents } from '../../src/deploy/events.js';
import type { LogReader } from '../../src/store/log-lines.js';
import { LiveLog } from '../../src/web/live-log.js';
import { Redactor } from '../../src/web/redact.js';

/** Counts the lines it masks. */
class CountingRedactor extends Redactor {
  lines = 0;
  override line(text: string): string {
    this.lines++;
    return super.line(text);
  }
}

/** Nothing stored yet: every line is still only published. */
const nothingStored: LogReader = {
  chunks: async () => [],
  page: async () => [],
  raw: async function* () {},
  lastSeq: async () => 0,
  count: async () => 0,
};

/** An SSE response that keeps what it was sent. */
function response(): ServerResponse & { text: () => string } {
  const res = new EventEmitter() as unknown as ServerResponse & { text: () => string };
  const sent: string[] = [];
  Object.assign(res, {
    writableLength: 0,
    write: (data: Buffer | string, cb?: () => void) => {
      sent.push(String(data));
      cb?.();
      return true;
    },
    end: () => res.emit('close'),
    destroy: () => res.emit('close'),
    text: () => sent.join(''),
  });
  return res;
}

const lineSeqs = (sse: string) => [...sse.matchAll(/^id: (\d+)$/gm)].map((m) => Number(m[1]));
const settle = () => new Promise((r) => setImmediate(r));

describe('LiveLog with nobody watching', () => {
  let live: LiveLog | undefined;
  afterEach(() => live?.stop());

  it('GIVEN lines of a deploy with no viewer THEN none is framed; a viewer who comes later gets each once, masked', async () => {
    const events = new DeployEvents();
    const redactor = new CountingRedactor(['s3cr3t-value']);
    live = new LiveLog({ events, logs: nothingStored, redactor, logger: pino({ level: 'silent' }) });
    live.start();
    const at = new Date();
    // 3 × 400 lines as output chunks, and single lines (one with a configured secret that slipped through).
    // Their texts are not even cut into lines until then (LogLinesEvent.texts counts here when it is).
    let cuts = 0;
    for (let c = 0; c < 3; c++) {
      const text = Array.from({ length: 400 }, (_, i) => `line ${c * 400 + i + 1}`).join('\n');
      const lines = {
        ...{ deployId: 7, firstSeq: c * 400 + 1, count: 400, host: 'web-1', stream: 'stdout' as const, text, at },
        get texts() {
          cuts++;
          return text.split('\n');
        },
      };
      events.publish({ type: 'lines', lines });
    }
    events.publish({ type: 'line', line: { deployId: 7, seq: 1201, host: 'web-1', stream: 'stderr', text: 'token s3cr3t-value', at } });
    await settle();
    expect(redactor.lines).toBe(0);
    expect(cuts).toBe(0);

    const res = response();
    live.attach(7, 0, res, 'running');
    await settle();
    expect(lineSeqs(res.text())).toEqual(Array.from({ length: 1201 }, (_, i) => i + 1));
    expect(res.text()).not.toContain('s3cr3t-value');
    expect(redactor.lines).toBe(1201);

    // Watched now: new lines are framed as they come, once, and sent.
    events.publish({ type: 'line', line: { deployId: 7, seq: 1202, host: 'web-1', stream: 'stdout', text: 'next', at } });
    await settle();
    expect(lineSeqs(res.text()).at(-1)).toBe(1202);
    expect(redactor.lines).toBe(1202);

    // A second viewer from the start shares the blocks already framed.
    const second = response();
    live.attach(7, 0, second, 'running');
    await settle();
    expect(lineSeqs(second.text())).toEqual(Array.from({ length: 1202 }, (_, i) => i + 1));
    expect(redactor.lines).toBe(1202);
  });
});
