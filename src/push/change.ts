/**
 * What a cherry-pick request names — `#12` (a merged PR) or a commit SHA — looked up into the commit to pick,
 * its author, its size and its discussion. From GitHub when a token is configured; otherwise from the bot's
 * clone (sizes from `git diff --numstat`, discussion unknown, PR numbers found by GitHub's merge messages).
 *
 *   const change = await lookUpChange({ repo, github, githubRepo: 'acme/web' }, '#12');
 *   // { subject: '#12', prNumber: 12, sha: '9fceb02…', additions: 10, comments: 3, ... }
 */
import { Refusal, UsageError } from '../command.js';
import type { GitHub } from '../github.js';
import { looksLikeSha } from './git.js';
import type { PushRepo } from './repo.js';

export interface Change {
  /** '#12' for a PR, else the full SHA: the key that makes one request per change per push. */
  subject: string;
  prNumber: number | null;
  sha: string;
  title: string;
  url: string | null;
  /** The author's GitHub login when GitHub told us. */
  authorLogin: string | null;
  authorName: string;
  authorEmail: string | null;
  additions: number;
  deletions: number;
  files: number;
  comments: number | null;
  reviewComments: number | null;
  inTrunk: boolean;
}

export interface ChangeSources {
  repo: PushRepo;
  /** Absent without GITHUB_TOKEN. */
  github?: GitHub | null | undefined;
  /** owner/name on GitHub; absent when the app only has repo_url. */
  githubRepo?: string | undefined;
}

export type Subject = { kind: 'pr'; number: number } | { kind: 'sha'; sha: string };

/** '#12', 'https://github.com/acme/web/pull/12' → PR 12; a hex id → SHA; anything else is a usage error. */
export function parseSubject(text: string | undefined): Subject {
  if (!text) throw new UsageError('name a pull request (#12) or a commit SHA');
  const pr = /^#(\d{1,9})$/.exec(text) ?? /^https?:\/\/[^\s]+\/pull\/(\d{1,9})\/?$/.exec(text);
  if (pr) return { kind: 'pr', number: Number(pr[1]) };
  if (looksLikeSha(text)) return { kind: 'sha', sha: text.toLowerCase() };
  if (/^\d+$/.test(text)) throw new UsageError(`"${text}": write a pull request as #${text}`);
  throw new UsageError(`"${text.slice(0, 50)}" is neither a pull request (#12) nor a commit SHA`);
}

function firstLine(message: string): string {
  return message.split('\n')[0]?.trim() ?? '';
}

/** A PR's title from the commit GitHub wrote when merging it: the merge message's body, or a squash subject without "(#12)". */
export function prTitle(message: string, number: number): string {
  const [subject = '', ...rest] = message.split('\n');
  if (/^Merge pull request #\d+ from /.test(subject)) {
    const body = rest.map((l) => l.trim()).find(Boolean);
    if (body) return body;
  }
  return subject.replace(new RegExp(`\\s*\\(#${number}\\)\\s*$`), '').trim();
}

/** Looks the change up; a Refusal tells the user what is wrong (missing PR, unmerged, unknown SHA). */
export async function lookUpChange(sources: ChangeSources, subject: Subject): Promise<Change> {
  const { repo, github, githubRepo } = sources;
  const gh = github && githubRepo ? { api: github, repo: githubRepo } : null;
  // A request is worth a real fetch: the change usually landed a moment ago.
  await repo.sync(true);

  if (subject.kind === 'pr') {
    const n = subject.number;
    if (gh) {
      const pr = await gh.api.pullRequest(gh.repo, n);
      if (!pr) throw new Refusal(`${gh.repo} has no pull request #${n} — check the number`);
      if (!pr.merged || !pr.mergeCommitSha) {
        throw new Refusal(`PR #${n} "${pr.title}" is not merged (${pr.state}) — merge it into ${repo.trunk} first, then ask again`);
      }
      const sha = await repo.resolve(pr.mergeCommitSha);
      if (!sha)
        throw new Refusal(
          `PR #${n} was merged as ${pr.mergeCommitSha.slice(0, 7)}, but my clone of the repository does not have that commit — is push.app's repo_url the same repository?`,
        );
      const git = await repo.commitInfo(sha);
      return {
        subject: `#${n}`,
        prNumber: n,
        sha,
        title: pr.title,
        url: pr.url,
        authorLogin: pr.author,
        authorName: pr.author,
        authorEmail: git.authorEmail,
        additions: pr.additions,
        deletions: pr.deletions,
        files: pr.changedFiles,
        comments: pr.comments,
        reviewComments: pr.reviewComments,
        inTrunk: await repo.isAncestor(sha, `refs/remotes/origin/${repo.trunk}`),
      };
    }
    const sha = await repo.findPullRequest(n);
    if (!sha) {
      throw new Refusal(
        `I cannot look up PR #${n}: there is no GITHUB_TOKEN, and ${repo.trunk} has no commit saying "Merge pull request #${n}" or "(#${n})" — ask with the commit SHA instead (\`cherry-pick <sha>\`)`,
      );
    }
    const git = await repo.commitInfo(sha);
    return {
      subject: `#${n}`,
      prNumber: n,
      sha,
      title: prTitle(git.message, n),
      url: null,
      authorLogin: null,
      authorName: git.authorName,
      authorEmail: git.authorEmail,
      additions: git.additions,
      deletions: git.deletions,
      files: git.files,
      comments: null,
      reviewComments: null,
      inTrunk: true,
    };
  }

  const sha = await repo.resolve(subject.sha);
  if (!sha) throw new Refusal(`no commit ${subject.sha} in the ${gh ? gh.repo : 'push'} repository (fetched just now) — check the SHA, or push it first`);
  const git = await repo.commitInfo(sha);
  const inTrunk = await repo.isAncestor(sha, `refs/remotes/origin/${repo.trunk}`);
  // A squash merge (or a commit of a PR's branch) belongs to a PR: its discussion, author and, for the commit
  // that merged it, its size come from the PR.
  const pr = gh ? await gh.api.pullRequestOfCommit(gh.repo, sha) : null;
  if (pr) {
    const merged = pr.mergeCommitSha === sha;
    return {
      subject: merged ? `#${pr.number}` : sha,
      prNumber: pr.number,
      sha,
      title: merged ? pr.title : firstLine(git.subject),
      url: pr.url,
      authorLogin: pr.author,
      authorName: pr.author,
      authorEmail: git.authorEmail,
      additions: merged ? pr.additions : git.additions,
      deletions: merged ? pr.deletions : git.deletions,
      files: merged ? pr.changedFiles : git.files,
      comments: pr.comments,
      reviewComments: pr.reviewComments,
      inTrunk,
    };
  }
  const commit = gh ? await gh.api.commit(gh.repo, sha) : null;
  return {
    subject: sha,
    prNumber: null,
    sha,
    title: firstLine(git.subject),
    url: null,
    // GitHub's author is a login only when GitHub knows the account; its name-only fallback is not a login.
    authorLogin: commit && commit.author !== git.authorName ? commit.author : null,
    authorName: commit?.author ?? git.authorName,
    authorEmail: git.authorEmail,
    additions: git.additions,
    deletions: git.deletions,
    files: git.files,
    // Discussion belongs to PRs: a commit that is in none has none to count.
    comments: null,
    reviewComments: null,
    inTrunk,
  };
}

/** GitHub's no-reply addresses carry the login: 12345+alice@users.noreply.github.com → alice. */
export function loginFromEmail(email: string | null): string | null {
  const m = /^(?:\d+\+)?([A-Za-z0-9-]+)@users\.noreply\.github\.com$/i.exec(email ?? '');
  return m ? (m[1] as string) : null;
}
