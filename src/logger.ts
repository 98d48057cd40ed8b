/**
 * One pino logger for the process, writing JSON to stderr (stdout belongs to the shell chat).
 *
 *   const logger = createLogger('info');
 */
import pino, { type DestinationStream, type Logger } from 'pino';

export function createLogger(level: string, destination: DestinationStream = pino.destination(2)): Logger {
  return pino({ level, base: { name: 'shepherd' } }, destination);
}
