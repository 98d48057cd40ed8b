/**
 * HostReleases' own commands on a real shell (the local transport runs them as sshd would: `/bin/sh -c`): the
 * switch of `current` and the removal of old releases, which run as one command.
 */
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LocalTransport } from '../../src/deploy/local-transport.js';
import { HostReleases } from '../../src/deploy/releases.js';
import type { RunRequest, Session } from '../../src/deploy/transport.js';

const host = { label: 'local', host: 'localhost', port: 22, stage: 0 };
const ids = ['20261101000000-1', '20261102000000-2', '20261103000000-3', '20261104000000-4', '20261105000000-5'];

describe('HostReleases.switchAndPrune', () => {
  let root: string;
  let session: Session;
  beforeEach(async () => {
    root = mkdtempSync(join(tmpdir(), 'shepherd-releases-'));
    for (const id of ids) mkdirSync(join(root, 'releases', id), { recursive: true });
    session = await new LocalTransport().connect(host, 5000);
  });
  afterEach(() => rmSync(root, { recursive: true, force: true }));
  const releases = (s: Session = session) => new HostReleases(s, root, 10_000);
  const left = () => readdirSync(join(root, 'releases')).sort();

  it('GIVEN five releases and keep 2 THEN current points to the new one and the oldest go, but never a protected one nor a name Shepherd did not give', async () => {
    // Not ours: a suffix that is not a number, a name without the stamp, a file with a space.
    for (const other of ['20261100000000-1x', 'notes', 'a b']) writeFileSync(join(root, 'releases', other), '');
    const r = await releases().switchAndPrune(ids[4] as string, 2, [ids[4] as string, ids[0] as string]);
    expect(r).toEqual({ switched: { ok: true, reason: 'ok' }, pruned: { ok: true, reason: 'ok' } });
    expect(readlinkSync(join(root, 'current'))).toBe(`releases/${ids[4]}`);
    // The newest two stay (4, 5), and 1, protected as the release to go back to.
    expect(left()).toEqual(['20261100000000-1x', ids[0], ids[3], ids[4], 'a b', 'notes'].sort());
  });

  it('GIVEN keep larger than the releases THEN nothing is removed', async () => {
    const r = await releases().switchAndPrune(ids[2] as string, 10, [ids[2] as string, null]);
    expect(r.pruned?.ok).toBe(true);
    expect(left()).toEqual(ids);
    expect(readlinkSync(join(root, 'current'))).toBe(`releases/${ids[2]}`);
  });

  it('GIVEN the release directory is gone THEN the switch fails with its reason and nothing is removed', async () => {
    const r = await releases().switchAndPrune('20261106000000-6', 1, []);
    expect(r.switched.ok).toBe(false);
    expect(r.switched.reason).toMatch(/exit code 1/);
    expect(r.pruned).toBeNull();
    expect(existsSync(join(root, 'current'))).toBe(false);
    expect(left()).toEqual(ids);
  });

  it('GIVEN a release that cannot be removed THEN the switch still counts as done and the removal says why', async () => {
    // An `rm` that fails, first on the PATH of the command (as a host whose rm hits a busy mount would).
    const bin = join(root, 'bin');
    mkdirSync(bin);
    writeFileSync(join(bin, 'rm'), '#!/bin/sh\necho "rm: cannot remove $3: Device or resource busy" >&2\nexit 1\n');
    chmodSync(join(bin, 'rm'), 0o755);
    const failingRm: Session = {
      run: (request: RunRequest) => session.run({ ...request, env: { ...request.env, PATH: `${bin}:${process.env.PATH ?? '/usr/bin:/bin'}` } }),
      close: () => session.close(),
    };
    const r = await releases(failingRm).switchAndPrune(ids[4] as string, 3, [ids[4] as string]);
    expect(r.switched).toEqual({ ok: true, reason: 'ok' });
    expect(r.pruned?.ok).toBe(false);
    expect(r.pruned?.reason).toMatch(/^exit code 1: rm: cannot remove 20261102000000-2: Device or resource busy$/);
    expect(readlinkSync(join(root, 'current'))).toBe(`releases/${ids[4]}`);
  });
});
