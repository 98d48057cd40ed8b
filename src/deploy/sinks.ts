/**
 * The deploy event sinks that talk to the outside: the chat sink (through a rate-limited batcher) and GitHub
 * deployment statuses. main.ts and the tests wire them the same way.
 *
 *   const sinks = startDeploySinks({ config, store, events, revisions, chat, logger }); ...; sinks.stop();
 */
import type { Logger } from 'pino';
import { type Config, configEntry } from '../config.js';
import type { CardChannel } from '../chat/rich.js';
import type { Store } from '../store/index.js';
import type { KnownUser } from '../store/users.js';
import { ChatBatcher, type Send } from './chat-batcher.js';
import { ChatSink } from './chat-sink.js';
import type { DeployEvents } from './events.js';
import { GitHubSink } from './github-sink.js';
import type { Revisions } from './source.js';

export interface ChatOut {
  send: Send;
  /** How to mention `user` on `provider` so they are notified. */
  mention(provider: string, user: Pick<KnownUser, 'name' | 'identities'>): string;
  /** The network's deploy cards (Slack, a terminal), where it has them; see ChatSinkOptions.cards. */
  cards?(provider: string): CardChannel | undefined;
}

export interface DeploySinksOptions {
  config: Readonly<Config>;
  store: Store;
  events: DeployEvents;
  revisions: Revisions;
  chat: ChatOut;
  logger: Logger;
  /** At most one chat message per this many ms per room (default 1000). */
  chatIntervalMs?: number;
  /** Links in chat (default config.webBaseUrl; main.ts passes the viewer's real address). */
  webBaseUrl?: string;
  /** GitHub final status: tries and first retry wait (defaults 3, 1 s). */
  githubTries?: number;
  githubRetryMs?: number;
}

export interface DeploySinks {
  batcher: ChatBatcher;
  chat: ChatSink;
  github: GitHubSink;
  stop(): void;
}

export function startDeploySinks(options: DeploySinksOptions): DeploySinks {
  const webBaseUrl = options.webBaseUrl ?? options.config.webBaseUrl;
  const batcher = new ChatBatcher(options.chat.send, options.chatIntervalMs ?? 1000, options.logger);
  const chat = new ChatSink({
    batcher,
    events: options.events,
    mentioner: options.chat,
    webBaseUrl,
    logger: options.logger,
    cards: options.chat.cards ? (provider) => options.chat.cards?.(provider) : undefined,
    environmentUrl: (app, environment) => configEntry(configEntry(options.config.apps, app)?.environments ?? {}, environment)?.url ?? null,
  });
  const github = new GitHubSink({
    config: options.config,
    store: options.store,
    events: options.events,
    revisions: options.revisions,
    logger: options.logger,
    webBaseUrl,
    ...(options.githubTries !== undefined ? { finalTries: options.githubTries } : {}),
    ...(options.githubRetryMs !== undefined ? { retryMs: options.githubRetryMs } : {}),
  });
  chat.start();
  github.start();
  return {
    batcher,
    chat,
    github,
    stop() {
      chat.stop();
      github.stop();
    },
  };
}
