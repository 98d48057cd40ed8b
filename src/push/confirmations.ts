/**
 * Confirmations and reminders: `push start` cuts the branch and the push waits for the authors of approved
 * picks to say `here`; the timer (tick) reminds those who have not, and when the window ends defers their picks.
 *
 *   const confirmations = new PushConfirmations(core);
 *   await confirmations.start(rm, { provider: 'irc', room: '#deploys' }); await confirmations.confirm(alice);
 *   const stop = confirmations.startTicking(15_000);
 */
import { Refusal } from '../command.js';
import { formatDuration } from '../duration.js';
import { when } from '../format.js';
import type { PickRow, PushRow } from '../store/push.js';
import type { KnownUser } from '../store/users.js';
import { type Place, PushPart, uniqueUsers } from './core.js';
import { badRefName } from './git.js';
import { pickName, pushName } from './messages.js';

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

export interface TickResult {
  reminded: PickRow['author'][];
  deferred: PickRow[];
}

/** Local calendar date, for branch names: 2026-11-22. */
function dateStamp(at: Date): string {
  return `${at.getFullYear()}-${String(at.getMonth() + 1).padStart(2, '0')}-${String(at.getDate()).padStart(2, '0')}`;
}

export class PushConfirmations extends PushPart {
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
    const ask = await this.core.needsAsking(push, authors);
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
    const waiting = await this.core.needsAsking(
      push,
      approved.map((p) => p.author),
    );
    const say = (text: string) => this.core.tell(push, text);
    const mention = (u: PickRow['author']) => this.core.mention(push, u);

    if (now.getTime() >= push.confirmBy.getTime()) {
      // Close the window exactly once, even if two ticks race.
      if (!(await this.store.closeWindow(push.id, now))) return result;
      const waitingIds = new Set(waiting.map((w) => w.id));
      result.deferred = await this.core.defer(
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
      // Several instances tick on one database: only the one whose claim wins says it.
      if (!(await this.store.claimReminder(push.id, push.remindedAt, now))) return result;
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
