/**
 * The "Deploys" part of `status`: what runs now and what waits in the queue, one line each.
 *
 *   createServices({ deployer }) // adds it to services.statusSections
 */
import type { Ctx } from '../command.js';
import type { StatusSection } from '../services.js';
import { deployDetail, deployListLine } from '../format.js';

export function deployStatusSection(): StatusSection {
  return {
    title: 'Deploys',
    async lines(ctx) {
      const { store, clock, config } = ctx.deps;
      const now = clock.now();
      const active = await store.deploys.active();
      return active.map((d) => deployListLine(d, now, config.webBaseUrl, ctx.provider));
    },
  };
}

/**
 * `status <deploy-id>`: the deploy, its hosts and the log link; null when `arg` is not a deploy id (then
 * `status` treats it as a revision). Bare numbers up to 6 digits are deploy ids; `#12` is a pull request.
 *
 *   createServices({ deployer }).deployStatus // this
 */
export async function deployStatus(ctx: Ctx, arg: string): Promise<string | null> {
  if (!/^\d{1,6}$/.test(arg)) return null;
  const { store, clock, config } = ctx.deps;
  const deploy = await store.deploys.get(Number(arg));
  return deploy ? deployDetail(deploy, clock.now(), config.webBaseUrl, ctx.provider) : null;
}
