/**
 * IRC: joins the configured channels and hands the bot every message addressed to it — `!command` or
 * `<nick>: command` in a channel, or any private message (and a plain `yes`/`no` in a channel, which can only
 * answer a question the bot asked that nick there). Replies respect IRC's 512-byte line limit (long lines are
 * split at word boundaries, never inside a character) and the server's flood limits (a token bucket). Output
 * waits in one queue per asker (or per room for deploy output), served a line at a time, the shortest queue
 * first, so a short answer never waits behind someone else's long one; an answer longer than `longAnswerLines`
 * in a channel goes whole to the asker by NOTICE, with one line in the channel saying so. Reconnects with
 * backoff when the server goes away, rejoins, and keeps queued output until it is back.
 *
 *   const irc = new IrcAdapter(config.env, logger);
 *   await irc.start((msg) => bot.handle(irc, msg));   // resolves once registered and joined
 */
import { Client, type IrcErrorEvent, type JoinEvent, type MessageEvent } from 'irc-framework';
import type { Logger } from 'pino';
import type { EnvConfig } from '../config.js';
import { cleanText } from '../parse.js';
import { answerOf, type IncomingMessage, type MessageRef, type Target } from '../chat/types.js';
import { RateLimiter } from '../chat/rate-limiter.js';
import type { Adapter, MessageHandler } from './adapter.js';

export type IrcEnv = Pick<EnvConfig, 'IRC_SERVER' | 'IRC_PORT' | 'IRC_TLS' | 'IRC_NICK' | 'IRC_CHANNELS' | 'IRC_PASSWORD'>;

/** Tuning knobs; the defaults suit public networks. Tests and benchmarks may turn them. */
export interface IrcAdapterOptions {
  /** Lines that may go out at once before pacing starts (default 5). */
  burst?: number;
  /** Steady output rate once the burst is spent, in lines per second (default 1). */
  linesPerSecond?: number;
  /** How long start() waits for the first registration and joins before it gives up (default 15 s). */
  connectTimeoutMs?: number;
  /** First and longest wait between reconnect attempts (default 1 s doubling up to 60 s). */
  reconnectMinMs?: number;
  reconnectMaxMs?: number;
  /** How long to wait for JOIN confirmations before sending anyway (default 10 s). */
  joinTimeoutMs?: number;
  /** Output kept while disconnected; beyond this the oldest lines are dropped (default 2000). */
  maxQueuedLines?: number;
  /** A channel answer of more lines than this goes to the asker by NOTICE instead (default 5, SPEC). */
  longAnswerLines?: number;
}

export const DEFAULT_PACING = { burst: 5, linesPerSecond: 1 } as const;

// What the server puts in front of our text when it relays it: ':nick!user@host PRIVMSG <target> :' and CRLF.
// The user part is at most 10 characters plus '~'; hosts (or cloaks) are at most 63/64 bytes on common servers.
const IRC_LINE_BYTES = 512;
const MAX_USER_BYTES = 11;
const MAX_HOST_BYTES = 64;

/** Payload bytes that fit one relayed PRIVMSG from `nick` to `target` (about 400 for short names). */
export function payloadBytes(nick: string, target: string): number {
  const prefix = 1 + Buffer.byteLength(nick) + 1 + MAX_USER_BYTES + 1 + MAX_HOST_BYTES + ' PRIVMSG '.length + Buffer.byteLength(target) + ' :'.length;
  return Math.max(64, IRC_LINE_BYTES - 2 - prefix);
}

const graphemes = new Intl.Segmenter(undefined, { granularity: 'grapheme' });

/**
 * Splits one line into pieces of at most `maxBytes` UTF-8 bytes, at the last space when one is in the second
 * half of the piece, else between characters (grapheme clusters, so an emoji or accent is never cut).
 *
 *   splitLine('aaa bbb ccc', 8) // ['aaa bbb', 'ccc']
 */
export function splitLine(line: string, maxBytes: number): string[] {
  const out: string[] = [];
  let rest = line;
  while (Buffer.byteLength(rest) > maxBytes) {
    // The longest prefix of whole characters that fits.
    let bytes = 0;
    let cut = 0;
    for (const { segment } of graphemes.segment(rest)) {
      const size = Buffer.byteLength(segment);
      if (bytes + size > maxBytes) break;
      bytes += size;
      cut += segment.length;
    }
    if (cut === 0) {
      // A single cluster longer than a line (absurd, but possible): fall back to whole code points.
      for (const ch of rest) {
        const size = Buffer.byteLength(ch);
        if (bytes + size > maxBytes) break;
        bytes += size;
        cut += ch.length;
      }
    }
    const space = rest.lastIndexOf(' ', cut);
    if (space > cut / 2) {
      out.push(rest.slice(0, space));
      rest = rest.slice(space + 1);
    } else {
      out.push(rest.slice(0, cut));
      rest = rest.slice(cut);
    }
  }
  if (rest.length > 0) out.push(rest);
  return out;
}

/**
 * Text → the PRIVMSG payloads to send: one per line ('\n', '\r\n' or a lone '\r' end a line, so nothing can
 * smuggle a second IRC command), long lines split to fit, empty lines dropped (IRC cannot send them).
 */
export function toIrcLines(text: string, maxBytes: number): string[] {
  return text
    .replace(/\0/g, '')
    .split(/\r\n|\r|\n/)
    .filter((line) => line.trim() !== '')
    .flatMap((line) => splitLine(line, maxBytes));
}

/**
 * The command in a channel message, or null when the message is not for the bot:
 * `!karma` → 'karma', `shepherd: karma` / `Shepherd, karma` / `@shepherd: karma` → 'karma'.
 */
export function addressedCommand(text: string, nick: string, lower: (s: string) => string = (s) => s.toLowerCase()): string | null {
  if (/^![A-Za-z]/.test(text)) return text.slice(1).trim();
  const match = /^@?([^\s:,]+)[:,]\s*(.*)$/s.exec(text);
  if (match && lower(match[1] as string) === lower(nick)) return (match[2] as string).trim() || null;
  return null;
}

interface Queued {
  /** PRIVMSG, or NOTICE for a long answer sent to its asker. */
  verb: 'PRIVMSG' | 'NOTICE';
  target: string;
  line: string;
  /** Settles the send() call this line ends, if it is its last line. */
  done?: { resolve(): void; reject(err: Error): void };
}

type State = 'idle' | 'connecting' | 'joining' | 'ready' | 'waiting' | 'stopped';

export class IrcAdapter implements Adapter {
  readonly name = 'irc' as const;
  private readonly host: string;
  private readonly port: number;
  private readonly channels: string[];
  private readonly nick: string;
  private readonly opts: Required<Omit<IrcAdapterOptions, 'burst' | 'linesPerSecond'>>;
  private client: Client | undefined;
  private onMessage: MessageHandler | undefined;
  private state: State = 'idle';
  /** Waiting output by fairness key (asker, else room); Map order is the round-robin order. */
  private readonly queues = new Map<string, Queued[]>();
  /** The server's flood limit: one bucket for the whole connection (the server counts per client). */
  private readonly pacing: RateLimiter;
  /** pump() is waiting for the next token; the line goes out when it comes. */
  private waitingForToken = false;
  private reconnectTimer: NodeJS.Timeout | undefined;
  private joinTimer: NodeJS.Timeout | undefined;
  private registerTimer: NodeJS.Timeout | undefined;
  private readonly timers = new Set<NodeJS.Timeout>();
  private attempts = 0;
  private lastError = '';
  private pendingJoins = new Set<string>();
  /** Services accounts by lower-cased nick, learnt from extended-join and account-notify. */
  private readonly accounts = new Map<string, string>();
  private counter = 0;
  private firstReady: { resolve(): void; reject(err: Error): void } | undefined;

  constructor(
    env: IrcEnv,
    private readonly logger: Logger,
    options: IrcAdapterOptions = {},
  ) {
    if (!env.IRC_SERVER) throw new Error('IRC_SERVER is not set');
    this.host = env.IRC_SERVER;
    this.port = env.IRC_PORT ?? (env.IRC_TLS ? 6697 : 6667);
    this.channels = [...env.IRC_CHANNELS];
    this.nick = env.IRC_NICK;
    this.pacing = new RateLimiter({
      burst: options.burst ?? DEFAULT_PACING.burst,
      perSecond: options.linesPerSecond ?? DEFAULT_PACING.linesPerSecond,
    });
    this.opts = {
      connectTimeoutMs: options.connectTimeoutMs ?? 15_000,
      reconnectMinMs: options.reconnectMinMs ?? 1_000,
      reconnectMaxMs: options.reconnectMaxMs ?? 60_000,
      joinTimeoutMs: options.joinTimeoutMs ?? 10_000,
      maxQueuedLines: options.maxQueuedLines ?? 2_000,
      longAnswerLines: options.longAnswerLines ?? 5,
    };
    this.client = new Client({
      host: this.host,
      port: this.port,
      tls: env.IRC_TLS,
      nick: env.IRC_NICK,
      username: env.IRC_NICK.replace(/[^A-Za-z0-9]/g, '').slice(0, 10) || 'shepherd',
      gecos: 'Shepherd release bot',
      ...(env.IRC_PASSWORD ? { password: env.IRC_PASSWORD } : {}),
      // Reconnects are ours: irc-framework gives up after 3 tries and never retries a first connection.
      auto_reconnect: false,
      version: 'Shepherd release bot',
    });
    this.bindEvents(this.client);
  }

  /** Connects, registers and joins IRC_CHANNELS; rejects if that has not happened within connectTimeoutMs. */
  async start(onMessage: MessageHandler): Promise<void> {
    if (this.state !== 'idle') throw new Error('IrcAdapter.start() called twice');
    this.onMessage = onMessage;
    const ready = new Promise<void>((resolve, reject) => {
      this.firstReady = { resolve, reject };
    });
    const deadline = setTimeout(() => {
      const why = this.lastError ? ` (last error: ${this.lastError})` : '';
      const err = new Error(
        `could not connect to IRC server ${this.host}:${this.port} and join ${this.channels.join(', ')} within ${Math.round(this.opts.connectTimeoutMs / 1000)} s${why}`,
      );
      this.firstReady?.reject(err);
      this.firstReady = undefined;
      void this.stop();
    }, this.opts.connectTimeoutMs);
    this.connect();
    try {
      await ready;
    } finally {
      clearTimeout(deadline);
    }
  }

  async send(target: Target, text: string): Promise<MessageRef> {
    if (this.state === 'stopped') throw new Error('the IRC connection is closed');
    const room = target.room;
    if (!room || /[\s,\0]/.test(room)) throw new Error(`not an IRC channel or nick: "${room}"`);
    const nick = this.client?.user.nick ?? 'shepherd';
    const ref: MessageRef = { room, thread: undefined, id: String(++this.counter) };
    const asker = target.asker && !/[\s,\0]/.test(target.asker) ? target.asker : undefined;
    const inChannel = this.client?.network.isChannelName(room) ?? room.startsWith('#');
    let out: Omit<Queued, 'done'>[] = toIrcLines(text, payloadBytes(nick, room)).map((line) => ({ verb: 'PRIVMSG' as const, target: room, line }));
    if (asker && inChannel && out.length > this.opts.longAnswerLines) {
      // A long answer would hold the channel (and everyone's answers) for many seconds: the asker gets it whole.
      const notices = toIrcLines(text, payloadBytes(nick, asker)).map((line) => ({ verb: 'NOTICE' as const, target: asker, line }));
      out = [{ verb: 'PRIVMSG', target: room, line: `${asker}: the answer (${notices.length} lines) went to you by notice` }, ...notices];
    }
    if (out.length === 0) return ref;
    const key = asker ? `asker:${asker.toLowerCase()}` : `room:${room.toLowerCase()}`;
    await new Promise<void>((resolve, reject) => {
      const queue = this.queues.get(key) ?? [];
      out.forEach((item, i) => {
        queue.push({ ...item, ...(i === out.length - 1 ? { done: { resolve, reject } } : {}) });
      });
      if (!this.queues.has(key)) this.queues.set(key, queue);
      this.trimQueue();
      this.pump();
    });
    return ref;
  }

  /** Quits with a message, stops reconnecting and drops output that was not sent yet. */
  async stop(): Promise<void> {
    if (this.state === 'stopped') return;
    const wasConnected = this.client?.connected ?? false;
    this.state = 'stopped';
    this.clearTimers();
    this.pacing.stop();
    const stopped = new Error('the IRC connection was closed before this was sent');
    for (const queue of this.queues.values()) for (const item of queue) item.done?.reject(stopped);
    this.queues.clear();
    this.firstReady?.reject(new Error('the IRC adapter was stopped while connecting'));
    this.firstReady = undefined;
    const client = this.client;
    if (!client) return;
    if (wasConnected) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, 2_000);
        client.once('close', () => {
          clearTimeout(timer);
          resolve();
        });
        client.quit('Shepherd is shutting down');
      });
    } else {
      client.connection.end();
    }
    client.removeAllListeners();
    this.client = undefined;
  }

  mention(identity: { handle: string }): string {
    return identity.handle;
  }

  /** Lines waiting to be sent (for tests and diagnostics). */
  get queued(): number {
    let n = 0;
    for (const queue of this.queues.values()) n += queue.length;
    return n;
  }

  /** True while registered and in the channels, i.e. output flows. */
  get ready(): boolean {
    return this.state === 'ready';
  }

  // --- connection lifecycle ---

  private connect(): void {
    if (this.state === 'stopped' || !this.client) return;
    this.state = 'connecting';
    this.logger.debug({ host: this.host, port: this.port, attempt: this.attempts }, 'connecting to IRC');
    this.client.connect();
    // A server that accepts the socket but never registers us would otherwise hold us until the ping timeout.
    const client = this.client;
    this.registerTimer = setTimeout(
      () => {
        this.registerTimer = undefined;
        this.lastError = 'no registration from the server';
        client.connection.end(undefined, true);
      },
      Math.min(30_000, this.opts.connectTimeoutMs),
    );
  }

  private scheduleReconnect(): void {
    if (this.state === 'stopped') return;
    this.state = 'waiting';
    const base = Math.min(this.opts.reconnectMaxMs, this.opts.reconnectMinMs * 2 ** Math.min(this.attempts, 16));
    // Jitter so a restarted server is not hit by every bot in the same second.
    const wait = Math.round(base * (0.8 + Math.random() * 0.4));
    this.attempts++;
    this.logger.warn(
      { host: this.host, port: this.port, wait, attempt: this.attempts, error: this.lastError || undefined },
      'IRC connection lost, reconnecting',
    );
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = undefined;
      this.connect();
    }, wait);
  }

  private bindEvents(client: Client): void {
    client.on('registered', (event) => {
      this.logger.info({ host: this.host, port: this.port, nick: event.nick }, 'registered on IRC');
      this.lastError = '';
      if (this.registerTimer) clearTimeout(this.registerTimer);
      this.registerTimer = undefined;
      this.joinChannels();
    });
    client.on('close', () => {
      this.clearConnectionTimers();
      this.accounts.clear();
      if (this.state !== 'stopped') this.scheduleReconnect();
    });
    // Lines go out the moment they are due: without TCP_NODELAY the kernel holds the second line of an answer
    // until the server acknowledges the first, which its delayed ACK can put off by 40 ms.
    client.on('raw socket connected', (socket) => socket.setNoDelay?.(true));
    client.on('socket close', (err) => {
      if (err instanceof Error) this.lastError = err.message;
      else if (!this.lastError) this.lastError = 'connection closed by the server';
    });
    client.on('nick in use', (event) => {
      // Only before registration do we need another nick to get in at all; the next connect tries ours again.
      if (this.state !== 'connecting') return;
      const next = `${event.nick.slice(0, 28)}_`;
      this.logger.warn({ nick: event.nick, next }, 'IRC nick in use, trying another');
      client.changeNick(next);
    });
    client.on('irc error', (event) => this.onIrcError(event));
    client.on('sasl failed', (event) => this.logger.warn({ reason: event.reason, message: event.message }, 'IRC SASL authentication failed'));
    client.on('join', (event) => this.onJoin(event));
    client.on('kick', (event) => {
      if (!client.caseCompare(event.kicked, client.user.nick)) return;
      const channel = this.channels.find((c) => client.caseCompare(c, event.channel));
      this.logger.warn({ channel: event.channel, by: event.nick, reason: event.message }, 'kicked from IRC channel');
      if (channel) this.later(() => client.join(channel), 5_000);
    });
    client.on('account', (event) => this.remember(event.nick, event.account));
    client.on('nick', (event) => {
      const account = this.accounts.get(client.caseLower(event.nick));
      this.accounts.delete(client.caseLower(event.nick));
      if (account) this.accounts.set(client.caseLower(event.new_nick), account);
    });
    client.on('quit', (event) => this.accounts.delete(client.caseLower(event.nick)));
    client.on('privmsg', (event) => this.onPrivmsg(event));
  }

  private joinChannels(): void {
    const client = this.client;
    if (!client) return;
    this.state = 'joining';
    this.pendingJoins = new Set(this.channels.map((c) => client.caseLower(c)));
    for (const channel of this.channels) client.join(channel);
    this.joinTimer = setTimeout(() => {
      this.joinTimer = undefined;
      this.logger.warn({ channels: [...this.pendingJoins] }, 'no JOIN confirmation from IRC server; carrying on');
      this.becomeReady();
    }, this.opts.joinTimeoutMs);
  }

  private onJoin(event: JoinEvent): void {
    const client = this.client;
    if (!client) return;
    this.remember(event.nick, event.account);
    if (!client.caseCompare(event.nick, client.user.nick)) return;
    this.pendingJoins.delete(client.caseLower(event.channel));
    if (this.state === 'joining' && this.pendingJoins.size === 0) this.becomeReady();
  }

  private onIrcError(event: IrcErrorEvent): void {
    const client = this.client;
    if (!client) return;
    this.lastError = [event.error, event.channel, event.reason].filter(Boolean).join(': ');
    if (event.channel && this.pendingJoins.delete(client.caseLower(event.channel))) {
      this.logger.error({ channel: event.channel, error: event.error, reason: event.reason }, 'could not join IRC channel');
      if (this.state === 'joining' && this.pendingJoins.size === 0) this.becomeReady();
      return;
    }
    this.logger.warn({ error: event.error, reason: event.reason, channel: event.channel, nick: event.nick }, 'IRC error');
  }

  private becomeReady(): void {
    if (this.state !== 'joining') return;
    if (this.joinTimer) clearTimeout(this.joinTimer);
    this.joinTimer = undefined;
    this.state = 'ready';
    this.attempts = 0;
    this.logger.info({ channels: this.channels, queued: this.queued }, 'joined IRC channels');
    this.firstReady?.resolve();
    this.firstReady = undefined;
    this.pump();
  }

  // --- incoming ---

  private onPrivmsg(event: MessageEvent): void {
    const client = this.client;
    if (!client || !this.onMessage || event.from_server || !event.nick) return;
    const me = client.user.nick;
    if (client.caseCompare(event.nick, me)) return;
    const lower = (s: string) => client.caseLower(s);
    const text = cleanText(event.message);
    const inChannel = client.network.isChannelName(event.target);
    // In private everything is for the bot; a habitual '!' or 'shepherd:' in front is forgiven.
    // Addressed by the nick it has now or the one it asked for (it may be 'shepherd_' while a ghost holds it).
    const addressed = addressedCommand(text, me, lower) ?? addressedCommand(text, this.nick, lower);
    const command = inChannel ? addressed : (addressed ?? text);
    // A plain `yes`/`no` in the channel may answer a question the bot asked that nick there; the bot takes it
    // only as such an answer (addressed: false), never as a command.
    const answer = command === null && inChannel && answerOf(text) !== null;
    if (!command && !answer) return;
    const account = this.accountOf(event);
    const target: Target = inChannel
      ? { room: this.channels.find((c) => client.caseCompare(c, event.target)) ?? event.target, asker: event.nick }
      : { room: event.nick, asker: event.nick };
    const message: IncomingMessage = {
      text: command ?? text,
      user: { provider: 'irc', id: account ?? lower(event.nick), handle: event.nick },
      target,
      direct: !inChannel,
      ...(answer ? { addressed: false } : {}),
    };
    this.onMessage(message).catch((err) => this.logger.error({ err, from: event.nick }, 'handling an IRC message failed'));
  }

  /** The services account behind a message, when the server tells (account-tag, extended-join, account-notify). */
  private accountOf(event: MessageEvent): string | undefined {
    const client = this.client;
    if (!client) return undefined;
    if (event.account) return client.caseLower(event.account);
    // With account-tag the server tags every message of a logged-in user: no tag means not logged in.
    if (client.network.cap.isEnabled('account-tag')) return undefined;
    return this.accounts.get(client.caseLower(event.nick));
  }

  private remember(nick: string, account: string | false | undefined): void {
    const client = this.client;
    if (!client || account === undefined) return;
    if (account) this.accounts.set(client.caseLower(nick), client.caseLower(account));
    else this.accounts.delete(client.caseLower(nick));
  }

  // --- outgoing ---

  private pump(): void {
    if (this.waitingForToken || this.state !== 'ready') return;
    while (this.queues.size > 0 && this.client?.connected) {
      if (!this.pacing.tryTake()) {
        this.waitingForToken = true;
        this.pacing.take().then(
          () => {
            this.waitingForToken = false;
            this.writeLine();
            this.pump();
          },
          () => {
            this.waitingForToken = false; // stop(): the queues are dropped with it
          },
        );
        return;
      }
      this.writeLine();
    }
  }

  /** Writes the next fair line, if the connection is still usable (else the token is simply spent). */
  private writeLine(): void {
    const client = this.client;
    if (this.state !== 'ready' || !client?.connected) return;
    const item = this.nextLine();
    if (item) client.connection.write(`${item.verb} ${item.target} :${item.line}`, () => item.done?.resolve());
  }

  /**
   * One line from the queue with the fewest lines left (the oldest of equals: Map order), which then goes to
   * the back. Shortest-first lets a two-line answer out within two paced lines however long the others are;
   * a long queue still drains whenever nobody else is waiting.
   */
  private nextLine(): Queued | undefined {
    let pick: [string, Queued[]] | undefined;
    for (const entry of this.queues) if (!pick || entry[1].length < pick[1].length) pick = entry;
    if (!pick) return undefined;
    const [key, queue] = pick;
    const item = queue.shift();
    this.queues.delete(key);
    if (queue.length > 0) this.queues.set(key, queue);
    return item;
  }

  /** Over maxQueuedLines (a long outage): the oldest lines of the longest queue go first. */
  private trimQueue(): void {
    let excess = this.queued - this.opts.maxQueuedLines;
    if (excess <= 0) return;
    const total = excess;
    while (excess > 0) {
      const [key, longest] = [...this.queues].reduce((a, b) => (b[1].length > a[1].length ? b : a));
      const dropped = longest.splice(0, Math.min(excess, longest.length));
      for (const item of dropped) item.done?.resolve();
      excess -= dropped.length;
      if (longest.length === 0) this.queues.delete(key);
    }
    this.logger.warn({ dropped: total, state: this.state }, 'IRC output queue full: dropped the oldest lines');
  }

  // --- timers ---

  private later(fn: () => void, ms: number): void {
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      if (this.state !== 'stopped') fn();
    }, ms);
    this.timers.add(timer);
  }

  private clearConnectionTimers(): void {
    if (this.joinTimer) clearTimeout(this.joinTimer);
    if (this.registerTimer) clearTimeout(this.registerTimer);
    this.joinTimer = undefined;
    this.registerTimer = undefined;
  }

  private clearTimers(): void {
    this.clearConnectionTimers();
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    this.reconnectTimer = undefined;
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
  }
}
