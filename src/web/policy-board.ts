/**
 * What the viewer shows of the release policy: freezes in force and coming up, each environment's URL and
 * promotion order, and the audit trail as JSON-ready rows. Read-only.
 *
 *   const board = await policyBoard(store, config, now); // { freezes: { active, upcoming }, environments }
 *   const { events } = await auditEvents(store, redactor, { environment: 'production', limit: 50 });
 */
import type { Config } from '../config.js';
import { who } from '../format.js';
import { activeFreeze, upcomingFreezes } from '../policy/freeze-window.js';
import { storedFreezes } from '../policy/freeze.js';
import { promotionOrder } from '../policy/promotion.js';
import type { AuditFilter } from '../store/audit.js';
import type { Store } from '../store/index.js';
import type { Redactor } from './redact.js';

export type PolicyConfig = Pick<Config, 'apps' | 'freezes' | 'timezone'>;

export interface PolicyBoard {
  timezone: string;
  freezes: {
    active: { environment: string; reason: string; until: Date | null; source: 'config' | 'chat'; by: string | null }[];
    upcoming: { environments: readonly string[]; reason: string; from: Date; until: Date }[];
  };
  environments: { app: string; environment: string; url: string | null; requires: string | null }[];
}

export async function policyBoard(store: Store, config: PolicyConfig, now: Date): Promise<PolicyBoard> {
  const stored = await storedFreezes(store, now);
  const environments = Object.entries(config.apps).flatMap(([app, a]) =>
    promotionOrder(a.environments).map((environment) => ({
      app,
      environment,
      url: a.environments[environment]?.url ?? null,
      requires: a.environments[environment]?.requires ?? null,
    })),
  );
  const names = [...new Set([...environments.map((e) => e.environment), ...stored.map((s) => s.environment)])].sort();
  const active = names.flatMap((environment) => {
    const f = activeFreeze({ freezes: config.freezes, stored, environment, now, timezone: config.timezone });
    return f ? [{ environment, reason: f.reason, until: f.until, source: f.source, by: f.by ?? null }] : [];
  });
  return {
    timezone: config.timezone,
    freezes: { active, upcoming: upcomingFreezes({ freezes: config.freezes, now, timezone: config.timezone }) },
    environments,
  };
}

export interface AuditEventView {
  id: number;
  kind: string;
  at: Date;
  user: string | null;
  identity: string;
  room: string;
  command: string;
  text: string;
  outcome: string;
  detail: string | null;
  app: string | null;
  environment: string | null;
  deployId: number | null;
  gate: string | null;
}

/** Audit rows newest first, masked like log lines (a token typed into chat stays hidden). */
export async function auditEvents(store: Store, redactor: Redactor, filter: AuditFilter): Promise<AuditEventView[]> {
  const rows = await store.audit.query(filter);
  return rows.map((r) => ({
    id: r.id,
    kind: r.kind,
    at: r.createdAt,
    user: r.user ? who(r.user) : null,
    identity: r.identity,
    room: r.room,
    command: r.command,
    text: redactor.line(r.text),
    outcome: r.outcome,
    detail: r.detail === null ? null : redactor.line(r.detail),
    app: r.app,
    environment: r.environment,
    deployId: r.deployId,
    gate: r.gate,
  }));
}
