/**
 * A small server-sent-events client over node:http for tests and the benchmark: it sends Last-Event-ID like a
 * browser does on reconnect, parses frames per the SSE spec (id, event, data), and can be cut off mid-stream.
 *
 *   const c = openSse(`${url}/deploys/1/events`, { lastEventId: 40, onEvent: (e) => seen.push(e) });
 *   await c.ended; // or c.close()
 */
import { request } from 'node:http';

export interface SseEvent {
  id?: string;
  event: string;
  data: string;
}

export interface SseOptions {
  lastEventId?: number | string;
  headers?: Record<string, string>;
  onEvent(event: SseEvent): void;
  onOpen?(status: number): void;
}

export interface SseConnection {
  close(): void;
  /** Resolves when the server ends the stream (or it is closed); rejects on a connection error. */
  ended: Promise<void>;
  status: Promise<number>;
}

export function openSse(url: string, options: SseOptions): SseConnection {
  let resolveStatus!: (n: number) => void;
  const status = new Promise<number>((r) => {
    resolveStatus = r;
  });
  let closedByUs = false;
  const req = request(url, {
    headers: {
      accept: 'text/event-stream',
      ...(options.lastEventId !== undefined ? { 'last-event-id': String(options.lastEventId) } : {}),
      ...options.headers,
    },
  });
  const ended = new Promise<void>((resolve, reject) => {
    req.on('response', (res) => {
      resolveStatus(res.statusCode ?? 0);
      options.onOpen?.(res.statusCode ?? 0);
      res.setEncoding('utf8');
      let buffer = '';
      res.on('data', (chunk: string) => {
        buffer += chunk;
        let end = buffer.indexOf('\n\n');
        while (end >= 0) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const event: SseEvent = { event: 'message', data: '' };
          const data: string[] = [];
          let any = false;
          for (const line of block.split('\n')) {
            if (line.startsWith(':') || line === '') continue;
            const colon = line.indexOf(':');
            const field = colon < 0 ? line : line.slice(0, colon);
            const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
            if (field === 'data') {
              data.push(value);
              any = true;
            } else if (field === 'event') event.event = value;
            else if (field === 'id') event.id = value;
          }
          if (any) {
            event.data = data.join('\n');
            options.onEvent(event);
          }
          end = buffer.indexOf('\n\n');
        }
      });
      res.on('end', () => resolve());
      res.on('close', () => resolve());
      res.on('error', (err) => (closedByUs ? resolve() : reject(err)));
    });
    req.on('error', (err) => (closedByUs ? resolve() : reject(err)));
  });
  req.end();
  return {
    status,
    ended,
    close() {
      closedByUs = true;
      req.destroy();
    },
  };
}
