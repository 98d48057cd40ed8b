/**
 * What `lock` and `lock!` share: the free-text reason after the scope.
 *
 *   lockReason(ctx) // 'db migration' for `lock staging db migration`
 */
import type { Ctx } from '../../src/command.js';

/** Free text after the scope argument. */
export function lockReason(ctx: Ctx): string | null {
  const first = ctx.args[0] ?? '';
  const rest = ctx.command.rest;
  const reason = rest.slice(rest.indexOf(first) + first.length).trim();
  return reason ? reason.slice(0, 200) : null;
}
