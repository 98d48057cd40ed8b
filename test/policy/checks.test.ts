/**
 * The freeze and promotion gate checks: pure functions on facts, and the fact providers over a real store.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { freezeCheck, freezeFacts } from '../../src/policy/freeze.js';
import { promotionCheck, promotionFacts, promotionOrder } from '../../src/policy/promotion.js';
import { tempStore, type TempStore } from '../support/db.js';

const zone = 'Europe/Berlin';
const saturday = new Date('2026-12-05T11:00:00Z');
const weekend = { environments: ['production'], weekly: 'fri 16:00 - mon 08:00', reason: 'weekend' };

describe('freezeCheck', () => {
  const frozen = {
    environment: 'production',
    freeze: { reason: 'weekend', until: new Date('2026-12-07T07:00:00Z'), source: 'config' as const },
    now: saturday,
    timezone: zone,
  };

  it('lets everything through when nothing is frozen', () => {
    expect(freezeCheck({ ...frozen, freeze: null, force: false, roles: ['developer'] })).toBeNull();
  });

  it('refuses with the reason, the end as a local clock time and what to do', () => {
    expect(freezeCheck({ ...frozen, force: false, roles: ['developer', 'release_manager'], retry: 'deploy web/main to production' })).toEqual({
      refuse: 'production is frozen until mon 08:00: weekend — a release manager can `deploy web/main to production --force`, or wait until mon 08:00',
    });
  });

  it('refuses --force from a developer', () => {
    const r = freezeCheck({ ...frozen, force: true, roles: ['developer'] });
    expect(r).toEqual({
      refuse:
        'production is frozen until mon 08:00: weekend — only a release manager can deploy through a freeze with --force; ask one, or wait until mon 08:00',
    });
  });

  it('lets --force from a release manager through as an override to record', () => {
    expect(freezeCheck({ ...frozen, force: true, roles: ['developer', 'release_manager'] })).toEqual({
      override: 'production is frozen until mon 08:00: weekend; forced through by a release manager',
    });
  });

  it('names unfreeze for a freeze without end', () => {
    const r = freezeCheck({ ...frozen, freeze: { reason: 'incident 4711', until: null, source: 'chat', by: 'boss' }, force: false, roles: ['developer'] });
    expect(r).toEqual({
      refuse: 'production is frozen: incident 4711 (set by boss) — a release manager can `deploy … --force`, or wait for `unfreeze production`',
    });
  });
});

describe('fact providers over the store', () => {
  let t: TempStore;
  beforeEach(async () => {
    t = await tempStore();
  });
  afterEach(async () => t.close());

  it('freezeFacts joins config and chat freezes in the configured zone', async () => {
    const config = { freezes: [weekend], timezone: zone };
    const wednesday = new Date('2026-12-09T10:00:00Z');
    expect((await freezeFacts(t.store, config, { environment: 'production', now: wednesday, force: false, roles: [] })).freeze).toBeNull();
    expect((await freezeFacts(t.store, config, { environment: 'production', now: saturday, force: false, roles: [] })).freeze?.reason).toBe('weekend');
    const boss = await t.store.users.identify({ provider: 'irc', id: 'boss', handle: 'boss' });
    await t.store.freezes.set({ environment: 'production', reason: 'incident', until: new Date('2026-12-09T12:00:00Z'), createdById: boss.id, at: wednesday });
    const facts = await freezeFacts(t.store, config, { environment: 'production', now: wednesday, force: false, roles: [] });
    expect(facts.freeze).toMatchObject({ reason: 'incident', source: 'chat', by: 'boss' });
    expect(freezeCheck(facts)).toEqual({ refuse: expect.stringMatching(/^production is frozen until today 13:00: incident \(set by boss\)/) });
  });

  async function deploy(environment: string, sha: string, state: string) {
    const alice = await t.store.users.identify({ provider: 'irc', id: 'alice', handle: 'alice' });
    const d = await t.store.db.deploy.create({
      data: {
        app: 'web',
        environment,
        ref: 'main',
        sha,
        state,
        kind: 'deploy',
        requesterId: alice.id,
        room: '#d',
        releaseId: `r-${sha}`,
        finishedAt: new Date(),
      },
    });
    return d.id;
  }

  it('promotionCheck passes a SHA that succeeded in staging and refuses one that did not, naming the last that did', async () => {
    const config = { apps: { web: { environments: { staging: {}, production: { requires: 'staging' } } } } } as never;
    const good = 'a'.repeat(40);
    const bad = 'b'.repeat(40);
    const goodId = await deploy('staging', good, 'succeeded');
    await deploy('staging', bad, 'failed');
    await deploy('production', bad, 'succeeded'); // success elsewhere does not count

    const passed = await promotionFacts(t.store, config, { app: 'web', environment: 'production', sha: good });
    expect(promotionCheck(passed)).toBeNull();

    const refused = promotionCheck(await promotionFacts(t.store, config, { app: 'web', environment: 'production', sha: bad }));
    expect(refused).toEqual({
      refuse: `production requires staging: bbbbbbb has not succeeded there; the last that did is aaaaaaa (#${goodId}) — deploy web/bbbbbbb to staging first, or deploy web/aaaaaaa to production`,
    });
    // Environments without requires, and a staging deploy itself, are not this gate's business.
    expect(promotionCheck(await promotionFacts(t.store, config, { app: 'web', environment: 'staging', sha: bad }))).toBeNull();
  });

  it('promotionCheck says when nothing has passed yet', async () => {
    const config = { apps: { web: { environments: { staging: {}, production: { requires: 'staging' } } } } } as never;
    const r = promotionCheck(await promotionFacts(t.store, config, { app: 'web', environment: 'production', sha: 'c'.repeat(40) }));
    expect(r).toEqual({ refuse: 'production requires staging: ccccccc has not succeeded there; nothing has yet — deploy web/ccccccc to staging first' });
  });

  it('orders environments by promotion', () => {
    expect(promotionOrder({ production: { requires: 'canary' }, canary: { requires: 'staging' }, staging: {}, dev: {} })).toEqual([
      'staging',
      'dev',
      'canary',
      'production',
    ]);
  });
});
