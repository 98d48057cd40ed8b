import { defineCommand, Refusal } from '../src/command.js';
import { helpBrief, helpList, helpOne } from '../src/format.js';
import { closest } from '../src/parse.js';

export default defineCommand({
  name: 'help',
  aliases: ['commands'],
  summary: 'list the commands, or show one with usage and examples',
  usage: ['help [command | all]'],
  examples: ['help', 'help deploy', 'help all'],
  roles: 'anyone',
  personal: true,
  async run(ctx) {
    const { commands } = ctx.deps;
    const wanted = ctx.args[0]?.toLowerCase();
    if (!wanted) {
      await ctx.reply(helpBrief(commands));
      return;
    }
    if (wanted === 'all') {
      await ctx.reply(helpList(commands));
      return;
    }
    const command = commands.find((c) => c.name === wanted || c.aliases?.includes(wanted));
    if (!command) {
      const guess = closest(
        wanted,
        commands.flatMap((c) => [c.name, ...(c.aliases ?? [])]),
      );
      throw new Refusal(`no command "${wanted}"${guess ? ` — did you mean \`help ${guess}\`?` : ' — `help` lists them all'}`);
    }
    await ctx.reply(helpOne(command));
  },
});
