/**
 * A real Bot over a real SQLite file, a test config and a clock the test moves; chat through FakeAdapter.
 *
 *   const t = await testBot(); await t.chat.say('boss', 'lock staging'); await t.close();
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { commands } from '../../commands/index.js';
import { Bot } from '../../src/bot.js';
import type { Clock } from '../../src/command.js';
import { type Config, loadConfig } from '../../src/config.js';
import { tempStore, type TempStore } from './db.js';
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

export interface TestBot extends TempStore {
  bot: Bot;
  chat: FakeAdapter;
  clock: TestClock;
  config: Readonly<Config>;
}

export async function testBot(yaml = TEST_CONFIG, services: Record<string, unknown> = {}): Promise<TestBot> {
  const t = await tempStore();
  const path = join(mkdtempSync(join(tmpdir(), 'shepherd-cfg-')), 'shepherd.yml');
  writeFileSync(path, yaml);
  const config = loadConfig({ SHEPHERD_CONFIG: path, ...t.env });
  const clock = new TestClock();
  const bot = new Bot({ commands, config, store: t.store, clock, logger: pino({ level: 'silent' }), services });
  return { ...t, bot, chat: new FakeAdapter(bot, 'irc'), clock, config };
}
