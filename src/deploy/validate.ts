/**
 * What chat text may name before anything else happens: app and environment names, and git refs.
 * Stricter than git itself on purpose: a ref from chat may only use letters, digits and . _ / + -,
 * so `main;touch x`, `$(id)`, `` `id` `` and `--upload-pack=x` are refused with a reason, never run.
 *
 *   refProblem('feature/login') // null
 *   refProblem('$(id)')         // 'a ref may only contain letters, digits and . _ / + -'
 */

export const MAX_REF_LENGTH = 200;
const REF_CHARS = /^[A-Za-z0-9._/+-]+$/;
const NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/;

/** Why `ref` is not acceptable as a branch, tag or SHA (git check-ref-format rules plus our charset); null if fine. */
export function refProblem(ref: string): string | null {
  if (ref.length === 0) return 'the ref is empty';
  if (ref.length > MAX_REF_LENGTH) return `the ref is too long (at most ${MAX_REF_LENGTH} characters)`;
  if (!REF_CHARS.test(ref)) return 'a ref may only contain letters, digits and . _ / + -';
  if (ref.startsWith('-')) return 'a ref cannot start with "-"';
  if (ref.startsWith('/') || ref.endsWith('/') || ref.includes('//')) return 'a ref cannot start or end with "/" or contain "//"';
  if (ref.includes('..')) return 'a ref cannot contain ".."';
  if (ref.endsWith('.') || ref.endsWith('.lock')) return 'a ref cannot end with "." or ".lock"';
  if (ref.split('/').some((part) => part.startsWith('.'))) return 'no part of a ref may start with "."';
  return null;
}

/** Why `name` is not a plain app/environment name; null if fine. */
export function nameProblem(name: string): string | null {
  return NAME.test(name) ? null : 'names use letters, digits, ".", "_" and "-"';
}

/** What a chat value looks like in a refusal: shortened, control characters shown as "?". */
export function shown(value: string, max = 40): string {
  const clean = value.replace(/[\x00-\x1f\x7f]/g, '?');
  return clean.length > max ? `${clean.slice(0, max)}…` : clean;
}
