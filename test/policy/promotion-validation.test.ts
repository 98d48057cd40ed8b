/**
 * Promotion order (`requires: staging`) now that `succeeded` comes after the validation window: only a staging
 * deploy that passed its window (or ran where none is configured) lets its SHA into production. One whose
 * validation was cancelled (release kept), failed (rolled back) or is still running does not. Real store.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { promotionCheck, promotionFacts } from '../../src/policy/promotion.js';
import { testBot, type TestBot } from '../support/bot.js';

const CONFIG = `
release_managers: ["irc:boss"]
apps:
  web:
    repo: acme/web
    deploy_to: /srv/web
    environments:
      staging: { hosts: [stg-1], validate: { for: 5m, every: 15s, url: "http://{host}:8080/health" } }
      production: { hosts: [web-1], requires: staging }
`;

const sha = (c: string) => c.repeat(40);

let t: TestBot;
beforeEach(async () => {
  t = await testBot(CONFIG);
});
afterEach(async () => t.close());

describe('requires: staging with a validation window in staging', () => {
  it('counts only a staging deploy that passed validation, and names it as the last that did', async () => {
    const alice = await t.store.users.identify({ provider: 'irc', id: 'alice', handle: 'alice' });
    const rows: [string, string, string | null][] = [
      [sha('a'), 'succeeded', 'passed'],
      [sha('b'), 'succeeded', 'cancelled'],
      [sha('c'), 'failed', 'failed'],
      [sha('d'), 'validating', null],
    ];
    const ids: number[] = [];
    for (const [s, state, validation] of rows) {
      const d = await t.store.db.deploy.create({
        data: {
          app: 'web',
          environment: 'staging',
          ref: 'main',
          sha: s,
          state,
          validation,
          validationStartedAt: new Date(),
          kind: 'deploy',
          requesterId: alice.id,
          room: '#d',
          releaseId: `r-${s[0]}`,
          finishedAt: state === 'validating' ? null : new Date(),
        },
      });
      ids.push(d.id);
    }
    const check = async (s: string) => promotionCheck(await promotionFacts(t.store, t.config, { app: 'web', environment: 'production', sha: s }));
    expect(await check(sha('a'))).toBeNull();
    for (const c of ['b', 'c', 'd']) {
      expect((await check(sha(c)))?.refuse).toBe(
        `production requires staging: ${c.repeat(7)} has not succeeded there; the last that did is aaaaaaa (#${ids[0]}) — deploy web/${c.repeat(7)} to staging first, or deploy web/aaaaaaa to production`,
      );
    }
    // status <sha> shows the validated path only.
    expect(await t.chat.say('alice', `status ${sha('b').slice(0, 7)}`)).not.toContain('staging ✓');
  });
});
