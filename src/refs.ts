/**
 * What a repository name, a git ref and a commit id may look like. Pure checks, shared by the GitHub client
 * and the git fallback, kept apart so that checking a ref never loads Octokit.
 *
 *   isValidRef('main;touch /tmp/pwned') // false
 */
/** owner/name, capturing owner and name. */
export const REPO = /^([A-Za-z0-9](?:[A-Za-z0-9-]{0,38}))\/([A-Za-z0-9._-]{1,100})$/;

/** 'owner/name' as GitHub allows it (no '.' or '..' as the name). */
export function isValidRepo(repo: string): boolean {
  const m = REPO.exec(repo);
  return m !== null && m[2] !== '.' && m[2] !== '..';
}

// Stricter than `git check-ref-format`: refs travel through chat, URLs, hosts' environments and log lines, so
// shell metacharacters (`$ ( ) ; | & < > ' " \``), quotes, spaces and non-ASCII are refused even where git
// would allow them. What is left is what real branch and tag names use.
const REF_CHARS = /^[A-Za-z0-9._/+#@-]+$/;

/**
 * True for a branch, tag or SHA name that git accepts and that is safe to pass anywhere: git's ref rules
 * (no '..', no '@{', no component starting with '.' or ending in '.lock', no '//', no trailing '/' or '.',
 * not '@') plus: no leading '-' (git would read an option), at most 255 characters, and only
 * `A-Z a-z 0-9 . _ / + # @ -`.
 *
 *   isValidRef('release/2026-11') // true
 *   isValidRef('--upload-pack=x') // false
 */
export function isValidRef(ref: string): boolean {
  if (typeof ref !== 'string' || ref.length === 0 || ref.length > 255) return false;
  if (!REF_CHARS.test(ref)) return false;
  if (ref.startsWith('-') || ref.startsWith('/') || ref.endsWith('/') || ref.endsWith('.')) return false;
  if (ref.includes('..') || ref.includes('//') || ref.includes('@{') || ref === '@') return false;
  return ref.split('/').every((part) => !part.startsWith('.') && !part.endsWith('.lock'));
}

/** A full (40 or 64 hex) commit id. */
export function isFullSha(value: string): boolean {
  return /^(?:[0-9a-f]{40}|[0-9a-f]{64})$/.test(value);
}
