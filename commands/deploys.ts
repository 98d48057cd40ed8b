import { defineCommand, Refusal, UsageError } from '../src/command.js';
import { configEntry } from '../src/config.js';
import { deployListLine, who } from '../src/format.js';
import { nameProblem, shown } from '../src/deploy/validate.js';
import { knownEnvironments } from '../src/targets.js';

export default defineCommand({
  name: 'deploys',
  summary: 'recent deploys with outcome, duration, who, SHA and the log link',
  usage: ['deploys [<app>] [in <env>]'],
  examples: ['deploys', 'deploys web', 'deploys web in production'],
  roles: 'anyone',
  async run(ctx) {
    const { config, store, clock } = ctx.deps;
    const args = [...ctx.args];
    let app: string | undefined;
    let environment: string | undefined;
    if (args[0] && args[0].toLowerCase() !== 'in') app = args.shift();
    if (args.length === 2 && args[0]?.toLowerCase() === 'in') environment = args[1];
    else if (args.length > 0) throw new UsageError();
    if (app !== undefined && (nameProblem(app) || !configEntry(config.apps, app))) {
      throw new Refusal(`unknown app "${shown(app)}" — known apps: ${Object.keys(config.apps).join(', ') || 'none'}`);
    }
    if (environment !== undefined) {
      const appConfig = app === undefined ? undefined : configEntry(config.apps, app);
      if (appConfig && !configEntry(appConfig.environments, environment)) {
        throw new Refusal(`${app} has no environment "${shown(environment)}" — it has: ${Object.keys(appConfig.environments).join(', ')}`);
      }
      if (!appConfig && !knownEnvironments(config).includes(environment)) {
        throw new Refusal(`unknown environment "${shown(environment)}" — known: ${knownEnvironments(config).join(', ') || 'none'}`);
      }
    }
    const deploys = await store.deploys.recent({ app, environment, limit: 10 });
    const scope = [app, environment && `in ${environment}`].filter(Boolean).join(' ');
    if (deploys.length === 0) {
      await ctx.reply(`no deploys${scope ? ` of ${scope}` : ''} yet — \`deploy <app>\` to make one`);
      return;
    }
    const now = clock.now();
    // Who approved (environments with `approvals`), after the line it belongs to.
    const approvers = await store.approvals.of(deploys.filter((d) => d.approvalsNeeded > 0).map((d) => d.id));
    const line = (d: (typeof deploys)[number]) => {
      const base = deployListLine(d, now, config.webBaseUrl, ctx.provider);
      if (d.approvalsNeeded === 0) return base;
      const by = approvers.get(d.id) ?? [];
      const waiting = d.state === 'awaiting_approval' ? ` (${by.length}/${d.approvalsNeeded}: \`approve deploy ${d.id}\`)` : '';
      return `${base}\n   approved by ${by.length ? by.map((u) => who(u, ctx.provider)).join(', ') : 'nobody yet'}${waiting}`;
    };
    await ctx.reply(deploys.map(line).join('\n'));
  },
});
