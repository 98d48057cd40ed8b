/**
 * One pino logger for the process, writing JSON to stderr (stdout belongs to the shell chat). Every string it
 * writes is masked first: messages, fields (`text`, `error`), and errors (message and stack), because failures
 * quote the command or URL that failed.
 *
 *   const logger = createLogger('info', pino.destination(2), (t) => masker.text(t));
 */
import pino, { type DestinationStream, type Logger } from 'pino';
import { type MaskText, maskPatterns } from './deploy/mask.js';

export function createLogger(level: string, destination: DestinationStream = pino.destination(2), mask: MaskText = maskPatterns): Logger {
  const deep = (value: unknown, depth = 0): unknown => {
    if (typeof value === 'string') return mask(value);
    // Errors are left to the `err` serializer, which runs after this and sees the standard shape.
    if (depth > 6 || value === null || typeof value !== 'object' || value instanceof Error || value instanceof Date) return value;
    if (Array.isArray(value)) return value.map((v) => deep(v, depth + 1));
    const proto = Object.getPrototypeOf(value);
    if (proto !== Object.prototype && proto !== null) return value;
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, deep(v, depth + 1)]));
  };
  return pino(
    {
      level,
      base: { name: 'shepherd' },
      formatters: { log: (obj) => deep(obj) as Record<string, unknown> },
      serializers: {
        // The standard shape has its own prototype: copied to a plain object so every field is masked.
        err: (err: Error) => deep({ ...pino.stdSerializers.err(err) }),
        msg: (msg: unknown) => (typeof msg === 'string' ? mask(msg) : msg),
      },
    },
    destination,
  );
}
