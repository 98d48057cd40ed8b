/**
 * A real ngircd on a free loopback port, with its own config, MOTD and include dir in a temp folder (no PAM,
 * no ident or DNS lookups, no system config). restart() brings it back on the same port, as after an upgrade.
 *
 *   const irc = await startNgircd();           // throws NgircdMissing when the binary is not installed
 *   ... connect to 127.0.0.1:irc.port ...
 *   await irc.restart(); await irc.stop();
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createConnection, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const NGIRCD = process.env.NGIRCD_BIN ?? '/usr/sbin/ngircd';

export interface NgircdOptions {
  /**
   * ngircd's flood protection: after 3 commands in a row or 256 bytes in a second a client is not read for a
   * second ("penalty"). true (default) keeps it as on any real server; false sets MaxPenaltyTime = 0, which
   * disables it for every client (what a benchmark of the bot itself wants).
   */
  penalties?: boolean;
  /** Server name the clients see in the prefix of server messages. */
  name?: string;
}

export interface Ngircd {
  host: string;
  port: number;
  name: string;
  /** Lines ngircd printed (it runs in the foreground with -n): useful when a test fails. */
  log(): string;
  stop(): Promise<void>;
  /** Stops the server (dropping every client), stays down `downMs`, and starts it again on the same port. */
  restart(downMs?: number): Promise<void>;
}

/** Thrown when ngircd is not installed; tests skip on it unless CI is set. */
export class NgircdMissing extends Error {
  constructor() {
    super(`ngircd not found at ${NGIRCD} (apt-get install ngircd)`);
    this.name = 'NgircdMissing';
  }
}

export function ngircdAvailable(): boolean {
  return existsSync(NGIRCD);
}

/** Whether tests needing ngircd should skip: only when it is missing and this is not CI. */
export function skipWithoutNgircd(): boolean {
  if (ngircdAvailable()) return false;
  if (process.env.CI) return false; // let the test fail loudly: CI installs ngircd
  console.warn(`skipping: ${new NgircdMissing().message}`);
  return true;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

function canConnect(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host, port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

export async function startNgircd(options: NgircdOptions = {}): Promise<Ngircd> {
  if (!ngircdAvailable()) throw new NgircdMissing();
  const host = '127.0.0.1';
  const port = await freePort();
  const name = options.name ?? 'irc.shepherd.test';
  const dir = mkdtempSync(join(tmpdir(), 'shepherd-ngircd-'));
  mkdirSync(join(dir, 'conf.d'));
  writeFileSync(join(dir, 'motd'), 'Shepherd test server\n');
  const conf = join(dir, 'ngircd.conf');
  writeFileSync(
    conf,
    [
      '[Global]',
      `Name = ${name}`,
      'Info = Shepherd test server',
      'AdminInfo1 = Shepherd tests',
      'AdminInfo2 = loopback only',
      'AdminEMail = nobody@localhost',
      `Listen = ${host}`,
      `Ports = ${port}`,
      `MotdFile = ${join(dir, 'motd')}`,
      `HelpFile = ${join(dir, 'motd')}`,
      '[Limits]',
      // Every test client comes from 127.0.0.1; the default of 5 per address would refuse some.
      'MaxConnectionsIP = 0',
      'MaxNickLength = 30',
      'MaxJoins = 0',
      'PingTimeout = 120',
      'PongTimeout = 20',
      ...(options.penalties === false ? ['MaxPenaltyTime = 0'] : []),
      '[Options]',
      'PAM = no',
      'Ident = no',
      'DNS = no',
      // Otherwise ngircd also reads /etc/ngircd/conf.d.
      `IncludeDir = ${join(dir, 'conf.d')}`,
      '',
    ].join('\n'),
  );
  // Run as root, ngircd drops to "nobody" and must still read its files.
  chmodSync(dir, 0o755);
  for (const f of ['motd', 'ngircd.conf']) chmodSync(join(dir, f), 0o644);
  chmodSync(join(dir, 'conf.d'), 0o755);

  let child: ChildProcess | undefined;
  let output = '';

  const launch = async (): Promise<void> => {
    const proc = spawn(NGIRCD, ['-n', '-f', conf], { stdio: ['ignore', 'pipe', 'pipe'] });
    child = proc;
    proc.stdout?.on('data', (d: Buffer) => {
      output += d.toString();
    });
    proc.stderr?.on('data', (d: Buffer) => {
      output += d.toString();
    });
    let exited: string | undefined;
    proc.once('exit', (code, signal) => {
      exited = `ngircd exited (${signal ?? code})`;
    });
    const deadline = Date.now() + 10_000;
    while (Date.now() < deadline) {
      if (exited) throw new Error(`${exited} before listening on ${port}:\n${output.slice(-2000)}`);
      if (await canConnect(host, port)) return;
      // A TCP port coming up sends no event, so this probes; not vi.waitFor because the benchmarks (bench/*.ts,
      // outside vitest) start servers through here, and a dead process must fail at once rather than at the deadline.
      await new Promise((r) => setTimeout(r, 50));
    }
    proc.kill('SIGKILL');
    throw new Error(`ngircd did not listen on ${host}:${port} within 10 s:\n${output.slice(-2000)}`);
  };

  const halt = async (): Promise<void> => {
    const proc = child;
    child = undefined;
    if (!proc || proc.exitCode !== null || proc.signalCode !== null) return;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => proc.kill('SIGKILL'), 5_000);
      proc.once('exit', () => {
        clearTimeout(timer);
        resolve();
      });
      proc.kill('SIGTERM');
    });
  };

  try {
    await launch();
  } catch (err) {
    await halt();
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }

  return {
    host,
    port,
    name,
    log: () => output,
    async stop() {
      await halt();
      rmSync(dir, { recursive: true, force: true });
    },
    async restart(downMs = 0) {
      await halt();
      // Not a wait for a condition: the server staying down for downMs IS the behaviour the caller asks for.
      if (downMs > 0) await new Promise((r) => setTimeout(r, downMs));
      await launch();
    },
  };
}
