/**
 * What every part of the daily push shares: its options (app, config, store, clock, repo, GitHub, notifier,
 * deploy, deploy events), the current push, moving picks to `deferred`, who still has to confirm, and telling
 * the push's channel. One PushCore is built per PushService; requests, confirmations, ship and board use it.
 *
 *   const core = new PushCore(options);
 *   const push = await core.current(); await core.tell(push, '⏰ the window closed');
 */
import type { Logger } from 'pino';
import type { Target } from '../adapters/adapter.js';
import type { Clock } from '../command.js';
import type { Config } from '../config.js';
import type { DeployEvents } from '../deploy/events.js';
import type { GitHub } from '../github.js';
import type { Store } from '../store/index.js';
import type { PickRow, PushRow } from '../store/push.js';
import type { KnownUser } from '../store/users.js';
import type { CiWaitOptions } from './ci-wait.js';
import type { Notifier } from './notifier.js';
import type { PushRepo } from './repo.js';

/** Where a command was typed: later messages about the push go there. */
export interface Place {
  provider: string;
  room: string;
}

/** A deploy of the push branch, as recorded. */
export interface PushDeployment {
  id: number;
  note?: string | undefined;
}

/** The last step of ship: deploy the push branch. Resolves once the deploy is recorded (started or queued). */
export type PushDeploy = (input: {
  app: string;
  environment: string;
  ref: string;
  sha: string;
  requester: KnownUser;
  provider: string;
  room: Target;
  /** Shown in the deploy's start message. */
  notes?: string[];
  /** What the approvals gate decided: the deploy waits for them. */
  approvals?: { needed: number; windowMs: number } | null | undefined;
}) => Promise<PushDeployment>;

export interface PushServiceOptions {
  app: string;
  config: Readonly<Config>;
  store: Store;
  clock: Clock;
  repo: PushRepo;
  /** Absent without GITHUB_TOKEN: git answers instead. */
  github?: GitHub | null | undefined;
  /** owner/name on GitHub (the app's `repo`). */
  githubRepo?: string | undefined;
  notifier?: Notifier | undefined;
  deploy?: PushDeploy | undefined;
  /** The deploy event stream: "your picks are live" is told when the push's deploy ends. */
  events?: DeployEvents | undefined;
  logger?: Logger | undefined;
  /** How long and how often `push ship` waits for CI on the pushed head (environments with require_green_ci). */
  ciWait?: CiWaitOptions | undefined;
}

export function uniqueUsers<T extends { id: number }>(users: T[]): T[] {
  const seen = new Map<number, T>();
  for (const u of users) if (!seen.has(u.id)) seen.set(u.id, u);
  return [...seen.values()];
}

export class PushCore {
  constructor(readonly options: PushServiceOptions) {}

  get app(): string {
    return this.options.app;
  }

  get repo(): PushRepo {
    return this.options.repo;
  }

  get store() {
    return this.options.store.push;
  }

  now(): Date {
    return this.options.clock.now();
  }

  current(): Promise<PushRow | null> {
    return this.store.current(this.app);
  }

  /** Stars of a user (karma.initial until changed). */
  stars(userId: number): Promise<number> {
    return this.options.store.karma.stars(userId);
  }

  /** Authors of `authors` who have not confirmed yet, while the push is confirming. */
  async needsAsking(push: PushRow, authors: PickRow['author'][]): Promise<PickRow['author'][]> {
    if (push.state !== 'confirming') return [];
    const confirmed = new Set((await this.store.confirmations(push.id)).map((c) => c.userId));
    return uniqueUsers(authors).filter((a) => !confirmed.has(a.id));
  }

  /** Picks moved to `deferred`: kept, and carried into the next push as fresh requests. */
  async defer(picks: PickRow[], reason: string): Promise<PickRow[]> {
    if (picks.length === 0) return [];
    await this.store.movePicks(
      picks.map((p) => p.id),
      ['requested', 'approved'],
      'deferred',
      { reason },
    );
    return (await Promise.all(picks.map((p) => this.store.pick(p.id)))).filter((p): p is PickRow => p?.state === 'deferred');
  }

  /** How to mention a user in the push's channel. */
  mention(push: Pick<PushRow, 'provider'>, user: PickRow['author']): string {
    const notifier = this.options.notifier;
    return notifier && push.provider ? notifier.mention(push.provider, user) : user.name;
  }

  /** Says something in the push's channel (where `push start` ran); never throws. */
  async tell(push: Pick<PushRow, 'provider' | 'room'>, text: string, thread?: string | null): Promise<void> {
    const notifier = this.options.notifier;
    if (!notifier || !push.provider || !push.room) return;
    await notifier
      .say(push.provider, { room: push.room, ...(thread ? { thread } : {}) }, text)
      .catch((err) => this.options.logger?.error({ err }, 'push notice failed'));
  }
}

/**
 * What each part of the push workflow (requests, confirmations) reads of the shared core, under short names.
 *
 *   class PushRequests extends PushPart { ... this.store.current(this.app) ... }
 */
export abstract class PushPart {
  constructor(protected readonly core: PushCore) {}

  protected get store() {
    return this.core.store;
  }

  protected get app(): string {
    return this.core.app;
  }

  protected get repo(): PushRepo {
    return this.core.repo;
  }

  protected get options(): PushServiceOptions {
    return this.core.options;
  }

  protected now(): Date {
    return this.core.now();
  }

  protected current(): Promise<PushRow | null> {
    return this.core.current();
  }

  protected stars(userId: number): Promise<number> {
    return this.core.stars(userId);
  }
}
