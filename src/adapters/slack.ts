/**
 * Slack through Bolt: `@shepherd <command>` (app_mention), direct messages and `/shepherd <command>` in;
 * chat.postMessage out, through one ordered queue per channel paced at about one message a second (Slack's
 * documented limit), waiting out Retry-After on HTTP 429. Socket Mode when SLACK_APP_TOKEN is set, otherwise
 * Bolt's HTTP receiver on SLACK_PORT (POST /slack/events, events and interactivity) with request signatures
 * verified. A yes/no question is a Block Kit message with Yes/No buttons (block_actions) that also names
 * `@shepherd yes`; only the asked user's click counts, and the message is updated to show the outcome.
 * A deploy is a Block Kit card (src/chat/slack-blocks.ts) whose progress bar is updated in place with chat.update,
 * updates merged per message and paced, Retry-After honoured, and plain text when Slack refuses the blocks.
 * Buttons that name a command (Cancel, Rollback, Approve) run it as the user who clicks, like typing it. Personal
 * answers (SendOptions.personal) to a slash command or a click are ephemeral, through the response_url; public
 * answers to them say who asked, since nobody else saw the slash command or the click.
 *
 *   const slack = new SlackAdapter(config.env, logger);
 *   await slack.start((msg) => bot.handle(slack, msg));
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { format } from 'node:util';
import {
  App,
  type BlockAction,
  type Logger as BoltLogger,
  type ButtonAction,
  HTTPReceiver,
  LogLevel,
  type RespondFn,
  SocketModeReceiver,
  webApi,
} from '@slack/bolt';
import type { Logger } from 'pino';
import type { DeployCard, SendOptions } from '../chat/rich.js';
import { type Blocks, COMMAND_ACTION_PREFIX, cardBlocks, escapeText, LINK_ACTION_PREFIX, messageBlocks } from '../chat/slack-blocks.js';
import type { Answer, MessageRef, Question, Target } from '../chat/types.js';
import type { EnvConfig } from '../config.js';
import { RateLimiter } from '../chat/rate-limiter.js';
import { KeyedMutex } from '../keyed-mutex.js';
import type { Adapter, MessageHandler } from './adapter.js';

type SlackEnv = Pick<EnvConfig, 'SLACK_BOT_TOKEN' | 'SLACK_APP_TOKEN' | 'SLACK_SIGNING_SECRET' | 'SLACK_PORT' | 'SLACK_API_URL'>;

/** Slack: "no more than one message per second" per channel, short bursts tolerated. */
const SLACK_PACING = { burst: 1, perSecond: 1 } as const;
/** 429s waited out per message before send() gives up. */
const MAX_RATE_LIMIT_WAITS = 5;
/** Slack truncates text beyond 40,000 characters and recommends at most 4,000 per message. */
const MAX_MESSAGE_LENGTH = 3900;
const HANDLE_TTL_MS = 60 * 60 * 1000;
/** Slack: a response_url is good for 30 minutes and 5 posts. */
const RESPONSE_URL_TTL_MS = 29 * 60 * 1000;
const RESPONSE_URL_USES = 5;
/** Event ids remembered to drop Slack's retries of events we already took. */
const SEEN_EVENTS = 1000;
/** How long stop() waits for the Socket Mode close handshake. */
const STOP_TIMEOUT_MS = 5000;
/** Pause before each Socket Mode reconnection attempt: at once, then backing off to a minute. */
const RECONNECT_DELAYS_MS = [0, 1000, 2000, 5000, 10_000, 30_000, 60_000];
/** Errors that mean "the bot cannot post there", where a slash command's response_url still can. */
const CANNOT_POST_THERE = new Set(['not_in_channel', 'channel_not_found', 'is_archived', 'restricted_action']);
/** action_id of the Yes and No buttons under a question; the button's value is the asked user's id. */
const CONFIRM_ACTION = /^shepherd_confirm_(yes|no)$/;

export { escapeText } from '../chat/slack-blocks.js';

/** chat.update of one message: at most one a second (updates that pile up in between are merged). */
const UPDATE_PACING = { burst: 1, perSecond: 1 } as const;
/** Button clicks: command buttons run their value; link buttons (View log) only need their ack. */
const COMMAND_ACTION = new RegExp(`^${COMMAND_ACTION_PREFIX}`);
const LINK_ACTION = new RegExp(`^${LINK_ACTION_PREFIX}`);
/** Target.asker of a message that came by slash command or button click: its key in `interactions`. */
const INTERACTION = /^slack-interaction:/;

/** A slash command or a button click, while its response_url can answer: for ephemeral answers and "who asked". */
interface Interaction {
  userId: string;
  room: string;
  thread?: string | undefined;
  respond: RespondFn;
  /** Replies through the response_url must not replace the clicked message. */
  click: boolean;
  /** '/shepherd lock staging' or 'clicked Rollback'. */
  how: string;
  until: number;
  uses: number;
}

/** A card's pending chat.update: the latest card wins; `textOnly` once Slack refused its blocks. */
interface LiveUpdate {
  next: DeployCard | undefined;
  running: Promise<void> | undefined;
  textOnly: boolean;
}

export interface SlackAdapterOptions {
  /**
   * Records an event id; false when it was taken before, by this or another instance (main.ts: the ChatEvent
   * table), so an event Slack redelivers to another instance's connection after a failover is answered once.
   */
  firstDelivery?: (eventId: string) => Promise<boolean>;
}

interface Incoming {
  text: string;
  userId: string;
  room: string;
  thread?: string | undefined;
  direct: boolean;
  /** Set for a slash command or a click (see INTERACTION). */
  asker?: string | undefined;
}

export class SlackAdapter implements Adapter {
  readonly name = 'slack' as const;
  /** 'socket' (SLACK_APP_TOKEN) or 'http' (SLACK_SIGNING_SECRET). */
  readonly mode: 'socket' | 'http';
  private app: App | undefined;
  private socketReceiver: SocketModeReceiver | undefined;
  private botUserId = '';
  private readonly boltLogger: BoltLogger;
  private readonly handles = new Map<string, { handle: string; until: number }>();
  /** Each channel's send queue: one message at a time, in call order. */
  private readonly queues = new KeyedMutex();
  /** Per-channel pacing, and Retry-After held per channel. */
  private readonly pacing = new RateLimiter(SLACK_PACING);
  private readonly responders = new Map<string, { respond: RespondFn; until: number; uses: number }>();
  private readonly seenEvents = new Set<string>();
  private readonly interactions = new Map<string, Interaction>();
  private interactionCounter = 0;
  private readonly updatePacing = new RateLimiter(UPDATE_PACING);
  private readonly live = new Map<string, LiveUpdate>();
  /** Aborted by stop(): ends reconnection attempts. */
  private lifetime = new AbortController();
  private reconnecting = false;

  constructor(
    private readonly env: SlackEnv,
    private readonly logger: Logger,
    private readonly options: SlackAdapterOptions = {},
  ) {
    if (!env.SLACK_BOT_TOKEN) throw new Error('SLACK_BOT_TOKEN is not set');
    if (!env.SLACK_APP_TOKEN && !env.SLACK_SIGNING_SECRET) throw new Error('set SLACK_APP_TOKEN (Socket Mode) or SLACK_SIGNING_SECRET (HTTP)');
    this.mode = env.SLACK_APP_TOKEN ? 'socket' : 'http';
    this.boltLogger = boltLoggerFor(logger);
  }

  async start(onMessage: MessageHandler): Promise<void> {
    if (this.app) throw new Error('the Slack adapter is already started');
    const token = this.env.SLACK_BOT_TOKEN as string;
    const slackApiUrl = this.env.SLACK_API_URL;
    const clientOptions: webApi.WebClientOptions = {
      ...(slackApiUrl ? { slackApiUrl } : {}),
      logger: this.boltLogger,
      // send() handles 429 itself (per channel, in order); WebClient's own handling would pause every channel.
      rejectRateLimitedCalls: true,
      // A network failure is retried briefly, then send() rejects instead of hanging for WebClient's default 30 minutes.
      retryConfig: { retries: 2, factor: 2, minTimeout: 500, maxTimeout: 4000 },
      timeout: 30_000,
    };

    // Who the bot is. Asked here, not left to Bolt: given only a token, Bolt calls auth.test from App's
    // constructor with nobody awaiting it, so a bad token would surface as an unhandled rejection.
    let auth: webApi.AuthTestResponse;
    try {
      auth = await new webApi.WebClient(token, clientOptions).auth.test();
    } catch (err) {
      throw new Error(`Slack did not accept SLACK_BOT_TOKEN: ${describeError(err)}`);
    }
    if (!auth.user_id) throw new Error('Slack auth.test returned no bot user id: is SLACK_BOT_TOKEN a bot token (xoxb-)?');
    this.botUserId = auth.user_id;

    const receiver =
      this.mode === 'socket'
        ? new SocketModeReceiver({
            appToken: this.env.SLACK_APP_TOKEN as string,
            logger: this.boltLogger,
            // Reconnection is ours (reconnect()): the client's own retries an unrecoverable failure (a revoked app
            // token) from a promise nobody awaits, and the unhandled rejection kills the process.
            autoReconnectEnabled: false,
            installerOptions: { clientOptions: slackApiUrl ? { slackApiUrl } : {} },
          })
        : new HTTPReceiver({
            signingSecret: this.env.SLACK_SIGNING_SECRET as string,
            signatureVerification: true,
            endpoints: ['/slack/events'],
            port: this.env.SLACK_PORT,
            logger: this.boltLogger,
          });
    if (receiver instanceof SocketModeReceiver) this.socketReceiver = receiver;
    const app = new App({
      token,
      botId: auth.bot_id,
      botUserId: auth.user_id,
      receiver,
      logger: this.boltLogger,
      logLevel: this.boltLogger.getLevel(),
      clientOptions,
      convoStore: false,
    });
    // A listener error is logged, never rethrown: Bolt's default handler rejects, and the process must live on.
    app.error(async (error) => {
      this.logger.error({ err: error }, 'Slack event handling failed');
    });
    this.listen(app, onMessage);
    this.app = app;
    this.lifetime = new AbortController();

    try {
      if (this.mode === 'socket') {
        await app.start();
        // Slack closes Socket Mode connections every few hours (and on deploys); each close brings a new one.
        this.socketReceiver?.client.on('disconnected', () => void this.reconnect());
        this.logger.info({ bot: this.botUserId, team: auth.team }, 'connected to Slack (Socket Mode)');
      } else {
        await app.start(this.env.SLACK_PORT);
        this.logger.info({ bot: this.botUserId, team: auth.team, port: this.env.SLACK_PORT }, 'listening for Slack events on /slack/events');
      }
    } catch (err) {
      this.app = undefined;
      await this.stopApp(app).catch(() => {});
      throw new Error(
        `could not ${this.mode === 'socket' ? 'connect to Slack (Socket Mode)' : `listen for Slack on port ${this.env.SLACK_PORT}`}: ${describeError(err)}`,
      );
    }
  }

  async stop(): Promise<void> {
    const app = this.app;
    this.app = undefined;
    this.lifetime.abort();
    this.pacing.stop(new Error('the Slack adapter was stopped before the message was sent'));
    this.updatePacing.stop(new Error('the Slack adapter was stopped before the message was updated'));
    if (app) await this.stopApp(app);
  }

  /** Started and not between Socket Mode connections (for /readyz). */
  get ready(): boolean {
    return this.app !== undefined && !this.reconnecting;
  }

  mention(identity: { externalId: string }): string {
    return `<@${identity.externalId}>`;
  }

  /**
   * Posts `text` to target.room (in target.thread if set). Messages to one channel leave in the order send() was
   * called, at most about one a second. Rejects with a one-line reason when Slack refuses the message.
   */
  send(target: Target, text: string, options: SendOptions = {}): Promise<MessageRef> {
    const interaction = this.interactionOf(target);
    if (interaction && options.personal) return this.answerPrivately(target, interaction, text);
    // Nobody else saw the slash command or the click: a public answer names who asked.
    const said = interaction ? `${text}\n(<@${interaction.userId}> ${interaction.how})` : text;
    const blocks = options.actions?.length ? messageBlocks(said, options.actions) : undefined;
    if (blocks) return this.enqueue(target, () => this.postOne(target, escapeText(said), blocks));
    return this.enqueue(target, () => this.post(target, said));
  }

  /** A deploy card: Block Kit, posted through the channel's queue like every message. */
  postCard(target: Target, card: DeployCard): Promise<MessageRef> {
    return this.enqueue(target, () => this.postOne(target, escapeText(card.text), cardBlocks(card)));
  }

  /**
   * Shows a newer card on its message with chat.update. One update per message at a time, at most one a second:
   * cards that arrive meanwhile are merged into the latest. Resolves when the latest card so far is shown (or
   * given up on).
   */
  updateCard(ref: MessageRef, card: DeployCard): Promise<void> {
    if (!this.app || !ref.id) return Promise.resolve();
    const key = `${ref.room}\0${ref.id}`;
    let live = this.live.get(key);
    if (!live) {
      live = { next: undefined, running: undefined, textOnly: false };
      this.live.set(key, live);
    }
    live.next = card;
    const entry = live;
    entry.running ??= this.drainUpdates(ref, key, entry).finally(() => {
      entry.running = undefined;
      if (card.outcome && !entry.next) this.live.delete(key);
    });
    return entry.running;
  }

  private async drainUpdates(ref: MessageRef, key: string, live: LiveUpdate): Promise<void> {
    for (let waits = 0; live.next; ) {
      try {
        await this.updatePacing.take(key);
      } catch {
        return; // stopped
      }
      const card = live.next;
      live.next = undefined;
      const app = this.app;
      if (!app || !card) return;
      try {
        await app.client.chat.update({
          channel: ref.room,
          ts: ref.id as string,
          text: escapeText(card.text),
          // Without blocks the message would keep its old ones: an empty list clears them for the text fallback.
          blocks: live.textOnly ? [] : cardBlocks(card),
        });
      } catch (err) {
        const retryAfter = rateLimitedFor(err);
        if (retryAfter !== undefined && waits < MAX_RATE_LIMIT_WAITS) {
          waits += 1;
          this.logger.warn({ room: ref.room, retryAfter }, 'Slack rate limit on chat.update: waiting as Retry-After asks');
          this.updatePacing.penalize(key, retryAfter * 1000);
          live.next ??= card;
          continue;
        }
        if (platformError(err) === 'invalid_blocks' && !live.textOnly) {
          this.logger.warn({ room: ref.room, error: describeError(err) }, 'Slack refused the deploy card blocks; updating it as text');
          live.textOnly = true;
          live.next ??= card;
          continue;
        }
        this.logger.warn({ room: ref.room, error: describeError(err) }, 'could not update a deploy card');
      }
    }
  }

  /**
   * A yes/no question: the text names `@shepherd yes` (with this bot's real mention) for those who type, and
   * Yes/No buttons that only the asked user can use. It leaves through the channel's queue like every message.
   */
  ask(target: Target, question: Question): Promise<MessageRef> {
    const asked = question.user.id;
    const bot = `<@${this.botUserId}>`;
    const how = `<@${asked}>: click Yes or No, or say ${bot} yes / ${bot} no`;
    const text = `${escapeText(question.text)}\n${how}`;
    const blocks: Blocks = [
      { type: 'section', text: { type: 'mrkdwn', text: escapeText(question.text) } },
      { type: 'context', elements: [{ type: 'mrkdwn', text: how }] },
      {
        type: 'actions',
        block_id: 'shepherd_confirm',
        elements: [
          { type: 'button', action_id: 'shepherd_confirm_yes', text: { type: 'plain_text', text: 'Yes' }, style: 'primary', value: asked },
          { type: 'button', action_id: 'shepherd_confirm_no', text: { type: 'plain_text', text: 'No' }, style: 'danger', value: asked },
        ],
      },
    ];
    return this.enqueue(target, () => this.postOne(target, text, blocks));
  }

  /** Replaces the buttons under a question with how it ended (chat.update), so nobody clicks a closed question. */
  async settled(ref: MessageRef, question: Question, answer: Answer): Promise<void> {
    if (!this.app || !ref.id) return;
    const who = `<@${question.user.id}>`;
    const outcome = answer === 'yes' ? `✅ ${who} answered yes` : answer === 'no' ? `❌ ${who} answered no` : '⌛ no answer in time — taken as no';
    const text = `${escapeText(question.text)}\n${outcome}`;
    await this.app.client.chat.update({
      channel: ref.room,
      ts: ref.id,
      text,
      blocks: [
        { type: 'section', text: { type: 'mrkdwn', text: escapeText(question.text) } },
        { type: 'context', elements: [{ type: 'mrkdwn', text: outcome }] },
      ],
    });
  }

  private enqueue(target: Target, post: () => Promise<MessageRef>): Promise<MessageRef> {
    if (!this.app) return Promise.reject(new Error('the Slack adapter is not started'));
    return this.queues.run(target.room, post);
  }

  // --- incoming ---

  private listen(app: App, onMessage: MessageHandler): void {
    // Before any listener: an Events API event whose id another instance (or this one) already took is dropped.
    // Without the database (it is down) the in-memory check below still holds within this instance.
    app.use(async ({ body, next }) => {
      const id = (body as { event_id?: unknown }).event_id;
      const first =
        typeof id === 'string' && this.options.firstDelivery
          ? await this.options.firstDelivery(id).catch((err: unknown) => {
              this.logger.warn({ error: describeError(err), event: id }, 'could not record a Slack event id; handling it anyway');
              return true;
            })
          : true;
      if (first) await next();
      else this.logger.debug({ event: id }, 'Slack event already taken (a redelivery): dropped');
    });
    app.event('app_mention', async ({ event, body }) => {
      if (this.seen(body.event_id)) return;
      // A DM reaches us as message.im too; answer it once, there.
      if (event.channel.startsWith('D')) return;
      if (!event.user || event.bot_id || event.user === this.botUserId) return;
      await this.deliver(onMessage, { text: this.stripMention(event.text), userId: event.user, room: event.channel, thread: event.thread_ts, direct: false });
    });

    app.message(async ({ message, body }) => {
      if (message.channel_type !== 'im') return;
      // Edits, deletions, joins and other bots' posts carry a subtype; only plain messages are commands.
      if (message.subtype !== undefined) return;
      if (message.bot_id || !message.user || message.user === this.botUserId) return;
      if (this.seen(body.event_id)) return;
      await this.deliver(onMessage, {
        text: this.stripMention(message.text ?? ''),
        userId: message.user,
        room: message.channel,
        thread: message.thread_ts,
        direct: true,
      });
    });

    // A click on Yes/No under a question is that user's `yes`/`no` in that conversation; someone else's click is
    // refused privately (ephemeral), since only the asked user can answer.
    app.action<BlockAction<ButtonAction>>(CONFIRM_ACTION, async ({ ack, body, action, client }) => {
      await ack();
      const channel = body.channel?.id ?? body.container?.channel_id;
      if (!channel) return;
      const thread = body.message?.thread_ts as string | undefined;
      const asked = action.value;
      if (asked && body.user.id !== asked) {
        await client.chat
          .postEphemeral({ channel, user: body.user.id, text: `only <@${asked}> can answer this question`, ...(thread ? { thread_ts: thread } : {}) })
          .catch((err: unknown) => this.logger.warn({ error: describeError(err) }, 'could not tell a user they cannot answer'));
        return;
      }
      const answer = CONFIRM_ACTION.exec(action.action_id)?.[1] ?? 'no';
      await this.deliver(onMessage, { text: answer, userId: body.user.id, room: channel, thread, direct: channel.startsWith('D') });
    });

    // A button that names a command (Cancel, Rollback, Approve) is that command typed by whoever clicks: the same
    // role checks and gates. Refusals and other personal answers reach only them (ephemeral, via response_url).
    app.action<BlockAction<ButtonAction>>(COMMAND_ACTION, async ({ ack, body, action, respond }) => {
      await ack();
      const channel = body.channel?.id ?? body.container?.channel_id;
      if (!channel || !action.value) return;
      const thread = body.message?.thread_ts as string | undefined;
      const asker = this.remember({
        userId: body.user.id,
        room: channel,
        thread,
        respond,
        click: true,
        how: `clicked ${action.text?.text ?? 'a button'}`,
      });
      await this.deliver(onMessage, { text: action.value, userId: body.user.id, room: channel, thread, direct: channel.startsWith('D'), asker });
    });
    // A link button (View log) opens the page in the browser; Slack still sends the click, which wants its ack.
    app.action(LINK_ACTION, async ({ ack }) => {
      await ack();
    });

    // `/shepherd lock staging` is `lock staging`. Any slash command of this app counts, so renaming it in the
    // manifest (say `/shepherd-stg` for a second instance) needs no change here.
    app.command(/^\/.+/, async ({ command, ack, respond }) => {
      // Slack wants the ack within 3 seconds. The answer then goes out with chat.postMessage, like every other
      // reply: it has a ts to thread under, and no 30-minute/5-use limit. respond() is kept for where the bot
      // cannot post (see postOne).
      await ack();
      this.responders.set(command.channel_id, { respond, until: Date.now() + RESPONSE_URL_TTL_MS, uses: RESPONSE_URL_USES });
      const asker = this.remember({
        userId: command.user_id,
        room: command.channel_id,
        respond,
        click: false,
        how: `asked: ${command.command} ${command.text}`.trim(),
      });
      await this.deliver(onMessage, {
        text: command.text,
        userId: command.user_id,
        room: command.channel_id,
        direct: command.channel_name === 'directmessage' || command.channel_id.startsWith('D'),
        asker,
      });
    });
  }

  private async deliver(onMessage: MessageHandler, m: Incoming): Promise<void> {
    try {
      const handle = await this.handleOf(m.userId);
      await onMessage({
        text: m.text,
        user: { provider: 'slack', id: m.userId, handle },
        target: { room: m.room, thread: m.thread, ...(m.asker ? { asker: m.asker } : {}) },
        direct: m.direct,
      });
    } catch (err) {
      this.logger.error({ err, room: m.room, user: m.userId }, 'a Slack message could not be handled');
    }
  }

  /** `<@UBOT> deploy web` → `deploy web`; a mention elsewhere in the text is just removed. */
  private stripMention(text: string): string {
    const mention = new RegExp(`<@${this.botUserId}(\\|[^>]*)?>[:,]?`, 'g');
    return text.replace(mention, ' ').trim();
  }

  /** Display name from users.info, cached for an hour; the user id when Slack does not say. */
  private async handleOf(userId: string): Promise<string> {
    const cached = this.handles.get(userId);
    if (cached && cached.until > Date.now()) return cached.handle;
    try {
      const res = await this.app!.client.users.info({ user: userId });
      const u = res.user;
      const handle = u?.profile?.display_name || u?.profile?.real_name || u?.real_name || u?.name || userId;
      this.handles.set(userId, { handle, until: Date.now() + HANDLE_TTL_MS });
      return handle;
    } catch (err) {
      this.logger.warn({ user: userId, error: describeError(err) }, 'users.info failed; using the user id as the name');
      return cached?.handle ?? userId;
    }
  }

  /** True when this event id was seen before (Slack retries events it thinks were not acknowledged). */
  private seen(eventId: string | undefined): boolean {
    if (!eventId) return false;
    if (this.seenEvents.has(eventId)) return true;
    this.seenEvents.add(eventId);
    if (this.seenEvents.size > SEEN_EVENTS) this.seenEvents.delete(this.seenEvents.values().next().value as string);
    return false;
  }

  /** Keeps a slash command or click answerable through its response_url; returns its Target.asker. */
  private remember(i: Omit<Interaction, 'until' | 'uses'>): string {
    const now = Date.now();
    for (const [key, old] of this.interactions) if (old.until <= now) this.interactions.delete(key);
    const key = `slack-interaction:${++this.interactionCounter}`;
    this.interactions.set(key, { ...i, until: now + RESPONSE_URL_TTL_MS, uses: RESPONSE_URL_USES });
    return key;
  }

  private interactionOf(target: Target): Interaction | undefined {
    if (!target.asker || !INTERACTION.test(target.asker)) return undefined;
    const i = this.interactions.get(target.asker);
    return i && i.room === target.room ? i : undefined;
  }

  /**
   * An answer only the asker sees: ephemeral through the response_url while it has uses left (Slack: 5 in 30
   * minutes), else chat.postEphemeral. It never replaces the message a button was clicked on.
   */
  private async answerPrivately(target: Target, i: Interaction, text: string): Promise<MessageRef> {
    for (const chunk of splitMessage(escapeText(text))) {
      if (i.until > Date.now() && i.uses > 0) {
        i.uses -= 1;
        try {
          await i.respond({ response_type: 'ephemeral', text: chunk, ...(i.click ? { replace_original: false } : {}) });
          continue;
        } catch (err) {
          this.logger.warn({ room: target.room, error: describeError(err) }, 'the response_url did not take an answer; using chat.postEphemeral');
        }
      }
      await this.app?.client.chat.postEphemeral({ channel: target.room, user: i.userId, text: chunk, ...(i.thread ? { thread_ts: i.thread } : {}) });
    }
    return { room: target.room, thread: target.thread };
  }

  // --- outgoing ---

  private async post(target: Target, text: string): Promise<MessageRef> {
    let first: MessageRef | undefined;
    for (const chunk of splitMessage(escapeText(text))) {
      const ref = await this.postOne(target, chunk);
      first ??= ref;
    }
    return first ?? { room: target.room, thread: target.thread };
  }

  private async postOne(target: Target, text: string, withBlocks?: Blocks): Promise<MessageRef> {
    let blocks = withBlocks;
    const app = this.app;
    if (!app) throw new Error('the Slack adapter was stopped before the message was sent');
    for (let waits = 0; ; ) {
      await this.pacing.take(target.room);
      try {
        const res = await app.client.chat.postMessage({
          channel: target.room,
          text,
          thread_ts: target.thread,
          unfurl_links: false,
          unfurl_media: false,
          ...(blocks ? { blocks } : {}),
        });
        return { room: res.channel ?? target.room, thread: target.thread, id: res.ts };
      } catch (err) {
        const retryAfter = rateLimitedFor(err);
        if (retryAfter !== undefined && waits < MAX_RATE_LIMIT_WAITS) {
          waits += 1;
          this.logger.warn({ room: target.room, retryAfter }, 'Slack rate limit: waiting as Retry-After asks');
          this.pacing.penalize(target.room, retryAfter * 1000);
          continue;
        }
        const code = platformError(err);
        if (code === 'invalid_blocks' && blocks) {
          // Slack refused the layout: the same message as text (it says the same in words) rather than nothing.
          this.logger.warn({ room: target.room, error: describeError(err) }, 'Slack refused the blocks; posting the message as text');
          blocks = undefined;
          continue;
        }
        const responder = this.responders.get(target.room);
        if (code && CANNOT_POST_THERE.has(code) && responder && responder.until > Date.now() && responder.uses > 0) {
          // The bot is not in that conversation (a private channel, someone else's DM): the slash command's
          // response_url can still answer there, visibly to everyone.
          responder.uses -= 1;
          try {
            await responder.respond({ response_type: 'in_channel', text, unfurl_links: false, unfurl_media: false });
            return { room: target.room, thread: target.thread };
          } catch (respondErr) {
            this.logger.error({ room: target.room, error: describeError(respondErr) }, 'posting to the response_url failed');
          }
        }
        this.logger.error({ room: target.room, error: describeError(err) }, 'Slack did not take a message');
        throw new Error(`could not post to Slack conversation ${target.room}: ${describeError(err)}`);
      }
    }
  }

  /** Opens a new Socket Mode connection after one closed, retrying with back-off until it works or stop(). */
  private async reconnect(): Promise<void> {
    const client = this.socketReceiver?.client;
    const { signal } = this.lifetime;
    if (!client || this.reconnecting || signal.aborted) return;
    this.reconnecting = true;
    try {
      for (let attempt = 0; !signal.aborted; attempt++) {
        const delay = RECONNECT_DELAYS_MS[Math.min(attempt, RECONNECT_DELAYS_MS.length - 1)] as number;
        if (delay > 0) await sleep(delay, undefined, { signal }).catch(() => {});
        if (signal.aborted) return;
        try {
          await client.start();
          this.logger.info({ attempt: attempt + 1 }, 'reconnected to Slack (Socket Mode)');
          return;
        } catch (err) {
          this.logger.error({ attempt: attempt + 1, error: describeError(err) }, 'Socket Mode reconnection failed; trying again');
        }
      }
    } finally {
      this.reconnecting = false;
    }
  }

  private async stopApp(app: App): Promise<void> {
    const socket = this.socketReceiver?.client;
    this.socketReceiver = undefined;
    if (!socket) {
      await app.stop().catch((err: unknown) => this.logger.warn({ error: describeError(err) }, 'stopping the Slack HTTP receiver failed'));
      return;
    }
    // SocketModeReceiver.stop() returns before the socket is closed; wait for the client to say it is.
    const closed = new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, STOP_TIMEOUT_MS);
      socket.once('disconnected', () => {
        clearTimeout(timer);
        resolve();
      });
    });
    await app.stop().catch((err: unknown) => this.logger.warn({ error: describeError(err) }, 'stopping Socket Mode failed'));
    await closed;
  }
}

/**
 * Splits text longer than one Slack message at line breaks (or hard, for a giant line).
 *
 *   splitMessage('aaa\nbbb', 4) // ['aaa', 'bbb']
 */
export function splitMessage(text: string, max = MAX_MESSAGE_LENGTH): string[] {
  if (text.length <= max) return [text];
  const chunks: string[] = [];
  let current = '';
  for (const line of text.split('\n')) {
    let rest = line;
    while (rest.length > max) {
      if (current) chunks.push(current);
      current = '';
      chunks.push(rest.slice(0, max));
      rest = rest.slice(max);
    }
    if (current && current.length + 1 + rest.length > max) {
      chunks.push(current);
      current = rest;
    } else current = current ? `${current}\n${rest}` : rest;
  }
  if (current) chunks.push(current);
  return chunks;
}

function rateLimitedFor(err: unknown): number | undefined {
  const e = err as { code?: string; retryAfter?: number };
  return e?.code === webApi.ErrorCode.RateLimitedError && typeof e.retryAfter === 'number' ? e.retryAfter : undefined;
}

function platformError(err: unknown): string | undefined {
  const e = err as { code?: string; data?: { error?: string } };
  return e?.code === webApi.ErrorCode.PlatformError ? e.data?.error : undefined;
}

/** One line: Slack's error code when there is one, else the message. */
function describeError(err: unknown): string {
  const code = platformError(err);
  if (code) return code;
  const retryAfter = rateLimitedFor(err);
  if (retryAfter !== undefined) return `rate limited (retry after ${retryAfter}s)`;
  const message = err instanceof Error ? err.message : String(err);
  return message.split('\n')[0] ?? 'unknown error';
}

const PINO_TO_BOLT: Record<string, LogLevel> = {
  trace: LogLevel.DEBUG,
  debug: LogLevel.DEBUG,
  info: LogLevel.INFO,
  warn: LogLevel.WARN,
};

/** Bolt, its WebClient and its Socket Mode client log through pino; pino's level decides what is written. */
function boltLoggerFor(logger: Logger): BoltLogger {
  const log = logger.child({ component: 'bolt' });
  let name = 'bolt';
  const write =
    (level: 'debug' | 'info' | 'warn' | 'error') =>
    (...msg: unknown[]) => {
      if (log.isLevelEnabled(level)) log[level]({ source: name }, format(...msg));
    };
  return {
    debug: write('debug'),
    info: write('info'),
    warn: write('warn'),
    error: write('error'),
    setLevel: () => {},
    getLevel: () => PINO_TO_BOLT[logger.level] ?? LogLevel.ERROR,
    setName: (n: string) => {
      name = n;
    },
  };
}
