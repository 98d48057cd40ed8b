/**
 * Webhook deliveries already taken (GitHub's X-GitHub-Delivery id): GitHub redelivers on timeouts and on
 * "Redeliver" in its UI; the insert is the check (a unique id), so two instances never both handle one delivery.
 *
 *   if (!(await deliveries.claim({ id, event: 'check_suite', repository: 'acme/web', at }))) return; // seen before
 */
import type { Db } from './db.js';

export class WebhookDeliveries {
  constructor(private readonly db: Db) {}

  /** Records the delivery; false when its id was recorded before (nothing to do again). */
  async claim(input: { id: string; event: string; repository: string | null; at: Date }): Promise<boolean> {
    try {
      await this.db.webhookDelivery.create({ data: { id: input.id, event: input.event, repository: input.repository, receivedAt: input.at } });
      return true;
    } catch (err) {
      if ((err as { code?: string }).code === 'P2002') return false;
      throw err;
    }
  }
}
