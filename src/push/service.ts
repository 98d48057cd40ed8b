/**
 * The daily push (Facebook's release process), one facade over its parts, each with one job:
 * requests.ts (cherry-pick requests, approve, reject), confirmations.ts (`push start`, `here`, reminders and
 * deferrals on the timer), ship.ts (`push ship`, `push abort`, crash recovery) and board.ts (`push status`).
 * Commands are thin wrappers around this; the timer calls tick(); main.ts calls recover() at start.
 *
 *   const push = new PushService({ app: 'web', config, store, clock, repo, notifier, deploy, events });
 *   const { pick } = await push.request(alice, parseSubject('#12'));
 *   await push.approve(rm, 'all'); await push.start(rm, { provider: 'irc', room: '#deploys' });
 *   await push.confirm(alice); const report = await push.ship(rm, { provider: 'irc', room: '#deploys' });
 */
import type { PushRow } from '../store/push.js';
import type { KnownUser } from '../store/users.js';
import { PushBoard, type PushStatus, type PushTally } from './board.js';
import type { Subject } from './change.js';
import { type ConfirmResult, PushConfirmations, type StartResult, type TickResult, type Timers, realTimers } from './confirmations.js';
import { type Place, PushCore, type PushServiceOptions } from './core.js';
import { type ApproveResult, PushRequests, type RequestResult } from './requests.js';
import { PushShip, type ShipGate, type ShipHooks, type ShipOptions, type ShipReport } from './ship.js';

export type {
  ApproveResult,
  ConfirmResult,
  Place,
  PushServiceOptions,
  PushStatus,
  PushTally,
  RequestResult,
  ShipGate,
  ShipOptions,
  ShipReport,
  StartResult,
  TickResult,
  Timers,
};
export type { PushDeploy, PushDeployment } from './core.js';
export { parsePickId } from './requests.js';
export { realTimers };

export class PushService {
  private readonly core: PushCore;
  private readonly requests: PushRequests;
  private readonly confirmations: PushConfirmations;
  private readonly shipping: PushShip;
  private readonly pushBoard: PushBoard;

  constructor(
    readonly options: PushServiceOptions,
    hooks: ShipHooks = {},
  ) {
    this.core = new PushCore(options);
    this.requests = new PushRequests(this.core);
    this.confirmations = new PushConfirmations(this.core);
    this.shipping = new PushShip(this.core, hooks);
    this.pushBoard = new PushBoard(this.core);
  }

  get app() {
    return this.core.app;
  }
  get repo() {
    return this.core.repo;
  }
  get gitHub() {
    return this.requests.gitHub;
  }
  current(): Promise<PushRow | null> {
    return this.core.current();
  }
  stars(userId: number): Promise<number> {
    return this.core.stars(userId);
  }

  request(requester: KnownUser, subject: Subject, provider?: string): Promise<RequestResult> {
    return this.requests.request(requester, subject, provider);
  }
  list() {
    return this.requests.list();
  }
  approve(actor: KnownUser, which: number | 'all'): Promise<ApproveResult> {
    return this.requests.approve(actor, which);
  }
  reject(actor: KnownUser, id: number, reason: string | undefined) {
    return this.requests.reject(actor, id, reason);
  }

  start(actor: KnownUser, place: Place, from?: string): Promise<StartResult> {
    return this.confirmations.start(actor, place, from);
  }
  confirm(user: KnownUser): Promise<ConfirmResult> {
    return this.confirmations.confirm(user);
  }
  tick(): Promise<TickResult> {
    return this.confirmations.tick();
  }
  startTicking(everyMs: number, timers: Timers = realTimers): () => void {
    return this.confirmations.startTicking(everyMs, timers);
  }

  status(): Promise<PushStatus> {
    return this.pushBoard.status();
  }
  /** The last pushes with their picks counted (requested, approved, conflicted, shipped), newest first. */
  recent(limit?: number): Promise<PushTally[]> {
    return this.pushBoard.recent(limit);
  }

  /** The environment `push ship [to <env>]` targets (Refusal for an unknown one). */
  shipEnvironment(environment?: string): string | undefined {
    return this.shipping.environmentFor(environment);
  }
  ship(actor: KnownUser, place: Place & { thread?: string | undefined }, environment?: string, gate?: ShipGate, options?: ShipOptions): Promise<ShipReport> {
    return this.shipping.ship(actor, place, environment, gate, options);
  }
  abort() {
    return this.shipping.abort();
  }
  /** Resolves when the messages due after a push's deploy ended have been sent (before the process exits). */
  idle(): Promise<void> {
    return this.shipping.idle();
  }
  /** At start: a push a crash left `shipping` goes back to `confirming`, and its channel is told. */
  recover(): Promise<PushRow | null> {
    return this.shipping.recover();
  }
}
