/**
 * What a channel sees of a deploy: a start line (id, app, ref, SHA, environment, host count, viewer link, the
 * commits that ship), progress as hosts finish, the failing host's last lines, and a final line with outcome
 * and duration that mentions the requester. Progress goes in a thread under the start message where the
 * network has threads (the adapter ignores `thread` where it has none). All of it goes through a ChatBatcher,
 * so a deploy that prints a million lines still posts a handful of messages, at most one per second per room.
 *
 *   const sink = new ChatSink({ batcher, events, chat, webBaseUrl: config.webBaseUrl });
 *   sink.started(deploy, info); sink.hostFinished(deploy, ...); sink.finished(deploy, ...);
 */
import type { MessageRef, Target } from '../chat/types.js';
import { type DeployStartInfo, type DeployView, deployFinished, deployInterrupted, deployProgress, deployStarted, deployUrl, hostFailed } from '../format.js';
import type { ChatBatcher } from './chat-batcher.js';
import type { DeployEvents } from './events.js';

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
}

export interface ChatSinkOptions {
  batcher: ChatBatcher;
  events: DeployEvents;
  mentioner: Mentioner;
  webBaseUrl: string;
}

export class ChatSink {
  private readonly tracked = new Map<number, Tracked>();
  private unsubscribe: (() => void) | undefined;

  constructor(private readonly options: ChatSinkOptions) {}

  /** Starts keeping the last lines of every host of tracked deploys. */
  start(): void {
    this.unsubscribe ??= this.options.events.subscribe((event) => {
      if (event.type !== 'line') return;
      const t = this.tracked.get(event.line.deployId);
      if (!t || event.line.host === null) return;
      let lines = t.lastLines.get(event.line.host);
      if (!lines) {
        lines = [];
        t.lastLines.set(event.line.host, lines);
      }
      lines.push(event.line.text);
      if (lines.length > LAST_LINES) lines.shift();
    });
  }

  stop(): void {
    this.unsubscribe?.();
    this.unsubscribe = undefined;
  }

  /** Posts the start line; progress then goes in a thread under it. Resolves once it is sent. */
  async started(place: DeployPlace, deploy: DeployView, info: Omit<DeployStartInfo, 'url'>): Promise<MessageRef | null> {
    const room: Target = { room: place.room, thread: place.threadRef ?? undefined };
    const sent = this.options.batcher.post(place.provider, room, deployStarted(deploy, { ...info, url: this.url(deploy.id) }, place.provider));
    const progressTarget = sent.then((ref): Target => ({ room: place.room, thread: place.threadRef ?? ref?.id ?? undefined }));
    this.tracked.set(deploy.id, { place, progressTarget, lastLines: new Map() });
    return sent;
  }

  /** A host ended: progress (coalesced), and for a failure its last lines. */
  hostFinished(deployId: number, progress: { done: number; total: number; failed: number }, failure?: { host: string; reason: string }): void {
    const t = this.tracked.get(deployId);
    if (!t) return;
    const lines = failure ? [...(t.lastLines.get(failure.host) ?? [])] : [];
    void t.progressTarget.then((target) => {
      if (failure) void this.options.batcher.post(t.place.provider, target, hostFailed(failure.host, failure.reason, lines));
      if (progress.total > 1)
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
    });
    await this.options.batcher.post(t.place.provider, { room: t.place.room, thread: t.place.threadRef ?? undefined }, text);
  }

  /** At start-up: a deploy the previous process left running. */
  async interrupted(place: DeployPlace, deploy: DeployView): Promise<void> {
    const text = deployInterrupted(deploy, { mention: this.options.mentioner.mention(place.provider, deploy.requester), url: this.url(deploy.id) });
    await this.options.batcher.post(place.provider, { room: place.room, thread: place.threadRef ?? undefined }, text);
  }

  /** Any other line about a deploy, in its thread (e.g. "cancelled by bob"). */
  async note(deployId: number, text: string): Promise<void> {
    const t = this.tracked.get(deployId);
    if (!t) return;
    const target = await t.progressTarget;
    await this.options.batcher.post(t.place.provider, target, text);
  }

  private url(id: number): string {
    return deployUrl(this.options.webBaseUrl, id);
  }
}
