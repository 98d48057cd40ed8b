/**
 * What the viewer reads from the database: deploys with hosts, log pages, locks, on-call. Read-only, shaped
 * for pages and the JSON API alike (dates stay Dates; the API serialises them as ISO strings).
 *
 *   const rm = new ReadModel(store, new Redactor(secrets));
 *   const page = await rm.lines(42, { after: 0, limit: 1000 });
 */
import type { DeployState, HostState, LogStream } from '../deploy/events.js';
import { who } from '../format.js';
import type { Store } from '../store/index.js';
import type { LineRow } from '../store/log-lines.js';
import type { Redactor } from './redact.js';

export const DEPLOY_STATES: readonly DeployState[] = [
  'awaiting_approval',
  'queued',
  'running',
  'validating',
  'succeeded',
  'failed',
  'cancelled',
  'interrupted',
];
export const ACTIVE_STATES: readonly DeployState[] = ['awaiting_approval', 'queued', 'running', 'validating'];

export function isActive(state: string): boolean {
  return (ACTIVE_STATES as readonly string[]).includes(state);
}

export interface DeploySummary {
  id: number;
  app: string;
  environment: string;
  ref: string;
  sha: string;
  kind: string;
  state: string;
  requester: string;
  error: string | null;
  hostCount: number;
  createdAt: Date;
  startedAt: Date | null;
  finishedAt: Date | null;
  /** finished − started, or so far while it runs; null before it starts. */
  durationMs: number | null;
}

export interface HostRow {
  host: string;
  port: number;
  user: string | null;
  stage: number;
  state: HostState | string;
  error: string | null;
  startedAt: Date | null;
  finishedAt: Date | null;
  durationMs: number | null;
}

export interface DeployDetail extends DeploySummary {
  previousSha: string | null;
  releaseId: string;
  /** GitHub refused the deployment's final status (after retries): GitHub shows a stale state. */
  githubNotUpdated: boolean;
  hosts: HostRow[];
  /** Highest stored line seq (0 when none is stored yet). */
  lineCount: number;
  /** `approvals` of its environment when asked (0: none) and who approved, oldest first. */
  approvalsNeeded: number;
  approvedBy: string[];
}

export type { LineRow };

/** `host`: a host name, or BOT_HOST for the bot's own lines (stored with host null). */
export interface LinesQuery {
  after: number;
  limit: number;
  host?: string | undefined;
}

/** How the API and the filter name the bot's own lines (host null in the database). */
export const BOT_HOST = '-';

export interface LockRow {
  app: string;
  environment: string;
  holder: string;
  reason: string | null;
  deployId: number | null;
  since: Date;
}

export interface OnCallRow {
  team: string;
  now: { name: string; kind: string; until: Date | null } | null;
  next: { name: string; from: Date | null } | null;
}

const requesterSelect = { select: { name: true, identities: { select: { provider: true, externalId: true, handle: true } } } } as const;

function span(start: Date | null, end: Date | null, now: Date): number | null {
  if (!start) return null;
  return Math.max(0, (end ?? now).getTime() - start.getTime());
}

export class ReadModel {
  constructor(
    private readonly store: Store,
    private readonly redactor: Redactor,
    private readonly now: () => Date = () => new Date(),
  ) {}

  private mask(text: string | null): string | null {
    return text === null ? null : this.redactor.text(text);
  }

  private get db() {
    return this.store.db;
  }

  async deploys(filter: {
    app?: string | undefined;
    environment?: string | undefined;
    state?: string | undefined;
    before?: number | undefined;
    limit: number;
  }): Promise<DeploySummary[]> {
    const rows = await this.db.deploy.findMany({
      where: {
        ...(filter.app ? { app: filter.app } : {}),
        ...(filter.environment ? { environment: filter.environment } : {}),
        ...(filter.state ? { state: filter.state } : {}),
        ...(filter.before ? { id: { lt: filter.before } } : {}),
      },
      orderBy: { id: 'desc' },
      take: filter.limit,
      include: { requester: requesterSelect, _count: { select: { hosts: true } } },
    });
    const now = this.now();
    return rows.map((d) => ({
      id: d.id,
      app: d.app,
      environment: d.environment,
      ref: d.ref,
      sha: d.sha,
      kind: d.kind,
      state: d.state,
      requester: who(d.requester),
      error: this.mask(d.error),
      hostCount: d._count.hosts,
      createdAt: d.createdAt,
      startedAt: d.startedAt,
      finishedAt: d.finishedAt,
      durationMs: span(d.startedAt, d.finishedAt, now),
    }));
  }

  async activeDeploys(): Promise<DeploySummary[]> {
    const all = await Promise.all(ACTIVE_STATES.map((state) => this.deploys({ state, limit: 100 })));
    return all.flat().sort((a, b) => a.id - b.id);
  }

  async deploy(id: number): Promise<DeployDetail | null> {
    const d = await this.db.deploy.findUnique({
      where: { id },
      include: {
        requester: requesterSelect,
        hosts: { orderBy: [{ stage: 'asc' }, { id: 'asc' }] },
        approvals: { orderBy: { id: 'asc' }, include: { user: requesterSelect } },
      },
    });
    if (!d) return null;
    const now = this.now();
    return {
      id: d.id,
      app: d.app,
      environment: d.environment,
      ref: d.ref,
      sha: d.sha,
      previousSha: d.previousSha,
      releaseId: d.releaseId,
      githubNotUpdated: d.githubNotUpdated,
      kind: d.kind,
      state: d.state,
      requester: who(d.requester),
      error: this.mask(d.error),
      hostCount: d.hosts.length,
      createdAt: d.createdAt,
      startedAt: d.startedAt,
      finishedAt: d.finishedAt,
      durationMs: span(d.startedAt, d.finishedAt, now),
      lineCount: await this.lineCount(id),
      approvalsNeeded: d.approvalsNeeded,
      approvedBy: d.approvals.map((a) => who(a.user)),
      hosts: d.hosts.map((h) => ({
        host: h.host,
        port: h.port,
        user: h.user,
        stage: h.stage,
        state: h.state,
        error: this.mask(h.error),
        startedAt: h.startedAt,
        finishedAt: h.finishedAt,
        durationMs: span(h.startedAt, h.finishedAt, now),
      })),
    };
  }

  async exists(id: number): Promise<{ state: string } | null> {
    return this.db.deploy.findUnique({ where: { id }, select: { state: true } });
  }

  async lineCount(deployId: number): Promise<number> {
    return this.store.logs.lastSeq(deployId);
  }

  /** Lines with seq > after, in order, at most limit; optionally one host's (or the bot's) only. */
  async lines(deployId: number, query: LinesQuery): Promise<LineRow[]> {
    const host = query.host === undefined ? undefined : query.host === BOT_HOST ? null : query.host;
    return this.store.logs.page(deployId, { after: query.after, limit: query.limit, host });
  }

  async locks(): Promise<LockRow[]> {
    const locks = await this.store.locks.list();
    return locks.map((l) => ({ app: l.app, environment: l.environment, holder: who(l.holder), reason: l.reason, deployId: l.deployId, since: l.createdAt }));
  }

  /** Every team with a shift, plus the teams named in shepherd.yml. */
  async oncall(configTeams: readonly string[] = []): Promise<OnCallRow[]> {
    const now = this.now();
    const teams = await this.store.oncall.teams(configTeams);
    return Promise.all(
      teams.map(async (team) => {
        const l = await this.store.oncall.lookup(team, now);
        return {
          team,
          now: l.now ? { name: who(l.now.user), kind: l.now.kind, until: l.now.endsAt } : null,
          next: l.next ? { name: who(l.next.user), from: l.nextAt } : null,
        };
      }),
    );
  }
}
