/**
 * The part of irc-framework (4.x, CommonJS, no bundled types) that Shepherd, its tests and its benchmark use.
 * Written from the library's source (src/client.js, src/connection.js, src/commands/handlers/*).
 *
 *   const client = new Client({ host: '127.0.0.1', port: 6667, nick: 'shepherd', auto_reconnect: false });
 */
declare module 'irc-framework' {
  export interface ClientOptions {
    host: string;
    port?: number;
    tls?: boolean;
    rejectUnauthorized?: boolean;
    nick: string;
    username?: string;
    gecos?: string;
    /** Server password (PASS); also used for SASL PLAIN with the nick as account when the server offers SASL. */
    password?: string;
    account?: { account: string; password: string };
    auto_reconnect?: boolean;
    auto_reconnect_max_retries?: number;
    ping_interval?: number;
    ping_timeout?: number;
    message_max_length?: number;
    version?: string | null;
    encoding?: string;
    enable_echomessage?: boolean;
    sasl_disconnect_on_fail?: boolean;
  }

  /** privmsg / notice / action. `account` comes from the IRCv3 account-tag when the server sends it. */
  export interface MessageEvent {
    from_server: boolean;
    nick: string;
    ident: string;
    hostname: string;
    target: string;
    group?: string;
    message: string;
    tags: Record<string, string>;
    time?: number;
    account?: string;
    reply(text: string): void;
  }

  /** `account` is set only with extended-join: a name, or false when not logged in. */
  export interface JoinEvent {
    nick: string;
    ident: string;
    hostname: string;
    channel: string;
    gecos: string;
    account?: string | false;
  }

  export interface AccountEvent {
    nick: string;
    account: string | false;
  }

  export interface NickEvent {
    nick: string;
    new_nick: string;
  }

  export interface QuitEvent {
    nick: string;
    message: string;
  }

  export interface KickEvent {
    kicked: string;
    nick: string;
    channel: string;
    message: string;
  }

  export interface PartEvent {
    nick: string;
    channel: string;
    message?: string;
  }

  export interface IrcErrorEvent {
    error: string;
    channel?: string;
    nick?: string;
    reason?: string;
  }

  export interface ReconnectingEvent {
    attempt: number;
    max_retries: number;
    wait: number;
  }

  export interface Connection {
    connected: boolean;
    /** Writes one raw line; `callback` runs once it is handed to the socket (or at once when not connected). */
    write(line: string, callback?: () => void): boolean;
    end(data?: string, hadError?: boolean): void;
  }

  export interface NetworkInfo {
    cap: { enabled: string[]; isEnabled(cap: string): boolean };
    options: Record<string, string | boolean | undefined>;
    supports(name: string): string | boolean | undefined;
    isChannelName(name: string): boolean;
  }

  type Listener<T> = (event: T) => void;

  export class Client {
    constructor(options?: ClientOptions);
    options: ClientOptions;
    user: { nick: string; username: string; host: string };
    network: NetworkInfo;
    connection: Connection;
    readonly connected: boolean;
    connect(options?: ClientOptions): void;
    quit(message?: string): void;
    join(channel: string, key?: string): void;
    part(channel: string, message?: string): void;
    say(target: string, message: string): void;
    notice(target: string, message: string): void;
    changeNick(nick: string): void;
    raw(...args: (string | number)[]): void;
    caseLower(text: string): string;
    caseCompare(a: string, b: string): boolean;

    on(event: 'privmsg' | 'notice' | 'action' | 'message', listener: Listener<MessageEvent>): this;
    on(event: 'join', listener: Listener<JoinEvent>): this;
    on(event: 'part', listener: Listener<PartEvent>): this;
    on(event: 'kick', listener: Listener<KickEvent>): this;
    on(event: 'quit', listener: Listener<QuitEvent>): this;
    on(event: 'nick', listener: Listener<NickEvent>): this;
    on(event: 'account', listener: Listener<AccountEvent>): this;
    on(event: 'irc error', listener: Listener<IrcErrorEvent>): this;
    on(event: 'nick in use', listener: Listener<{ nick: string; reason: string }>): this;
    on(event: 'registered' | 'connected', listener: Listener<{ nick: string }>): this;
    on(event: 'reconnecting', listener: Listener<ReconnectingEvent>): this;
    on(event: 'socket close' | 'close', listener: Listener<Error | boolean | undefined>): this;
    on(event: 'sasl failed', listener: Listener<{ reason: string; message?: string }>): this;
    /** The TCP (or, under TLS, the underlying) socket, once connected. */
    on(event: 'raw socket connected', listener: Listener<import('node:net').Socket>): this;
    on(event: string, listener: Listener<never>): this;
    once(event: string, listener: Listener<never>): this;
    off(event: string, listener?: Listener<never>): this;
    removeAllListeners(event?: string): this;
  }
}
