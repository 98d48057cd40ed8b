/**
 * What happens on one host, Capistrano-style: `<deploy_to>/releases/<id>` is created, the steps run in it,
 * the healthcheck, then `current` is switched atomically (a new symlink renamed over the old one, so readers
 * see the old or the new release, never none), and releases beyond keep_releases are removed.
 * Every command here is built from quoted values; only steps and the healthcheck come from shepherd.yml.
 *
 *   const host = new HostReleases(session, '/srv/web', log.host('web-1'));
 *   const { previous } = await host.prepare('20261122101530-7');
 *   await host.switchAndPrune('20261122101530-7', 5, [previous]); // current → the new release, 5 kept
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
    return this.capture(this.switchScript(releaseId));
  }

  /** The shell that switches `current` (run in any directory; it ends in the deploy root). */
  private switchScript(releaseId: string): string {
    const tmp = quote(`current.tmp-${releaseId}`);
    return `cd ${quotePath(this.root)} && test -d releases/${quote(releaseId)} && ln -sfn releases/${quote(releaseId)} ${tmp} && mv -T ${tmp} current`;
  }

  /** Back to `previous`, or no `current` at all when there was none before. */
  async switchBack(previous: string | null): Promise<CommandOutcome> {
    if (previous) return this.switchTo(previous);
    return this.capture(`rm -f ${quotePath(this.root)}/current`);
  }

  /**
   * switchTo(), then, when it switched, removes the oldest releases so `keep` remain, never the ones in `protect`
   * (the live one and the one a failed deploy would go back to) nor any name Shepherd did not give (RELEASE_ID).
   * One command, so one round trip to the host instead of two; a marker line on stderr between the two parts says
   * the switch was done, whatever the removal then did.
   */
  async switchAndPrune(releaseId: string, keep: number, protect: (string | null)[]): Promise<{ switched: Outcome; pruned: Outcome | null }> {
    const r = await this.capture(`${this.switchScript(releaseId)} && echo ${SWITCHED} >&2 && cd releases && ${pruneScript(keep, protect)}`);
    const marker = r.stderr.indexOf(`${SWITCHED}\n`);
    if (marker < 0) return { switched: { ok: false, reason: r.reason }, pruned: null };
    const pruneErr = r.stderr.slice(marker + SWITCHED.length + 1);
    const pruned = r.ok
      ? { ok: true, reason: 'ok' }
      : { ok: false, reason: `${describeResult(r.result, this.timeoutMs)}${pruneErr.trim() ? `: ${lastLine(pruneErr)}` : ''}` };
    return { switched: { ok: true, reason: 'ok' }, pruned };
  }
}

/** Whether a command did what it was for, and if not why ('exit code 2: mv: …'). */
export interface Outcome {
  ok: boolean;
  reason: string;
}

/** What switchAndPrune()'s command prints on stderr once `current` points to the new release. */
const SWITCHED = '__shepherd_switched';

/**
 * Shell (run in releases/) that removes all but the newest `keep` releases, never those in `protect`. Plain sh:
 * a glob lists the names in order (ids start with their UTC time), `case` keeps Shepherd's names (RELEASE_ID)
 * only, and nothing is started but `rm` for what goes (a pipeline of ls, grep, sort and tail cost ~30 ms a deploy).
 */
export function pruneScript(keep: number, protect: (string | null)[]): string {
  const kept = protect.filter((p): p is string => Boolean(p) && RELEASE_ID.test(p as string));
  const cases = kept.length ? `${kept.map((p) => quote(p)).join('|')}) ;; ` : '';
  const stamp = '[0-9]'.repeat(14);
  // ours NAME: true for <14 digits>-<digits>, as RELEASE_ID.
  const ours = `ours() { case "$1" in ${stamp}-[0-9]*) case "\${1#*-}" in *[!0-9]*) return 1 ;; esac ;; *) return 1 ;; esac; }`;
  // One compound command, so `a && <this>` runs none of it when `a` fails.
  const body = [
    ours,
    'n=0; for d in *; do if ours "$d"; then n=$((n + 1)); fi; done',
    `f=0; for d in *; do if ours "$d"; then n=$((n - 1)); if [ "$n" -ge ${keep} ]; then case "$d" in ${cases}*) rm -rf -- "$d" || f=1 ;; esac; fi; fi; done`,
    'exit $f',
  ];
  return `{ ${body.join('; ')}; }`;
}

/** 'releases/20261122101530-7' or '/srv/web/releases/…/' → '20261122101530-7'. */
export function releaseName(target: string): string {
  return target.replace(/\/+$/, '').split('/').pop() ?? target;
}

function lastLine(text: string): string {
  const lines = text.trim().split('\n');
  return (lines[lines.length - 1] ?? '').slice(0, 200);
}
