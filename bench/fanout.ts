/**
 * Benchmark section `fanout`: the same one-step release (mkdir releases/<id>, run the step in it, switch the
 * `current` symlink) on 50 loopback hosts — real sshds, one per address 127.0.0.2..51, each in its own mount
 * namespace so every host has its own deploy root at the same path — by Shepherd (concurrency 50), by
 * `parallel-ssh -p 50` and by `ansible -f 50` running the equivalent shell. Each tool runs BENCH_FANOUT_RUNS
 * times (alternating); medians, ratios, and a check that every host ended on the new release.
 *
 *   npm run bench -- fanout        # BENCH_FANOUT_HOSTS=50 BENCH_FANOUT_RUNS=3
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Sshd, sshdUnavailable, startSshd } from '../test/support/sshd.js';
import { startBenchDeployer } from './support/deployer.js';
import { type BenchSection, median, ms, printTable, ratio, verdict } from './support/section.js';

const HOSTS = Number(process.env.BENCH_FANOUT_HOSTS ?? 50);
const RUNS = Number(process.env.BENCH_FANOUT_RUNS ?? 3);
const STEP = 'echo "built $SHEPHERD_SHA" > artifact';

// The deployer every section measures lives in bench/support/deployer.ts (logs imports it from there too).
export { type BenchDeployer, startBenchDeployer } from './support/deployer.js';

function run(cmd: string, args: string[], env: Record<string, string> = {}): Promise<{ ms: number; stdout: string }> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    execFile(cmd, args, { env: { ...process.env, ...env }, maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`${cmd} failed: ${err.message}\n${stderr.slice(-2000)}`));
      else resolve({ ms: performance.now() - started, stdout });
    });
  });
}

/** The release as one shell script, for the tools that take one: what Shepherd does, minus its bookkeeping. */
function releaseScript(root: string, id: string): string {
  return `set -e; mkdir -p ${root}/releases/${id}; cd ${root}/releases/${id}; SHEPHERD_SHA=${id}; ${STEP}; cd ${root}; ln -sfn releases/${id} current.tmp; mv -T current.tmp current`;
}

/** How many hosts have `current` on release `id` with its artifact. */
function switched(sshd: Sshd, sub: string, id: string): number {
  return sshd.hosts.filter((h) => {
    try {
      return readlinkSync(join(h.root, sub, 'current')) === `releases/${id}` && readFileSync(join(h.root, sub, 'current', 'artifact'), 'utf8').length > 0;
    } catch {
      return false;
    }
  }).length;
}

export const fanout: BenchSection = {
  name: 'fanout',
  summary: `one-step release to ${HOSTS} loopback sshd hosts: Shepherd vs parallel-ssh -p ${HOSTS} vs ansible -f ${HOSTS}`,
  async run() {
    const missing = sshdUnavailable();
    if (missing) throw new Error(missing);
    const sshd = await startSshd({ hosts: HOSTS });
    const work = mkdtempSync(join(tmpdir(), 'shepherd-fanout-'));
    const bench = await startBenchDeployer(
      JSON.stringify({
        apps: {
          fan: {
            repo_url: '/nonexistent',
            deploy_to: `${sshd.deployTo}/shepherd`,
            keep_releases: 3,
            ssh: { user: 'root', private_key_path: sshd.clientKey },
            steps: [STEP],
            environments: { bench: { hosts: sshd.hosts.map((h) => h.entry), concurrency: HOSTS } },
          },
        },
      }),
    );
    const sshArgs = `-i ${sshd.clientKey} -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR`;
    const hostsFile = join(work, 'hosts');
    writeFileSync(hostsFile, `${sshd.hosts.map((h) => h.entry).join('\n')}\n`);
    const inventory = join(work, 'inventory');
    writeFileSync(
      inventory,
      `[bench]\n${sshd.hosts.map((h, i) => `h${i + 1} ansible_host=${h.host} ansible_port=${h.port} ansible_user=root ansible_ssh_private_key_file=${sshd.clientKey}`).join('\n')}\n`,
    );
    const ansibleEnv = {
      ANSIBLE_HOST_KEY_CHECKING: 'False',
      ANSIBLE_PYTHON_INTERPRETER: '/usr/bin/python3',
      ANSIBLE_SSH_ARGS: '-o UserKnownHostsFile=/dev/null -o ControlMaster=auto -o ControlPersist=60s',
      ANSIBLE_LOCAL_TEMP: join(work, 'ansible-local'),
      ANSIBLE_CONTROL_PATH_DIR: join(work, 'ansible-cp'),
      ANSIBLE_DEPRECATION_WARNINGS: 'False',
    };
    const times = { shepherd: [] as number[], pssh: [] as number[], ansible: [] as number[] };
    const ok = { shepherd: 0, pssh: 0, ansible: 0 };
    try {
      for (let i = 0; i < RUNS; i++) {
        const started = performance.now();
        const r = await bench.deployer.request({
          app: 'fan',
          environment: 'bench',
          ref: 'main',
          sha: `${String(i).padStart(2, '0')}${'a'.repeat(38)}`,
          requester: bench.user,
          provider: 'shell',
          room: { room: 'bench' },
        });
        if (r.outcome !== 'started') throw new Error(`deploy did not start: ${r.outcome}`);
        await bench.deployer.waitFor(r.deploy.id);
        times.shepherd.push(performance.now() - started);
        const d = await bench.store.deploys.get(r.deploy.id);
        if (d?.state !== 'succeeded') throw new Error(`Shepherd deploy ${d?.id} ${d?.state}: ${d?.error}`);
        ok.shepherd = switched(sshd, 'shepherd', d.releaseId);

        const psshId = `pssh-${i}`;
        const p = await run('parallel-ssh', [
          '-p',
          String(HOSTS),
          '-t',
          '0',
          '-h',
          hostsFile,
          '-l',
          'root',
          '-x',
          sshArgs,
          releaseScript(`${sshd.deployTo}/pssh`, psshId),
        ]);
        times.pssh.push(p.ms);
        ok.pssh = switched(sshd, 'pssh', psshId);

        const ansibleId = `ansible-${i}`;
        const a = await run(
          'ansible',
          ['bench', '-i', inventory, '-f', String(HOSTS), '-m', 'shell', '-a', releaseScript(`${sshd.deployTo}/ansible`, ansibleId)],
          ansibleEnv,
        );
        times.ansible.push(a.ms);
        ok.ansible = switched(sshd, 'ansible', ansibleId);
      }
    } finally {
      await bench.close();
      await sshd.stop();
      rmSync(work, { recursive: true, force: true });
    }
    const [s, p, a] = [median(times.shepherd), median(times.pssh), median(times.ansible)];
    printTable([
      ['', 'wall ms (median)', 'runs', 'hosts switched', 'shepherd ÷ it'],
      ['shepherd', ms(s), times.shepherd.map((t) => ms(t)).join(' '), `${ok.shepherd}/${HOSTS}`, ''],
      [`parallel-ssh -p ${HOSTS}`, ms(p), times.pssh.map((t) => ms(t)).join(' '), `${ok.pssh}/${HOSTS}`, ratio(s, p)],
      [`ansible -f ${HOSTS}`, ms(a), times.ansible.map((t) => ms(t)).join(' '), `${ok.ansible}/${HOSTS}`, ratio(s, a)],
    ]);
    console.log(`  aim: ≤ 1.0× parallel-ssh: ${verdict(s / p, 1)}; ≤ 0.3× ansible: ${verdict(s / a, 0.3)}`);
    console.log('  Shepherd also records every host and line in SQLite, reads the previous release and prunes old ones.');
    if (ok.shepherd !== HOSTS) throw new Error(`Shepherd switched ${ok.shepherd}/${HOSTS} hosts`);
  },
};
