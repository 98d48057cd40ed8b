import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { appendFileSync, existsSync, mkdtempSync, readFileSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fingerprint, hashHostName, knownHostName, matchesHost, parseKnownHosts } from '../../src/deploy/known-hosts.js';
import type { FullDeploy } from '../../src/store/deploys.js';
import { type Sshd, type SshdHost, skipWithoutSshd, startSshd } from '../support/sshd.js';
import { type DeployHarness, deployHarness, makeRepo, sshApp, type TestRepo } from './harness.js';

/** `ssh-ed25519 AAAA... comment` → [type, base64, blob]. */
function publicKey(pubFile: string): { type: string; base64: string; blob: Buffer } {
  const [type, base64] = readFileSync(pubFile, 'utf8').trim().split(/\s+/) as [string, string];
  return { type, base64, blob: Buffer.from(base64, 'base64') };
}

/** The fingerprint as OpenSSH itself prints it (`ssh-keygen -l`), to compare ours with. */
function opensshFingerprint(pubFile: string): string {
  return execFileSync('ssh-keygen', ['-l', '-f', pubFile]).toString().split(' ')[1] as string;
}

describe('known_hosts format (OpenSSH lines)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'shepherd-kh-'));
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', join(dir, 'k')]);
  const key = publicKey(join(dir, 'k.pub'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('GIVEN patterns, negations, ports, markers and comments THEN entries match hosts as ssh matches them', () => {
    const text = [
      '# a comment',
      '',
      `web-*.example.com,!web-9.example.com ${key.type} ${key.base64} ops@laptop`,
      `[127.0.0.2]:2222 ${key.type} ${key.base64}`,
      `@revoked * ${key.type} ${key.base64}`,
      `@cert-authority *.example.com ${key.type} ${key.base64}`,
      `@bogus web-1 ${key.type} ${key.base64}`,
      `mismatch ssh-rsa ${key.base64}`,
      'truncated ssh-ed25519',
    ].join('\n');
    const entries = parseKnownHosts(text, '/f');
    expect(entries.map((e) => [e.line, e.marker, e.hosts])).toEqual([
      [3, null, 'web-*.example.com,!web-9.example.com'],
      [4, null, '[127.0.0.2]:2222'],
      [5, 'revoked', '*'],
      [6, 'cert-authority', '*.example.com'],
    ]);
    const [pattern, port] = entries as [(typeof entries)[0], (typeof entries)[0]];
    expect(pattern.key.equals(key.blob)).toBe(true);
    expect(matchesHost(pattern, knownHostName('WEB-1.example.com', 22))).toBe(true);
    expect(matchesHost(pattern, knownHostName('web-9.example.com', 22))).toBe(false);
    expect(matchesHost(pattern, knownHostName('web-1.example.com', 2222))).toBe(false);
    expect(matchesHost(port, knownHostName('127.0.0.2', 2222))).toBe(true);
    expect(matchesHost(port, knownHostName('127.0.0.2', 22))).toBe(false);
    expect(matchesHost(port, knownHostName('127.0.0.22', 2222))).toBe(false);
  });

  it('GIVEN a file hashed by ssh-keygen -H THEN its entries match the host, and our hash of the same salt is identical', () => {
    const file = join(dir, 'hashed');
    writeFileSync(file, `[127.0.0.2]:2222 ${key.type} ${key.base64}\nweb-1 ${key.type} ${key.base64}\n`);
    execFileSync('ssh-keygen', ['-q', '-H', '-f', file], { stdio: 'ignore' });
    const entries = parseKnownHosts(readFileSync(file, 'utf8'), file);
    expect(entries).toHaveLength(2);
    expect(entries.every((e) => e.hosts.startsWith('|1|'))).toBe(true);
    expect(entries.filter((e) => matchesHost(e, '[127.0.0.2]:2222'))).toHaveLength(1);
    expect(entries.filter((e) => matchesHost(e, 'web-1'))).toHaveLength(1);
    expect(entries.filter((e) => matchesHost(e, 'web-2'))).toHaveLength(0);
    const salt = Buffer.from((entries[1]?.hosts.split('|')[2] as string) ?? '', 'base64');
    expect(hashHostName('web-1', salt)).toBe(entries[1]?.hosts);
    expect(hashHostName('web-1', randomBytes(20))).not.toBe(entries[1]?.hosts);
    expect(fingerprint(key.blob)).toBe(opensshFingerprint(join(dir, 'k.pub')));
  });
});

describe.skipIf(skipWithoutSshd())('SSH host-key verification against a real sshd', () => {
  let sshd: Sshd;
  let host: SshdHost;
  let repo: TestRepo;
  let dir: string;
  const harnesses: DeployHarness[] = [];

  /** A harness whose app checks host keys with `mode` against `knownHosts` (the user's file). */
  async function harness(mode: 'strict' | 'accept-new' | 'off', knownHosts: string): Promise<DeployHarness> {
    const h = await deployHarness(
      sshApp({
        repoUrl: repo.bare,
        deployTo: sshd.deployTo,
        key: sshd.clientKey,
        hosts: [host.entry],
        app: { ssh: { user: 'root', private_key_path: sshd.clientKey, known_hosts: knownHosts, host_key_checking: mode } },
      }),
    );
    harnesses.push(h);
    return h;
  }

  async function deploy(h: DeployHarness): Promise<FullDeploy> {
    repo.commit('change');
    await h.chat.say('alice', 'deploy web/main');
    await h.deployer.idle();
    return (await h.store.deploys.recent({ app: 'web' }))[0] as FullDeploy;
  }

  const released = (d: FullDeploy) => existsSync(join(host.root, 'releases', d.releaseId));
  const managed = (h: DeployHarness) => join(h.dir, 'known_hosts');
  const logText = async (h: DeployHarness, d: FullDeploy) => (await h.store.deploys.lines(d.id)).map((l) => l.text).join('\n');

  beforeAll(async () => {
    sshd = await startSshd({ hosts: 1 });
    host = sshd.hosts[0] as SshdHost;
    repo = makeRepo();
    dir = mkdtempSync(join(tmpdir(), 'shepherd-hostkeys-'));
  });
  afterAll(async () => {
    for (const h of harnesses) await h.close();
    repo?.close();
    await sshd?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('GIVEN accept-new and an unknown host THEN the key is recorded in OpenSSH format beside the database, and the next deploy passes on it', async () => {
    const h = await harness('accept-new', join(dir, 'absent_known_hosts'));
    const key = publicKey(sshd.hostKeyPub);
    const first = await deploy(h);
    expect(first.state).toBe('succeeded');
    expect(readFileSync(managed(h), 'utf8')).toBe(`[${host.host}]:${host.port} ${key.type} ${key.base64}\n`);
    expect(await logText(h, first)).toContain(
      `recorded new host key of ${host.entry} (ssh-ed25519 ${opensshFingerprint(sshd.hostKeyPub)}) in ${managed(h)} (host_key_checking: accept-new)`,
    );
    // The user's file is only read: accept-new never writes there.
    expect(existsSync(join(dir, 'absent_known_hosts'))).toBe(false);

    const second = await deploy(h);
    expect(second.state).toBe('succeeded');
    expect(await logText(h, second)).not.toContain('recorded new host key');
    expect(readFileSync(managed(h), 'utf8').split('\n').filter(Boolean)).toHaveLength(1);

    // The host now presents another key: refused, nothing runs there, the recorded key stays.
    const before = readFileSync(managed(h), 'utf8');
    await sshd.rekey();
    const third = await deploy(h);
    const reason = `host key of ${host.entry} changed (ssh-ed25519 ${opensshFingerprint(sshd.hostKeyPub)}) — if that is expected, remove its line from ${managed(h)} (line 1)`;
    expect(third.state).toBe('failed');
    expect(third.hosts[0]?.state).toBe('failed');
    expect(third.hosts[0]?.error).toBe(reason);
    expect(released(third)).toBe(false);
    expect(readlinkSync(join(host.root, 'current'))).toBe(`releases/${second.releaseId}`);
    expect(await logText(h, third)).toContain(`✗ ${reason}`);
    expect(await logText(h, third)).not.toContain('$ git clone');
    expect(h.texts().some((t) => t.includes(reason))).toBe(true);
    expect(readFileSync(managed(h), 'utf8')).toBe(before);
  });

  it('GIVEN strict THEN an unknown key is refused; the key added with ssh-keyscan passes, and still passes once the file is hashed', async () => {
    const user = join(dir, 'strict_known_hosts');
    const h = await harness('strict', user);
    const refused = await deploy(h);
    const reason = `unknown host key of ${host.entry} (ssh-ed25519 ${opensshFingerprint(sshd.hostKeyPub)}) (host_key_checking: strict) — add it with ssh-keyscan -p ${host.port} ${host.host} >> ${user}`;
    expect(refused.state).toBe('failed');
    expect(refused.hosts[0]?.error).toBe(reason);
    expect(released(refused)).toBe(false);
    expect(h.texts().some((t) => t.includes(reason))).toBe(true);
    expect(existsSync(managed(h))).toBe(false);

    // Do what the message says, with OpenSSH's own tool: it writes `[127.0.0.2]:port ssh-ed25519 AAAA...`.
    const scanned = execFileSync('ssh-keyscan', ['-p', String(host.port), host.host], { stdio: ['ignore', 'pipe', 'ignore'] }).toString();
    expect(scanned).toContain(`[${host.host}]:${host.port} ssh-ed25519 ${publicKey(sshd.hostKeyPub).base64}`);
    appendFileSync(user, scanned);
    const plain = await deploy(h);
    expect(plain.state).toBe('succeeded');
    expect(released(plain)).toBe(true);

    execFileSync('ssh-keygen', ['-q', '-H', '-f', user], { stdio: 'ignore' });
    const text = readFileSync(user, 'utf8');
    expect(text).toMatch(/^\|1\|[A-Za-z0-9+/=]+\|[A-Za-z0-9+/=]+ ssh-ed25519 /);
    expect(text).not.toContain(host.host);
    const hashed = await deploy(h);
    expect(hashed.state).toBe('succeeded');
    expect(existsSync(managed(h))).toBe(false);
  });

  it('GIVEN strict and the key listed under another key in the user file THEN it is refused as changed, naming that file', async () => {
    const user = join(dir, 'stale_known_hosts');
    const other = publicKey(`${sshd.clientKey}.pub`); // any ed25519 key that is not the host's
    writeFileSync(user, `# fleet keys\n[${host.host}]:${host.port} ${other.type} ${other.base64}\n`);
    const h = await harness('strict', user);
    const d = await deploy(h);
    expect(d.state).toBe('failed');
    expect(d.hosts[0]?.error).toBe(
      `host key of ${host.entry} changed (ssh-ed25519 ${opensshFingerprint(sshd.hostKeyPub)}) — if that is expected, remove its line from ${user} (line 2)`,
    );
    expect(released(d)).toBe(false);
  });

  it('GIVEN accept-new and the host key marked @revoked THEN it is refused', async () => {
    const user = join(dir, 'revoked_known_hosts');
    const key = publicKey(sshd.hostKeyPub);
    writeFileSync(user, `@revoked * ${key.type} ${key.base64}\n`);
    const h = await harness('accept-new', user);
    const d = await deploy(h);
    expect(d.state).toBe('failed');
    expect(d.hosts[0]?.error).toMatch(new RegExp(`^host key of ${host.entry.replace(/\./g, '\\.')} is revoked \\(ssh-ed25519 SHA256:.* line 1\\)`));
    expect(released(d)).toBe(false);
    expect(existsSync(managed(h))).toBe(false);
  });

  it('GIVEN off THEN any key is accepted, even one that contradicts known_hosts, and nothing is recorded', async () => {
    const user = join(dir, 'off_known_hosts');
    const other = publicKey(`${sshd.clientKey}.pub`);
    writeFileSync(user, `[${host.host}]:${host.port} ${other.type} ${other.base64}\n`);
    const h = await harness('off', user);
    const d = await deploy(h);
    expect(d.state).toBe('succeeded');
    expect(released(d)).toBe(true);
    expect(existsSync(managed(h))).toBe(false);
  });
});
