/**
 * The benchmark's baseline: an IRC adapter for Hubot 14, on irc-framework (the library Shepherd uses), doing what
 * hubot-irc does — every channel and private message goes to Hubot's listeners, replies go out line by line,
 * unpaced (hubot-irc's flood protection is off by default). hubot-irc itself cannot be installed offline: it
 * depends on github:matrix-org/node-irc.
 *
 *   HUBOT_IRC_SERVER=127.0.0.1 HUBOT_IRC_PORT=6667 HUBOT_IRC_ROOMS=#bench node node_modules/hubot/bin/Hubot.mjs -d -n hubot -f $PWD/irc-adapter.mjs
 */
import { Adapter, TextMessage } from 'hubot';
import { Client } from 'irc-framework';

class IrcAdapter extends Adapter {
  async run() {
    const rooms = (process.env.HUBOT_IRC_ROOMS ?? '').split(',').filter(Boolean);
    const client = new Client({
      host: process.env.HUBOT_IRC_SERVER ?? '127.0.0.1',
      port: Number(process.env.HUBOT_IRC_PORT ?? 6667),
      nick: this.robot.name,
      username: this.robot.name,
      auto_reconnect: false,
    });
    this.client = client;
    client.on('registered', () => this.emit('connected'));
    // Hubot loads its scripts only after 'connected'; joining after that makes "joined" mean "answers", as for Shepherd.
    this.robot.on('scripts have loaded', () => {
      for (const room of rooms) client.join(room);
    });
    client.on('privmsg', (event) => {
      if (event.nick === client.user.nick) return;
      const room = client.network.isChannelName(event.target) ? event.target : event.nick;
      const user = this.robot.brain.userForId(event.nick, { name: event.nick, room });
      this.receive(new TextMessage(user, event.message, String(event.time ?? Date.now())));
    });
    client.connect();
  }

  async send(envelope, ...strings) {
    for (const text of strings) {
      for (const line of String(text).split('\n')) if (line.trim()) this.client.say(envelope.room, line);
    }
  }

  async reply(envelope, ...strings) {
    return this.send(envelope, ...strings.map((s) => `${envelope.user.name}: ${s}`));
  }

  close() {
    this.client?.quit('bye');
    super.close();
  }
}

export default {
  use(robot) {
    return new IrcAdapter(robot);
  },
};
