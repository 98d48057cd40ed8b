/**
 * SSH host-key verification, after OpenSSH's StrictHostKeyChecking: the key a host presents is looked up in
 * the user's known_hosts (`ssh.known_hosts`, read only), the system-wide ones and Shepherd's own known_hosts
 * next to its database. A key known for that host passes; a revoked key, or a different key where one is
 * known, is refused; an unknown host is refused with `strict`, or trusted on first use and recorded in
 * Shepherd's file with `accept-new`. `off` checks nothing (the transport then sets no verifier at all).
 * Without this anyone who can intercept the connection would receive the deploy.
 *
 *   const keys = new HostKeys({ checking: 'accept-new', knownHostsFile: '/home/bot/.ssh/known_hosts', managedFile: 'data/known_hosts' });
 *   const check = await keys.forHost('web-1.example.com', 22);
 *   const verdict = await check.verify(blobFromKeyExchange); // { ok: false, reason: 'host key of web-1... changed ...' }
 */
import { appendFile, mkdir, readFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { fingerprint, formatKnownHostsLine, type KnownHostEntry, keyTypeOf, knownHostName, matchesHost, parseKnownHosts } from './known-hosts.js';
import { quote } from './shell-quote.js';
import { KeyedMutex } from '../keyed-mutex.js';

export type HostKeyChecking = 'strict' | 'accept-new' | 'off';

/** ssh's default GlobalKnownHostsFile: keys an administrator installed for every user. */
export const GLOBAL_KNOWN_HOSTS = ['/etc/ssh/ssh_known_hosts', '/etc/ssh/ssh_known_hosts2'];

export interface HostKeyOptions {
  checking: HostKeyChecking;
  /** The user's known_hosts (OpenSSH's UserKnownHostsFile): read, never written. */
  knownHostsFile: string;
  /** Shepherd's own known_hosts: read too, and where accept-new records what it learnt. */
  managedFile: string;
  /** Default GLOBAL_KNOWN_HOSTS. */
  globalFiles?: readonly string[];
}

export type HostKeyVerdict = { ok: true; note: string | null } | { ok: false; reason: string };

/** A host refused because of its key; the message is the one-line reason for chat and the deploy log. */
export class HostKeyRefused extends Error {
  override name = 'HostKeyRefused';
}

/** What is known about one host, ready to judge the key it presents. */
export interface HostKeyCheck {
  /**
   * Host key algorithms to offer, those with a known key for this host first (as ssh orders them), so a host
   * that has several keys presents the one we can check; null to keep the client's default order.
   */
  preferredAlgorithms: string[] | null;
  verify(key: Buffer): Promise<HostKeyVerdict>;
}

// Key types → the host key algorithms that present them (RSA keys sign with SHA-2 nowadays).
const ALGORITHMS: Record<string, string[]> = {
  'ssh-ed25519': ['ssh-ed25519'],
  'ecdsa-sha2-nistp256': ['ecdsa-sha2-nistp256'],
  'ecdsa-sha2-nistp384': ['ecdsa-sha2-nistp384'],
  'ecdsa-sha2-nistp521': ['ecdsa-sha2-nistp521'],
  'ssh-rsa': ['rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa'],
};

export class HostKeys {
  constructor(private readonly options: HostKeyOptions) {}

  get checking(): HostKeyChecking {
    return this.options.checking;
  }

  /** Reads the known_hosts files for `host:port`. Throws HostKeyRefused when one exists but cannot be read. */
  async forHost(host: string, port: number): Promise<HostKeyCheck> {
    const name = knownHostName(host, port);
    const display = displayName(host, port);
    const known = await this.entriesFor(name);
    const types = [...new Set(known.filter((e) => e.marker === null).map((e) => e.keyType))];
    const preferred = types.flatMap((t) => ALGORITHMS[t] ?? []);
    return {
      preferredAlgorithms: preferred.length > 0 ? preferred : null,
      verify: async (key) => {
        if (this.options.checking === 'off') return { ok: true, note: null };
        const first = this.judge(known, key, display);
        if (first !== 'new' || this.options.checking === 'strict') return first === 'new' ? this.unknown(key, host, port, display) : first;
        // Trust on first use. Under a lock, and after reading the files again: a connection to the same host
        // may have recorded a key since, and two different keys must never both be trusted.
        const file = this.options.managedFile;
        return withFileLock(file, async () => {
          const again = this.judge(await this.entriesFor(name), key, display);
          if (again !== 'new') return again;
          const what = `${keyTypeOf(key)} ${fingerprint(key)}`;
          try {
            await mkdir(dirname(file), { recursive: true });
            await appendFile(file, formatKnownHostsLine(name, key), { mode: 0o600 });
          } catch (err) {
            // As ssh: the key is accepted for this connection even when it cannot be remembered.
            return { ok: true, note: `host key of ${display} (${what}) accepted but not recorded: ${(err as Error).message}` };
          }
          return { ok: true, note: `recorded new host key of ${display} (${what}) in ${file} (host_key_checking: accept-new)` };
        });
      },
    };
  }

  /** Known (ok), refused (reason) or 'new' (nothing known about this host). */
  private judge(known: KnownHostEntry[], key: Buffer, display: string): HostKeyVerdict | 'new' {
    const type = keyTypeOf(key);
    const what = `${type ?? 'unknown key type'} ${fingerprint(key)}`;
    const revoked = known.find((e) => e.marker === 'revoked' && e.key.equals(key));
    if (revoked)
      return { ok: false, reason: `host key of ${display} is revoked (${what}, @revoked in ${revoked.file} line ${revoked.line}) — refusing to connect` };
    const valid = known.filter((e) => e.marker === null);
    if (valid.some((e) => e.keyType === type && e.key.equals(key))) return { ok: true, note: null };
    // A different key of the same type, or (since the known types are asked for first) a key of another type
    // where the host used to have a known one: either way, not the host we knew.
    const offending = valid.find((e) => e.keyType === type) ?? valid[0];
    if (offending) {
      const also = offending.keyType === type ? '' : `; ${offending.keyType} was known`;
      return {
        ok: false,
        reason: `host key of ${display} changed (${what}${also}) — if that is expected, remove its line from ${offending.file} (line ${offending.line})`,
      };
    }
    return 'new';
  }

  private unknown(key: Buffer, host: string, port: number, display: string): HostKeyVerdict {
    const what = `${keyTypeOf(key) ?? 'unknown key type'} ${fingerprint(key)}`;
    const scan = `ssh-keyscan ${port === 22 ? '' : `-p ${port} `}${quoteIfNeeded(host)} >> ${quoteIfNeeded(this.options.knownHostsFile)}`;
    return { ok: false, reason: `unknown host key of ${display} (${what}) (host_key_checking: strict) — add it with ${scan}` };
  }

  /** Entries of every file that name this host (certificate authorities are not used: ssh2 has no host certificates). */
  private async entriesFor(name: string): Promise<KnownHostEntry[]> {
    const files = [this.options.knownHostsFile, ...(this.options.globalFiles ?? GLOBAL_KNOWN_HOSTS), this.options.managedFile];
    const texts = await Promise.all([...new Set(files)].map(async (file) => [file, await readKnownHosts(file)] as const));
    return texts.flatMap(([file, text]) => parseKnownHosts(text, file)).filter((e) => e.marker !== 'cert-authority' && matchesHost(e, name));
  }
}

/** A file's text; '' when it does not exist. Unreadable → HostKeyRefused (never silently skip what may hold a key). */
async function readKnownHosts(file: string): Promise<string> {
  try {
    return await readFile(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return '';
    throw new HostKeyRefused(`cannot read known hosts file ${file} (${code ?? (err as Error).message})`);
  }
}

/** `web-1` on port 22, else `web-1:2222` / `[::1]:2222`: how chat and logs name a host. */
function displayName(host: string, port: number): string {
  if (port === 22) return host;
  return `${host.includes(':') ? `[${host}]` : host}:${port}`;
}

/** Shell-quotes a value in a suggested command only when it needs it, so the usual case reads plainly. */
function quoteIfNeeded(value: string): string {
  return /^[A-Za-z0-9_./:@%+=-]+$/.test(value) ? value : quote(value);
}

// One writer per file in this process: concurrent first connections to one host record one key, not two.
const fileLocks = new KeyedMutex();
function withFileLock<T>(file: string, fn: () => Promise<T>): Promise<T> {
  return fileLocks.run(file, fn);
}
