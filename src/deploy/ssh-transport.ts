/**
 * The ssh transport: one node-ssh connection per host, reused for every script of that host's deploy.
 * Commands are built here from quoted parts: `export K='v'; cd '/dir' && exec timeout -k 5s 600s /bin/sh -c '<script>'`.
 * Values travel as exported variables because sshd's AcceptEnv refuses most names. GNU timeout makes the
 * script its own process group and kills that whole group at the deadline; a cancel sends the SSH "signal"
 * request (sshd delivers it with killpg), so builds started by a step do not outlive it.
 * The host's key is checked against known_hosts (HostKeys) during the key exchange, before anything is sent.
 *
 *   const transport = new SshTransport({ user: 'deploy', privateKeyPath: '/home/bot/.ssh/id_ed25519', hostKeys });
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { Socket } from 'node:net';
import { homedir, userInfo } from 'node:os';
import { join } from 'node:path';
import type { NodeSSH } from 'node-ssh';
import type { Client, ClientChannel, ConnectConfig, ServerHostKeyAlgorithm } from 'ssh2';
import { type HostKeyCheck, HostKeyRefused, type HostKeys } from './host-keys.js';
import type { PlannedHost } from './plan.js';
import { exportPrefix, quote, quotePath } from './shell-quote.js';
import { deliver, type RunRequest, type RunResult, type Session, type Transport } from './transport.js';

/** Prefix of the line each remote command starts with on stderr, giving its pid (never shown). */
const PID_MARKER = '__shepherd_pid=';

export interface SshOptions {
  /** Default login when a host entry names none (else the bot's own user name, like ssh). */
  user?: string | undefined;
  /** Key file; without it the ssh agent (SSH_AUTH_SOCK) or ~/.ssh/id_ed25519 / id_rsa. */
  privateKeyPath?: string | undefined;
  /** How long a signalled script gets to exit before it is killed (and the channel closed). */
  killGraceMs?: number;
  /** Host-key verification; without it (host_key_checking: off) any host key is accepted. */
  hostKeys?: HostKeys | undefined;
  /** Told what is worth a line in the deploy log (a host key recorded on first use). */
  onNotice?: ((host: PlannedHost, text: string) => void) | undefined;
}

let nodeSsh: Promise<typeof import('node-ssh')> | undefined;

/**
 * node-ssh (and ssh2 under it) loaded once: not at start (ssh2 is a sizeable share of start-up time), but by the
 * first SSH deploy or, earlier, by Scheduler.prepare() once the bot is up (~120 ms the first deploy then does
 * not wait for).
 */
export function loadNodeSsh(): Promise<typeof import('node-ssh')> {
  nodeSsh ??= import('node-ssh');
  return nodeSsh;
}

export class SshTransport implements Transport {
  constructor(private readonly options: SshOptions = {}) {}

  async connect(host: PlannedHost, connectTimeoutMs: number): Promise<Session> {
    const { NodeSSH } = await loadNodeSsh();
    const ssh = new NodeSSH();
    const username = host.user ?? this.options.user ?? safeUser();
    const auth: Record<string, string> = {};
    let keyPath: string | undefined = this.options.privateKeyPath;
    if (!keyPath && process.env.SSH_AUTH_SOCK) auth.agent = process.env.SSH_AUTH_SOCK;
    else keyPath ??= ['id_ed25519', 'id_ecdsa', 'id_rsa'].map((k) => join(homedir(), '.ssh', k)).find((k) => existsSync(k));
    // Read here rather than by node-ssh, so that its connect() hands our socket to ssh2 at once (below).
    if (keyPath) auth.privateKey = await readKey(keyPath);
    const check = this.options.hostKeys && this.options.hostKeys.checking !== 'off' ? await this.options.hostKeys.forHost(host.host, host.port) : null;
    let refusal: string | undefined;
    const hostKey: Pick<ConnectConfig, 'hostVerifier' | 'algorithms'> = check
      ? this.verification(host, check, (why) => {
          refusal = why;
        })
      : {};
    // The socket's events come in a later tick than this, in which ssh2 (given the key, node-ssh awaits nothing
    // before it starts ssh2) has its listeners on it: a refused connection is its error.
    const sock = noDelaySocket(host.host, host.port);
    try {
      // ssh2's readyTimeout covers TCP connect, handshake and authentication: an unreachable host fails in time.
      await ssh.connect({
        host: host.host,
        port: host.port,
        sock,
        username,
        readyTimeout: connectTimeoutMs,
        keepaliveInterval: 15_000,
        keepaliveCountMax: 4,
        ...hostKey,
        ...auth,
      });
    } catch (err) {
      ssh.dispose();
      sock.destroy();
      // ssh2 only says "Host denied (verification failed)": the verifier knows why.
      if (refusal) throw new HostKeyRefused(refusal);
      throw err;
    }
    return new SshSession(ssh, this.options.killGraceMs ?? 5000);
  }

  /** ssh2 options that check the host key: hostVerifier gets the raw key blob from the key exchange. */
  private verification(host: PlannedHost, check: HostKeyCheck, refuse: (why: string) => void): Pick<ConnectConfig, 'hostVerifier' | 'algorithms'> {
    const preferred = check.preferredAlgorithms as ServerHostKeyAlgorithm[] | null;
    return {
      // Answered asynchronously (the verifier may write known_hosts): ssh2 waits for `verify`.
      hostVerifier: (key: Buffer, verify: (valid: boolean) => void) => {
        check.verify(key).then(
          (verdict) => {
            if (verdict.ok) {
              if (verdict.note) this.options.onNotice?.(host, verdict.note);
              verify(true);
            } else {
              refuse(verdict.reason);
              verify(false);
            }
          },
          (err: Error) => {
            refuse(err instanceof HostKeyRefused ? err.message : `host key check failed: ${err.message}`);
            verify(false);
          },
        );
      },
      // Known key types first, the rest after: 'remove' then 'prepend' moves them to the front of ssh2's list.
      ...(preferred ? { algorithms: { serverHostKey: { remove: preferred, prepend: preferred, append: [] } } } : {}),
    };
  }
}

/**
 * The TCP connection to a host, with Nagle's algorithm off from its first byte (ssh2 connects its own socket with
 * it on). The handshake is a dozen small request/reply packets, and with Nagle a packet sent while the previous one
 * is not yet acknowledged waits for the peer's delayed ACK (40 ms on Linux): connect to ready took ~100 ms on
 * loopback against Debian's sshd, ~70 with this. ssh2 waits for the socket's 'connect' and reports its errors
 * (refused, unreachable, unknown host) as its own, within readyTimeout.
 */
function noDelaySocket(host: string, port: number): Socket {
  const sock = new Socket();
  sock.setNoDelay(true);
  // Never an uncaught 'error' (which would take the bot down), whoever listens or not.
  sock.on('error', () => {});
  return sock.connect({ host, port });
}

/** A private key file's text, or an error naming the file. */
async function readKey(path: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (err) {
    throw new Error(`cannot read the SSH key ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
}

/** When nudgeWhileWaiting() sends its pings (ms after the request went out). */
const NUDGE_AT_MS = [3, 8, 15, 30];

/**
 * While a channel request waits for the server's answer, a few pings (the keepalive request ssh2 sends itself),
 * each of which makes our side acknowledge what the server sent so far. OpenSSH's sshd leaves Nagle's algorithm on
 * for sessions without a terminal, so an answer written while its previous packet is unacknowledged waits for our
 * delayed ACK (40 ms on Linux). Right after authentication it always does: the first command's channel took ~52 ms
 * to open on loopback, the next ones ~3; with the pings, ~10. Returns the function that stops them (the answer
 * came). Reaches into ssh2's private keepalive machinery: without it (another ssh2) nothing is sent.
 */
export function nudgeWhileWaiting(connection: Client): () => void {
  const internals = connection as unknown as { _protocol?: { ping?: () => void }; _callbacks?: unknown[] };
  const ping = internals._protocol?.ping;
  const callbacks = internals._callbacks;
  if (typeof ping !== 'function' || !Array.isArray(callbacks)) return () => {};
  const timers = NUDGE_AT_MS.map((ms) =>
    setTimeout(() => {
      // ssh2 matches each global-request reply to the next callback in line: one for ours, as its keepalive does.
      callbacks.push(() => {});
      try {
        ping.call(internals._protocol);
      } catch {
        // The connection is going away: its own error says so.
      }
    }, ms),
  );
  return () => {
    for (const t of timers) clearTimeout(t);
  };
}

class SshSession implements Session {
  private readonly connection: Client;
  private lost: string | undefined;
  private readonly running = new Set<() => void>();

  constructor(
    private readonly ssh: NodeSSH,
    private readonly killGraceMs: number,
  ) {
    if (!ssh.connection) throw new Error('ssh connection missing after connect');
    this.connection = ssh.connection;
    // Without a listener a dropped connection would be an uncaught 'error' and take the bot down.
    const onLost = (why: string) => {
      this.lost ??= why;
      for (const abort of this.running) abort();
    };
    this.connection.on('error', (err: Error) => onLost(`connection lost: ${err.message}`));
    this.connection.on('close', () => onLost('connection closed'));
  }

  run(request: RunRequest): Promise<RunResult> {
    if (this.lost) return Promise.resolve({ code: null, signal: null, timedOut: false, cancelled: false, error: this.lost });
    return new Promise((resolve) => {
      // The shell reports its pid first (on stderr, stripped below): it execs `timeout`, which leads the
      // process group of everything the step starts, so a cancel can kill that whole group.
      let command = `echo ${PID_MARKER}$$ >&2; ${exportPrefix(request.env ?? {})}`;
      if (request.cwd) command += `cd ${quotePath(request.cwd)} && `;
      const seconds = request.timeoutMs ? Math.max(1, Math.ceil(request.timeoutMs / 1000)) : 0;
      const graceSeconds = Math.max(1, Math.ceil(this.killGraceMs / 1000));
      // stdin is /dev/null: a step never waits for input.
      command +=
        seconds > 0
          ? `exec timeout -k ${graceSeconds}s ${seconds}s /bin/sh -c ${quote(request.script)} </dev/null`
          : `exec /bin/sh -c ${quote(request.script)} </dev/null`;

      const result: RunResult = { code: null, signal: null, timedOut: false, cancelled: false };
      const started = Date.now();
      const timers: NodeJS.Timeout[] = [];
      let channel: ClientChannel | undefined;
      let remotePid: number | null = null;
      let stderrHead: Buffer | null = Buffer.alloc(0);
      let settled = false;
      const finish = () => {
        if (settled) return;
        settled = true;
        for (const t of timers) clearTimeout(t);
        request.signal?.removeEventListener('abort', onAbort);
        this.running.delete(onLost);
        if (result.code === null && result.signal === null && !result.cancelled && !result.timedOut)
          result.error ??= this.lost ?? 'connection closed before the command ended';
        resolve(result);
      };
      // TERM to the step's process group (sent on a second channel: sshd refuses "signal" requests in root
      // sessions), KILL after the grace period, then close the channel so a stuck host cannot hold us.
      const kill = (signal: 'TERM' | 'KILL') => {
        if (remotePid !== null)
          this.connection.exec(`kill -${signal} -- -${remotePid} 2>/dev/null || kill -${signal} ${remotePid} 2>/dev/null; true`, (err, ch) => {
            if (!err) {
              ch.on('data', () => {});
              ch.stderr.on('data', () => {});
              ch.end();
            }
          });
      };
      const stop = () => {
        kill('TERM');
        timers.push(setTimeout(() => kill('KILL'), this.killGraceMs));
        timers.push(
          setTimeout(() => {
            channel?.close();
            timers.push(setTimeout(finish, 2000));
          }, this.killGraceMs + 1000),
        );
      };
      const onAbort = () => {
        result.cancelled = true;
        stop();
      };
      const onLost = () => finish();
      this.running.add(onLost);
      if (request.signal?.aborted) {
        result.cancelled = true;
        finish();
        return;
      }
      request.signal?.addEventListener('abort', onAbort, { once: true });
      if (request.timeoutMs) {
        // Remote `timeout` is the real deadline; this one only covers a host too stuck to honour it.
        timers.push(
          setTimeout(
            () => {
              result.timedOut = true;
              stop();
            },
            request.timeoutMs + this.killGraceMs + 5000,
          ),
        );
      }
      const opened = nudgeWhileWaiting(this.connection);
      this.connection.exec(command, (err, ch) => {
        opened();
        if (err) {
          result.error = `could not start the command: ${err.message}`;
          finish();
          return;
        }
        channel = ch;
        ch.on('data', (chunk: Buffer) => deliver(request, 'stdout', chunk, ch));
        ch.stderr.on('data', (chunk: Buffer) => {
          if (stderrHead === null) return deliver(request, 'stderr', chunk, ch.stderr);
          // Until the pid line has come (login scripts may print before it), hold stderr back; then pass on
          // everything but that line.
          stderrHead = Buffer.concat([stderrHead, chunk]);
          const at = stderrHead.indexOf(PID_MARKER);
          const nl = at < 0 ? -1 : stderrHead.indexOf(10, at);
          if (nl < 0 && stderrHead.length < 8192) return;
          const head = stderrHead;
          stderrHead = null;
          let rest = head;
          if (nl >= 0) {
            remotePid = Number(head.subarray(at + PID_MARKER.length, nl).toString()) || null;
            rest = Buffer.concat([head.subarray(0, at), head.subarray(nl + 1)]);
          }
          if (remotePid !== null && result.cancelled) stop();
          if (rest.length > 0) deliver(request, 'stderr', rest, ch.stderr);
        });
        ch.on('exit', (code: number | null, signal?: string) => {
          result.code = code ?? null;
          result.signal = signal ?? null;
          // 124: timeout stopped it; 137: timeout had to KILL it after the grace period.
          if (seconds > 0 && (code === 124 || (code === 137 && Date.now() - started >= seconds * 1000))) result.timedOut = true;
        });
        ch.on('close', () => {
          if (stderrHead?.length) request.onOutput?.('stderr', stderrHead);
          stderrHead = null;
          finish();
        });
        ch.end();
      });
    });
  }

  async close(): Promise<void> {
    this.ssh.dispose();
  }
}

function safeUser(): string {
  try {
    return userInfo().username;
  } catch {
    return process.env.USER ?? 'root';
  }
}
