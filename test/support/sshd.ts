/**
 * Real OpenSSH servers on loopback for deploy tests: one sshd per host (127.0.0.2, 127.0.0.3, ...), each with
 * the same host key and a throwaway client key the test authorises. Every host sees the same `deployTo` path,
 * yet each has its own files: each sshd runs in its own mount namespace (`unshare --mount`) with a per-host
 * directory bind-mounted on deployTo. The test reads a host's files under `host.root`.
 *
 *   const sshd = await startSshd({ hosts: 3 });
 *   // app config: deploy_to: sshd.deployTo, ssh: { user: 'root', private_key_path: sshd.clientKey },
 *   //             hosts: sshd.hosts.map((h) => `${h.host}:${h.port}`)
 *   readlinkSync(join(sshd.hosts[0].root, 'current')); await sshd.stop();
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createConnection, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const SSHD = '/usr/sbin/sshd';

export interface SshdHost {
  /** 'host:port', as written in shepherd.yml. */
  entry: string;
  host: string;
  port: number;
  /** This host's deploy root as seen from the test (what the host sees at deployTo). */
  root: string;
}

export interface Sshd {
  hosts: SshdHost[];
  /** The path every host sees its own root at: use it as deploy_to. */
  deployTo: string;
  /** Private key the hosts accept (for root). */
  clientKey: string;
  dir: string;
  /** The hosts' public host key file (what `ssh-keyscan` would report), e.g. to write a known_hosts line. */
  hostKeyPub: string;
  /** What each sshd wrote to stderr (for failing tests). */
  logs(): string;
  /** Restarts every sshd, same addresses and ports, with a newly generated host key (a "changed" host). */
  rekey(): Promise<void>;
  stop(): Promise<void>;
}

/** Why real sshd tests cannot run here, or null when they can. */
export function sshdUnavailable(): string | null {
  if (!existsSync(SSHD)) return `${SSHD} not installed (apt-get install openssh-server)`;
  for (const bin of ['ssh-keygen', 'unshare', 'mount']) {
    try {
      execFileSync('which', [bin], { stdio: 'ignore' });
    } catch {
      return `${bin} not found`;
    }
  }
  if (process.getuid?.() !== 0) return 'needs root (sshd with its own keys, mount namespaces)';
  try {
    execFileSync('unshare', ['--mount', '--propagation', 'private', 'true'], { stdio: 'ignore' });
  } catch {
    return 'unshare --mount is not permitted here';
  }
  return null;
}

/** For describe.skipIf: skip with a reason locally, but never in CI (there a missing sshd is a failure). */
export function skipWithoutSshd(): boolean {
  const why = sshdUnavailable();
  if (why && process.env.CI) throw new Error(`sshd tests cannot run in CI: ${why}`);
  if (why) console.warn(`skipping real-sshd tests: ${why}`);
  return why !== null;
}

export async function freePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, host, () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

async function waitForPort(host: string, port: number, child: ChildProcess, timeoutMs: number, stderr: () => string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`sshd on ${host}:${port} exited (${child.exitCode}): ${stderr()}`);
    const up = await new Promise<boolean>((resolve) => {
      const socket = createConnection({ host, port });
      socket.once('connect', () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    });
    if (up) return;
    // A TCP port coming up sends no event, so this probes; not vi.waitFor because the benchmarks (bench/*.ts,
    // outside vitest) start servers through here, and a dead process must fail at once rather than at the deadline.
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`sshd on ${host}:${port} did not start: ${stderr()}`);
}

export interface SshdOptions {
  hosts?: number;
  /** First loopback address's last byte (default 2 → 127.0.0.2). */
  firstAddress?: number;
  logLevel?: 'ERROR' | 'INFO' | 'DEBUG';
}

export async function startSshd(options: SshdOptions = {}): Promise<Sshd> {
  const count = options.hosts ?? 1;
  const dir = mkdtempSync(join(tmpdir(), 'shepherd-sshd-'));
  mkdirSync('/run/sshd', { recursive: true });
  const hostKey = join(dir, 'host_ed25519');
  const clientKey = join(dir, 'client_ed25519');
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', hostKey]);
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', clientKey]);
  const authorized = join(dir, 'authorized_keys');
  writeFileSync(authorized, readFileSync(`${clientKey}.pub`));
  const deployTo = join(dir, 'deploy');
  mkdirSync(deployTo);
  const home = join(dir, 'home');
  mkdirSync(home);

  const children: ChildProcess[] = [];
  const stderrs: string[] = [];
  const hosts: SshdHost[] = [];
  const halt = async () => {
    await Promise.all(
      children.map(
        (child) =>
          new Promise<void>((resolve) => {
            if (child.exitCode !== null || child.signalCode !== null) return resolve();
            child.once('exit', () => resolve());
            child.kill('SIGTERM');
            setTimeout(() => child.kill('SIGKILL'), 2000).unref();
          }),
      ),
    );
  };
  const stop = async () => {
    await halt();
    rmSync(dir, { recursive: true, force: true });
  };
  const spawnHost = (i: number, root: string, conf: string) => {
    // A private mount namespace per host: the same deployTo path, a different directory behind it.
    const child = spawn(
      'unshare',
      ['--mount', '--propagation', 'private', '--', '/bin/sh', '-c', 'mount --bind "$1" "$2" && exec "$3" -D -e -f "$4"', 'sh', root, deployTo, SSHD, conf],
      {
        stdio: ['ignore', 'ignore', 'pipe'],
      },
    );
    stderrs[i] ??= '';
    child.stderr?.on('data', (chunk: Buffer) => {
      if ((stderrs[i] as string).length < 100_000) stderrs[i] += chunk.toString();
    });
    children[i] = child;
  };
  const waitAll = () => Promise.all(hosts.map((h, i) => waitForPort(h.host, h.port, children[i] as ChildProcess, 10_000, () => stderrs[i] ?? '')));
  const rekey = async () => {
    await halt();
    rmSync(hostKey, { force: true });
    rmSync(`${hostKey}.pub`, { force: true });
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', hostKey]);
    for (const [i, h] of hosts.entries()) spawnHost(i, h.root, join(dir, `sshd-${i + 1}.conf`));
    await waitAll();
  };
  try {
    for (let i = 0; i < count; i++) {
      const host = `127.0.0.${(options.firstAddress ?? 2) + i}`;
      const port = await freePort(host);
      const root = join(dir, `host-${i + 1}`);
      mkdirSync(root);
      const conf = join(dir, `sshd-${i + 1}.conf`);
      writeFileSync(
        conf,
        [
          `ListenAddress ${host}:${port}`,
          `HostKey ${hostKey}`,
          `AuthorizedKeysFile ${authorized}`,
          'StrictModes no',
          'UsePAM no',
          'PermitRootLogin yes',
          'PubkeyAuthentication yes',
          'PasswordAuthentication no',
          'KbdInteractiveAuthentication no',
          'PidFile none',
          'UseDNS no',
          // An empty HOME: root's ~/.bashrc on a dev machine (pyenv, nvm...) would add ~200 ms to every command.
          `SetEnv HOME=${home}`,
          // The fan-out benchmark opens many connections at once; the default (10:30:100) drops some.
          'MaxStartups 500',
          'MaxSessions 100',
          `LogLevel ${options.logLevel ?? 'ERROR'}`,
          '',
        ].join('\n'),
      );
      spawnHost(i, root, conf);
      hosts.push({ entry: `${host}:${port}`, host, port, root });
    }
    await waitAll();
  } catch (err) {
    await stop();
    throw err;
  }
  return { hosts, deployTo, clientKey, dir, hostKeyPub: `${hostKey}.pub`, logs: () => stderrs.join('\n'), rekey, stop };
}
