/**
 * The daily push (Facebook's release process): developers request cherry-picks into the current push, release
 * managers approve or reject them seeing size, discussion and the author's karma, `push start` cuts the push
 * branch and asks every author of an approved pick to confirm they are online, the timer reminds and then
 * defers the picks of authors who did not, and `push ship` cherry-picks (-x) the rest onto the branch, pushes
 * it and deploys it. Commands are thin wrappers around this; the timer calls tick().
 *
 *   const push = new PushService({ app: 'web', config, store, clock, repo, notifier });
 *   const { pick } = await push.request(alice, parseSubject('#12'));
 *   await push.approve(rm, 'all'); await push.start(rm, { provider: 'irc', room: '#deploys' });
 *   await push.confirm(alice); const report = await push.ship(rm, { provider: 'irc', room: '#deploys' });
 */
import type { Logger } from 'pino';
import type { Target } from '../adapters/adapter.js';
import { type Clock, Refusal } from '../command.js';
import type { Config } from '../config.js';
import { formatDuration } from '../duration.js';
import { stars, when, who } from '../format.js';
import type { GitHub } from '../github.js';
import type { Store } from '../store/index.js';
import type { PickRow, PushRow } from '../store/push.js';
import type { KnownUser } from '../store/users.js';
import { authorOf } from './author.js';
import { type Change, lookUpChange, type Subject } from './change.js';
import { badRefName } from './git.js';
import { pickName, pushName, subjectText } from './messages.js';
import type { Notifier } from './notifier.js';
import type { PushRepo } from './repo.js';
import { autoApproval, scoreChange } from './scoring.js';

/** Where a command was typed: later messages about the push go there. */
export interface Place {
  provider: string;
  room: string;
}

/** A deploy of the push branch, as recorded; `done` (for one that started) resolves to how it ended. */
export interface PushDeployment {
  id: number;
  note?: string | undefined;
  done?: Promise<string> | undefined;
}

/** The last step of ship: deploy the push branch. Resolves once the deploy is recorded (started or queued). */
export type PushDeploy = (input: {
  app: string;
  environment: string;
  ref: string;
  sha: string;
  requester: KnownUser;
  provider: string;
  room: Target;
  /** Shown in the deploy's start message. */
  notes?: string[];
}) => Promise<PushDeployment>;

export interface PushServiceOptions {
  app: string;
  config: Readonly<Config>;
  store: Store;
  clock: Clock;
  repo: PushRepo;
  /** Absent without GITHUB_TOKEN: git answers instead. */
  github?: GitHub | null | undefined;
  /** owner/name on GitHub (the app's `repo`). */
  githubRepo?: string | undefined;
  notifier?: Notifier | undefined;
  deploy?: PushDeploy | undefined;
  logger?: Logger | undefined;
}

export interface RequestResult {
  push: PushRow;
  pick: PickRow;
  change: Change;
  /** Picks deferred from an earlier push that opened this one with it. */
  carried: PickRow[];
  /** Why the bot approved it (push.auto_approve), or null. */
  autoApproved: string | null;
}

export interface ApproveResult {
  approved: PickRow[];
  skipped: { pick: PickRow; why: string }[];
  /** Authors to ask for `here` now (the push is already confirming and they have not confirmed). */
  ask: PickRow['author'][];
  push: PushRow;
}

export interface StartResult {
  push: PushRow;
  carried: PickRow[];
  approved: PickRow[];
  ask: PickRow['author'][];
  alreadyConfirmed: PickRow['author'][];
}

export interface ConfirmResult {
  push: PushRow;
  already: boolean;
  picks: PickRow[];
  /** The window had closed: these picks of the user were deferred already. */
  deferred: PickRow[];
}

export interface PushStatus {
  push: PushRow | null;
  picks: PickRow[];
  confirmed: PickRow['author'][];
  waiting: PickRow['author'][];
}

export interface ShipReport {
  push: PushRow;
  shipped: PickRow[];
  conflicts: PickRow[];
  deferred: PickRow[];
  headSha: string;
  environment: string | null;
  deploy: PushDeployment | null;
  /** Set when the branch was pushed but the deploy could not be started. */
  deployError: string | null;
}

export interface TickResult {
  reminded: PickRow['author'][];
  deferred: PickRow[];
}

/** Local calendar date, for branch names: 2026-11-22. */
function dateStamp(at: Date): string {
  return `${at.getFullYear()}-${String(at.getMonth() + 1).padStart(2, '0')}-${String(at.getDate()).padStart(2, '0')}`;
}

function uniqueUsers<T extends { id: number }>(users: T[]): T[] {
  const seen = new Map<number, T>();
  for (const u of users) if (!seen.has(u.id)) seen.set(u.id, u);
  return [...seen.values()];
}

/** '3' or 'p3' → 3. */
export function parsePickId(text: string | undefined): number | null {
  const m = /^p?(\d{1,9})$/i.exec(text ?? '');
  return m ? Number(m[1]) : null;
}

export class PushService {
  constructor(readonly options: PushServiceOptions) {}

  get app(): string {
    return this.options.app;
  }

  get repo(): PushRepo {
    return this.options.repo;
  }

  /** GitHub with the repository to ask about, or null when there is no token (git answers instead). */
  get gitHub(): { api: GitHub; repo: string } | null {
    const api = this.options.github;
    return api && this.options.githubRepo ? { api, repo: this.options.githubRepo } : null;
  }

  private get store() {
    return this.options.store.push;
  }

  private now(): Date {
    return this.options.clock.now();
  }

  current(): Promise<PushRow | null> {
    return this.store.current(this.app);
  }

  /** Stars of a user (karma.initial until changed). */
  stars(userId: number): Promise<number> {
    return this.options.store.karma.stars(userId);
  }

  private async refuseIfBlocked(user: Pick<KnownUser, 'id' | 'name' | 'identities'>, role: string, provider?: string): Promise<void> {
    const n = await this.stars(user.id);
    if (n <= this.options.config.karma.block_at) {
      const name = who(user, provider);
      throw new Refusal(
        `${role === 'you' ? 'you have' : `${name} (${role}) has`} ${stars(n)}: picks are paused at ${this.options.config.karma.block_at} stars or fewer — talk to a release manager (they can \`karma reset ${name}\`)`,
      );
    }
  }

  /** `cherry-pick <#PR|sha>`: looks the change up, checks karma, records the request in the current push. */
  async request(requester: KnownUser, subject: Subject, provider?: string): Promise<RequestResult> {
    await this.refuseIfBlocked(requester, 'you', provider);
    const existingPush = await this.current();
    if (existingPush?.state === 'shipping')
      throw new Refusal(`${pushName(existingPush)} is shipping right now — ask again in a minute and your pick goes into the next push`);
    const gh = this.gitHub;
    const change = await lookUpChange({ repo: this.repo, github: gh?.api, githubRepo: gh?.repo }, subject);
    const author = await authorOf(this.options.store.users, change, requester);
    if (author.id !== requester.id) await this.refuseIfBlocked(author, 'the author', provider);
    const risk = await scoreChange({ dir: this.repo.dir, trunk: this.repo.trunk, change, stars: await this.stars(author.id), now: this.now() });
    const { push, carried } = await this.store.openOrCurrent(this.app, this.now());
    const added = await this.store.addPick({
      pushId: push.id,
      subject: change.subject,
      prNumber: change.prNumber,
      sha: change.sha,
      title: change.title,
      url: change.url,
      requesterId: requester.id,
      authorId: author.id,
      authorName: change.authorName,
      additions: change.additions,
      deletions: change.deletions,
      files: change.files,
      comments: change.comments,
      reviewComments: change.reviewComments,
      risk: risk.score,
      riskReasons: risk.reasons.join('\n') || null,
      requestedAt: this.now(),
    });
    if (!added.ok) {
      const e = added.existing;
      throw new Refusal(
        `${subjectText(e)} is already requested for ${pushName(push)} as ${pickName(e)} (${e.state}, by ${who(e.requester, provider)}) — see \`picks\``,
      );
    }
    const why = autoApproval(risk.score, this.options.config.push.auto_approve);
    if (why && (await this.store.movePicks([added.pick.id], ['requested'], 'approved', { decidedAt: this.now(), reason: `approved by the bot: ${why}` })))
      return { push, pick: (await this.store.pick(added.pick.id)) as PickRow, change, carried, autoApproved: why };
    return { push, pick: added.pick, change, carried, autoApproved: null };
  }

  /** `picks`: the current push (or, between pushes, the last one) and its requests. */
  async list(): Promise<{ push: PushRow | null; picks: PickRow[] }> {
    const push = (await this.current()) ?? (await this.store.latest(this.app));
    return { push, picks: push ? await this.store.picks(push.id) : [] };
  }

  private async pickInCurrentPush(id: number): Promise<{ push: PushRow; pick: PickRow }> {
    const pick = await this.store.pick(id);
    if (!pick) throw new Refusal(`there is no pick ${id} — see \`picks\``);
    const push = await this.current();
    if (!push || pick.pushId !== push.id) {
      const owner = await this.store.get(pick.pushId);
      throw new Refusal(
        `${pickName(pick)} belongs to ${owner ? `${pushName(owner)}, which is ${owner.state}` : 'an old push'} — ${pick.state === 'deferred' ? 'it was carried into the next push under a new id; ' : ''}see \`picks\``,
      );
    }
    if (push.state === 'shipping') throw new Refusal(`${pushName(push)} is shipping right now — decisions are closed`);
    return { push, pick };
  }

  private async needsAsking(push: PushRow, authors: PickRow['author'][]): Promise<PickRow['author'][]> {
    if (push.state !== 'confirming') return [];
    const confirmed = new Set((await this.store.confirmations(push.id)).map((c) => c.userId));
    return uniqueUsers(authors).filter((a) => !confirmed.has(a.id));
  }

  /** `approve <id|all>` (release managers). */
  async approve(actor: KnownUser, which: number | 'all'): Promise<ApproveResult> {
    let push: PushRow | null;
    let candidates: PickRow[];
    if (which === 'all') {
      push = await this.current();
      if (!push) throw new Refusal('there is no push going on, so nothing to approve — picks come with `cherry-pick <#PR|sha>`');
      if (push.state === 'shipping') throw new Refusal(`${pushName(push)} is shipping right now — decisions are closed`);
      candidates = await this.store.picks(push.id, ['requested']);
      if (candidates.length === 0) throw new Refusal(`nothing waits for approval in ${pushName(push)} — see \`picks\``);
    } else {
      const found = await this.pickInCurrentPush(which);
      push = found.push;
      candidates = [found.pick];
    }
    const skipped: ApproveResult['skipped'] = [];
    const approved: PickRow[] = [];
    for (const pick of candidates) {
      if (pick.state !== 'requested') {
        skipped.push({ pick, why: `it is ${pick.state}` });
        continue;
      }
      const moved = await this.store.movePicks([pick.id], ['requested'], 'approved', { decidedById: actor.id, decidedAt: this.now(), reason: null });
      if (moved === 1) approved.push((await this.store.pick(pick.id)) as PickRow);
      else skipped.push({ pick, why: 'someone else decided on it just now' });
    }
    if (which !== 'all' && approved.length === 0) throw new Refusal(`${pickName(candidates[0] as PickRow)} cannot be approved: ${skipped[0]?.why}`);
    return {
      approved,
      skipped,
      ask: await this.needsAsking(
        push,
        approved.map((p) => p.author),
      ),
      push,
    };
  }

  /** `reject <id> [reason]` (release managers): a requested or approved pick is out of this push. */
  async reject(actor: KnownUser, id: number, reason: string | undefined): Promise<PickRow> {
    const { pick } = await this.pickInCurrentPush(id);
    const moved = await this.store.movePicks([pick.id], ['requested', 'approved'], 'rejected', {
      decidedById: actor.id,
      decidedAt: this.now(),
      reason: reason ?? null,
    });
    if (moved !== 1) throw new Refusal(`${pickName(pick)} cannot be rejected: it is ${pick.state}`);
    return (await this.store.pick(pick.id)) as PickRow;
  }

  /**
   * `push start [from <branch>]`: cuts `<prefix><date>` from trunk (or the branch given) on the remote, then
   * the push waits for the authors of approved picks to confirm until the window ends.
   */
  async start(actor: KnownUser, place: Place, from?: string): Promise<StartResult> {
    const { config } = this.options;
    const base = from ?? config.push.trunk;
    const bad = badRefName(base);
    if (bad) throw new Refusal(`"${base.slice(0, 60)}" is not a branch name (${bad})`);
    const { push: open, carried } = await this.store.openOrCurrent(this.app, this.now());
    if (open.state !== 'open') throw new Refusal(`${pushName(open)} is already ${open.state} — \`push status\`, or \`push abort\` to end it`);
    await this.repo.sync(true);
    const baseSha = await this.repo.branchSha(base);
    if (!baseSha) throw new Refusal(`the repository has no branch "${base}" — name an existing branch, e.g. \`push start from ${config.push.trunk}\``);
    const now = this.now();
    const branch = await this.freeBranchName(`${config.push.branch_prefix}${dateStamp(now)}`);
    // Claim the push before touching the remote, so two `push start`s cannot both cut a branch.
    const claimed = await this.store.movePush(open.id, ['open'], 'confirming', {
      branch,
      baseRef: base,
      baseSha,
      startedById: actor.id,
      provider: place.provider,
      room: place.room,
      startedAt: now,
      confirmBy: new Date(now.getTime() + config.push.confirm_window),
      remindedAt: now,
    });
    if (!claimed) throw new Refusal(`${pushName(open)} was started by someone else just now — \`push status\``);
    try {
      await this.repo.createBranch(branch, baseSha);
    } catch (err) {
      await this.store.movePush(open.id, ['confirming'], 'open', {
        branch: null,
        baseRef: null,
        baseSha: null,
        startedById: null,
        startedAt: null,
        confirmBy: null,
        remindedAt: null,
      });
      throw new Refusal(`could not create ${branch} on the remote: ${(err as Error).message}`);
    }
    const push = (await this.store.get(open.id)) as PushRow;
    const approved = await this.store.picks(push.id, ['approved']);
    const authors = uniqueUsers(approved.map((p) => p.author));
    const ask = await this.needsAsking(push, authors);
    return { push, carried, approved, ask, alreadyConfirmed: authors.filter((a) => !ask.some((b) => b.id === a.id)) };
  }

  private async freeBranchName(wanted: string): Promise<string> {
    for (let n = 1; n < 100; n++) {
      const name = n === 1 ? wanted : `${wanted}.${n}`;
      if (!(await this.store.branchTaken(this.app, name)) && !(await this.repo.hasBranch(name))) return name;
    }
    throw new Refusal(`too many pushes today (${wanted}.99 exists) — delete old push branches`);
  }

  /** `here`: the user is online to support the current push. */
  async confirm(user: KnownUser): Promise<ConfirmResult> {
    const push = await this.current();
    if (!push) throw new Refusal('there is no push going on — nothing to confirm');
    if (push.state === 'shipping') throw new Refusal(`${pushName(push)} is shipping right now — too late to confirm`);
    const created = await this.store.confirm(push.id, user.id, this.now());
    const mine = (await this.store.picks(push.id)).filter((p) => p.authorId === user.id);
    return { push, already: !created, picks: mine.filter((p) => p.state !== 'deferred'), deferred: mine.filter((p) => p.state === 'deferred') };
  }

  /** `push status`: confirmed and waiting authors, picks in and out. */
  async status(): Promise<PushStatus> {
    const push = (await this.current()) ?? (await this.store.latest(this.app));
    if (!push) return { push: null, picks: [], confirmed: [], waiting: [] };
    const picks = await this.store.picks(push.id);
    const confirmations = await this.store.confirmations(push.id);
    const confirmedIds = new Set(confirmations.map((c) => c.userId));
    const authors = uniqueUsers(picks.filter((p) => p.state === 'approved').map((p) => p.author));
    return {
      push,
      picks,
      confirmed: uniqueUsers(confirmations.map((c) => c.user)),
      waiting: push.state === 'confirming' || push.state === 'open' ? authors.filter((a) => !confirmedIds.has(a.id)) : [],
    };
  }

  /** Picks moved to `deferred`: kept, and carried into the next push as fresh requests. */
  private async defer(picks: PickRow[], reason: string): Promise<PickRow[]> {
    if (picks.length === 0) return [];
    await this.store.movePicks(
      picks.map((p) => p.id),
      ['requested', 'approved'],
      'deferred',
      { reason },
    );
    return (await Promise.all(picks.map((p) => this.store.pick(p.id)))).filter((p): p is PickRow => p?.state === 'deferred');
  }

  /**
   * `push ship [to <env>]`: defers picks of authors who did not confirm (and undecided ones), cherry-picks
   * the approved rest with -x in request order, skipping conflicts, pushes the branch and deploys it.
   */
  async ship(actor: KnownUser, place: Place & { thread?: string | undefined }, environment?: string): Promise<ShipReport> {
    const { config } = this.options;
    const push = await this.current();
    if (!push) throw new Refusal('there is no push going on — `push start` first');
    if (push.state === 'open') throw new Refusal(`${pushName(push)} has not started — \`push start\` cuts the branch and asks authors to confirm`);
    if (push.state !== 'confirming' || !push.branch) throw new Refusal(`${pushName(push)} is ${push.state}`);
    const appConfig = config.apps[this.app];
    const env =
      environment ??
      appConfig?.default_environment ??
      (appConfig && Object.keys(appConfig.environments).length === 1 ? Object.keys(appConfig.environments)[0] : undefined);
    if (appConfig && environment && !appConfig.environments[environment]) {
      throw new Refusal(`${this.app} has no environment "${environment}" — it has: ${Object.keys(appConfig.environments).join(', ')}`);
    }
    if (this.options.deploy && !env) throw new Refusal(`${this.app} has no default_environment — say where: \`push ship to <env>\``);
    if (!(await this.store.movePush(push.id, ['confirming'], 'shipping'))) throw new Refusal(`${pushName(push)} is being shipped by someone else`);
    const branch = push.branch;

    const all = await this.store.picks(push.id);
    const confirmed = new Set((await this.store.confirmations(push.id)).map((c) => c.userId));
    const deferred = [
      ...(await this.defer(
        all.filter((p) => p.state === 'approved' && !confirmed.has(p.authorId)),
        'the author did not confirm',
      )),
      ...(await this.defer(
        all.filter((p) => p.state === 'requested'),
        'not approved before ship',
      )),
    ];
    const toPick = all.filter((p) => p.state === 'approved' && confirmed.has(p.authorId));

    let headSha: string;
    try {
      await this.repo.sync(true);
      const outcomes = await this.repo.cherryPickOnto(
        branch,
        toPick.map((p) => ({ id: p.id, sha: p.sha })),
      );
      for (const o of outcomes) {
        if (o.outcome === 'picked') await this.store.movePicks([o.id], ['approved'], 'picked', { pickedSha: o.pickedSha });
        else if (o.outcome === 'empty') await this.store.movePicks([o.id], ['approved'], 'picked', { reason: 'already on the branch' });
        else await this.store.movePicks([o.id], ['approved'], 'conflict', { conflictFiles: o.files.join('\n') || null, reason: o.error ?? null });
      }
      headSha = await this.repo.pushBranch(branch);
    } catch (err) {
      // Nothing reached the remote: put the push back so the release manager can retry.
      await this.store.movePicks(
        toPick.map((p) => p.id),
        ['picked', 'conflict'],
        'approved',
        { pickedSha: null, conflictFiles: null, reason: null },
      );
      await this.store.movePush(push.id, ['shipping'], 'confirming');
      throw new Refusal(`ship stopped, nothing was pushed: ${(err as Error).message.split('\n')[0]} — fix it and \`push ship\` again`);
    }

    const picked = await this.store.picks(push.id, ['picked']);
    await this.store.movePicks(
      picked.map((p) => p.id),
      ['picked'],
      'shipped',
    );
    await this.store.movePush(push.id, ['shipping'], 'shipped', { headSha, endedAt: this.now() });

    let deploy: ShipReport['deploy'] = null;
    let deployError: string | null = null;
    if (this.options.deploy && env) {
      try {
        const shippedNow = await this.store.picks(push.id, ['shipped']);
        const notes = [`${pushName(push)}: ${shippedNow.length ? shippedNow.map((p) => `${pickName(p)} ${subjectText(p)}`).join(', ') : 'no picks'}`];
        deploy = await this.options.deploy({
          app: this.app,
          environment: env,
          ref: branch,
          sha: headSha,
          requester: actor,
          provider: place.provider,
          room: { room: place.room, thread: place.thread },
          notes,
        });
        await this.store.updatePush(push.id, { deployId: deploy.id, environment: env });
      } catch (err) {
        deployError = (err as Error).message.split('\n')[0] ?? 'unknown error';
        this.options.logger?.error({ err, push: push.id }, 'push deploy failed to start');
      }
    }
    const final = await this.store.picks(push.id);
    return {
      push: (await this.store.get(push.id)) as PushRow,
      shipped: final.filter((p) => p.state === 'shipped'),
      conflicts: final.filter((p) => p.state === 'conflict'),
      deferred,
      headSha,
      environment: env ?? null,
      deploy,
      deployError,
    };
  }

  /** `push abort`: ends the push; undecided and approved picks are kept for the next one. */
  async abort(): Promise<{ push: PushRow; kept: PickRow[] }> {
    const push = await this.current();
    if (!push) throw new Refusal('there is no push going on');
    if (push.state === 'shipping') throw new Refusal(`${pushName(push)} is shipping right now — it cannot be aborted midway`);
    if (!(await this.store.movePush(push.id, ['open', 'confirming'], 'aborted', { endedAt: this.now() })))
      throw new Refusal(`${pushName(push)} changed just now — \`push status\``);
    const kept = await this.defer(await this.store.picks(push.id, ['requested', 'approved']), 'the push was aborted');
    return { push: (await this.store.get(push.id)) as PushRow, kept };
  }

  /**
   * The timer's work, safe to call any time and idempotent: while a push is confirming, remind authors who
   * have not confirmed every reminder_interval, and when the window has ended defer their picks (once).
   */
  async tick(): Promise<TickResult> {
    const result: TickResult = { reminded: [], deferred: [] };
    const push = await this.current();
    if (push?.state !== 'confirming' || push.deferredAt || !push.confirmBy) return result;
    const { config } = this.options;
    const now = this.now();
    const approved = await this.store.picks(push.id, ['approved']);
    const waiting = await this.needsAsking(
      push,
      approved.map((p) => p.author),
    );
    const notifier = this.options.notifier;
    const place = push.provider && push.room ? { provider: push.provider, target: { room: push.room } } : null;
    const say = async (text: string) => {
      if (!notifier || !place) return;
      await notifier.say(place.provider, place.target, text).catch((err) => this.options.logger?.error({ err }, 'push notice failed'));
    };
    const mention = (u: PickRow['author']) => (notifier && place ? notifier.mention(place.provider, u) : u.name);

    if (now.getTime() >= push.confirmBy.getTime()) {
      // Close the window exactly once, even if two ticks race.
      if (!(await this.store.closeWindow(push.id, now))) return result;
      const waitingIds = new Set(waiting.map((w) => w.id));
      result.deferred = await this.defer(
        approved.filter((p) => waitingIds.has(p.authorId)),
        'the author did not confirm in time',
      );
      if (result.deferred.length > 0) {
        const byAuthor = uniqueUsers(result.deferred.map((p) => p.author)).map((a) => {
          const theirs = result.deferred.filter((p) => p.authorId === a.id).map((p) => pickName(p));
          return `${mention(a)} (${theirs.join(', ')})`;
        });
        await say(
          `⏰ the confirmation window of ${pushName(push)} closed: deferred to the next push, because their authors did not say \`here\`: ${byAuthor.join(', ')}. They stay requested for the next push.`,
        );
      } else {
        await say(`⏰ the confirmation window of ${pushName(push)} closed: every author confirmed — ready to \`push ship\``);
      }
      return result;
    }

    const since = push.remindedAt ?? push.startedAt ?? push.createdAt;
    if (waiting.length > 0 && now.getTime() - since.getTime() >= config.push.reminder_interval) {
      await this.store.updatePush(push.id, { remindedAt: now });
      result.reminded = waiting;
      const left = formatDuration(push.confirmBy.getTime() - now.getTime());
      await say(
        `⏳ ${waiting.map(mention).join(' ')}: ${pushName(push)} is waiting for you — say \`here\` to confirm you are online to support it (${left} left, until ${when(push.confirmBy, now)}); otherwise your picks are deferred to the next push`,
      );
    }
    return result;
  }

  /** Calls tick() every `everyMs` on the given timers (real ones by default); returns the function that stops it. */
  startTicking(everyMs: number, timers: Timers = realTimers): () => void {
    let running: Promise<void> | null = null;
    return timers.every(everyMs, () => {
      // A slow database must not pile ticks up: one at a time.
      running ??= this.tick()
        .then(() => undefined)
        .catch((err) => {
          this.options.logger?.error({ err }, 'push timer failed');
        })
        .finally(() => {
          running = null;
        });
      return running;
    });
  }
}

/** The timer seam: tests pass one they fire by hand after moving the clock. */
export interface Timers {
  /** Calls fn every ms; returns the function that stops it. fn's promise lets a test await a tick it fired. */
  every(ms: number, fn: () => Promise<void>): () => void;
}

export const realTimers: Timers = {
  every(ms, fn) {
    const handle = setInterval(() => void fn(), ms);
    handle.unref?.();
    return () => clearInterval(handle);
  },
};
