import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readlinkSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { planDeploy } from '../../src/deploy/plan.js';
import { type DeployHarness, deployHarness } from './harness.js';

const ROOT = join(import.meta.dirname, '..', '..');
const EXAMPLE = join(ROOT, 'shepherd.example.yml');

describe('the example config: `deploy demo` with the local transport', () => {
  const out = mkdtempSync(join(tmpdir(), 'shepherd-demo-'));
  let h: DeployHarness | undefined;
  afterAll(async () => {
    await h?.close();
    rmSync(out, { recursive: true, force: true });
  });

  it('GIVEN shepherd.example.yml as shipped THEN demo deploys this checkout next to the config', () => {
    const config = loadConfig({ SHEPHERD_CONFIG: EXAMPLE, DATABASE_URL: 'file:/tmp/unused.db' });
    const plan = planDeploy(config, 'demo', 'staging');
    expect(plan.transport).toBe('local');
    expect(plan.repoUrl).toBe(ROOT);
    expect(plan.deployTo).toBe(join(ROOT, 'data', 'demo-deploy'));
  });

  it('GIVEN the example app (deploy_to moved to a temp dir) THEN `deploy demo` clones this repository, passes the healthcheck and switches current', async () => {
    // Same app, steps and healthcheck as shipped; only where the release lands and the (then absolute) repo path change.
    const yaml = readFileSync(EXAMPLE, 'utf8').replace('deploy_to: ./data/demo-deploy', `deploy_to: ${out}`).replace('repo_url: .', `repo_url: ${ROOT}`);
    h = await deployHarness(yaml, { provider: 'shell' });
    const head = execFileSync('git', ['rev-parse', 'HEAD'], { cwd: ROOT }).toString().trim();
    await h.chat.say('me', 'deploy demo');
    await h.deployer.idle();
    const [d] = await h.store.deploys.recent({});
    expect(d?.state).toBe('succeeded');
    expect(d?.sha).toBe(head);
    expect(readlinkSync(join(out, 'current'))).toBe(`releases/${d!.releaseId}`);
    expect(readFileSync(join(out, 'current', 'package.json'), 'utf8')).toContain('"name": "shepherd"');
    const lines = await h.store.deploys.lines(d!.id);
    expect(lines.some((l) => l.text === `building demo at ${head} for staging`)).toBe(true);
    expect(h.texts().at(-1)).toMatch(/✅ #1 demo\/HEAD \([0-9a-f]{7}\) → staging succeeded in .* @me/);
  });
});
