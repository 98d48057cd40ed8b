/**
 * Keeps the bot inside chat rate limits however much is posted: at most one message per interval per room
 * (Slack allows about one per second per channel; IRC servers throttle floods). Messages waiting for the same
 * target are merged into one; a message posted with a key replaces the unsent one with that key (progress
 * "3/10 hosts done" only ever shows the latest). Rooms are independent.
 *
 *   const chat = new ChatBatcher((provider, target, text) => adapter.send(target, text), 1000);
 *   const ref = await chat.post('slack', { room: 'C1' }, 'deploy #3 started');
 */
import type { Logger } from 'pino';
import { type Clock, RateLimiter } from '../chat/rate-limiter.js';
import type { MessageRef, Target } from '../chat/types.js';

export type Send = (provider: string, target: Target, text: string) => Promise<MessageRef>;

/** Longest merged message; what does not fit waits for the next slot. */
export const MAX_MERGED_CHARS = 3500;

interface Item {
  target: Target;
  text: string;
  key?: string | undefined;
  waiters: { resolve(ref: MessageRef | null): void }[];
}

interface Room {
  queue: Item[];
  /** Waiting for the room's next slot, or sending: either way the queue will be looked at again. */
  busy: boolean;
}

export class ChatBatcher {
  private readonly rooms = new Map<string, Room>();
  /** One message per interval per room: a bucket of one token per room. */
  private readonly pacing: RateLimiter;
  /** flushed() callers, told when the last room goes idle. */
  private idleWaiters: (() => void)[] = [];
  /** Messages actually sent, per provider/room (for tests and the benchmark). */
  sentCount = 0;

  constructor(
    private readonly send: Send,
    intervalMs = 1000,
    private readonly logger?: Logger,
    clock?: Clock,
  ) {
    this.pacing = new RateLimiter({ burst: 1, perSecond: 1000 / Math.max(1, intervalMs), ...(clock ? { clock } : {}) });
  }

  /** Queues a message; resolves with the ref of the message that carried it (null if sending failed). */
  post(provider: string, target: Target, text: string, key?: string): Promise<MessageRef | null> {
    const roomKey = `${provider}\0${target.room}`;
    let room = this.rooms.get(roomKey);
    if (!room) {
      room = { queue: [], busy: false };
      this.rooms.set(roomKey, room);
    }
    return new Promise((resolve) => {
      const same = key ? room.queue.find((i) => i.key === key) : undefined;
      if (same) {
        same.text = text;
        same.waiters.push({ resolve });
      } else room.queue.push({ target, text, key, waiters: [{ resolve }] });
      this.schedule(provider, roomKey, room);
    });
  }

  /** Resolves when every queued message has been sent. */
  flushed(): Promise<void> {
    if (this.idle()) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private idle(): boolean {
    for (const room of this.rooms.values()) if (room.busy || room.queue.length > 0) return false;
    return true;
  }

  private schedule(provider: string, roomKey: string, room: Room): void {
    if (room.busy) return;
    if (room.queue.length === 0) {
      this.rooms.delete(roomKey);
      if (this.idle()) for (const resolve of this.idleWaiters.splice(0)) resolve();
      return;
    }
    room.busy = true;
    void this.pacing
      .take(roomKey)
      // A macrotask's grace even when the slot is free now, so messages posted in the same turn leave as one.
      .then(() => new Promise((resolve) => setImmediate(resolve)))
      .then(() => this.sendNext(provider, roomKey, room));
  }

  private async sendNext(provider: string, roomKey: string, room: Room): Promise<void> {
    const first = room.queue[0];
    if (!first) {
      room.busy = false;
      return this.schedule(provider, roomKey, room);
    }
    // Merge what follows for the same target (same room and thread), up to the size limit.
    const batch: Item[] = [first];
    let length = first.text.length;
    for (const item of room.queue.slice(1)) {
      if (item.target.thread !== first.target.thread || length + 1 + item.text.length > MAX_MERGED_CHARS) break;
      batch.push(item);
      length += 1 + item.text.length;
    }
    room.queue.splice(0, batch.length);
    let ref: MessageRef | null = null;
    try {
      ref = await this.send(provider, first.target, batch.map((i) => i.text).join('\n'));
      this.sentCount++;
    } catch (err) {
      this.logger?.warn({ err, room: first.target.room }, 'could not post a deploy message');
    }
    room.busy = false;
    for (const item of batch) for (const w of item.waiters) w.resolve(ref);
    this.schedule(provider, roomKey, room);
  }
}
