/**
 * A person on IRC for tests and benchmarks: a real irc-framework client that records every PRIVMSG it sees
 * and can wait for the lines it expects.
 *
 *   const alice = await IrcPerson.connect({ host, port, nick: 'alice', channels: ['#deploys'] });
 *   const lines = await alice.ask('#deploys', '!karma', { from: 'shepherd' });
 *   await alice.quit();
 */
import { Client, type JoinEvent } from 'irc-framework';

export interface Heard {
  /** PRIVMSG, or NOTICE (the bot sends long channel answers to the asker by notice). */
  verb: 'PRIVMSG' | 'NOTICE';
  from: string;
  /** '#channel' for channel messages, our own nick for private ones. */
  to: string;
  text: string;
  /** The sender's user and host, to rebuild the line exactly as the server relayed it. */
  ident: string;
  hostname: string;
  /** performance.now() when it arrived. */
  at: number;
}

/** Someone joining or leaving, as this person saw it. */
export interface Seen {
  type: 'join' | 'part' | 'quit';
  nick: string;
  channel?: string;
  at: number;
}

export interface PersonOptions {
  host: string;
  port: number;
  nick: string;
  channels?: string[];
  timeoutMs?: number;
}

export class IrcPerson {
  readonly heard: Heard[] = [];
  readonly seen: Seen[] = [];
  private readonly waiters = new Set<() => void>();

  private constructor(
    readonly client: Client,
    readonly nick: string,
  ) {
    client.on('privmsg', (event) => {
      this.heard.push({
        verb: 'PRIVMSG',
        from: event.nick,
        to: event.target,
        text: event.message,
        ident: event.ident,
        hostname: event.hostname,
        at: performance.now(),
      });
      for (const wake of this.waiters) wake();
    });
    client.on('notice', (event) => {
      if (event.from_server || !event.nick) return;
      this.heard.push({
        verb: 'NOTICE',
        from: event.nick,
        to: event.target,
        text: event.message,
        ident: event.ident,
        hostname: event.hostname,
        at: performance.now(),
      });
      for (const wake of this.waiters) wake();
    });
    client.on('join', (event) => this.see({ type: 'join', nick: event.nick, channel: event.channel, at: performance.now() }));
    client.on('part', (event) => this.see({ type: 'part', nick: event.nick, channel: event.channel, at: performance.now() }));
    client.on('quit', (event) => this.see({ type: 'quit', nick: event.nick, at: performance.now() }));
  }

  /** Connects, registers and joins; rejects after timeoutMs (default 10 s). */
  static async connect(options: PersonOptions): Promise<IrcPerson> {
    const client = new Client({
      host: options.host,
      port: options.port,
      nick: options.nick,
      username: options.nick.slice(0, 10),
      auto_reconnect: false,
      ping_interval: 0,
    });
    const person = new IrcPerson(client, options.nick);
    const channels = options.channels ?? [];
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${options.nick} could not connect to ${options.host}:${options.port}`)), options.timeoutMs ?? 10_000);
      const pending = new Set(channels.map((c) => c.toLowerCase()));
      const done = () => {
        clearTimeout(timer);
        resolve();
      };
      client.on('registered', () => {
        if (pending.size === 0) done();
        for (const c of channels) client.join(c);
      });
      client.on('join', (event: JoinEvent) => {
        if (event.nick !== client.user.nick) return;
        pending.delete(event.channel.toLowerCase());
        if (pending.size === 0) done();
      });
      client.on('close', () => reject(new Error(`${options.nick}: connection closed before registration`)));
      client.connect();
    });
    return person;
  }

  private see(event: Seen): void {
    this.seen.push(event);
    for (const wake of this.waiters) wake();
  }

  say(target: string, text: string): void {
    this.client.say(target, text);
  }

  /** The notices `from` sent this person since heard[start]. */
  noticesFrom(from: string, start = 0): string[] {
    return this.heard
      .slice(start)
      .filter((h) => h.verb === 'NOTICE' && h.from.toLowerCase() === from.toLowerCase() && h.to === this.client.user.nick)
      .map((h) => h.text);
  }

  /** Resolves with the first result of `check` that is not undefined, re-evaluated on every message, join, part and quit. */
  waitFor<T>(check: () => T | undefined, timeoutMs = 15_000, what = 'an answer'): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const first = check();
      if (first !== undefined) return resolve(first);
      const wake = () => {
        const value = check();
        if (value === undefined) return;
        cleanup();
        resolve(value);
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(
          new Error(
            `${this.nick} waited ${timeoutMs} ms for ${what}; heard:\n${this.heard
              .slice(-20)
              .map((h) => `  <${h.from}→${h.to}> ${h.text}`)
              .join('\n')}`,
          ),
        );
      }, timeoutMs);
      const cleanup = () => {
        clearTimeout(timer);
        this.waiters.delete(wake);
      };
      this.waiters.add(wake);
    });
  }

  /**
   * Says `text` to `target` and collects what `from` says back in that conversation (the channel, or a private
   * message to us): until `until` accepts the collected lines (or timeoutMs passes: then whatever came), or,
   * without `until`, until nothing more came for `quietMs` after the first line.
   */
  async ask(
    target: string,
    text: string,
    options: { from: string; until?: (lines: string[]) => boolean; quietMs?: number; timeoutMs?: number },
  ): Promise<string[]> {
    const start = this.heard.length;
    const fromChannel = target.startsWith('#') || target.startsWith('&');
    const collect = () =>
      this.heard
        .slice(start)
        .filter(
          (h) =>
            h.verb === 'PRIVMSG' &&
            h.from.toLowerCase() === options.from.toLowerCase() &&
            (fromChannel ? h.to.toLowerCase() === target.toLowerCase() : h.to === this.client.user.nick),
        )
        .map((h) => h.text);
    this.say(target, text);
    const timeoutMs = options.timeoutMs ?? 30_000;
    const { until } = options;
    if (until) {
      return this.waitFor(
        () => {
          const lines = collect();
          return until(lines) ? lines : undefined;
        },
        timeoutMs,
        `the reply from ${options.from} to "${text}"`,
      ).catch(() => collect());
    }
    await this.waitFor(() => (collect().length > 0 ? true : undefined), timeoutMs, `a reply from ${options.from} to "${text}"`);
    const quietMs = options.quietMs ?? 1_500;
    let count = 0;
    while (collect().length > count) {
      count = collect().length;
      await this.waitFor(() => (collect().length > count ? true : undefined), quietMs).catch(() => undefined);
    }
    return collect();
  }

  async quit(): Promise<void> {
    if (!this.client.connected) return;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, 2_000);
      this.client.once('close', () => {
        clearTimeout(timer);
        resolve();
      });
      this.client.quit('bye');
    });
    this.client.removeAllListeners();
  }
}
