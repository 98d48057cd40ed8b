/**
 * Where a command's reply time goes: starts Shepherd as main.ts does on a copy of a database with 100k audit
 * rows, sends `karma` and `status` through a recording adapter and prints, per command, the SQL statements it
 * ran (better-sqlite3 level, so Prisma's own round trips show) and the time to the first reply.
 *
 *   node --import tsx scripts/profile-reply.ts [rounds]      # add --cpu-prof for a profile of the same run
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import Database from 'better-sqlite3';
import type { Adapter } from '../src/adapters/adapter.js';
import type { IncomingMessage, MessageRef, Target } from '../src/chat/types.js';
import { startShepherd } from '../src/main.js';
import { openDatabase } from '../src/store/db.js';

const rounds = Number(process.argv[2] ?? 200);
const dir = mkdtempSync(join(tmpdir(), 'shepherd-profile-'));
const path = join(dir, 'p.db');
{
  const { prisma } = await openDatabase(`file:${path}`);
  await prisma.$disconnect();
  const db = new Database(path);
  const insert = db.prepare(
    'INSERT INTO "AuditEvent" (userId, identity, room, command, text, outcome, detail, createdAt) VALUES (NULL, ?, ?, ?, ?, ?, NULL, ?)',
  );
  db.transaction(() => {
    for (let i = 0; i < 100_000; i++) insert.run(`irc:user${i % 250}`, '#deploys', 'karma', 'karma', 'ok', new Date(Date.now() - i * 1000).toISOString());
  })();
  db.close();
}

// Every statement Prisma runs ends in a better-sqlite3 Statement's run()/all()/get() (prepared statements are
// cached by SQL text in db.ts, so prepare() alone would miss the cached ones): count them per command.
let statements: string[] = [];
{
  const probe = new Database(':memory:');
  const proto = Object.getPrototypeOf(probe.prepare('SELECT 1')) as Record<string, (...args: unknown[]) => unknown>;
  probe.close();
  for (const method of ['run', 'all', 'get', 'iterate'] as const) {
    const original = proto[method] as (...args: unknown[]) => unknown;
    proto[method] = function (this: { source: string }, ...args: unknown[]) {
      statements.push(this.source.replace(/\s+/g, ' ').slice(0, 140));
      return original.apply(this, args);
    };
  }
}

const shepherd = await startShepherd({
  env: { PATH: process.env.PATH, DATABASE_URL: `file:${path}`, SHEPHERD_CONFIG: resolve('shepherd.example.yml'), WEB_PORT: '0', LOG_LEVEL: 'warn' },
  onShellEnd: () => {},
});
let firstReply: (() => void) | undefined;
const adapter: Adapter = {
  name: 'irc',
  start: async () => {},
  stop: async () => {},
  mention: (i) => i.handle,
  send: async (target: Target): Promise<MessageRef> => {
    firstReply?.();
    firstReply = undefined;
    return { room: target.room };
  },
};
const message = (text: string): IncomingMessage => ({
  text,
  user: { provider: 'irc', id: 'carol', handle: 'carol' },
  target: { room: '#bench', asker: 'carol' },
  direct: false,
});
// Warm-up (JIT, Prisma's query plan cache), not measured.
for (let i = 0; i < 30; i++) for (const text of ['karma', 'status']) await shepherd.bot.handle(adapter, message(text));
for (const command of ['karma', 'status']) {
  const times: number[] = [];
  const cpu = process.cpuUsage();
  let perCommand: string[] = [];
  for (let i = 0; i < rounds; i++) {
    statements = [];
    const started = performance.now();
    let firstAt = 0;
    const replied = new Promise<void>((r) => {
      firstReply = () => {
        firstAt = performance.now();
        perCommand = [...statements];
        r();
      };
    });
    const handled = shepherd.bot.handle(adapter, message(command));
    await replied;
    times.push(firstAt - started);
    await handled;
    if (i === rounds - 1) {
      console.log(`\n${command}: ${perCommand.length} statements before the first reply, ${statements.length} in all`);
      for (const s of statements) console.log(`   ${perCommand.includes(s) ? ' ' : '+'} ${s}`);
    }
  }
  const used = process.cpuUsage(cpu);
  times.sort((a, b) => a - b);
  const p = (q: number) => times[Math.min(times.length - 1, Math.floor((q / 100) * times.length))]?.toFixed(2);
  // CPU time per command is what the machine's load does not distort (wall times on a busy machine do).
  const cpuMs = (used.user + used.system) / 1000 / rounds;
  console.log(`${command}: first reply p50 ${p(50)} ms, p99 ${p(99)} ms over ${rounds}; CPU ${cpuMs.toFixed(2)} ms per command (with its audit row)`);
}
await shepherd.stop();
