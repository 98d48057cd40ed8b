/**
 * The last step of `push ship`: the push branch's new head goes to the deploy engine like any deploy (same
 * lock, queue, chat progress and viewer link). Returns the deploy id as soon as the deploy is recorded; how it
 * ends is told on DeployEvents (the ship listens there for "your picks are live").
 *
 *   const deploy = deployThrough(deployer);
 *   const { id } = await deploy({ app: 'web', environment: 'staging', ref: 'push/2026-11-22', sha, requester, provider: 'irc', room });
 */
import type { Deployer } from '../deploy/engine.js';
import { lockScope, who } from '../format.js';
import type { PushDeploy } from './core.js';

export function deployThrough(deployer: Pick<Deployer, 'request'>): PushDeploy {
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
      approvals: input.approvals,
    });
    if (result.outcome === 'locked') {
      const held = result.held;
      throw new Error(`${lockScope(held)} is locked by ${who(held.holder, input.provider)}${held.reason ? ` ("${held.reason}")` : ''}`);
    }
    if (result.outcome === 'queued') return { id: result.deploy.id, note: `queued behind #${result.ahead.id}` };
    if (result.outcome === 'awaiting') return { id: result.deploy.id, note: `waiting for approval: \`approve deploy ${result.deploy.id}\`` };
    return { id: result.deploy.id };
  };
}
