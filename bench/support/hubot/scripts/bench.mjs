/**
 * The baseline's commands: `!karma` and `!status` answered with the very text Shepherd gave (BENCH_REPLIES, JSON
 * { karma, status }), so both bots send the same bytes; Hubot does no database work for it.
 */
const replies = JSON.parse(process.env.BENCH_REPLIES ?? '{}');

export default (robot) => {
  robot.hear(/^!(karma|status)\s*$/i, async (res) => {
    const name = res.match[1].toLowerCase();
    await res.send(replies[name] ?? `${name}: ok`);
  });
};
