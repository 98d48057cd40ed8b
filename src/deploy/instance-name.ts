/**
 * This process's name in Deploy.ownerId and in notifications, apart from the scheduler so the start can name
 * itself before it loads the deployer.
 *
 *   instanceName() // 'deploy-host:4242:1f2e3d4c'
 */
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';

/** host:pid:random. */
export function instanceName(): string {
  return `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;
}
