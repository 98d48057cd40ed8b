/**
 * The audit trail: one row per command the bot received (kind "command"), and one per gate decision on a
 * way into an environment (kind "gate": refused, override, asked, proceed), so `audit` and /audit show
 * commands, refusals, gate decisions and overrides in one list.
 *
 *   await audit.record({ userId: 1, identity: 'irc:alice', room: '#deploys', command: 'lock', text: 'lock staging', outcome: 'ok' });
 *   await audit.recordDecision({ userId: 1, app: 'web', environment: 'production', deployId: 12, gate: 'freeze', decision: 'override', detail: 'frozen: weekend' });
 */
import { type MaskText, maskPatterns } from '../deploy/mask.js';
import type { Db } from './db.js';
import { executeSql, joinSql, sql } from './sql.js';

export type Outcome = 'ok' | 'refused' | 'error' | 'unknown';
/**
 * A gate's decision: refused, override (--force through it), asked (a question and its answer), proceed;
 * and the approvals gate's: waiting (N approvals needed), approved (one release manager's), expired.
 */
export type Decision = 'refused' | 'override' | 'asked' | 'proceed' | 'waiting' | 'approved' | 'expired';

export const AUDIT_OUTCOMES = ['ok', 'refused', 'error', 'unknown', 'override', 'asked', 'proceed', 'waiting', 'approved', 'expired'] as const;

export interface AuditEntry {
  userId: number | null;
  identity: string;
  room: string;
  command: string;
  text: string;
  outcome: Outcome;
  detail?: string | null | undefined;
  app?: string | null | undefined;
  environment?: string | null | undefined;
  deployId?: number | null | undefined;
  at?: Date | undefined;
}

export interface GateDecision {
  userId: number | null;
  app: string;
  environment: string;
  deployId?: number | null | undefined;
  /** Which gate decided: roles, freeze, lock, requires, ci, direction, confirm, approvals (GATE_ORDER). */
  gate: string;
  decision: Decision;
  detail: string;
  /** The command that led here (deploy, rollback, push ship, auto-deploy); default 'deploy'. */
  command?: string | undefined;
  /** Where it was asked from, when it came from chat. */
  identity?: string | undefined;
  room?: string | undefined;
  at?: Date | undefined;
}

/** What `audit` and /audit filter on; every field optional, combined with AND. */
export interface AuditFilter {
  userId?: number | undefined;
  /** Rows about this environment: gate decisions for it, and commands whose text names it. */
  environment?: string | undefined;
  /** Rows about this deploy: gate decisions for it, and commands whose text names the id. */
  deployId?: number | undefined;
  outcome?: string | undefined;
  /** Only rows with id below this (paging, newest first). */
  before?: number | undefined;
  limit?: number | undefined;
}

const person = { select: { id: true, name: true, githubLogin: true, identities: { select: { provider: true, externalId: true, handle: true } } } } as const;

export type AuditRow = NonNullable<Awaited<ReturnType<Audit['get']>>>;

/** Rows per INSERT of recordMany. */
const INSERT_ROWS = 500;

const clip = (s: string | null | undefined) => (s == null ? null : s.slice(0, 2000));
const escapeRegExp = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

export class Audit {
  /** `mask`: what users typed and error details are masked before they are stored (a token pasted in chat). */
  constructor(
    private readonly db: Db,
    private readonly mask: MaskText = maskPatterns,
  ) {}

  async record(entry: AuditEntry): Promise<void> {
    await this.db.auditEvent.create({ data: this.commandRow(entry) });
  }

  /** Several command rows in one statement (AuditQueue batches what the bot received meanwhile). */
  async recordMany(entries: readonly AuditEntry[]): Promise<void> {
    // A hand-written INSERT (src/store/sql.ts): Prisma's createMany cost more than the command it records, and
    // its garbage made the collector stop the next commands' replies. At most INSERT_ROWS rows a statement
    // (SQLite allows 32766 bound values).
    for (let start = 0; start < entries.length; start += INSERT_ROWS) {
      const rows = entries.slice(start, start + INSERT_ROWS).map((e) => {
        const r = this.commandRow(e);
        return sql`(${r.kind}, ${r.userId}, ${r.identity}, ${r.room}, ${r.command}, ${r.text}, ${r.outcome}, ${r.detail}, ${r.app}, ${r.environment}, ${r.deployId}, ${r.createdAt})`;
      });
      await executeSql(
        this.db,
        sql`INSERT INTO "AuditEvent" ("kind", "userId", "identity", "room", "command", "text", "outcome", "detail", "app", "environment", "deployId", "createdAt")
            VALUES ${joinSql(rows, ', ')}`,
      );
    }
  }

  private commandRow(entry: AuditEntry) {
    const { at, ...rest } = entry;
    return {
      ...rest,
      kind: 'command',
      text: this.mask(entry.text).slice(0, 2000),
      detail: clip(entry.detail && this.mask(entry.detail)),
      app: entry.app ?? null,
      environment: entry.environment ?? null,
      deployId: entry.deployId ?? null,
      createdAt: at ?? new Date(),
    };
  }

  /** A gate's decision (the gate runner calls this for every refusal, override, question and approval wait); returns its id. */
  async recordDecision(d: GateDecision): Promise<number> {
    const row = await this.db.auditEvent.create({
      data: {
        kind: 'gate',
        userId: d.userId,
        identity: d.identity ?? '',
        room: d.room ?? '',
        command: d.command ?? 'deploy',
        text: `${d.gate}: ${d.decision}`,
        outcome: d.decision,
        detail: clip(d.detail && this.mask(d.detail)),
        app: d.app,
        environment: d.environment,
        deployId: d.deployId ?? null,
        gate: d.gate,
        createdAt: d.at ?? new Date(),
      },
      select: { id: true },
    });
    return row.id;
  }

  /** The gates decided before the deploy was recorded: once it is, its decision rows name it (`audit <deploy-id>`). */
  async linkDeploy(ids: number[], deployId: number): Promise<void> {
    if (ids.length === 0) return;
    await this.db.auditEvent.updateMany({ where: { id: { in: ids }, kind: 'gate', deployId: null }, data: { deployId } });
  }

  async get(id: number) {
    return this.db.auditEvent.findUnique({ where: { id }, include: { user: person } });
  }

  async recent(limit = 20) {
    return this.db.auditEvent.findMany({ orderBy: { id: 'desc' }, take: limit });
  }

  /**
   * Newest first, filtered. A command row has no environment or deploy column of its own, so for those
   * filters its text must name the environment (`production`, `web/production`) or the deploy id as a word.
   * Environment names are case-sensitive keys of shepherd.yml, and so is the match, on every database: SQLite's
   * LIKE ignores ASCII case and PostgreSQL's does not, so SQL only narrows and the word match below decides.
   */
  async query(filter: AuditFilter = {}): Promise<AuditRow[]> {
    const limit = Math.min(Math.max(filter.limit ?? 10, 1), 500);
    const env = filter.environment;
    const id = filter.deployId;
    const envWord = env ? new RegExp(`(^|[\\s/])${escapeRegExp(env)}($|\\s)`) : null;
    const idWord = id !== undefined ? new RegExp(`(^|[\\s#])${id}($|\\s)`) : null;
    const where = {
      ...(filter.userId !== undefined ? { userId: filter.userId } : {}),
      ...(filter.outcome ? { outcome: filter.outcome } : {}),
      AND: [
        ...(env ? [{ OR: [{ environment: env }, { kind: 'command', environment: null, text: { contains: env } }] }] : []),
        ...(id !== undefined ? [{ OR: [{ deployId: id }, { kind: 'command', deployId: null, text: { contains: String(id) } }] }] : []),
      ],
    };
    const keep = (r: AuditRow) =>
      (!envWord || r.environment === env || (r.kind === 'command' && r.command !== 'audit' && envWord.test(r.text))) &&
      (!idWord || r.deployId === id || (r.kind === 'command' && r.command !== 'audit' && idWord.test(r.text)));
    const out: AuditRow[] = [];
    // A text match in SQL may be a substring ("production-eu", "120"): read in pages and keep whole words.
    let before = filter.before;
    for (;;) {
      const rows = await this.db.auditEvent.findMany({
        where: { ...where, ...(before !== undefined ? { id: { lt: before } } : {}) },
        orderBy: { id: 'desc' },
        take: limit * 2,
        include: { user: person },
      });
      for (const r of rows) {
        if (keep(r)) out.push(r);
        if (out.length === limit) return out;
      }
      if (rows.length < limit * 2) return out;
      before = rows[rows.length - 1]!.id;
    }
  }
}
