/**
 * The baseline's commands: `!karma` and `!status` answered with the very text Shepherd gave (BENCH_REPLIES, JSON
 * { karma: { channel, notice }, status: ... }): the channel lines, then what Shepherd sent the asker by NOTICE
 * (its answers longer than a burst go there), so both bots send the same bytes; Hubot does no database work for it.
 */
const replies = JSON.parse(process.env.BENCH_REPLIES ?? '{}');

export default (robot) => {
  robot.hear(/^!(karma|status)\s*$/i, async (res) => {
    const name = res.match[1].toLowerCase();
    const reply = replies[name] ?? { channel: `${name}: ok`, notice: '' };
    await res.send(reply.channel);
    for (const line of reply.notice.split('\n')) if (line.trim()) robot.adapter.client.notice(res.message.user.name, line);
  });
};
