/**
 * The last step of `push ship`: the push branch's new head goes to the deploy engine like any deploy (same
 * lock, queue, chat progress and viewer link). Returns the deploy id at once and, for a deploy that started,
 * a promise of how it ended, so the ship can tell the authors when their picks are live.
 *
 *   const deploy = deployThrough(deployer, store);
 *   const { id, done } = await deploy({ app: 'web', environment: 'staging', ref: 'push/2026-11-22', sha, requester, provider: 'irc', room });
 */
import { lockScope, who } from '../format.js';
import type { Deployer } from '../deploy/engine.js';
import type { Store } from '../store/index.js';
import type { PushDeploy } from './service.js';

export function deployThrough(deployer: Pick<Deployer, 'request' | 'waitFor'>, store: Pick<Store, 'deploys'>): PushDeploy {
  return async (input) => {
    const result = await deployer.request({
      app: input.app,
      environment: input.environment,
      ref: input.ref,
      sha: input.sha,
      requester: input.requester,
      provider: input.provider,
      room: input.room,
      notes: input.notes,
    });
    if (result.outcome === 'locked') {
      const held = result.held;
      throw new Error(`${lockScope(held)} is locked by ${who(held.holder, input.provider)}${held.reason ? ` ("${held.reason}")` : ''}`);
    }
    if (result.outcome === 'queued') return { id: result.deploy.id, note: `queued behind #${result.ahead.id}` };
    const id = result.deploy.id;
    const done = deployer.waitFor(id).then(async () => (await store.deploys.get(id))?.state ?? 'unknown');
    return { id, done };
  };
}
