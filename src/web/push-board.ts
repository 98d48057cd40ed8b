/**
 * The dashboard's window on the current push: read from the push workflow registered as `services.push`
 * (its status(): picks with risk score, size, discussion, author stars, confirmations). Without a push open (or without
 * the workflow) the dashboard says "no push open".
 *
 *   const source = pushBoardSource(services, config.push.risk);
 *   const board = source ? await source.board() : null;
 */
import { who } from '../format.js';
import { byRisk } from '../push/messages.js';
import { assessRisk, type RiskThresholds } from '../push/risk.js';
import type { PushService, PushTally } from '../push/service.js';

export interface PushPick {
  id: number | string;
  /** '#123 Fix login' or a short SHA and subject. */
  title: string;
  author: string;
  /** Push karma, 1..5; null when unknown. */
  stars: number | null;
  /** Lines changed (added + removed); null when unknown. */
  lines: number | null;
  /** Review comments; null when unknown (no GitHub). */
  comments: number | null;
  /** requested | approved | rejected | picked | deferred | conflict ... */
  state: string;
  /** Whether the author confirmed they are online for the push. */
  confirmed: boolean;
  risky?: boolean;
  /** Risk score 0..100 and its leading reasons (src/push/risk.ts); absent or null for unscored picks. */
  risk?: number | null;
  riskReasons?: string[];
}

export interface PushBoard {
  branch: string;
  state: string;
  startedAt?: Date | null;
  manager?: string | null;
  /** When unconfirmed authors' picks get deferred. */
  confirmDeadline?: Date | null;
  picks: PushPick[];
  /** This push and the ones before it, each with its picks requested / approved / conflicted / shipped. */
  pushes?: PushTally[];
}

export interface PushBoardSource {
  board(): Promise<PushBoard | null>;
}

/** The part of the push workflow (src/push/service.ts) the board reads. */
type PushStatusSource = Pick<PushService, 'status' | 'stars'> & Partial<Pick<PushService, 'recent'>>;

/** The current push (or, between pushes, the last one while it is not over) as the dashboard shows it. */
export async function boardFromPushService(push: PushStatusSource, risk: RiskThresholds): Promise<PushBoard | null> {
  const status = await push.status();
  if (!status.push || ['shipped', 'aborted'].includes(status.push.state)) return null;
  const confirmed = new Set(status.confirmed.map((u) => u.id));
  const stars = new Map<number, number>();
  for (const id of new Set(status.picks.map((p) => p.authorId))) stars.set(id, await push.stars(id));
  const pushes = push.recent ? await push.recent(5) : [];
  return {
    pushes,
    branch: status.push.branch ?? '(not cut yet)',
    state: status.push.state,
    startedAt: status.push.startedAt,
    confirmDeadline: status.push.confirmBy,
    // Highest risk first, as `picks` lists them.
    picks: byRisk(status.picks).map((p) => {
      const r = assessRisk(p, risk);
      return {
        id: p.id,
        title: `${p.prNumber ? `#${p.prNumber}` : p.sha.slice(0, 7)} ${p.title}`,
        author: who(p.author),
        stars: stars.get(p.authorId) ?? null,
        lines: r.lines,
        comments: r.discussion,
        state: p.state,
        confirmed: confirmed.has(p.authorId),
        risky: r.lookClosely,
        risk: p.risk,
        riskReasons: p.riskReasons ? p.riskReasons.split('\n') : [],
      };
    }),
  };
}

/** The part of the bot's Services the board reads (src/services.ts): the push workflow, or anything with board(). */
export interface PushBoardServices {
  push?: (Partial<PushBoardSource> & Partial<PushStatusSource>) | undefined;
}

/**
 * What fills the board: services.push.board() if the push workflow offers one, else its status() read
 * through boardFromPushService, else null (no push workflow).
 */
export function pushBoardSource(services: PushBoardServices | undefined, risk: RiskThresholds = { lines: 200, comments: 10 }): PushBoardSource | null {
  const push = services?.push;
  if (!push) return null;
  if (typeof push.board === 'function') return push as PushBoardSource;
  if (typeof push.status === 'function' && typeof push.stars === 'function') return { board: () => boardFromPushService(push as PushStatusSource, risk) };
  return null;
}
