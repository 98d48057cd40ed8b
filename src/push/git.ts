/**
 * Names as typed in chat for the push: commit ids and branch names, checked before they reach git (which runs
 * through src/git-runner.ts).
 *
 *   badRefName('push/2026-11-22') // null
 *   looksLikeSha('3f9c2ab')       // true
 */
const HEX = /^[0-9a-f]{4,40}$/i;

/** A commit id as typed in chat (4 to 40 hex digits). */
export function looksLikeSha(text: string): boolean {
  return HEX.test(text);
}

/**
 * A branch or tag name as typed in chat, by git's ref rules (git check-ref-format) plus no leading '-', so it
 * can never be read as an option. Returns the reason it is not one, or null when it is fine.
 */
export function badRefName(name: string): string | null {
  if (!name) return 'empty name';
  if (name.length > 200) return 'too long';
  if (!/^[A-Za-z0-9._/+-]+$/.test(name)) return 'branch names use letters, digits, and . _ / + -';
  if (name.startsWith('-') || name.startsWith('/') || name.startsWith('.')) return 'cannot start with - / or .';
  if (name.endsWith('/') || name.endsWith('.') || name.endsWith('.lock')) return 'cannot end with / . or .lock';
  if (name.includes('..') || name.includes('//') || name.includes('/.')) return 'cannot contain .. // or /.';
  return null;
}
