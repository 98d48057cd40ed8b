/**
 * A local Slack for tests: a node:http server answering the Web API methods Shepherd and Bolt call
 * (auth.test, apps.connections.open, chat.postMessage with text or blocks, chat.update, chat.postEphemeral,
 * users.info) with Slack's documented response shapes, a WebSocket server speaking Socket Mode (hello, events_api,
 * slash_commands and interactive envelopes, acks), and response_url endpoints. Every Web API call and every
 * response_url post is recorded. Interactive payloads (block_actions button clicks) go over Socket Mode or, signed
 * and form-encoded as `payload=` like Slack sends them, over HTTP to the app's request URL.
 * Blocks are checked against Slack's documented Block Kit limits (validateBlocks) and refused with `invalid_blocks`
 * and Slack's error list, as Slack does. Rate limits: chat.update is Tier 3 (50 a minute, per channel here), a
 * 429 carries Retry-After, and a caller that retries before Retry-After has passed gets 429 again.
 *
 *   const slack = await FakeSlack.start();
 *   const ack = await slack.sendEvent(slack.appMention({ user: 'U1', channel: 'C1', text: `<@${slack.botUserId}> karma` }));
 *   const post = await slack.waitForPost((p) => p.channel === 'C1');
 */
import { createHmac, randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type WebSocket, WebSocketServer } from 'ws';

export interface ApiCall {
  method: string;
  args: Record<string, unknown>;
  /** The bearer token the call was made with. */
  token: string | undefined;
  /** What the fake answered. */
  status: number;
  response: Record<string, unknown>;
}

/** A message chat.postMessage accepted. */
export interface Post {
  channel: string;
  text: string;
  thread_ts: string | undefined;
  ts: string;
  /** Block Kit blocks, when the message had any. */
  blocks?: Record<string, unknown>[] | undefined;
}

/** A chat.update call that was accepted: the message at `ts` now reads `text` (and `blocks`). */
export interface Update {
  channel: string;
  ts: string;
  text: string;
  blocks: Record<string, unknown>[] | undefined;
}

export interface ResponseUrlPost {
  id: string;
  body: Record<string, unknown>;
}

export interface SlackUser {
  name: string;
  real_name?: string;
  display_name?: string;
}

/** A queued answer for the next call of one method: an HTTP 429 with Retry-After, or a Slack error code. */
export type Failure = { status: 429; retryAfter: number } | { error: string };

export interface FakeSlackOptions {
  botToken?: string;
  appToken?: string;
  botUserId?: string;
  botId?: string;
  teamId?: string;
  appId?: string;
}

/** What Bolt sent back for an envelope: `{ envelope_id, payload }`. */
export interface Ack {
  envelope_id: string;
  payload?: unknown;
}

const WAIT_MS = 10_000;

export class FakeSlack {
  readonly botToken: string;
  readonly appToken: string;
  readonly botUserId: string;
  readonly botId: string;
  readonly teamId: string;
  readonly appId: string;
  readonly calls: ApiCall[] = [];
  readonly responses: ResponseUrlPost[] = [];
  /** users.info answers; unknown ids get user_not_found. */
  readonly users = new Map<string, SlackUser>();
  /** Channels the bot is not a member of: chat.postMessage answers not_in_channel. */
  readonly nonMembers = new Set<string>();
  /** While true, apps.connections.open answers invalid_auth, as for a revoked app token. */
  appTokenRevoked = false;
  private readonly failures = new Map<string, Failure[]>();
  private readonly sockets = new Set<WebSocket>();
  private readonly acks = new Map<string, (ack: Ack) => void>();
  private readonly listeners = new Set<() => void>();
  /** method\0channel → when the Retry-After of its last 429 ends (ms since the epoch). */
  private readonly limitedUntil = new Map<string, number>();
  /** chat.update calls per channel in the last minute (Tier 3: 50 a minute). */
  private readonly updateTimes = new Map<string, number[]>();
  /** chat.update calls allowed per channel per minute (Slack's Tier 3). */
  updatesPerMinute = 50;
  private tsCounter = 0;
  private connections = 0;

  private constructor(
    private readonly server: Server,
    private readonly wss: WebSocketServer,
    readonly port: number,
    options: FakeSlackOptions,
  ) {
    this.botToken = options.botToken ?? 'xoxb-fake-bot-token';
    this.appToken = options.appToken ?? 'xapp-1-fake-app-token';
    this.botUserId = options.botUserId ?? 'UBOT00001';
    this.botId = options.botId ?? 'BBOT00001';
    this.teamId = options.teamId ?? 'T0FAKE001';
    this.appId = options.appId ?? 'A0FAKE001';
  }

  static async start(options: FakeSlackOptions = {}): Promise<FakeSlack> {
    const server = createServer();
    const wss = new WebSocketServer({ noServer: true });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve());
    });
    const fake = new FakeSlack(server, wss, (server.address() as AddressInfo).port, options);
    server.on('request', (req, res) => void fake.onRequest(req, res));
    server.on('upgrade', (req, socket, head) => {
      if (!req.url?.startsWith('/link/')) {
        socket.destroy();
        return;
      }
      wss.handleUpgrade(req, socket, head, (ws) => fake.onSocket(ws));
    });
    return fake;
  }

  /** Base URL of the Web API, for SLACK_API_URL. */
  get apiUrl(): string {
    return `http://127.0.0.1:${this.port}/api/`;
  }

  /** The calls of one Web API method, in order. */
  callsOf(method: string): ApiCall[] {
    return this.calls.filter((c) => c.method === method);
  }

  /** Messages chat.postMessage accepted, in order, optionally for one channel. */
  posts(channel?: string): Post[] {
    return this.callsOf('chat.postMessage')
      .filter((c) => c.response.ok === true && (channel === undefined || c.args.channel === channel))
      .map((c) => ({
        channel: String(c.args.channel),
        text: String(c.args.text ?? ''),
        thread_ts: c.args.thread_ts as string | undefined,
        ts: String(c.response.ts),
        blocks: jsonArg(c.args.blocks),
      }));
  }

  /** chat.update calls accepted, in order. */
  updates(): Update[] {
    return this.callsOf('chat.update')
      .filter((c) => c.response.ok === true)
      .map((c) => ({ channel: String(c.args.channel), ts: String(c.args.ts), text: String(c.args.text ?? ''), blocks: jsonArg(c.args.blocks) }));
  }

  /** Resolves once a chat.update matching `predicate` was accepted. */
  waitForUpdate(predicate: (u: Update) => boolean): Promise<Update> {
    return this.waitUntil('a chat.update call', () => this.updates().find(predicate));
  }

  /** Makes the next call(s) of `method` fail, in the order queued. */
  failNext(method: string, ...failures: Failure[]): void {
    this.failures.set(method, [...(this.failures.get(method) ?? []), ...failures]);
  }

  /** Resolves once `count` accepted posts match (returns the matching ones). */
  waitForPosts(predicate: (p: Post) => boolean, count = 1): Promise<Post[]> {
    return this.waitUntil(`${count} chat.postMessage call(s) matching`, () => {
      const found = this.posts().filter(predicate);
      return found.length >= count ? found : undefined;
    });
  }

  async waitForPost(predicate: (p: Post) => boolean): Promise<Post> {
    const [post] = await this.waitForPosts(predicate, 1);
    return post as Post;
  }

  waitForResponse(predicate: (r: ResponseUrlPost) => boolean): Promise<ResponseUrlPost> {
    return this.waitUntil('a response_url post', () => this.responses.find(predicate));
  }

  /** Resolves once `count` Socket Mode connections in all have been sent `hello` and one is open. */
  connected(count = 1): Promise<void> {
    return this.waitUntil(`Socket Mode connection #${count}`, () => (this.connections >= count && this.sockets.size > 0 ? true : undefined)).then(() => {});
  }

  /** How many Socket Mode connections were greeted so far. */
  get connectionCount(): number {
    return this.connections;
  }

  /** Sends Slack's `disconnect` message to every client, as before Slack recycles a connection. */
  requestReconnect(reason = 'refresh_requested'): void {
    for (const ws of this.sockets) ws.send(JSON.stringify({ type: 'disconnect', reason, debug_info: { host: 'fake-slack' } }));
  }

  /** Resolves once a call matching `predicate` was recorded. */
  waitForCall(method: string, predicate: (c: ApiCall) => boolean = () => true): Promise<ApiCall> {
    return this.waitUntil(`a ${method} call`, () => this.callsOf(method).find(predicate));
  }

  /**
   * Sends an events_api envelope over Socket Mode; resolves with Bolt's ack. With several connections open (one
   * per instance of the app), `via` picks which (0: the oldest open one), as Slack spreads events over them.
   */
  sendEvent(callback: Record<string, unknown>, retryAttempt = 0, via = 0): Promise<Ack> {
    return this.sendEnvelope(
      {
        type: 'events_api',
        accepts_response_payload: false,
        retry_attempt: retryAttempt,
        retry_reason: retryAttempt ? 'timeout' : '',
        payload: callback,
      },
      via,
    );
  }

  /**
   * Slack's redelivery of an event it holds for unacknowledged (the connection it went to died, say): the same
   * event_id in a new envelope with the next retry_attempt, over connection `via`.
   */
  redeliver(callback: Record<string, unknown>, via: number, retryAttempt = 1): Promise<Ack> {
    return this.sendEvent(callback, retryAttempt, via);
  }

  /** Socket Mode connections open now. */
  get openConnections(): number {
    return this.sockets.size;
  }

  /**
   * Sends an interactive envelope (e.g. a block_actions payload) over Socket Mode connection `via` (Slack picks one
   * of the app's connections); resolves with Bolt's ack.
   */
  sendInteractive(payload: Record<string, unknown>, via = 0): Promise<Ack> {
    return this.sendEnvelope({ type: 'interactive', accepts_response_payload: false, payload }, via);
  }

  /**
   * POSTs an interactive payload to an app's HTTP request URL as Slack does: form-encoded `payload=<json>`, signed
   * with the signing secret (X-Slack-Signature v0 HMAC over `v0:<timestamp>:<body>`).
   */
  postInteractive(url: string, signingSecret: string, payload: Record<string, unknown>): Promise<Response> {
    const body = new URLSearchParams({ payload: JSON.stringify(payload) }).toString();
    return signedPost(url, signingSecret, body, 'application/x-www-form-urlencoded');
  }

  /**
   * A block_actions payload: `user` clicked the button `actionId` (with its value) under the bot's message `message`,
   * shaped as Slack documents it (api.slack.com/reference/interaction-payloads/block-actions-payload).
   */
  blockActions(c: { user: string; message: Post; actionId: string }): Record<string, unknown> {
    const actions = (c.message.blocks ?? []).filter((b) => b.type === 'actions');
    let button: Record<string, unknown> | undefined;
    let blockId: unknown;
    for (const block of actions) {
      for (const element of (block.elements as Record<string, unknown>[] | undefined) ?? []) {
        if (element.action_id === c.actionId) {
          button = element;
          blockId = block.block_id;
        }
      }
    }
    if (!button) throw new Error(`fake Slack: message ${c.message.ts} has no button ${c.actionId}`);
    const id = randomUUID();
    const user = this.users.get(c.user);
    return {
      type: 'block_actions',
      user: { id: c.user, username: user?.name ?? c.user.toLowerCase(), name: user?.name ?? c.user.toLowerCase(), team_id: this.teamId },
      api_app_id: this.appId,
      token: 'fake-verification-token',
      container: { type: 'message', message_ts: c.message.ts, channel_id: c.message.channel, is_ephemeral: false },
      trigger_id: `${Date.now()}.${id}`,
      team: { id: this.teamId, domain: 'fake' },
      enterprise: null,
      is_enterprise_install: false,
      channel: { id: c.message.channel, name: c.message.channel.startsWith('D') ? 'directmessage' : 'deploys' },
      message: {
        type: 'message',
        user: this.botUserId,
        bot_id: this.botId,
        app_id: this.appId,
        text: c.message.text,
        ts: c.message.ts,
        blocks: c.message.blocks,
        ...(c.message.thread_ts ? { thread_ts: c.message.thread_ts } : {}),
      },
      state: { values: {} },
      response_url: `http://127.0.0.1:${this.port}/actions/${this.teamId}/${id}`,
      actions: [
        {
          action_id: c.actionId,
          block_id: blockId,
          text: button.text,
          value: button.value,
          style: button.style,
          type: 'button',
          action_ts: `${Date.now() / 1000}`,
        },
      ],
    };
  }

  /** Sends a slash_commands envelope over Socket Mode; resolves with Bolt's ack. */
  sendCommand(payload: Record<string, string>): Promise<Ack> {
    return this.sendEnvelope({ type: 'slash_commands', accepts_response_payload: true, payload });
  }

  /** The Events API wrapper (event_callback) around one event, as Slack sends it over HTTP and Socket Mode. */
  eventCallback(event: Record<string, unknown>): Record<string, unknown> {
    return {
      token: 'fake-verification-token',
      team_id: this.teamId,
      api_app_id: this.appId,
      event,
      type: 'event_callback',
      event_id: `Ev${randomUUID().replace(/-/g, '').slice(0, 10).toUpperCase()}`,
      event_time: Math.floor(Date.now() / 1000),
      authorizations: [{ enterprise_id: null, team_id: this.teamId, user_id: this.botUserId, is_bot: true, is_enterprise_install: false }],
      is_ext_shared_channel: false,
      event_context: `4-${randomUUID()}`,
    };
  }

  /** An app_mention event callback (text as the user typed it, e.g. `<@UBOT00001> karma`). */
  appMention(m: { user: string; channel: string; text: string; threadTs?: string }): Record<string, unknown> {
    const ts = this.nextTs();
    return this.eventCallback({
      type: 'app_mention',
      user: m.user,
      text: m.text,
      ts,
      channel: m.channel,
      event_ts: ts,
      client_msg_id: randomUUID(),
      team: this.teamId,
      ...(m.threadTs ? { thread_ts: m.threadTs, parent_user_id: m.user } : {}),
    });
  }

  /** A message.im event callback; `extra` adds fields such as subtype or bot_id. */
  directMessage(m: { user: string; channel: string; text: string; threadTs?: string; extra?: Record<string, unknown> }): Record<string, unknown> {
    const ts = this.nextTs();
    return this.eventCallback({
      type: 'message',
      channel: m.channel,
      user: m.user,
      text: m.text,
      ts,
      event_ts: ts,
      channel_type: 'im',
      client_msg_id: randomUUID(),
      team: this.teamId,
      ...(m.threadTs ? { thread_ts: m.threadTs } : {}),
      ...m.extra,
    });
  }

  /** A slash command payload for `/shepherd <text>` (the fields Slack documents). */
  slashCommand(c: { user: string; channel: string; text: string; channelName?: string; command?: string }): Record<string, string> {
    const id = randomUUID();
    return {
      token: 'fake-verification-token',
      team_id: this.teamId,
      team_domain: 'fake',
      channel_id: c.channel,
      channel_name: c.channelName ?? (c.channel.startsWith('D') ? 'directmessage' : 'deploys'),
      user_id: c.user,
      user_name: this.users.get(c.user)?.name ?? c.user.toLowerCase(),
      command: c.command ?? '/shepherd',
      text: c.text,
      api_app_id: this.appId,
      is_enterprise_install: 'false',
      response_url: `http://127.0.0.1:${this.port}/commands/${this.teamId}/${id}`,
      trigger_id: `${Date.now()}.${id}`,
    };
  }

  async stop(): Promise<void> {
    for (const ws of this.sockets) ws.terminate();
    this.wss.close();
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  // --- internals ---

  private nextTs(): string {
    this.tsCounter += 1;
    return `${Math.floor(Date.now() / 1000)}.${String(this.tsCounter).padStart(6, '0')}`;
  }

  private changed(): void {
    for (const listener of [...this.listeners]) listener();
  }

  /** Polls `check` on every recorded change until it returns a value, or fails after WAIT_MS naming what it waited for. */
  private waitUntil<T>(what: string, check: () => T | undefined): Promise<T> {
    return new Promise((resolve, reject) => {
      const listener = () => {
        const value = check();
        if (value !== undefined) {
          this.listeners.delete(listener);
          clearTimeout(timer);
          resolve(value);
        }
      };
      const timer = setTimeout(() => {
        this.listeners.delete(listener);
        reject(new Error(`fake Slack: timed out waiting for ${what}; Web API calls so far: ${this.calls.map((c) => c.method).join(', ') || 'none'}`));
      }, WAIT_MS);
      this.listeners.add(listener);
      listener();
    });
  }

  private sendEnvelope(envelope: Record<string, unknown>, via = 0): Promise<Ack> {
    const ws = [...this.sockets][via];
    if (!ws) return Promise.reject(new Error(`fake Slack: no Socket Mode connection #${via} is open (${this.sockets.size} are)`));
    const envelopeId = randomUUID();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.acks.delete(envelopeId);
        reject(new Error(`fake Slack: envelope ${envelope.type} was not acknowledged`));
      }, WAIT_MS);
      this.acks.set(envelopeId, (ack) => {
        clearTimeout(timer);
        resolve(ack);
      });
      ws.send(JSON.stringify({ envelope_id: envelopeId, ...envelope }));
    });
  }

  private onSocket(ws: WebSocket): void {
    this.sockets.add(ws);
    ws.on('close', () => {
      this.sockets.delete(ws);
      this.changed();
    });
    ws.on('message', (data) => {
      let ack: Ack;
      try {
        ack = JSON.parse(String(data)) as Ack;
      } catch {
        return;
      }
      const resolve = this.acks.get(ack.envelope_id);
      if (resolve) {
        this.acks.delete(ack.envelope_id);
        resolve(ack);
      }
    });
    ws.send(
      JSON.stringify({
        type: 'hello',
        num_connections: this.sockets.size,
        debug_info: { host: 'fake-slack', build_number: 1, approximate_connection_time: 18060 },
        connection_info: { app_id: this.appId },
      }),
    );
    this.connections += 1;
    this.changed();
  }

  private async onRequest(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const raw = Buffer.concat(chunks).toString('utf8');
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');

    if ((url.pathname.startsWith('/commands/') || url.pathname.startsWith('/actions/')) && req.method === 'POST') {
      this.responses.push({ id: url.pathname.split('/').pop() ?? '', body: parseBody(raw, req.headers['content-type']) });
      reply(res, 200, { ok: true });
      this.changed();
      return;
    }
    const match = /^\/api\/([a-zA-Z.]+)$/.exec(url.pathname);
    if (!match || req.method !== 'POST') {
      reply(res, 404, { ok: false, error: 'unknown_method' });
      return;
    }
    const method = match[1] as string;
    const args = parseBody(raw, req.headers['content-type']);
    const bearer = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1];
    const token = bearer ?? (typeof args.token === 'string' ? args.token : undefined);
    const { status, body, headers } = this.answer(method, args, token);
    this.calls.push({ method, args, token, status, response: body });
    reply(res, status, body, headers);
    this.changed();
  }

  private answer(
    method: string,
    args: Record<string, unknown>,
    token: string | undefined,
  ): { status: number; body: Record<string, unknown>; headers?: Record<string, string> } {
    const limitKey = `${method}\0${String(args.channel ?? '')}`;
    const limited = (retryAfter: number) => {
      this.limitedUntil.set(limitKey, Date.now() + retryAfter * 1000);
      return { status: 429, body: { ok: false, error: 'ratelimited' }, headers: { 'Retry-After': String(retryAfter) } };
    };
    // Calling again before Retry-After has passed is answered 429 again, with what is left of the wait.
    const until = this.limitedUntil.get(limitKey);
    if (until !== undefined && until > Date.now()) return limited(Math.ceil((until - Date.now()) / 1000));
    const queued = this.failures.get(method);
    const failure = queued?.shift();
    if (failure) {
      if ('status' in failure) return limited(failure.retryAfter);
      return { status: 200, body: { ok: false, error: failure.error } };
    }
    if (method === 'chat.update') {
      const now = Date.now();
      const recent = (this.updateTimes.get(limitKey) ?? []).filter((t) => t > now - 60_000);
      if (recent.length >= this.updatesPerMinute) return limited(Math.max(1, Math.ceil(((recent[0] as number) + 60_000 - now) / 1000)));
      recent.push(now);
      this.updateTimes.set(limitKey, recent);
    }
    const invalid = 'blocks' in args && args.blocks !== undefined ? validateBlocks(jsonArg(args.blocks) ?? args.blocks) : [];
    if (invalid.length && ['chat.postMessage', 'chat.update', 'chat.postEphemeral'].includes(method)) {
      return {
        status: 200,
        body: { ok: false, error: 'invalid_blocks', errors: invalid, response_metadata: { messages: invalid.map((e) => `[ERROR] ${e}`) } },
      };
    }
    const needs = (expected: string) => (token === expected ? undefined : { status: 200, body: { ok: false, error: token ? 'invalid_auth' : 'not_authed' } });
    switch (method) {
      case 'auth.test':
        return (
          needs(this.botToken) ?? {
            status: 200,
            body: {
              ok: true,
              url: 'https://fake.slack.com/',
              team: 'Fake',
              user: 'shepherd',
              team_id: this.teamId,
              user_id: this.botUserId,
              bot_id: this.botId,
              is_enterprise_install: false,
            },
          }
        );
      case 'apps.connections.open':
        if (this.appTokenRevoked) return { status: 200, body: { ok: false, error: 'invalid_auth' } };
        return (
          needs(this.appToken) ?? { status: 200, body: { ok: true, url: `ws://127.0.0.1:${this.port}/link/?ticket=${randomUUID()}&app_id=${this.appId}` } }
        );
      case 'users.info': {
        const denied = needs(this.botToken);
        if (denied) return denied;
        const id = String(args.user ?? '');
        const user = this.users.get(id);
        if (!user) return { status: 200, body: { ok: false, error: 'user_not_found' } };
        const realName = user.real_name ?? user.name;
        return {
          status: 200,
          body: {
            ok: true,
            user: {
              id,
              team_id: this.teamId,
              name: user.name,
              deleted: false,
              real_name: realName,
              is_bot: false,
              profile: {
                real_name: realName,
                display_name: user.display_name ?? '',
                real_name_normalized: realName,
                display_name_normalized: user.display_name ?? '',
              },
            },
          },
        };
      }
      case 'chat.postMessage': {
        const denied = needs(this.botToken);
        if (denied) return denied;
        const channel = String(args.channel ?? '');
        if (!channel) return { status: 200, body: { ok: false, error: 'channel_not_found' } };
        if (this.nonMembers.has(channel)) return { status: 200, body: { ok: false, error: 'not_in_channel' } };
        if (!args.text && !args.blocks) return { status: 200, body: { ok: false, error: 'no_text' } };
        const ts = this.nextTs();
        const message: Record<string, unknown> = { type: 'message', text: args.text, ts, user: this.botUserId, bot_id: this.botId, app_id: this.appId };
        if (args.thread_ts) message.thread_ts = args.thread_ts;
        if (args.blocks) message.blocks = jsonArg(args.blocks);
        return { status: 200, body: { ok: true, channel, ts, message } };
      }
      case 'chat.update': {
        const denied = needs(this.botToken);
        if (denied) return denied;
        const channel = String(args.channel ?? '');
        const ts = String(args.ts ?? '');
        const original = this.posts(channel).find((p) => p.ts === ts);
        if (!original) return { status: 200, body: { ok: false, error: 'message_not_found' } };
        if (!args.text && !args.blocks) return { status: 200, body: { ok: false, error: 'no_text' } };
        const blocks = jsonArg(args.blocks);
        return {
          status: 200,
          body: {
            ok: true,
            channel,
            ts,
            text: args.text,
            message: { text: args.text, user: this.botUserId, bot_id: this.botId, ...(blocks ? { blocks } : {}) },
          },
        };
      }
      case 'chat.postEphemeral': {
        const denied = needs(this.botToken);
        if (denied) return denied;
        if (!args.channel) return { status: 200, body: { ok: false, error: 'channel_not_found' } };
        if (!args.user) return { status: 200, body: { ok: false, error: 'user_not_in_channel' } };
        if (!args.text && !args.blocks) return { status: 200, body: { ok: false, error: 'no_text' } };
        return { status: 200, body: { ok: true, message_ts: this.nextTs() } };
      }
      default:
        return { status: 200, body: { ok: false, error: 'unknown_method' } };
    }
  }
}

/** A JSON-valued Web API argument: WebClient sends arrays and objects form-encoded as JSON strings. */
function jsonArg(value: unknown): Record<string, unknown>[] | undefined {
  if (value === undefined || value === null || value === '') return undefined;
  if (typeof value !== 'string') return value as Record<string, unknown>[];
  try {
    return JSON.parse(value) as Record<string, unknown>[];
  } catch {
    return undefined;
  }
}

/** POSTs `body` to `url` with Slack's request signature headers, as Slack calls an app's request URL. */
export function signedPost(
  url: string,
  signingSecret: string,
  body: string,
  contentType: string,
  timestamp = Math.floor(Date.now() / 1000),
): Promise<Response> {
  const signature = `v0=${createHmac('sha256', signingSecret).update(`v0:${timestamp}:${body}`).digest('hex')}`;
  return fetch(url, {
    method: 'POST',
    headers: { 'Content-Type': contentType, 'X-Slack-Request-Timestamp': String(timestamp), 'X-Slack-Signature': signature },
    body,
  });
}

function parseBody(raw: string, contentType: string | undefined): Record<string, unknown> {
  if (!raw) return {};
  if (contentType?.includes('application/json')) {
    try {
      return JSON.parse(raw) as Record<string, unknown>;
    } catch {
      return {};
    }
  }
  return Object.fromEntries(new URLSearchParams(raw));
}

function reply(res: ServerResponse, status: number, body: Record<string, unknown>, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'Content-Type': 'application/json; charset=utf-8', ...headers });
  res.end(JSON.stringify(body));
}

const BLOCK_TYPES = new Set(['section', 'header', 'context', 'actions', 'divider', 'image', 'rich_text', 'input', 'file', 'video', 'markdown']);

/**
 * Slack's documented Block Kit limits (docs.slack.dev/reference/block-kit): at most 50 blocks; a section's text
 * 1..3000 characters, at most 10 fields of at most 2000; a header's plain_text at most 150; at most 10 context
 * elements; at most 25 elements in an actions block; a button's plain_text label at most 75, action_id at most 255
 * and unique in the message, value at most 2000, url at most 3000, style primary or danger; block_id at most 255
 * and unique. Returns the errors the way Slack words them (`… [json-pointer:/blocks/0/text/text]`); none if valid.
 *
 *   validateBlocks([{ type: 'header', text: { type: 'plain_text', text: 'x'.repeat(151) } }])
 *   // ['must be less than 151 characters [json-pointer:/blocks/0/text/text]']
 */
export function validateBlocks(value: unknown): string[] {
  const errors: string[] = [];
  const at = (path: string) => `[json-pointer:/blocks${path}]`;
  if (!Array.isArray(value)) return [`must provide an array ${at('')}`];
  if (value.length > 50) errors.push(`no more than 50 items allowed ${at('')}`);
  const actionIds = new Set<string>();
  const blockIds = new Set<string>();
  const text = (t: unknown, path: string, max: number, plainOnly = false) => {
    const o = t as { type?: unknown; text?: unknown } | undefined;
    if (!o || typeof o !== 'object' || typeof o.text !== 'string') return errors.push(`must be a text object ${at(path)}`);
    if (o.type !== 'plain_text' && (plainOnly || o.type !== 'mrkdwn')) errors.push(`must be a valid enum value ${at(`${path}/type`)}`);
    if (o.text.length === 0) errors.push(`must be more than 0 characters ${at(`${path}/text`)}`);
    if (o.text.length > max) errors.push(`must be less than ${max + 1} characters ${at(`${path}/text`)}`);
  };
  value.forEach((raw, i) => {
    const b = raw as Record<string, unknown>;
    const p = `/${i}`;
    if (!b || typeof b !== 'object' || !BLOCK_TYPES.has(String(b.type))) return errors.push(`must be a valid block type ${at(`${p}/type`)}`);
    if (b.block_id !== undefined) {
      const id = String(b.block_id);
      if (id.length > 255) errors.push(`must be less than 256 characters ${at(`${p}/block_id`)}`);
      if (blockIds.has(id)) errors.push(`duplicate block_id ${at(`${p}/block_id`)}`);
      blockIds.add(id);
    }
    switch (b.type) {
      case 'header':
        text(b.text, `${p}/text`, 150, true);
        break;
      case 'section': {
        if (b.text === undefined && b.fields === undefined) errors.push(`must provide text or fields ${at(p)}`);
        if (b.text !== undefined) text(b.text, `${p}/text`, 3000);
        if (b.fields !== undefined) {
          const fields = b.fields as unknown[];
          if (!Array.isArray(fields) || fields.length > 10) errors.push(`no more than 10 items allowed ${at(`${p}/fields`)}`);
          else fields.forEach((f, j) => text(f, `${p}/fields/${j}`, 2000));
        }
        break;
      }
      case 'context': {
        const elements = b.elements as unknown[];
        if (!Array.isArray(elements) || elements.length === 0 || elements.length > 10) errors.push(`must have 1 to 10 elements ${at(`${p}/elements`)}`);
        else elements.forEach((e, j) => text(e, `${p}/elements/${j}`, 3000));
        break;
      }
      case 'actions': {
        const elements = b.elements as Record<string, unknown>[];
        if (!Array.isArray(elements) || elements.length === 0 || elements.length > 25) {
          errors.push(`must have 1 to 25 elements ${at(`${p}/elements`)}`);
          break;
        }
        elements.forEach((e, j) => {
          const q = `${p}/elements/${j}`;
          if (e.type !== 'button') return;
          text(e.text, `${q}/text`, 75, true);
          if (e.action_id !== undefined) {
            const id = String(e.action_id);
            if (id.length > 255) errors.push(`must be less than 256 characters ${at(`${q}/action_id`)}`);
            if (actionIds.has(id)) errors.push(`duplicate action_id ${at(`${q}/action_id`)}`);
            actionIds.add(id);
          }
          if (e.value !== undefined && String(e.value).length > 2000) errors.push(`must be less than 2001 characters ${at(`${q}/value`)}`);
          if (e.url !== undefined && String(e.url).length > 3000) errors.push(`must be less than 3001 characters ${at(`${q}/url`)}`);
          if (e.style !== undefined && e.style !== 'primary' && e.style !== 'danger') errors.push(`must be a valid enum value ${at(`${q}/style`)}`);
        });
        break;
      }
      default:
        break;
    }
  });
  return errors;
}
