/**
 * "Where is my rev?" — `status <sha|branch|#PR>`: CI state, whether trunk has it, which push has it (and the
 * pick's state), and which environments run a release containing it, since when. A cherry-picked copy on a
 * push branch counts as the change: `git cherry-pick -x` records the original SHA in the copy's message.
 *
 *   const text = await whereIs(push, { store, clock, provider: 'irc' }, '9fceb02');
 */
import { Refusal } from '../command.js';
import { configEntry } from '../config.js';
import { ago, when } from '../format.js';
import type { Store } from '../store/index.js';
import type { PickRow, PushRow } from '../store/push.js';
import { badRefName, looksLikeSha } from './git.js';
import { pickName, pushName, short } from './messages.js';
import type { PushService } from './service.js';

export interface WhereContext {
  store: Store;
  clock: { now(): Date };
  provider?: string;
}

interface Resolved {
  sha: string;
  /** How the user named it, when that was not the SHA itself: 'branch main', 'PR #12'. */
  via: string | null;
  /** The pull request it came from, when known (asked by #PR, or recorded with a pick). */
  pr?: number | undefined;
}

/** Turns what the user typed into a commit of the push repository; null when it names nothing there. */
async function resolveRev(push: PushService, ctx: WhereContext, rev: string): Promise<Resolved | { pr: number; note: string; headSha?: string } | null> {
  const repo = push.repo;
  const pr = /^#(\d{1,9})$/.exec(rev);
  if (pr) {
    const n = Number(pr[1]);
    // A PR someone asked to cherry-pick: its commit is recorded.
    const picked = await ctx.store.push.picksOfPr(n, push.app);
    if (picked[0]) return { sha: picked[0].sha, via: `PR #${n}`, pr: n };
    const gh = push.gitHub;
    if (gh) {
      const data = await gh.api.pullRequest(gh.repo, n);
      if (!data) throw new Refusal(`${gh.repo} has no pull request #${n}`);
      if (data.merged && data.mergeCommitSha) return { sha: data.mergeCommitSha, via: `PR #${n} "${data.title}"`, pr: n };
      return {
        pr: n,
        note: `PR #${n} "${data.title}" is ${data.state} and not merged — its head is ${short(data.headSha)}; it is in no branch of the push until it merges`,
        headSha: data.headSha,
      };
    }
    const sha = await repo.findPullRequest(n);
    if (sha) return { sha, via: `PR #${n}`, pr: n };
    throw new Refusal(
      `I cannot look up PR #${n}: there is no GITHUB_TOKEN and no commit in ${repo.trunk} says "Merge pull request #${n}" or "(#${n})" — ask with the SHA or the branch instead`,
    );
  }
  if (!looksLikeSha(rev) && badRefName(rev) !== null) throw new Refusal(`"${rev.slice(0, 60)}" is not a SHA, a branch or #PR`);
  const sha = await repo.resolve(rev);
  if (!sha) return null;
  return { sha, via: looksLikeSha(rev) && sha.startsWith(rev.toLowerCase()) ? null : `branch ${rev}` };
}

/** The lines of the answer. Unknown revisions are an answer too, not an error. */
export async function whereIs(push: PushService, ctx: WhereContext, rev: string): Promise<string> {
  const repo = push.repo;
  await repo.sync();
  let found = await resolveRev(push, ctx, rev);
  if (found === null) {
    // Maybe it was pushed a moment ago: fetch for real once before saying no.
    await repo.sync(true);
    found = await resolveRev(push, ctx, rev);
  }
  if (found === null) return `❓ I don't know ${rev}: no such commit, branch or tag in the ${push.app} repository (fetched just now)`;
  const gh = push.gitHub;
  if ('note' in found) {
    // An open PR: where it stands before it can be anywhere (its reviews and its head's CI).
    const lines = [`📍 ${found.note}`];
    if (gh) lines.push(await reviewLine(gh, found.pr), ...(found.headSha ? [await ciLine(gh, found.headSha)] : []));
    return lines.join('\n');
  }
  const { sha, via } = found;
  const now = ctx.clock.now();
  const info = await repo.commitInfo(sha);
  const lines = [`📍 ${short(sha)} "${info.subject}" by ${info.authorName}${via ? ` (${via})` : ''}`];

  // Reviews (when it came from a PR) and CI, check by check.
  if (gh) {
    const pr = found.pr ?? (await ctx.store.push.picksOfCommit(sha)).find((p) => p.prNumber)?.prNumber ?? (await prOfCommit(gh, sha));
    if (pr) lines.push(await reviewLine(gh, pr));
    lines.push(await ciLine(gh, sha));
  } else {
    lines.push('  CI: unknown (no GITHUB_TOKEN)');
  }

  // Trunk
  const trunk = repo.trunk;
  const trunkRef = `refs/remotes/origin/${trunk}`;
  lines.push(`  ${trunk}: ${(await repo.isAncestor(sha, trunkRef)) ? 'yes, it is in trunk' : 'not in trunk'}`);

  // Pushes: recorded picks of this commit, then push branches that contain it (cut after it landed).
  const picks = await ctx.store.push.picksOfCommit(sha);
  const copies = new Set(picks.map((p) => p.pickedSha).filter((s): s is string => Boolean(s)));
  const mentioned = new Set<number>();
  for (const pick of picks) {
    if (mentioned.has(pick.pushId)) continue;
    mentioned.add(pick.pushId);
    lines.push(`  ${pushName(pick.push)} [${pick.push.state}]: ${pickText(pick)}`);
  }
  for (const p of await ctx.store.push.withBranches(push.app, 10)) {
    if (mentioned.has(p.id) || !p.branch) continue;
    const branchRef = `refs/remotes/origin/${p.branch}`;
    if (await repo.isAncestor(sha, branchRef)) {
      mentioned.add(p.id);
      lines.push(`  ${pushName(p)} [${p.state}]: on the branch since it was cut`);
      continue;
    }
    const picked = await repo.picksOf(sha, branchRef);
    if (picked.length > 0) {
      mentioned.add(p.id);
      for (const c of picked) copies.add(c);
      lines.push(`  ${pushName(p)} [${p.state}]: cherry-picked as ${short(picked[0])}`);
    }
  }
  if (mentioned.size === 0) lines.push('  pushes: in none');

  // Environments: the newest successful deploy per environment is what runs there.
  const deploys = await ctx.store.db.deploy.findMany({ where: { app: push.app, state: 'succeeded' }, orderBy: { id: 'desc' }, take: 200 });
  const contains = new Map<string, boolean>();
  const has = async (deploySha: string) => {
    let answer = contains.get(deploySha);
    if (answer === undefined) {
      answer = (await repo.isAncestor(sha, deploySha)) || (await anyAncestor(repo, [...copies], deploySha)) || (await repo.picksOf(sha, deploySha)).length > 0;
      contains.set(deploySha, answer);
    }
    return answer;
  };
  const environments = [...new Set(deploys.map((d) => d.environment))];
  const configured = Object.keys(configEntry(push.options.config.apps, push.app)?.environments ?? {});
  for (const env of [...new Set([...configured, ...environments])]) {
    const history = deploys.filter((d) => d.environment === env);
    const running = history[0];
    if (!running) {
      lines.push(`  ${env}: nothing deployed yet`);
      continue;
    }
    // Every time it reached the environment and left it again (a rollback, or a deploy without it), oldest first.
    const moves: { kind: 'reached' | 'left'; deploy: (typeof history)[number] }[] = [];
    let inside = false;
    for (const d of [...history].reverse()) {
      const contained = await has(d.sha);
      if (contained !== inside) moves.push({ kind: contained ? 'reached' : 'left', deploy: d });
      inside = contained;
    }
    const at = (d: (typeof history)[number]) => d.finishedAt ?? d.startedAt ?? d.createdAt;
    const trail =
      moves.some((m) => m.kind === 'left') && moves.length > 1
        ? ` — ${moves.map((m) => `${m.kind} ${when(at(m.deploy), now)} (deploy #${m.deploy.id}${m.deploy.kind === 'rollback' ? ', rollback' : ''})`).join(', ')}`
        : '';
    const last = moves.at(-1);
    if (!inside || !last) {
      const left =
        last?.kind === 'left'
          ? ` since ${when(at(last.deploy), now)} (${last.deploy.kind === 'rollback' ? 'rolled back' : 'replaced'} by deploy #${last.deploy.id})`
          : '';
      lines.push(`  ${env}: not there${left} — it runs ${short(running.sha)} (deploy #${running.id})${trail}`);
      continue;
    }
    // Since the deploy that brought it last.
    const since = last.deploy;
    lines.push(
      `  ${env}: running it since ${when(at(since), now)} (${ago(at(since), now)}, deploy #${since.id}${since.id !== running.id ? `; now deploy #${running.id}` : ''})${trail}`,
    );
  }
  if (deploys.length === 0 && configured.length === 0) lines.push('  environments: no deploys recorded');
  return lines.join('\n');
}

type Gh = NonNullable<PushService['gitHub']>;

/** "  review: approved" — or why it could not be read. */
async function reviewLine(gh: Gh, pr: number): Promise<string> {
  try {
    return `  review (PR #${pr}): ${await gh.api.reviewState(gh.repo, pr)}`;
  } catch (err) {
    return `  review (PR #${pr}): could not ask GitHub (${(err as Error).message})`;
  }
}

/** "  CI: failure — build: success, lint: failure" — or why it could not be read. */
async function ciLine(gh: Gh, sha: string): Promise<string> {
  try {
    const checks = await gh.api.ciChecks(gh.repo, sha);
    if (checks.length === 0) return '  CI: none (no checks on this commit)';
    const overall = checks.some((c) => c.state === 'failure') ? 'failure' : checks.some((c) => c.state === 'pending') ? 'pending' : 'success';
    return `  CI: ${overall} — ${checks.map((c) => `${c.name}: ${c.conclusion}`).join(', ')}`;
  } catch (err) {
    return `  CI: could not ask GitHub (${(err as Error).message})`;
  }
}

/** The PR a commit came from (squash and merge commits too), or null; a GitHub failure here only loses the review line. */
async function prOfCommit(gh: Gh, sha: string): Promise<number | null> {
  try {
    return (await gh.api.pullRequestOfCommit(gh.repo, sha))?.number ?? null;
  } catch {
    return null;
  }
}

function pickText(pick: PickRow & { push: PushRow }): string {
  const copy = pick.pickedSha ? ` as ${short(pick.pickedSha)}` : '';
  const extra = pick.state === 'conflict' && pick.conflictFiles ? ` in ${pick.conflictFiles.split('\n').join(', ')}` : pick.reason ? ` — ${pick.reason}` : '';
  return `${pickName(pick)} ${pick.state}${copy}${extra}`;
}

async function anyAncestor(repo: PushService['repo'], shas: string[], ref: string): Promise<boolean> {
  for (const s of shas) if (await repo.isAncestor(s, ref)) return true;
  return false;
}
