/**
 * IRC with several instances on one database: one instance at a time holds the IRC connection, by a lease row
 * (src/store/chat-leases.ts) it renews every `checkMs`; the others stand by and try to take the lease as often.
 * When the holder dies its lease runs out after `ttlMs` and the first standby to look takes it, connects and
 * joins. What a standby must say on IRC (a deploy it runs) goes to the chat outbox (src/chat/outbox.ts) and
 * the holder says it; a new holder says the backlog first, then its own messages. A holder that cannot renew
 * (the database is gone) for a whole lease disconnects, since another instance may hold the lease by then.
 * At a graceful stop the lease is given up, so a standby takes over on its next look.
 *
 *   const irc = new LeasedIrc({ create: () => new IrcAdapter(env, logger), leases, outbox, instanceId, ttlMs: 20_000, checkMs: 5_000, logger });
 *   await irc.start(onMessage);   // holder: resolves once joined; standby: at once
 *   await irc.send({ room: '#deploys' }, 'deploy #3 succeeded');  // said directly, or through the outbox
 */
import type { Logger } from 'pino';
import type { Adapter, MessageHandler } from '../adapters/adapter.js';
import { ChatLeases } from '../store/chat-leases.js';
import { ChatOutboxStore } from '../store/chat-outbox.js';
import type { Db } from '../store/db.js';
import { ChatOutbox } from './outbox.js';
import type { MessageRef, Target } from './types.js';

/** The lease's name in ChatLease. */
export const IRC_LEASE = 'irc';

/**
 * Lease timing from the heartbeat: renewed (or looked for) every half interval, valid for two intervals, so one
 * late renewal is forgiven and a dead holder is replaced within 2.5 intervals plus the time to join
 * (heartbeat_interval 10s: within about 27 s).
 */
export function leaseTiming(heartbeatMs: number): { ttlMs: number; checkMs: number } {
  return { ttlMs: 2 * heartbeatMs, checkMs: Math.max(50, Math.round(heartbeatMs / 2)) };
}

export interface LeasedIrcOptions {
  /** A fresh, unstarted IRC adapter (an IrcAdapter cannot be started twice); called on each takeover. */
  create: () => Adapter;
  leases: ChatLeases;
  outbox: ChatOutbox;
  instanceId: string;
  ttlMs: number;
  checkMs: number;
  logger: Logger;
}

type State = 'idle' | 'standby' | 'taking' | 'holding' | 'stopped';

export class LeasedIrc implements Adapter {
  readonly name = 'irc' as const;
  private state: State = 'idle';
  private inner: Adapter | undefined;
  private onMessage: MessageHandler | undefined;
  private timer: NodeJS.Timeout | undefined;
  private ticking: Promise<void> | undefined;
  /** When the lease was last renewed or taken (this instance's clock). */
  private heldSince = 0;
  private renewedAt = 0;
  /** Resolves once a new holder has said the outbox backlog; its own messages wait for it. */
  private caughtUp: Promise<void> = Promise.resolve();

  constructor(private readonly options: LeasedIrcOptions) {}

  /** True while this instance holds the lease (connected or connecting). */
  get holding(): boolean {
    return this.state === 'holding' || this.state === 'taking';
  }

  /** True while another instance holds the IRC connection and this one waits to take over. */
  get standingBy(): boolean {
    return this.state === 'standby';
  }

  /** For /readyz: the holder is ready while connected; a standby is ready (it is doing its job: waiting). */
  get ready(): boolean {
    if (this.state === 'standby') return true;
    return this.state === 'holding' && (this.inner?.ready ?? true);
  }

  /**
   * Takes the lease if it is free and connects (resolving once joined, failing as a single instance fails
   * when IRC cannot be reached), or stands by; either way keeps looking every checkMs.
   */
  async start(onMessage: MessageHandler): Promise<void> {
    if (this.state !== 'idle') throw new Error('LeasedIrc.start() called twice');
    this.onMessage = onMessage;
    this.state = 'standby';
    const got = await this.options.leases.acquire(IRC_LEASE, this.options.instanceId, this.options.ttlMs);
    if (got) {
      this.renewedAt = Date.now();
      await this.takeOver(true);
    } else {
      this.options.logger.info({ holder: (await this.options.leases.holder(IRC_LEASE))?.holder }, 'another instance holds the IRC connection; standing by');
    }
    this.timer = setInterval(() => void this.tick(), this.options.checkMs);
    this.timer.unref();
  }

  async send(target: Target, text: string): Promise<MessageRef> {
    if (this.state === 'stopped') throw new Error('the IRC connection is closed');
    if (this.state === 'holding' && this.inner) {
      await this.caughtUp;
      const inner = this.inner;
      if (this.state === 'holding' && inner) return inner.send(target, text);
    }
    // Not connected here: the holder says it.
    const id = await this.options.outbox.write({ room: target.room, asker: target.asker, text });
    return { room: target.room, thread: undefined, id: `outbox:${id}` };
  }

  mention(identity: { externalId: string; handle: string }): string {
    return identity.handle;
  }

  /** Stops looking, quits IRC if connected, and gives the lease up so a standby takes over at once. */
  async stop(): Promise<void> {
    if (this.state === 'stopped') return;
    this.state = 'stopped';
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await this.ticking;
    await this.disconnect();
    // Also after a lost renewal: the row may still name us (release only ever deletes our own).
    await this.options.leases
      .release(IRC_LEASE, this.options.instanceId)
      .catch((err: unknown) => this.options.logger.warn({ err: (err as Error).message }, 'could not give up the IRC lease; it runs out by itself'));
  }

  /** One look: the holder renews, a standby tries to take the lease (never two at once). */
  tick(): Promise<void> {
    this.ticking ??= this.look().finally(() => {
      this.ticking = undefined;
    });
    return this.ticking;
  }

  private async look(): Promise<void> {
    if (this.state === 'stopped' || this.state === 'idle') return;
    const wasHolding = this.holding;
    let got: Awaited<ReturnType<ChatLeases['acquire']>>;
    try {
      got = await this.options.leases.acquire(IRC_LEASE, this.options.instanceId, this.options.ttlMs);
    } catch (err) {
      this.options.logger.warn({ err: (err as Error).message }, 'could not renew or look for the IRC lease');
      // Unproven for a whole lease: another instance may hold it by now, and two connections must not be.
      if (wasHolding && Date.now() - this.renewedAt > this.options.ttlMs) await this.lose('the IRC lease could not be renewed');
      return;
    }
    if ((this.state as State) === 'stopped') {
      if (got) await this.options.leases.release(IRC_LEASE, this.options.instanceId).catch(() => {});
      return;
    }
    if (got) this.renewedAt = Date.now();
    if (wasHolding && got !== 'renewed') await this.lose('another instance took the IRC lease');
    else if (!wasHolding && got) void this.takeOver(false);
  }

  /** Connects and joins as the holder; then says the outbox backlog and delivers from it from now on. */
  private async takeOver(first: boolean): Promise<void> {
    this.state = 'taking';
    this.heldSince = Date.now();
    const inner = this.options.create();
    this.inner = inner;
    let backlog!: () => void;
    this.caughtUp = new Promise((resolve) => {
      backlog = resolve;
    });
    this.options.logger.info({ instance: this.options.instanceId }, first ? 'holding the IRC lease; connecting' : 'took the IRC lease over; connecting');
    try {
      await inner.start(this.onMessage as MessageHandler);
    } catch (err) {
      backlog();
      if (this.inner === inner) this.inner = undefined;
      await inner.stop().catch(() => {});
      if ((this.state as State) !== 'stopped') this.state = 'standby';
      await this.options.leases.release(IRC_LEASE, this.options.instanceId).catch(() => {});
      // At start this fails the start, as for a single instance; on a takeover the next look tries again.
      if (first) throw err;
      this.options.logger.error({ err: (err as Error).message }, 'could not connect to IRC after taking the lease; gave it up');
      return;
    }
    if ((this.state as State) !== 'taking' || this.inner !== inner) {
      backlog();
      return; // stopped or lost while connecting
    }
    this.state = 'holding';
    this.options.outbox
      .startDelivering((row) => inner.send({ room: row.room, asker: row.asker }, row.text))
      .finally(backlog)
      .catch(() => {});
  }

  /** The lease is gone: stop saying things and close the connection; stand by. */
  private async lose(why: string): Promise<void> {
    this.options.logger.warn({ held: Date.now() - this.heldSince }, `${why}; closing the IRC connection and standing by`);
    this.state = 'standby';
    await this.disconnect();
  }

  private async disconnect(): Promise<void> {
    const inner = this.inner;
    this.inner = undefined;
    // Delivery stops taking rows now; the row being said is let go by the adapter's stop (it drops queued output).
    const delivering = this.options.outbox.stopDelivering();
    await inner?.stop().catch((err: unknown) => this.options.logger.warn({ err: (err as Error).message }, 'could not close the IRC connection cleanly'));
    await delivering;
  }
}

export interface IrcConnectionOptions {
  /** The bot's database: on PostgreSQL several instances may share it, so the connection is leased. */
  database: { kind: 'sqlite' | 'postgresql'; prisma: Db; url: string };
  create: () => Adapter;
  instanceId: string;
  /** heartbeat_interval: the lease's timing follows it (leaseTiming). */
  heartbeatMs: number;
  /** How often the holder looks into the outbox besides NOTIFY wake-ups (default 2 s). */
  pollMs?: number;
  logger: Logger;
}

/**
 * The IRC connection for this database: on SQLite (one instance) the adapter itself, as always; on PostgreSQL
 * a LeasedIrc with an outbox woken by NOTIFY.
 *
 *   const irc = ircConnection({ database: { ...database, url }, create: () => new IrcAdapter(env, log), instanceId, heartbeatMs, logger });
 */
export function ircConnection(options: IrcConnectionOptions): Adapter {
  const { database, logger } = options;
  if (database.kind !== 'postgresql') return options.create();
  const prisma = database.prisma;
  const outbox = new ChatOutbox({
    store: new ChatOutboxStore(prisma),
    network: 'irc',
    instanceId: options.instanceId,
    notify: async (channel, payload) => void (await prisma.$executeRaw`SELECT pg_notify(${channel}, ${payload})`),
    listenUrl: database.url,
    pollMs: options.pollMs,
    logger: logger.child({ component: 'chat-outbox' }),
  });
  return new LeasedIrc({
    create: options.create,
    leases: new ChatLeases(prisma),
    outbox,
    instanceId: options.instanceId,
    ...leaseTiming(options.heartbeatMs),
    logger,
  });
}
