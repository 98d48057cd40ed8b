/**
 * A real Bot over a real database (SQLite, or PostgreSQL in that half of the test matrix), a test config and a clock the test moves; chat through FakeAdapter. The
 * services are built by createServices() from what `wire` creates, as main.ts builds them.
 *
 *   const t = await testBot(); await t.chat.say('boss', 'lock staging'); await t.close();
 *   const p = await testBot(yaml, { wire: ({ store, config, chat }) => ({ push: makePush(store, config, chat) }) });
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { commands } from '../../commands/index.js';
import { maskChat } from '../../src/adapters/masked.js';
import { Bot } from '../../src/bot.js';
import type { Clock } from '../../src/command.js';
import { type Config, loadConfig } from '../../src/config.js';
import type { MaskText } from '../../src/deploy/mask.js';
import { createServices, type ServiceParts, type Services } from '../../src/services.js';
import { type TempStore, tempStore } from './db.js';
import { FakeAdapter } from './fake-adapter.js';

export const TEST_CONFIG = `
release_managers: [rm-login, "irc:boss"]
karma: { initial: 4, block_at: 2 }
apps:
  web:
    repo: acme/web
    deploy_to: /srv/web
    default_environment: staging
    environments:
      staging: { hosts: [stg-1.example.com] }
      production: { hosts: [web-1.example.com], allowed_roles: [release_manager] }
  api:
    repo: acme/api
    deploy_to: /srv/api
    environments:
      staging: { hosts: [api-stg.example.com] }
teams:
  web: {}
  infra: {}
`;

export class TestClock implements Clock {
  constructor(public current = new Date()) {}
  now(): Date {
    return new Date(this.current);
  }
  advance(ms: number): void {
    this.current = new Date(this.current.getTime() + ms);
  }
}

/** What exists before the bot: the store, the config, the clock and the chat the bot will answer on. */
export interface TestBase extends TempStore {
  chat: FakeAdapter;
  clock: TestClock;
  config: Readonly<Config>;
}

export interface TestBot extends TestBase {
  bot: Bot;
  services: Services;
}

export interface TestBotOptions {
  /** Creates the services' parts (a deployer, the push workflow) from what exists before the bot. */
  wire?: (base: TestBase) => ServiceParts | Promise<ServiceParts>;
  /** Which network the FakeAdapter plays (default irc). */
  provider?: 'irc' | 'slack' | 'shell';
  /** How long ctx.confirm waits for an answer (default CONFIRM_TIMEOUT_MS). */
  confirmTimeoutMs?: number;
  /** Extra environment for loadConfig (e.g. WEB_BASE_URL). */
  env?: Record<string, string>;
  /** Masks what the store writes and what the chat sends, as main.ts does (default: the store's own rules). */
  mask?: MaskText;
}

export async function testBot(yaml = TEST_CONFIG, options: TestBotOptions = {}): Promise<TestBot> {
  const t = await tempStore(4, options.mask);
  const path = join(mkdtempSync(join(tmpdir(), 'shepherd-cfg-')), 'shepherd.yml');
  writeFileSync(path, yaml);
  const config = loadConfig({ SHEPHERD_CONFIG: path, ...t.env, ...options.env });
  const base: TestBase = {
    ...t,
    chat: options.mask ? maskChat(new FakeAdapter(options.provider ?? 'irc'), options.mask) : new FakeAdapter(options.provider ?? 'irc'),
    clock: new TestClock(),
    config,
  };
  const services = createServices(options.wire ? await options.wire(base) : {});
  const bot = new Bot({
    commands,
    config,
    store: t.store,
    clock: base.clock,
    logger: pino({ level: 'silent' }),
    services,
    confirmTimeoutMs: options.confirmTimeoutMs,
  });
  await base.chat.start((message) => bot.handle(base.chat, message));
  return { ...base, bot, services };
}
