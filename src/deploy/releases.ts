/**
 * What happens on one host, Capistrano-style: `<deploy_to>/releases/<id>` is created, the steps run in it,
 * the healthcheck, then `current` is switched atomically (a new symlink renamed over the old one, so readers
 * see the old or the new release, never none), and releases beyond keep_releases are removed.
 * Every command here is built from quoted values; only steps and the healthcheck come from shepherd.yml.
 *
 *   const host = new HostReleases(session, '/srv/web', log.host('web-1'));
 *   const { previous } = await host.prepare('20261122101530-7');
 *   await host.switchTo('20261122101530-7');
 */
import { quote, quotePath } from './shell-quote.js';
import { describeResult, type RunResult, type Session } from './transport.js';

/** Release ids are ours (`<UTC stamp>-<deploy id>`): anything else found in releases/ is never touched. */
export const RELEASE_ID = /^[0-9]{14}-[0-9]+$/;

export interface CommandOutcome {
  ok: boolean;
  result: RunResult;
  stdout: string;
  stderr: string;
  /** 'exit code 2', 'timed out after 5s', ... */
  reason: string;
}

export class HostReleases {
  /** The deploy root as the host resolved it (absolute), once prepare() ran. */
  root: string;

  constructor(
    private readonly session: Session,
    deployTo: string,
    private readonly timeoutMs: number,
    private readonly signal?: AbortSignal,
  ) {
    this.root = deployTo;
  }

  /** Runs one of our own commands and captures its (small) output. */
  async capture(script: string, options: { cwd?: string } = {}): Promise<CommandOutcome> {
    let stdout = '';
    let stderr = '';
    const result = await this.session.run({
      script,
      cwd: options.cwd,
      timeoutMs: this.timeoutMs,
      signal: this.signal,
      onOutput: (stream, chunk) => {
        // Our commands print a path or two; cap anyway so a broken host cannot fill memory.
        if (stream === 'stdout' && stdout.length < 65_536) stdout += chunk.toString('utf8');
        if (stream === 'stderr' && stderr.length < 65_536) stderr += chunk.toString('utf8');
      },
    });
    const ok = result.code === 0 && !result.cancelled && !result.timedOut;
    return { ok, result, stdout, stderr, reason: ok ? 'ok' : `${describeResult(result, this.timeoutMs)}${stderr.trim() ? `: ${lastLine(stderr)}` : ''}` };
  }

  /**
   * Creates releases/<id> and reads where `current` points now (the release to go back to on failure).
   * Also learns the absolute deploy root, so `~/app` becomes the real path in SHEPHERD_RELEASE_DIR.
   */
  async prepare(releaseId: string): Promise<{ ok: true; previous: string | null } | { ok: false; reason: string }> {
    const r = await this.capture(
      `set -e; mkdir -p ${quotePath(this.root)}/releases/${quote(releaseId)}; cd ${quotePath(this.root)}; pwd -P; if [ -L current ]; then readlink current; fi`,
    );
    if (!r.ok) return { ok: false, reason: `could not create the release directory (${r.reason})` };
    const [root, target] = r.stdout.split('\n').map((l) => l.trim());
    if (root) this.root = root;
    return { ok: true, previous: target ? releaseName(target) : null };
  }

  releaseDir(releaseId: string): string {
    return `${this.root}/releases/${releaseId}`;
  }

  /** Whether releases/<id> is still there (a rollback needs it). */
  async exists(releaseId: string): Promise<boolean> {
    const r = await this.capture(`test -d ${quotePath(this.root)}/releases/${quote(releaseId)}`);
    return r.ok;
  }

  /** The release `current` points to, or null. */
  async currentRelease(): Promise<string | null> {
    const r = await this.capture(`cd ${quotePath(this.root)} && if [ -L current ]; then readlink current; fi`);
    const target = r.stdout.trim();
    return r.ok && target ? releaseName(target) : null;
  }

  /** Points `current` at releases/<id> atomically: a new symlink renamed over the old one. */
  async switchTo(releaseId: string): Promise<CommandOutcome> {
    const tmp = quote(`current.tmp-${releaseId}`);
    return this.capture(
      `cd ${quotePath(this.root)} && test -d releases/${quote(releaseId)} && ln -sfn releases/${quote(releaseId)} ${tmp} && mv -T ${tmp} current`,
    );
  }

  /** Back to `previous`, or no `current` at all when there was none before. */
  async switchBack(previous: string | null): Promise<CommandOutcome> {
    if (previous) return this.switchTo(previous);
    return this.capture(`rm -f ${quotePath(this.root)}/current`);
  }

  /**
   * Removes the oldest releases so `keep` remain, never the ones in `protect` (the live one and the one a
   * failed deploy would go back to). Only names Shepherd gave (RELEASE_ID) are considered.
   */
  async prune(keep: number, protect: (string | null)[]): Promise<CommandOutcome> {
    const keepSet = protect.filter((p): p is string => Boolean(p) && RELEASE_ID.test(p as string));
    const cases = keepSet.length ? `${keepSet.map((p) => quote(p)).join('|')}) ;; ` : '';
    const script = [
      `cd ${quotePath(this.root)}/releases`,
      `ls -1 | grep -E '^[0-9]{14}-[0-9]+$' | sort -r | tail -n +${keep + 1} | while IFS= read -r d; do case "$d" in ${cases}*) rm -rf -- "$d" ;; esac; done`,
    ].join(' && ');
    return this.capture(script);
  }
}

/** 'releases/20261122101530-7' or '/srv/web/releases/…/' → '20261122101530-7'. */
export function releaseName(target: string): string {
  return target.replace(/\/+$/, '').split('/').pop() ?? target;
}

function lastLine(text: string): string {
  const lines = text.trim().split('\n');
  return (lines[lines.length - 1] ?? '').slice(0, 200);
}
