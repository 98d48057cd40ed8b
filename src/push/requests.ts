/**
 * Pick requests and decisions: `cherry-pick` (looked up on GitHub or in git, refused at low karma), `approve`
 * and `reject` by release managers. Decisions close while the push ships.
 *
 *   const requests = new PushRequests(core);
 *   const { pick } = await requests.request(alice, parseSubject('#12'));
 *   await requests.approve(rm, 'all');
 */
import { Refusal } from '../command.js';
import { stars, who } from '../format.js';
import type { GitHub } from '../github.js';
import type { PickRow, PushRow } from '../store/push.js';
import type { KnownUser } from '../store/users.js';
import { authorOf } from './author.js';
import { type Change, lookUpChange, type Subject } from './change.js';
import { PushPart } from './core.js';
import { pickName, pushName, subjectText } from './messages.js';
import { autoApproval, scoreChange } from './scoring.js';

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

/** '3' or 'p3' → 3. */
export function parsePickId(text: string | undefined): number | null {
  const m = /^p?(\d{1,9})$/i.exec(text ?? '');
  return m ? Number(m[1]) : null;
}

export class PushRequests extends PushPart {
  /** GitHub with the repository to ask about, or null when there is no token (git answers instead). */
  get gitHub(): { api: GitHub; repo: string } | null {
    const api = this.options.github;
    return api && this.options.githubRepo ? { api, repo: this.options.githubRepo } : null;
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
      ask: await this.core.needsAsking(
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
}
