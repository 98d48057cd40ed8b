/**
 * What a channel sees of a deploy: a start line (id, app, ref, SHA, environment, host count, viewer link, the
 * commits that ship), progress as hosts finish, the failing host's last lines, and a final line with outcome
 * and duration that mentions the requester. Progress goes in a thread under the start message where the
 * network has threads (the adapter ignores `thread` where it has none). All of it goes through a ChatBatcher,
 * so a deploy that prints a million lines still posts a handful of messages, at most one per second per room.
 * It learns all of it from DeployEvents (started, progress, note, ended): main.ts wires it, the engine does not
 * know it exists.
 *
 *   const sink = new ChatSink({ batcher, events, mentioner, webBaseUrl: config.webBaseUrl }); sink.start();
 */
import type { Logger } from 'pino';
import { approvalExpired } from '../approval-messages.js';
import { APPROVAL_EXPIRED } from '../store/approvals.js';
import type { CardChannel, Progress } from '../chat/rich.js';
import type { MessageRef, Target } from '../chat/types.js';
import {
  type DeployStartInfo,
  type DeployView,
  deployFinished,
  deployInterrupted,
  deployProgress,
  deployStarted,
  deployUrl,
  hostFailed,
  validationRound,
} from '../format.js';
import type { ChatBatcher } from './chat-batcher.js';
import { deployCard } from './deploy-card.js';
import { type DeployEvent, type DeployEvents, lastLines } from './events.js';

/** How the sink reaches people: mention a user on a network (main.ts asks the right adapter). */
export interface Mentioner {
  mention(provider: string, user: DeployView['requester']): string;
}

/** Where a deploy's messages go: the network and room it was asked from. */
export interface DeployPlace {
  id: number;
  provider: string;
  room: string;
  /** The thread the request came from (Slack), if any. */
  threadRef: string | null;
}

export const LAST_LINES = 10;

interface Tracked {
  place: DeployPlace;
  /** Resolves to where progress goes once the start message is out. */
  progressTarget: Promise<Target>;
  lastLines: Map<string, string[]>;
  /** On networks that show a deploy as one card updated in place (Slack): the card and what it shows. */
  card?: LiveCard | undefined;
}

interface LiveCard {
  channel: CardChannel;
  ref: Promise<MessageRef | null>;
  deploy: DeployView;
  info: DeployStartInfo;
  progress: Progress;
}

export interface ChatSinkOptions {
  batcher: ChatBatcher;
  events: DeployEvents;
  mentioner: Mentioner;
  webBaseUrl: string;
  logger?: Logger | undefined;
  /** The environment's `url:` from shepherd.yml, shown in the start and final messages. */
  environmentUrl?: ((app: string, environment: string) => string | null) | undefined;
  /**
   * The network's deploy cards, where it has them (Slack): the start message becomes a card whose progress bar
   * is updated in place instead of a thread reply per host; failures, notes and the final line stay text.
   */
  cards?: ((provider: string) => CardChannel | undefined) | undefined;
}

export class ChatSink {
  private readonly tracked = new Map<number, Tracked>();
  private unsubscribe: (() => void) | undefined;

  constructor(private readonly options: ChatSinkOptions) {}

  private readonly pending = new Set<Promise<unknown>>();

  /** Subscribes to deploy events: start, progress, notes and the end go to the deploy's channel. */
  start(): void {
    this.unsubscribe ??= this.options.events.subscribe((event) => this.onEvent(event), { flushed: () => this.flushed() });
  }

  /** Resolves when every message asked for so far has been sent (or given up). */
  async flushed(): Promise<void> {
    while (this.pending.size > 0) await Promise.allSettled([...this.pending]);
    await this.options.batcher.flushed();
  }

  private track(p: Promise<unknown>): void {
    const q = p.catch(() => {}).finally(() => this.pending.delete(q));
    this.pending.add(q);
  }

  private onEvent(event: DeployEvent): void {
    switch (event.type) {
      case 'started':
        this.track(this.started(placeOf(event.deploy), event.deploy, event.info));
        return;
      case 'progress':
        this.hostFinished(event.deployId, event, event.failure);
        return;
      case 'note':
        this.track(this.note(event.deployId, event.text));
        return;
      case 'validation':
        this.track(this.validationRound(event));
        return;
      case 'ended':
        // Interrupted: found stale by recovery, or given up at a graceful stop; either way the channel hears it.
        if (event.deploy.state === 'interrupted') {
          const t = this.tracked.get(event.deployId);
          this.tracked.delete(event.deployId);
          // A card it had shows that it stopped (and loses its Cancel button).
          if (t?.card) this.track(this.showCard(t, '⚠️ interrupted: the bot stopped while it ran', event.deploy));
          this.track(this.interrupted(placeOf(event.deploy), event.deploy));
        } else if (event.deploy.error === APPROVAL_EXPIRED && !this.tracked.has(event.deployId)) {
          // It never started (no start message to answer): the room hears it ended, and the requester is named.
          const place = placeOf(event.deploy);
          const text = approvalExpired(event.deploy, this.options.mentioner.mention(place.provider, event.deploy.requester));
          this.track(this.options.batcher.post(place.provider, { room: place.room, thread: place.threadRef ?? undefined }, text));
        } else this.track(this.finished(event.deploy, event.failedHosts));
        return;
      case 'line':
        this.keepLines(event.line.deployId, event.line.host, [event.line.text]);
        return;
      case 'lines':
        this.keepLines(event.lines.deployId, event.lines.host, lastLines(event.lines, LAST_LINES));
        return;
      default:
        return;
    }
  }

  /** A host's last lines, for the failure message. */
  private keepLines(deployId: number, host: string | null, texts: readonly string[]): void {
    const t = this.tracked.get(deployId);
    if (!t || host === null) return;
    let lines = t.lastLines.get(host);
    if (!lines) {
      lines = [];
      t.lastLines.set(host, lines);
    }
    // Trimmed once per LAST_LINES lines, not shifted at every line: a host may print 100k lines a second.
    for (let i = Math.max(0, texts.length - LAST_LINES); i < texts.length; i++) lines.push(texts[i] as string);
    if (lines.length >= 2 * LAST_LINES) lines.splice(0, lines.length - LAST_LINES);
  }

  stop(): void {
    this.unsubscribe?.();
    this.unsubscribe = undefined;
  }

  /** Posts the start line; progress then goes in a thread under it. Resolves once it is sent. */
  async started(place: DeployPlace, deploy: DeployView, info: Omit<DeployStartInfo, 'url'>): Promise<MessageRef | null> {
    const room: Target = { room: place.room, thread: place.threadRef ?? undefined };
    const environmentUrl = this.options.environmentUrl?.(deploy.app, deploy.environment);
    const full: DeployStartInfo = { ...info, url: this.url(deploy.id), environmentUrl };
    const channel = this.options.cards?.(place.provider);
    let card: LiveCard | undefined;
    let sent: Promise<MessageRef | null>;
    if (channel) {
      const progress = { done: 0, total: info.hostCount, failed: 0 };
      const ref = channel.postCard(room, this.cardOf(place.provider, deploy, full, progress)).catch((err: unknown) => {
        // No card (the network refused it): the start line as text, and progress as text from here on.
        this.options.logger?.warn({ err, deploy: deploy.id }, 'could not post the deploy card; posting text');
        if (t) t.card = undefined;
        return this.options.batcher.post(place.provider, room, deployStarted(deploy, full, place.provider));
      });
      card = { channel, ref, deploy, info: full, progress };
      sent = ref;
    } else sent = this.options.batcher.post(place.provider, room, deployStarted(deploy, full, place.provider));
    const progressTarget = sent.then((ref): Target => ({ room: place.room, thread: place.threadRef ?? ref?.id ?? undefined }));
    const t: Tracked = { place, progressTarget, lastLines: new Map(), card };
    this.tracked.set(deploy.id, t);
    return sent;
  }

  /** A host ended: progress (coalesced), and for a failure its last lines. */
  hostFinished(deployId: number, progress: { done: number; total: number; failed: number }, failure?: { host: string; reason: string }): void {
    const t = this.tracked.get(deployId);
    if (!t) return;
    const lines = failure ? (t.lastLines.get(failure.host) ?? []).slice(-LAST_LINES) : [];
    if (t.card) {
      t.card.progress = { done: progress.done, total: progress.total, failed: progress.failed };
      this.track(this.showCard(t));
    }
    void t.progressTarget.then((target) => {
      if (failure) void this.options.batcher.post(t.place.provider, target, hostFailed(failure.host, failure.reason, lines));
      if (progress.total > 1 && !t.card)
        void this.options.batcher.post(t.place.provider, target, deployProgress(progress.done, progress.total, progress.failed), `progress:${deployId}`);
    });
  }

  /** The final line, in the room itself (not the thread) so everyone sees how it ended. */
  async finished(deploy: DeployView & { startedAt: Date | null; finishedAt: Date | null }, failedHosts: string[]): Promise<void> {
    const t = this.tracked.get(deploy.id);
    this.tracked.delete(deploy.id);
    if (!t) return;
    // After the progress messages already on their way (they wait for the start message too).
    await t.progressTarget;
    const durationMs = (deploy.finishedAt ?? new Date()).getTime() - (deploy.startedAt ?? deploy.createdAt).getTime();
    const text = deployFinished(deploy, {
      durationMs,
      mention: this.options.mentioner.mention(t.place.provider, deploy.requester),
      url: this.url(deploy.id),
      failedHosts,
      environmentUrl: this.options.environmentUrl?.(deploy.app, deploy.environment),
    });
    // The card shows how it ended (and loses its Cancel button); the line below still notifies the requester.
    if (t.card) this.track(this.showCard(t, text, deploy));
    await this.options.batcher.post(t.place.provider, { room: t.place.room, thread: t.place.threadRef ?? undefined }, text);
  }

  /** At start-up: a deploy the previous process left running. */
  async interrupted(place: DeployPlace, deploy: DeployView): Promise<void> {
    const text = deployInterrupted(deploy, { mention: this.options.mentioner.mention(place.provider, deploy.requester), url: this.url(deploy.id) });
    await this.options.batcher.post(place.provider, { room: place.room, thread: place.threadRef ?? undefined }, text);
  }

  /**
   * A validation round, in the thread: a failing round always gets its own message; a passing one replaces the
   * previous passing one still waiting to go out (key), so a busy room sees the latest, never a flood.
   */
  async validationRound(event: Extract<DeployEvent, { type: 'validation' }>): Promise<void> {
    const t = this.tracked.get(event.deployId);
    if (!t) return;
    const target = await t.progressTarget;
    const key = event.failing.length === 0 ? `validation:${event.deployId}` : undefined;
    await this.options.batcher.post(t.place.provider, target, validationRound(event), key);
  }

  /** Any other line about a deploy, in its thread (e.g. "cancelled by bob"). */
  async note(deployId: number, text: string): Promise<void> {
    const t = this.tracked.get(deployId);
    if (!t) return;
    const target = await t.progressTarget;
    await this.options.batcher.post(t.place.provider, target, text);
  }

  private cardOf(provider: string, deploy: DeployView, info: DeployStartInfo, progress: Progress, outcome?: string) {
    const requester = this.options.mentioner.mention(provider, deploy.requester);
    return deployCard(deploy, info, { provider, requester, progress, outcome });
  }

  /** Shows the card's latest state on its message (the adapter merges updates that pile up). */
  private async showCard(t: Tracked, outcome?: string, ended?: DeployView): Promise<void> {
    const card = t.card;
    if (!card) return;
    const ref = await card.ref;
    if (!ref?.id || t.card !== card) return;
    const deploy = ended ? { ...card.deploy, state: ended.state, error: ended.error } : card.deploy;
    await card.channel.updateCard(ref, this.cardOf(t.place.provider, deploy, card.info, { ...card.progress }, outcome));
  }

  private url(id: number): string {
    return deployUrl(this.options.webBaseUrl, id);
  }
}

function placeOf(d: DeployPlace & Record<string, unknown>): DeployPlace {
  return { id: d.id, provider: d.provider, room: d.room, threadRef: d.threadRef };
}
