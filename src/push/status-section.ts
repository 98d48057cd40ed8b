/**
 * The push's part of the `status` overview (registered by main.ts in services.statusSections).
 *
 *   createServices({ push }) // adds it to services.statusSections
 *   // Push:
 *   //   push 3 (push/2026-11-22) — confirming: authors say `here` until 10:30 (12m left)
 *   //   4 picks: 3 approved, 1 requested · waiting for: carol
 */
import type { Ctx } from '../command.js';
import { who } from '../format.js';
import { pushName, pushStateText } from './messages.js';
import type { PushService } from './service.js';

export function pushStatusSection(push: PushService): { title: string; lines(ctx: Ctx): Promise<string[]> } {
  return {
    title: 'Push',
    async lines(ctx) {
      const s = await push.status();
      if (!s.push) return [];
      const counts = new Map<string, number>();
      for (const p of s.picks) counts.set(p.state, (counts.get(p.state) ?? 0) + 1);
      const picks = s.picks.length
        ? `${s.picks.length} pick${s.picks.length === 1 ? '' : 's'}: ${[...counts].map(([k, n]) => `${n} ${k}`).join(', ')}`
        : 'no picks';
      const waiting = s.waiting.length ? ` · waiting for: ${s.waiting.map((u) => who(u, ctx.provider)).join(', ')}` : '';
      return [`${pushName(s.push)} — ${pushStateText(s.push, ctx.deps.clock.now())}`, `${picks}${waiting}`];
    },
  };
}
