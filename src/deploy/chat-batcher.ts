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
  lastSentAt: number;
  timer?: NodeJS.Timeout | undefined;
  sending: boolean;
}

export class ChatBatcher {
  private readonly rooms = new Map<string, Room>();
  /** Messages actually sent, per provider/room (for tests and the benchmark). */
  sentCount = 0;

  constructor(
    private readonly send: Send,
    private readonly intervalMs = 1000,
    private readonly logger?: Logger,
  ) {}

  /** Queues a message; resolves with the ref of the message that carried it (null if sending failed). */
  post(provider: string, target: Target, text: string, key?: string): Promise<MessageRef | null> {
    const roomKey = `${provider}\0${target.room}`;
    let room = this.rooms.get(roomKey);
    if (!room) {
      room = { queue: [], lastSentAt: 0, sending: false };
      this.rooms.set(roomKey, room);
    }
    return new Promise((resolve) => {
      const same = key ? room.queue.find((i) => i.key === key) : undefined;
      if (same) {
        same.text = text;
        same.waiters.push({ resolve });
      } else room.queue.push({ target, text, key, waiters: [{ resolve }] });
      this.schedule(provider, room);
    });
  }

  /** Resolves when every queued message has been sent. */
  async flushed(): Promise<void> {
    while ([...this.rooms.values()].some((r) => r.queue.length > 0 || r.sending)) await new Promise((r) => setTimeout(r, 20));
  }

  private schedule(provider: string, room: Room): void {
    if (room.sending || room.timer || room.queue.length === 0) return;
    const wait = Math.max(0, room.lastSentAt + this.intervalMs - Date.now());
    room.timer = setTimeout(() => {
      room.timer = undefined;
      void this.sendNext(provider, room);
    }, wait);
  }

  private async sendNext(provider: string, room: Room): Promise<void> {
    const first = room.queue[0];
    if (!first) return;
    // Merge what follows for the same target (same room and thread), up to the size limit.
    const batch: Item[] = [first];
    let length = first.text.length;
    for (const item of room.queue.slice(1)) {
      if (item.target.thread !== first.target.thread || length + 1 + item.text.length > MAX_MERGED_CHARS) break;
      batch.push(item);
      length += 1 + item.text.length;
    }
    room.queue.splice(0, batch.length);
    room.sending = true;
    room.lastSentAt = Date.now();
    let ref: MessageRef | null = null;
    try {
      ref = await this.send(provider, first.target, batch.map((i) => i.text).join('\n'));
      this.sentCount++;
    } catch (err) {
      this.logger?.warn({ err, room: first.target.room }, 'could not post a deploy message');
    }
    room.sending = false;
    for (const item of batch) for (const w of item.waiters) w.resolve(ref);
    this.schedule(provider, room);
  }
}
