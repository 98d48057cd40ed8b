/**
 * Names every JavaScript object has (`constructor`, `__proto__`, `toString`, `hasOwnProperty`) typed where an
 * app, environment or team goes: every command answers "unknown …" in one line, never "something went wrong".
 * GIVEN apps web and api, teams web and infra WHEN `deploy constructor` THEN "unknown app "constructor" — known apps: web, api".
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { configEntry, loadConfig } from '../../src/config.js';
import { testBot, type TestBot } from '../support/bot.js';

const NAMES = ['constructor', '__proto__', 'toString', 'hasOwnProperty'];

/** [command with X for the name, what the answer must say]. */
const POSITIONS: [string, RegExp][] = [
  ['deploy X', /^✋ (unknown app "X"|"X" is not an app name) — known apps: web, api$/],
  ['deploy web to X', /^✋ web has no environment "X" — it has: staging, production$/],
  ['deploy web/main to X', /^✋ web has no environment "X" — it has: staging, production$/],
  ['rollback X', /^✋ (unknown app "X"|"X" is not an app name) — known apps: web, api$/],
  ['rollback web in X', /^✋ web has no environment "X" — it has: staging, production$/],
  ['deploys X', /^✋ unknown app "X" — known apps: web, api$/],
  ['deploys web in X', /^✋ web has no environment "X" — it has: staging, production$/],
  ['deploys in X', /^✋ unknown environment "X" — known: production, staging$/],
  ['lock X', /^✋ unknown environment "X" — known: production, staging$/],
  ['lock X/staging', /^✋ unknown app "X" — known apps: web, api$/],
  ['lock web/X', /^✋ web has no environment "X" — it has: staging, production$/],
  ['unlock X', /^✋ unknown environment "X" — known: production, staging$/],
  ['unlock X/staging', /^✋ unknown app "X" — known apps: web, api$/],
  ['unlock web/X', /^✋ web has no environment "X" — it has: staging, production$/],
  ['oncall X', /^✋ (unknown team "X"|"X" is not a team name) — teams: web, infra$/],
  ['oncall set X @alice', /^✋ (unknown team "X"|"X" is not a team name) — teams: web, infra$/],
  ['oncall take X', /^✋ (unknown team "X"|"X" is not a team name) — teams: web, infra$/],
  // Not a config name here but a revision: looked up, never crashing (this bot has no push set up).
  ['status X', /^✋ the daily push is not set up/],
];

describe('names every JavaScript object has', () => {
  let t: TestBot;
  beforeAll(async () => {
    t = await testBot();
    for (const who of ['boss', 'alice']) await t.chat.say(who, 'whoami');
  });
  afterAll(async () => t?.close());

  const cases = NAMES.flatMap((name) => POSITIONS.map(([text, answer]) => [text.replace('X', name), name, answer] as const));
  it.each(cases)('`%s` → a clear unknown answer', async (text, name, answer) => {
    const reply = await t.chat.say('boss', text);
    expect(reply).not.toMatch(/something went wrong/);
    expect(reply).toMatch(new RegExp(answer.source.replaceAll('X', name.replace(/[$]/g, '\\$&')), answer.flags));
    expect(reply.split('\n')).toHaveLength(1);
  });

  it('the config maps have no prototype, and nothing but configured names in them', () => {
    for (const name of NAMES) {
      expect(t.config.apps[name]).toBeUndefined();
      expect(t.config.teams[name]).toBeUndefined();
      expect(t.config.apps.web?.environments[name]).toBeUndefined();
    }
  });

  it('an app, environment or team really named constructor works', async () => {
    const { writeFileSync, mkdtempSync } = await import('node:fs');
    const { join } = await import('node:path');
    const { tmpdir } = await import('node:os');
    const path = join(mkdtempSync(join(tmpdir(), 'shepherd-proto-')), 'shepherd.yml');
    writeFileSync(
      path,
      'apps:\n  constructor:\n    repo: acme/c\n    deploy_to: /srv/c\n    environments:\n      toString: { hosts: [h1] }\nteams:\n  hasOwnProperty: {}\n',
    );
    const config = loadConfig({ SHEPHERD_CONFIG: path });
    expect(Object.keys(config.apps)).toEqual(['constructor']);
    expect(configEntry(configEntry(config.apps, 'constructor')?.environments ?? {}, 'toString')?.hosts).toEqual(['h1']);
    expect(Object.keys(config.teams)).toEqual(['hasOwnProperty']);
  });
});
