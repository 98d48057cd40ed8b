/**
 * OpenSSH's known_hosts format (sshd(8), "SSH_KNOWN_HOSTS FILE FORMAT"): read lines with markers
 * (`@revoked`, `@cert-authority`), comma-separated host patterns (`*`, `?`, `!negation`, `[host]:port`) and
 * hashed names (`|1|salt|HMAC-SHA1(salt, name)`), match them against a host the way ssh does, and write lines
 * the way ssh writes them. Pure functions over text and buffers; reading and writing files is host-keys.ts.
 *
 *   const entries = parseKnownHosts(readFileSync(file, 'utf8'), file);
 *   const mine = entries.filter((e) => matchesHost(e, knownHostName('127.0.0.2', 2222)));
 *   fingerprint(blob) // 'SHA256:uK2...' as `ssh-keygen -l` prints it
 */
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';

export interface KnownHostEntry {
  file: string;
  /** 1-based, as `ssh-keygen -F` and ssh's "Offending key in file:line" count. */
  line: number;
  marker: 'revoked' | 'cert-authority' | null;
  /** The host field as written: patterns, or one hashed name. */
  hosts: string;
  keyType: string;
  /** The key blob (base64-decoded), what the server sends in its key exchange. */
  key: Buffer;
}

/** Every valid line of a known_hosts file; comments, blank and malformed lines are skipped (as ssh does). */
export function parseKnownHosts(text: string, file: string): KnownHostEntry[] {
  const entries: KnownHostEntry[] = [];
  text.split('\n').forEach((raw, index) => {
    const fields = raw.trim().split(/\s+/);
    if (!fields[0] || fields[0].startsWith('#')) return;
    let marker: KnownHostEntry['marker'] = null;
    if (fields[0].startsWith('@')) {
      const word = fields.shift();
      if (word === '@revoked') marker = 'revoked';
      else if (word === '@cert-authority') marker = 'cert-authority';
      else return; // an unknown marker: ssh ignores the line
    }
    const [hosts, keyType, base64] = fields;
    if (!hosts || !keyType || !base64 || !/^[A-Za-z0-9+/]+={0,2}$/.test(base64)) return;
    const key = Buffer.from(base64, 'base64');
    // ssh refuses a line whose key type disagrees with the type inside the blob.
    if (keyTypeOf(key) !== keyType) return;
    entries.push({ file, line: index + 1, marker, hosts, keyType, key });
  });
  return entries;
}

/** The name ssh looks hosts up by: `host` on port 22, `[host]:port` otherwise; lower case. */
export function knownHostName(host: string, port: number): string {
  const name = host.toLowerCase();
  return port === 22 ? name : `[${name}]:${port}`;
}

/**
 * Whether an entry's host field names `name` (a knownHostName()). A hashed field matches when its HMAC does;
 * a pattern list matches when some pattern does and no negated (`!`) one does.
 */
export function matchesHost(entry: Pick<KnownHostEntry, 'hosts'>, name: string): boolean {
  if (entry.hosts.startsWith('|')) return matchesHashed(entry.hosts, name);
  let matched = false;
  for (const pattern of entry.hosts.split(',')) {
    const negated = pattern.startsWith('!');
    if (!globMatch(negated ? pattern.slice(1) : pattern, name)) continue;
    if (negated) return false;
    matched = true;
  }
  return matched;
}

/** `|1|base64(salt)|base64(HMAC-SHA1(salt, name))`, as `ssh-keygen -H` and HashKnownHosts write it. */
export function hashHostName(name: string, salt: Buffer): string {
  return `|1|${salt.toString('base64')}|${createHmac('sha1', salt).update(name).digest('base64')}`;
}

function matchesHashed(field: string, name: string): boolean {
  const parts = field.split('|');
  if (parts.length !== 4 || parts[0] !== '' || parts[1] !== '1' || !parts[2] || !parts[3]) return false;
  const salt = Buffer.from(parts[2], 'base64');
  const want = Buffer.from(parts[3], 'base64');
  const got = createHmac('sha1', salt).update(name).digest();
  return want.length === got.length && timingSafeEqual(want, got);
}

/** OpenSSH's match_pattern: `*` any run, `?` one character, case-insensitive. */
function globMatch(pattern: string, name: string): boolean {
  if (!pattern) return false;
  const source = pattern
    .toLowerCase()
    .split('')
    .map((c) => (c === '*' ? '.*' : c === '?' ? '.' : c.replace(/[\\^$.|+()[\]{}]/g, '\\$&')))
    .join('');
  return new RegExp(`^${source}$`, 's').test(name);
}

/** The type name inside a key blob ('ssh-ed25519', 'ssh-rsa', 'ecdsa-sha2-nistp256', ...); null if malformed. */
export function keyTypeOf(blob: Buffer): string | null {
  if (blob.length < 4) return null;
  const length = blob.readUInt32BE(0);
  if (length === 0 || length > 64 || blob.length < 4 + length) return null;
  const type = blob.subarray(4, 4 + length).toString('latin1');
  return /^[\x21-\x7e]+$/.test(type) ? type : null;
}

/** `SHA256:` + unpadded base64 of the blob's SHA-256, as ssh and ssh-keygen -l show it. */
export function fingerprint(blob: Buffer): string {
  return `SHA256:${createHash('sha256').update(blob).digest('base64').replace(/=+$/, '')}`;
}

/** One line as ssh appends it when it learns a key: `[host]:port ssh-ed25519 AAAA...`. */
export function formatKnownHostsLine(name: string, blob: Buffer): string {
  return `${name} ${keyTypeOf(blob) ?? 'unknown'} ${blob.toString('base64')}\n`;
}
