import { defineCommand, Refusal } from '../src/command.js';
import { dryRun, lockLine, lockScope, shortSha, deployQueued } from '../src/format.js';
import { checkFlags, deployerOf, parseAppTarget, requireDeployRole, sourceRefusal } from './support/app-target.js';
import { passGates } from './support/gates.js';
import { planDeploy } from '../src/deploy/plan.js';
import { PullRequestRefusal, pullRequestNumber, resolvePullRequestDeploy } from '../src/deploy/pull-request.js';
import { awaitingApproval } from '../src/approval-messages.js';

export default defineCommand({
  name: 'deploy',
  summary: 'deploy an app (a branch, tag or SHA) to an environment, streaming progress here',
  usage: ['deploy <app>[/<ref>] [to <env>] [--dry-run] [--force]', 'deploy <app>/#<PR> [to <env>]'],
  examples: [
    'deploy web',
    'deploy web/main to production',
    'deploy web/#22 to staging',
    'deploy web/v1.4.2 to staging --dry-run',
    'deploy web/3f78685 to production --force',
  ],
  roles: ['developer', 'release_manager'],
  async run(ctx) {
    checkFlags(ctx, ['dry-run', 'force']);
    const { config, store } = ctx.deps;
    const target = parseAppTarget(ctx, 'to', { ref: true });
    const { app, environment, envConfig } = target;
    requireDeployRole(ctx, target, 'deploy');
    const force = ctx.command.flags.force === true;
    const dry = ctx.command.flags['dry-run'] === true;
    const deployer = deployerOf(ctx);
    let plan: ReturnType<typeof planDeploy>;
    try {
      plan = planDeploy(config, app, environment);
    } catch (err) {
      throw new Refusal((err as Error).message);
    }

    // Resolve the ref to a SHA first: from here on only the SHA is used (branches move).
    const ref = target.ref ?? 'HEAD';
    const revisions = deployer.revisions;
    // `#22` is a pull request: its head (or merge commit), with allow_prs and outdated applied before the gates.
    const prNumber = pullRequestNumber(ref);
    const pr =
      prNumber === null
        ? null
        : await resolvePullRequestDeploy(revisions, plan, environment, envConfig, prNumber).catch((err) => {
            if (err instanceof PullRequestRefusal) throw new Refusal(err.message);
            throw sourceRefusal(err, `read pull request ${ref} of ${app}`);
          });
    const sha =
      pr?.sha ??
      (await revisions.resolve(plan, ref).catch((err) => {
        throw sourceRefusal(err, `look up ${ref} in ${app}`);
      }));
    if (!sha) throw new Refusal(`${app} has no branch, tag or commit "${ref}" — check the name (or push it first)`);

    if (dry) {
      const notes: string[] = [];
      const ci = await revisions.ciState(plan, sha).catch((err) => {
        throw sourceRefusal(err, `read the CI state of ${shortSha(sha)}`);
      });
      if (ci === null) notes.push(`GitHub not configured for ${app}: CI not checked, no GitHub deployment`);
      else if (envConfig.require_green_ci && ci !== 'success') notes.push(`CI is ${ci}: a deploy would need green CI or --force`);
      const current = await store.deploys.current(app, environment);
      let commits = null;
      if (current && current.sha !== sha) {
        commits = await revisions.commits(plan, current.sha, sha, 10).catch((err: Error) => {
          notes.push(`commit list unavailable: ${err.message}`);
          return null;
        });
      }
      await ctx.reply(
        dryRun({
          app,
          environment,
          ref,
          sha,
          transport: plan.transport,
          deployTo: plan.deployTo,
          stages: plan.stages.map((s) => s.map((h) => h.label)),
          concurrency: plan.concurrency,
          maxFailures: plan.maxFailures,
          steps: plan.steps,
          healthcheck: plan.healthcheck,
          previousSha: current?.sha ?? null,
          commits,
          notes,
        }),
      );
      return;
    }

    // The gates (roles, freeze, lock, requires, CI, direction, confirmation, approvals), in SPEC's order; questions go through ctx.confirm.
    const gates = await passGates(ctx, revisions, {
      entry: pr ? 'pr deploy' : 'deploy',
      app,
      environment,
      plan,
      sha,
      force,
      subject: `deploy ${app}/${ref} (${shortSha(sha)}) to ${environment} on ${plan.hosts.length} host(s)`,
      retry: `deploy ${app}/${ref} to ${environment}`,
    });

    const allNotes = pr ? [pr.note, ...gates.notes] : gates.notes;
    const result = await deployer.request({
      app,
      environment,
      ref,
      sha,
      requester: ctx.user,
      provider: ctx.provider,
      room: ctx.room,
      force,
      notes: allNotes,
      approvals: gates.approvals,
    });
    if (result.outcome !== 'locked') await gates.link(result.deploy.id);
    if (result.outcome === 'locked') {
      throw new Refusal(
        `${lockLine(result.held, ctx.deps.clock.now(), ctx.provider)} — deploys wait until it is unlocked (\`unlock ${lockScope(result.held)}\`)`,
      );
    }
    if (result.outcome === 'queued') await ctx.reply(deployQueued(result.deploy, result.ahead, result.position, ctx.provider));
    if (result.outcome === 'awaiting') {
      // Slack shows an Approve button: a click runs `approve deploy <id>` as the one who clicks, with its checks.
      const approve = { kind: 'command' as const, label: 'Approve', command: `approve deploy ${result.deploy.id}`, style: 'primary' as const };
      await ctx.reply(awaitingApproval(result.deploy, ctx.deps.clock.now(), config.timezone, ctx.provider), { actions: [approve] });
    }
  },
});
