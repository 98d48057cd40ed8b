/**
 * How a command finds the push service main.ts registered (services.push), or learns why there is none.
 *
 *   const push = pushService(ctx); // throws a Refusal naming the shepherd.yml key to set
 */
import { type Ctx, Refusal } from '../command.js';
import type { PushService } from './service.js';

export function pushService(ctx: Pick<Ctx, 'deps'>): PushService {
  const push = ctx.deps.services.push;
  if (push) return push;
  const apps = Object.keys(ctx.deps.config.apps);
  throw new Refusal(
    apps.length === 0
      ? 'the daily push needs an app: add one under apps in shepherd.yml and name it in push.app'
      : `the daily push is not set up: set push.app in shepherd.yml to one of ${apps.join(', ')} (and give that app repo or repo_url)`,
  );
}
