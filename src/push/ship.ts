/**
 * Shipping the push: `push ship` passes the gates of the target environment, cherry-picks (-x) the approved
 * picks of confirmed authors onto the push branch, pushes it, and only then writes the deferrals and asks for
 * the deploy; it returns once the deploy is requested, and "your picks are live" is told from the deploy's
 * finished event. `push abort` ends a push. recover() at start puts a push a crash left `shipping` back to
 * `confirming` (nothing of it was recorded as shipped), so `push ship`, `cp` and `push abort` work again.
 *
 *   const ship = new PushShip(core);
 *   await ship.recover();                       // at start
 *   const report = await ship.ship(rm, { provider: 'irc', room: '#deploys' }, 'production', gate);
 */
import type { Target } from '../adapters/adapter.js';
import { Refusal } from '../command.js';
import { configEntry } from '../config.js';
import type { DeployEvent } from '../deploy/events.js';
import type { PickRow, PushRow } from '../store/push.js';
import type { KnownUser } from '../store/users.js';
import type { Place, PushCore, PushDeployment } from './core.js';
import { waitForGreenCi } from './ci-wait.js';
import { liveText, pickName, pushName, subjectText } from './messages.js';

export interface ShipReport {
  push: PushRow;
  shipped: PickRow[];
  conflicts: PickRow[];
  deferred: PickRow[];
  headSha: string;
  environment: string | null;
  deploy: PushDeployment | null;
  /** Set when the branch was pushed but the deploy could not be started (or a gate said no). */
  deployError: string | null;
}

/**
 * The gates of the target environment, asked twice: before anything changes (sha null: roles, lock,
 * confirmation) and for the pushed head (CI, direction), with the first round's answers kept by the caller.
 */
export type ShipGate = (input: {
  environment: string;
  sha: string | null;
}) => Promise<
  | {
      ok: true;
      notes: string[];
      /** The approvals the deploy waits for (the approvals gate). */
      approvals?: { needed: number; windowMs: number } | null | undefined;
      /** Names the recorded deploy in the gates' audit rows. */
      link?: ((deployId: number) => Promise<void>) | undefined;
    }
  | { ok: false; reason: string }
>;

/** Test seam: runs after the cherry-picks are recorded and before the branch is pushed (a crash lands here). */
export interface ShipHooks {
  afterPicks?: (() => Promise<void>) | undefined;
  /** Runs once the branch is pushed, before CI on its head is waited for (the test sets the head's checks). */
  afterPush?: ((headSha: string) => Promise<void>) | undefined;
}

/** How `push ship` was asked: `--force` skips the CI wait (the gates record the override); `say` talks to the room meanwhile. */
export interface ShipOptions {
  force?: boolean | undefined;
  say?: ((text: string) => Promise<void>) | undefined;
}

const FINISHED = new Set(['succeeded', 'failed', 'cancelled', 'interrupted']);

export class PushShip {
  /** "your picks are live" messages on their way (idle() waits for them before the process exits). */
  private readonly telling = new Set<Promise<void>>();

  constructor(
    private readonly core: PushCore,
    private readonly hooks: ShipHooks = {},
  ) {}

  private get store() {
    return this.core.store;
  }

  /** The environment `push ship [to <env>]` goes to: the one named, else the app's default (or only) one. */
  environmentFor(environment?: string): string | undefined {
    const appConfig = configEntry(this.core.options.config.apps, this.core.app);
    if (appConfig && environment && !Object.hasOwn(appConfig.environments, environment)) {
      throw new Refusal(`${this.core.app} has no environment "${environment}" — it has: ${Object.keys(appConfig.environments).join(', ')}`);
    }
    return (
      environment ??
      appConfig?.default_environment ??
      (appConfig && Object.keys(appConfig.environments).length === 1 ? Object.keys(appConfig.environments)[0] : undefined)
    );
  }

  /**
   * `push ship [to <env>]`: gates, cherry-picks, push, then deferrals and the deploy request. A failure before
   * the push puts everything back (`push ship` again); deferrals are written only once the branch is pushed.
   */
  async ship(
    actor: KnownUser,
    place: Place & { thread?: string | undefined },
    environment?: string,
    gate?: ShipGate,
    shipOptions: ShipOptions = {},
  ): Promise<ShipReport> {
    const { options } = this.core;
    const push = await this.core.current();
    if (!push) throw new Refusal('there is no push going on — `push start` first');
    if (push.state === 'open') throw new Refusal(`${pushName(push)} has not started — \`push start\` cuts the branch and asks authors to confirm`);
    if (push.state !== 'confirming' || !push.branch) throw new Refusal(`${pushName(push)} is ${push.state}`);
    const env = this.environmentFor(environment);
    if (options.deploy && !env) throw new Refusal(`${this.core.app} has no default_environment — say where: \`push ship to <env>\``);
    // Before anything changes: roles, lock and the confirmation question of the target environment.
    if (options.deploy && env && gate) {
      const pre = await gate({ environment: env, sha: null });
      if (!pre.ok) throw new Refusal(pre.reason);
    }
    if (!(await this.store.movePush(push.id, ['confirming'], 'shipping'))) throw new Refusal(`${pushName(push)} is being shipped by someone else`);
    const branch = push.branch;

    const all = await this.store.picks(push.id);
    const confirmed = new Set((await this.store.confirmations(push.id)).map((c) => c.userId));
    const toPick = all.filter((p) => p.state === 'approved' && confirmed.has(p.authorId));

    let headSha: string;
    try {
      await this.core.repo.sync(true);
      const outcomes = await this.core.repo.cherryPickOnto(
        branch,
        toPick.map((p) => ({ id: p.id, sha: p.sha })),
      );
      for (const o of outcomes) {
        if (o.outcome === 'picked') await this.store.movePicks([o.id], ['approved'], 'picked', { pickedSha: o.pickedSha });
        else if (o.outcome === 'empty') await this.store.movePicks([o.id], ['approved'], 'picked', { reason: 'already on the branch' });
        else await this.store.movePicks([o.id], ['approved'], 'conflict', { conflictFiles: o.files.join('\n') || null, reason: o.error ?? null });
      }
      await this.hooks.afterPicks?.();
      headSha = await this.core.repo.pushBranch(branch);
    } catch (err) {
      // Nothing reached the remote: put the push back so the release manager can retry.
      await this.putBack(push);
      throw new Refusal(`ship stopped, nothing was pushed: ${(err as Error).message.split('\n')[0]} — fix it and \`push ship\` again`);
    }

    // The branch is pushed: now the picks that stay out are deferred, and the push is shipped.
    const deferred = [
      ...(await this.core.defer(
        all.filter((p) => p.state === 'approved' && !confirmed.has(p.authorId)),
        'the author did not confirm',
      )),
      ...(await this.core.defer(
        all.filter((p) => p.state === 'requested'),
        'not approved before ship',
      )),
    ];
    const picked = await this.store.picks(push.id, ['picked']);
    await this.store.movePicks(
      picked.map((p) => p.id),
      ['picked'],
      'shipped',
    );
    await this.store.movePush(push.id, ['shipping'], 'shipped', { headSha, endedAt: this.core.now(), environment: env ?? null });

    let deploy: ShipReport['deploy'] = null;
    let deployError: string | null = null;
    if (options.deploy && env) {
      try {
        await this.hooks.afterPush?.(headSha);
        // CI on the pushed head has only just started: wait for it (bounded) where the environment needs it green.
        const waited = shipOptions.force ? null : await this.waitForCi(env, headSha, place, shipOptions.say);
        const post = waited && !waited.ok ? waited : gate ? await gate({ environment: env, sha: headSha }) : { ok: true as const, notes: [] as string[] };
        if (!post.ok) deployError = post.reason;
        else {
          const shippedNow = await this.store.picks(push.id, ['shipped']);
          const notes = [
            `${pushName(push)}: ${shippedNow.length ? shippedNow.map((p) => `${pickName(p)} ${subjectText(p)}`).join(', ') : 'no picks'}`,
            ...post.notes,
          ];
          const room: Target = { room: place.room, thread: place.thread };
          // Listen before asking, so a deploy that ends at once is not missed.
          const stop = this.whenDeployEnds(push.id, room);
          try {
            deploy = await options.deploy({
              app: this.core.app,
              environment: env,
              ref: branch,
              sha: headSha,
              requester: actor,
              provider: place.provider,
              room,
              notes,
              approvals: post.approvals ?? null,
            });
          } catch (err) {
            stop.cancel();
            throw err;
          }
          stop.watch(deploy.id);
          await post.link?.(deploy.id);
          await this.store.updatePush(push.id, { deployId: deploy.id, environment: env });
        }
      } catch (err) {
        deployError = (err as Error).message.split('\n')[0] ?? 'unknown error';
        options.logger?.error({ err, push: push.id }, 'push deploy failed to start');
      }
    }
    const final = await this.store.picks(push.id);
    return {
      push: (await this.store.get(push.id)) as PushRow,
      shipped: final.filter((p) => p.state === 'shipped'),
      conflicts: final.filter((p) => p.state === 'conflict'),
      deferred,
      headSha,
      environment: env ?? null,
      deploy,
      deployError,
    };
  }

  /** Waits for green CI on the head when the environment has require_green_ci and GitHub is configured; null otherwise. */
  private async waitForCi(env: string, sha: string, place: Place & { thread?: string | undefined }, say?: (text: string) => Promise<void>) {
    const { options } = this.core;
    const appConfig = configEntry(options.config.apps, this.core.app);
    const rules = appConfig && Object.hasOwn(appConfig.environments, env) ? appConfig.environments[env] : undefined;
    if (!rules?.require_green_ci || !options.github || !options.githubRepo) return null;
    return waitForGreenCi({
      github: options.github,
      repo: options.githubRepo,
      sha,
      say: say ?? ((text) => this.core.tell(place, text, place.thread)),
      options: options.ciWait,
    });
  }

  /**
   * Tells the push's authors, in the room the ship was typed in, whether their picks are live when the deploy
   * ends (its `state` event). Events of other deploys, and those before watch(id), are ignored.
   */
  private whenDeployEnds(pushId: number, room: Target): { watch(id: number): void; cancel(): void } {
    const events = this.core.options.events;
    if (!events) return { watch() {}, cancel() {} };
    let deployId: number | null = null;
    const early: DeployEvent[] = [];
    const onEnd = async (state: string) => {
      off();
      const push = await this.store.get(pushId);
      if (!push?.provider) return;
      const shipped = await this.store.picks(pushId, ['shipped']);
      if (shipped.length === 0 || deployId === null) return;
      const text = liveText({ push, shipped, deployId, environment: push.environment, state, mention: (u) => this.core.mention(push, u) });
      await this.core.tell({ provider: push.provider, room: room.room }, text, room.thread);
    };
    const handle = (e: DeployEvent) => {
      if (e.type !== 'state' || !FINISHED.has(e.state)) return;
      if (deployId === null) early.push(e);
      else if (e.deployId === deployId) {
        const told = onEnd(e.state).catch((err) => this.core.options.logger?.error({ err }, 'could not tell the push authors'));
        this.telling.add(told);
        void told.finally(() => this.telling.delete(told));
      }
    };
    const off = events.subscribe(handle);
    return {
      watch(id) {
        deployId = id;
        for (const e of early.splice(0)) handle(e);
      },
      cancel: off,
    };
  }

  /** Resolves when every "your picks are live" message that is due has been sent. */
  async idle(): Promise<void> {
    while (this.telling.size > 0) await Promise.allSettled([...this.telling]);
  }

  /** The picks of a ship that did not finish go back to approved, the push back to confirming. */
  private async putBack(push: PushRow): Promise<void> {
    const mid = await this.store.picks(push.id, ['picked', 'conflict']);
    await this.store.movePicks(
      mid.map((p) => p.id),
      ['picked', 'conflict'],
      'approved',
      { pickedSha: null, conflictFiles: null, reason: null },
    );
    await this.store.movePush(push.id, ['shipping'], 'confirming');
  }

  /**
   * At start: a push left `shipping` (the bot stopped mid-ship) goes back to `confirming` with its picks
   * approved again — nothing was recorded as shipped or deferred — and its channel is told to ship again.
   * A branch that was already pushed is fine: shipping again finds those picks already on it.
   */
  async recover(): Promise<PushRow | null> {
    const push = await this.core.current();
    if (push?.state !== 'shipping') return null;
    await this.putBack(push);
    const back = (await this.store.get(push.id)) as PushRow;
    await this.core.tell(
      back,
      `⚠️ ${pushName(back)} was being shipped when the bot stopped: it is back to confirming, nothing was deployed and no pick was deferred — \`push ship\` again (or \`push abort\`)`,
    );
    return back;
  }

  /**
   * `push abort`: ends the push; undecided and approved picks are kept for the next one, and the push branch is
   * deleted on the remote (`branch`: what became of it, for the reply).
   */
  async abort(): Promise<{ push: PushRow; kept: PickRow[]; branch: { name: string; deleted: boolean; error?: string } | null }> {
    const push = await this.core.current();
    if (!push) throw new Refusal('there is no push going on');
    if (push.state === 'shipping') throw new Refusal(`${pushName(push)} is shipping right now — it cannot be aborted midway`);
    if (!(await this.store.movePush(push.id, ['open', 'confirming'], 'aborted', { endedAt: this.core.now() })))
      throw new Refusal(`${pushName(push)} changed just now — \`push status\``);
    const kept = await this.core.defer(await this.store.picks(push.id, ['requested', 'approved']), 'the push was aborted');
    // The push is over whatever git says: a branch that cannot be deleted is reported, not a reason to stay open.
    let branch: { name: string; deleted: boolean; error?: string } | null = null;
    if (push.branch) {
      try {
        branch = { name: push.branch, deleted: await this.core.repo.deleteBranch(push.branch) };
      } catch (err) {
        this.core.options.logger?.warn({ err, push: push.id }, 'could not delete the aborted push branch');
        branch = { name: push.branch, deleted: false, error: (err as Error).message.split('\n')[0] ?? 'git failed' };
      }
    }
    return { push: (await this.store.get(push.id)) as PushRow, kept, branch };
  }
}
