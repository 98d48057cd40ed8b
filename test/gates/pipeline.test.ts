/**
 * The gate pipeline as a table: GIVEN facts THEN proceed | refuse(reason) | ask(question), for every gate that
 * exists, plus the order, the one combined question, overrides, and the runner (ask → confirm → re-evaluate,
 * no confirm → refuse, audit rows).
 */
import { describe, expect, it } from 'vitest';
import type { Answer } from '../../src/command.js';
import { GATES } from '../../src/gates/gates.js';
import { evaluateGates, GATE_ORDER, type GateFacts, type GateName } from '../../src/gates/pipeline.js';
import { runGates } from '../../src/gates/runner.js';
import type { GateDecision as AuditDecision } from '../../src/store/audit.js';
import type { HeldLock } from '../../src/store/locks.js';

const NOW = new Date('2026-12-01T12:00:00Z');
const LIVE = 'a'.repeat(40);
const NEW = 'b'.repeat(40);

function lock(deployId: number | null): HeldLock {
  return {
    id: 1,
    app: 'web',
    environment: 'production',
    holderId: 2,
    reason: deployId ? null : 'db migration',
    deployId,
    createdAt: new Date(NOW.getTime() - 60_000),
    holder: { id: 2, name: 'carol', identities: [{ provider: 'irc', externalId: 'carol', handle: 'carol' }] },
  };
}

const behind = {
  kind: 'behind' as const,
  behind: {
    commits: [
      { sha: 'c'.repeat(40), message: 'add banner', author: 'bob' },
      { sha: LIVE, message: 'fix login', author: 'alice' },
    ],
    total: 2,
  },
};

function facts(over: Partial<GateFacts> = {}): GateFacts {
  return {
    entry: 'deploy',
    app: 'web',
    environment: 'production',
    rules: { allowed_roles: ['release_manager'], require_green_ci: false, confirm: false },
    actor: { name: 'boss', roles: ['developer', 'release_manager'] },
    releaseManagers: ['irc:boss'],
    subject: 'deploy web/main (bbbbbbb) to production on 2 host(s)',
    retry: 'deploy web/main to production',
    sha: NEW,
    liveSha: LIVE,
    force: false,
    lock: null,
    ci: 'success',
    direction: { kind: 'ahead', count: 3 },
    answers: {},
    now: NOW,
    provider: 'irc',
    ...over,
  };
}

type Expect =
  | { kind: 'proceed'; note?: RegExp; approvals?: { needed: number; windowMs: number } | null }
  | { kind: 'refuse'; gate: GateName; reason: RegExp }
  | { kind: 'ask'; gates: GateName[]; question: RegExp };
const rules = (r: Partial<GateFacts['rules']>) => ({ rules: { ...facts().rules, ...r } });
const developer = { actor: { name: 'alice', roles: ['developer' as const] } };
const MON_0800 = new Date('2026-12-07T08:00:00Z');
const frozen = { freeze: { active: { reason: 'weekend', until: MON_0800, source: 'config' as const }, timezone: 'UTC' } };
const openDeveloper = { ...developer, ...rules({ allowed_roles: ['developer', 'release_manager'] }) };
const promotion = (over: Partial<NonNullable<GateFacts['promotion']>> = {}) => ({
  promotion: { app: 'web', environment: 'production', sha: NEW, requires: 'staging', passed: null, lastPassed: { id: 4, sha: LIVE }, ...over },
});

// GIVEN … THEN …, one row per gate and outcome.
const TABLE: [string, Partial<GateFacts>, Expect][] = [
  // roles
  ['roles: a release manager passes', {}, { kind: 'proceed' }],
  [
    'roles: a developer is refused, told whom to ask',
    developer,
    { kind: 'refuse', gate: 'roles', reason: /^only a release manager can deploy to web\/production — ask one of: irc:boss$/ },
  ],
  ['roles: rollback names what it refuses', { ...developer, entry: 'rollback' }, { kind: 'refuse', gate: 'roles', reason: /can roll back web\/production/ }],
  [
    'roles: push ship names what it refuses',
    { ...developer, entry: 'push ship' },
    { kind: 'refuse', gate: 'roles', reason: /can ship the push to web\/production/ },
  ],
  ['roles: a system entry (auto deploy) passes', { entry: 'auto deploy', actor: { name: 'shepherd', roles: [], system: true } }, { kind: 'proceed' }],
  ['roles: --force does not help someone without the role', { ...developer, force: true }, { kind: 'refuse', gate: 'roles', reason: /only a release manager/ }],
  // freeze
  ['freeze: not frozen passes', { freeze: null }, { kind: 'proceed' }],
  [
    'freeze: frozen refuses with the reason, the end and what to do',
    frozen,
    {
      kind: 'refuse',
      gate: 'freeze',
      reason: /^production is frozen until mon 08:00: weekend — a release manager can `deploy web\/main to production --force`, or wait until mon 08:00$/,
    },
  ],
  [
    'freeze: --force by a release manager passes, recorded as an override',
    { ...frozen, force: true },
    { kind: 'proceed', note: /production is frozen until mon 08:00: weekend; forced through by a release manager \(boss, --force\)/ },
  ],
  [
    'freeze: --force by a developer is refused',
    { ...frozen, ...openDeveloper, force: true },
    { kind: 'refuse', gate: 'freeze', reason: /only a release manager can deploy through a freeze with --force/ },
  ],
  [
    'freeze: a rollback is frozen too',
    { ...frozen, entry: 'rollback', retry: 'rollback web in production' },
    { kind: 'refuse', gate: 'freeze', reason: /`rollback web in production --force`/ },
  ],
  [
    'freeze: an automatic deploy is frozen too',
    { ...frozen, entry: 'auto deploy', actor: { name: 'shepherd', roles: [], system: true } },
    { kind: 'refuse', gate: 'freeze', reason: /frozen/ },
  ],
  ['order: roles before freeze', { ...frozen, ...developer }, { kind: 'refuse', gate: 'roles', reason: /only a/ }],
  ['order: freeze before lock', { ...frozen, lock: lock(null) }, { kind: 'refuse', gate: 'freeze', reason: /frozen/ }],
  // requires
  ['requires: nothing required passes', { promotion: null }, { kind: 'proceed' }],
  ['requires: a SHA that passed staging passes', promotion({ passed: { id: 5 } }), { kind: 'proceed' }],
  [
    'requires: a SHA that did not pass staging is refused, naming the last that did',
    promotion(),
    {
      kind: 'refuse',
      gate: 'requires',
      reason:
        /^production requires staging: bbbbbbb has not succeeded there; the last that did is aaaaaaa \(#4\) — deploy web\/bbbbbbb to staging first, or deploy web\/aaaaaaa to production$/,
    },
  ],
  ['requires: --force does not skip it', { ...promotion(), force: true }, { kind: 'refuse', gate: 'requires', reason: /requires staging/ }],
  ['requires: a rollback is not asked again', { ...promotion(), entry: 'rollback' }, { kind: 'proceed' }],
  ['order: lock before requires', { ...promotion(), lock: lock(null) }, { kind: 'refuse', gate: 'lock', reason: /🔒/ }],
  [
    'order: requires before CI',
    { ...promotion(), ...rules({ require_green_ci: true }), ci: 'failure' },
    { kind: 'refuse', gate: 'requires', reason: /requires staging/ },
  ],
  // lock
  ['lock: free passes', { lock: null }, { kind: 'proceed' }],
  ['lock: held by a deploy passes (the deploy queues)', { lock: lock(7) }, { kind: 'proceed' }],
  [
    'lock: held by hand refuses with who, why and how to free it',
    { lock: lock(null) },
    {
      kind: 'refuse',
      gate: 'lock',
      reason: /🔒 web\/production held by carol since .* — "db migration" — deploys wait until it is unlocked \(`unlock web\/production`\)/,
    },
  ],
  ['lock: --force does not break a lock', { lock: lock(null), force: true }, { kind: 'refuse', gate: 'lock', reason: /unlock web\/production/ }],
  // ci
  ['ci: green passes', { ...rules({ require_green_ci: true }), ci: 'success' }, { kind: 'proceed' }],
  [
    'ci: red refuses and names --force',
    { ...rules({ require_green_ci: true }), ci: 'failure' },
    {
      kind: 'refuse',
      gate: 'ci',
      reason: /^CI for bbbbbbb is red and web\/production requires green CI — wait for it, or `deploy web\/main to production --force` to skip the check$/,
    },
  ],
  ['ci: pending refuses', { ...rules({ require_green_ci: true }), ci: 'pending' }, { kind: 'refuse', gate: 'ci', reason: /still running/ }],
  ['ci: no status refuses', { ...rules({ require_green_ci: true }), ci: 'none' }, { kind: 'refuse', gate: 'ci', reason: /not reported/ }],
  [
    'ci: red with --force passes, recorded as an override',
    { ...rules({ require_green_ci: true }), ci: 'failure', force: true },
    { kind: 'proceed', note: /CI is red: check skipped with --force by boss/ },
  ],
  ['ci: red without require_green_ci passes', { ci: 'failure' }, { kind: 'proceed' }],
  ['ci: unknown (no GitHub) passes with a note', { ...rules({ require_green_ci: true }), ci: null }, { kind: 'proceed', note: /CI not checked/ }],
  ['ci: a rollback is not asked for CI', { ...rules({ require_green_ci: true }), ci: 'failure', entry: 'rollback' }, { kind: 'proceed' }],
  [
    'ci: not known yet (push ship before its push) passes this round',
    { ...rules({ require_green_ci: true }), ci: undefined, sha: null, entry: 'push ship' },
    { kind: 'proceed' },
  ],
  // direction
  ['direction: ahead passes', {}, { kind: 'proceed' }],
  ['direction: same, first and unknown pass', { direction: { kind: 'same' } }, { kind: 'proceed' }],
  [
    'direction: going back asks, naming the commits',
    { direction: behind },
    {
      kind: 'ask',
      gates: ['direction'],
      question:
        /^about to deploy web\/main \(bbbbbbb\) to production on 2 host\(s\): it goes back 2 commits: "fix login", "add banner" \(production runs aaaaaaa\) — answer `yes` within 60s to go on$/,
    },
  ],
  ['direction: a yes passes, noted', { direction: behind, answers: { direction: 'yes' } }, { kind: 'proceed', note: /goes back 2 commits.*confirmed by boss/ }],
  [
    'direction: a no refuses',
    { direction: behind, answers: { direction: 'no' } },
    { kind: 'refuse', gate: 'direction', reason: /^cancelled: not confirmed — web\/production stays on aaaaaaa, nothing was deployed$/ },
  ],
  [
    'direction: --force passes, recorded as an override',
    { direction: behind, force: true },
    { kind: 'proceed', note: /goes back 2 commits.*allowed with --force by boss/ },
  ],
  ['direction: a rollback is the named way back', { direction: behind, entry: 'rollback' }, { kind: 'proceed' }],
  // confirm
  ['confirm: off passes', {}, { kind: 'proceed' }],
  [
    'confirm: on asks',
    rules({ confirm: true }),
    { kind: 'ask', gates: ['confirm'], question: /^about to deploy web\/main \(bbbbbbb\) to production on 2 host\(s\) — answer `yes` within 60s to go on$/ },
  ],
  ['confirm: yes passes', { ...rules({ confirm: true }), answers: { confirm: 'yes' } }, { kind: 'proceed' }],
  ['confirm: no refuses', { ...rules({ confirm: true }), answers: { confirm: 'no' } }, { kind: 'refuse', gate: 'confirm', reason: /cancelled: not confirmed/ }],
  [
    'confirm: timeout refuses',
    { ...rules({ confirm: true }), answers: { confirm: 'timeout' } },
    { kind: 'refuse', gate: 'confirm', reason: /cancelled: no answer in time/ },
  ],
  [
    'confirm: --force does not skip the question',
    { ...rules({ confirm: true }), force: true },
    { kind: 'ask', gates: ['confirm'], question: /about to deploy/ },
  ],
  // approvals
  ['approvals: none configured goes ahead at once', rules({ approvals: 0 }), { kind: 'proceed', approvals: null }],
  [
    'approvals: 2 makes the deploy wait for two, within approval_window',
    rules({ approvals: 2, approval_window: 600_000 }),
    { kind: 'proceed', approvals: { needed: 2, windowMs: 600_000 } },
  ],
  ['approvals: without approval_window the window is 30m', rules({ approvals: 1 }), { kind: 'proceed', approvals: { needed: 1, windowMs: 1_800_000 } }],
  ['approvals: --force does not skip them', { ...rules({ approvals: 1 }), force: true }, { kind: 'proceed', approvals: { needed: 1, windowMs: 1_800_000 } }],
  ['approvals: a PR deploy waits', { ...rules({ approvals: 1 }), entry: 'pr deploy' }, { kind: 'proceed', approvals: { needed: 1, windowMs: 1_800_000 } }],
  [
    'approvals: push ship before its push (no SHA yet) is decided by the round for the pushed head',
    { ...rules({ approvals: 1 }), entry: 'push ship', sha: null, ci: undefined },
    { kind: 'proceed', approvals: null },
  ],
  ['approvals: push ship waits', { ...rules({ approvals: 1 }), entry: 'push ship' }, { kind: 'proceed', approvals: { needed: 1, windowMs: 1_800_000 } }],
  [
    'approvals: an automatic deploy waits',
    { ...rules({ approvals: 1 }), entry: 'auto deploy', actor: { name: 'shepherd', roles: [], system: true } },
    { kind: 'proceed', approvals: { needed: 1, windowMs: 1_800_000 } },
  ],
  [
    'approvals: a rollback goes back to an approved release and does not wait',
    { ...rules({ approvals: 1 }), entry: 'rollback' },
    { kind: 'proceed', approvals: null },
  ],
  [
    'order: a refusal before approvals wins (nobody approves what is refused)',
    { ...rules({ approvals: 1 }), lock: lock(null) },
    { kind: 'refuse', gate: 'lock', reason: /🔒/ },
  ],
  [
    'order: confirmation is asked before the approvals wait',
    rules({ approvals: 1, confirm: true }),
    { kind: 'ask', gates: ['confirm'], question: /^about to deploy web\/main/ },
  ],
  [
    'order: confirmed, it waits for approvals',
    { ...rules({ approvals: 1, confirm: true }), answers: { confirm: 'yes' } },
    { kind: 'proceed', approvals: { needed: 1, windowMs: 1_800_000 } },
  ],
  // order and combination
  ['order: roles before lock', { ...developer, lock: lock(null) }, { kind: 'refuse', gate: 'roles', reason: /only a/ }],
  ['order: lock before CI', { lock: lock(null), ...rules({ require_green_ci: true }), ci: 'failure' }, { kind: 'refuse', gate: 'lock', reason: /🔒/ }],
  [
    'order: a refusal wins over an earlier question',
    { direction: behind, lock: null, ...rules({ confirm: true }), answers: { confirm: 'no' } },
    { kind: 'refuse', gate: 'confirm', reason: /not confirmed/ },
  ],
  [
    'order: going back and confirm are asked once, together',
    { direction: behind, ...rules({ confirm: true }) },
    { kind: 'ask', gates: ['direction', 'confirm'], question: /^about to deploy .*: it goes back 2 commits: .* — answer `yes`/ },
  ],
];

describe('evaluateGates (pure)', () => {
  it.each(TABLE)('%s', (_name, over, want) => {
    const out = evaluateGates(facts(over), GATES);
    expect(out.kind).toBe(want.kind);
    if (want.kind === 'refuse' && out.kind === 'refuse') {
      expect(out.gate).toBe(want.gate);
      expect(out.reason).toMatch(want.reason);
    }
    if (want.kind === 'ask' && out.kind === 'ask') {
      expect(out.gates).toEqual(want.gates);
      expect(out.question).toMatch(want.question);
    }
    if (want.kind === 'proceed' && out.kind === 'proceed' && want.note) {
      expect([...out.notes, ...out.overrides.map((o) => o.what)].join('\n')).toMatch(want.note);
    }
    if (want.kind === 'proceed' && out.kind === 'proceed' && want.approvals !== undefined) expect(out.approvals).toEqual(want.approvals);
  });

  it('keeps GATES in SPEC order (a new gate goes in at its GATE_ORDER place)', () => {
    const positions = GATES.map((g) => GATE_ORDER.indexOf(g.name));
    expect(positions.every((p) => p >= 0)).toBe(true);
    expect([...positions].sort((a, b) => a - b)).toEqual(positions);
  });

  it('reports --force skips as overrides, by gate', () => {
    const out = evaluateGates(facts({ ...rules({ require_green_ci: true }), ci: 'failure', direction: behind, force: true }), GATES);
    expect(out.kind === 'proceed' && out.overrides.map((o) => o.gate)).toEqual(['ci', 'direction']);
  });
});

describe('runGates', () => {
  const audit = () => {
    const rows: AuditDecision[] = [];
    return {
      rows,
      recordDecision: async (d: AuditDecision) => {
        rows.push(d);
        return rows.length;
      },
    };
  };

  it('asks once, re-evaluates with the answer and proceeds on yes; the answer is a decision row of each asking gate', async () => {
    const questions: string[] = [];
    const log = audit();
    const decision = await runGates(facts({ direction: behind, ...rules({ confirm: true }) }), {
      confirm: async (q) => {
        questions.push(q);
        return 'yes' as Answer;
      },
      audit: log,
      who: { userId: 3, identity: 'irc:boss', room: '#deploys' },
    });
    expect(decision).toMatchObject({ ok: true, audited: [1, 2], approvals: null });
    expect(questions).toHaveLength(1);
    expect(log.rows).toMatchObject([
      { command: 'deploy', app: 'web', environment: 'production', gate: 'direction', decision: 'asked', userId: 3, identity: 'irc:boss', room: '#deploys' },
      { gate: 'confirm', decision: 'asked', detail: expect.stringMatching(/^bbbbbbb: about to deploy web\/main .*goes back 2 commits.* → yes$/) },
    ]);
  });

  it('refuses on no, and records the question and the refusal with gate, reason and actor', async () => {
    const log = audit();
    const decision = await runGates(facts(rules({ confirm: true })), { confirm: async () => 'no', audit: log });
    expect(decision).toMatchObject({ ok: false, gate: 'confirm', reason: expect.stringMatching(/not confirmed/) });
    expect(log.rows).toMatchObject([
      { gate: 'confirm', decision: 'asked', detail: expect.stringMatching(/→ no$/) },
      { gate: 'confirm', decision: 'refused', identity: 'boss', detail: expect.stringMatching(/^bbbbbbb: cancelled: not confirmed/) },
    ]);
  });

  it('records every refusal as its gate decision', async () => {
    const log = audit();
    await runGates(facts({ ...frozen, entry: 'auto deploy', actor: { name: 'shepherd', roles: [], system: true } }), { audit: log });
    expect(log.rows).toMatchObject([{ command: 'auto deploy', gate: 'freeze', decision: 'refused', detail: expect.stringMatching(/production is frozen/) }]);
  });

  it('without a way to ask (webhook, auto deploy), an ask refuses with the question as the reason', async () => {
    const decision = await runGates(facts({ direction: behind }));
    expect(decision).toMatchObject({
      ok: false,
      gate: 'direction',
      reason: expect.stringMatching(/^needs a yes that nobody can give here: about to deploy .* goes back 2 commits/),
    });
  });

  it('records overrides, one row per gate; a plain pass writes no row', async () => {
    const log = audit();
    await runGates(facts(), { audit: log });
    expect(log.rows).toEqual([]);
    const forced = await runGates(facts({ ...rules({ require_green_ci: true }), ci: 'failure', ...frozen, force: true }), { audit: log });
    expect(forced).toMatchObject({ ok: true, notes: expect.arrayContaining(['CI is red: check skipped with --force by boss']) });
    expect(log.rows.map((r) => [r.gate, r.decision])).toEqual([
      ['freeze', 'override'],
      ['ci', 'override'],
    ]);
    expect(log.rows[1]?.detail).toBe('bbbbbbb: CI is red: check skipped with --force by boss');
  });

  it('hands the approvals to wait for to the entry point, and records the wait', async () => {
    const log = audit();
    const decision = await runGates(facts(rules({ approvals: 2, approval_window: 600_000 })), { audit: log });
    expect(decision).toMatchObject({ ok: true, approvals: { needed: 2, windowMs: 600_000 }, audited: [1] });
    expect(log.rows).toMatchObject([
      { gate: 'approvals', decision: 'waiting', detail: 'bbbbbbb: waits for 2 approvals by a release manager other than boss, within 10m' },
    ]);
  });
});
