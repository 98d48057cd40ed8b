/**
 * The viewer as users get it: `npm start` (src/main.ts) brings it up with the bot on WEB_HOST:WEB_PORT,
 * `deploy demo` in the shell chat prints a link that opens the deploy's page and log, ending the chat stops it;
 * on a non-loopback WEB_HOST without WEB_AUTH the bot refuses to start with one line.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parse as parseYaml, stringify as toYaml } from 'yaml';
import { waitUntil } from '../support/wait.js';

const ROOT = join(import.meta.dirname, '..', '..');
const BASE_ENV = { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', LOG_LEVEL: 'warn' };

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

describe('the web viewer in the running bot', () => {
  const dir = mkdtempSync(join(tmpdir(), 'shepherd-main-web-'));
  let child: ChildProcess | undefined;
  afterAll(() => {
    child?.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });

  it('refuses a non-loopback WEB_HOST without WEB_AUTH, in one line', () => {
    const run = spawnSync(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
      cwd: ROOT,
      encoding: 'utf8',
      input: '',
      timeout: 60_000,
      env: { ...BASE_ENV, WEB_HOST: '0.0.0.0', DATABASE_URL: `file:${join(dir, 'refused.db')}` },
    });
    expect(run.status).toBe(1);
    expect(run.stderr).toBe(
      'shepherd: could not start: WEB_HOST=0.0.0.0 is reachable from other machines: set WEB_AUTH (user:password or a token) or bind WEB_HOST=127.0.0.1\n',
    );
  });

  it('npm start → `deploy demo` → the printed link opens the deploy with its log; ending the chat stops the server', async () => {
    // The example config, with the demo deploying this checkout into the temp dir.
    const config = parseYaml(readFileSync(join(ROOT, 'shepherd.example.yml'), 'utf8'));
    config.apps.demo.repo_url = ROOT;
    config.apps.demo.deploy_to = join(dir, 'demo-deploy');
    writeFileSync(join(dir, 'shepherd.yml'), toYaml(config));
    const port = await freePort();
    child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
      cwd: ROOT,
      stdio: ['pipe', 'pipe', 'pipe'],
      env: { ...BASE_ENV, WEB_PORT: String(port), SHEPHERD_CONFIG: join(dir, 'shepherd.yml'), DATABASE_URL: `file:${join(dir, 'shell.db')}` },
    });
    let out = '';
    child.stdout!.on('data', (c: Buffer) => {
      out += c.toString();
    });
    child.stderr!.on('data', (c: Buffer) => {
      out += c.toString();
    });
    const exited = new Promise<number | null>((resolve) => child!.once('exit', (code) => resolve(code)));
    const until = (re: RegExp) => waitUntil(`${re} in the output`, () => re.exec(out), 60_000);

    child.stdin!.write('deploy demo\n');
    const link = (await until(new RegExp(`http://127\\.0\\.0\\.1:${port}/deploys/(\\d+)`)))[0];
    await until(/succeeded in/);

    const page = await fetch(link);
    expect(page.status).toBe(200);
    const html = await page.text();
    expect(html).toMatch(/Deploy #\d+ <span class="what"><b>demo<\/b>/);
    expect(html).toContain('class="badge s-succeeded"');
    const id = Number(link.split('/').pop());
    const lines = (await (await fetch(`http://127.0.0.1:${port}/api/deploys/${id}/lines?limit=5000`)).json()) as { lines: { text: string }[] };
    expect(lines.lines.some((l) => l.text.startsWith('building demo at '))).toBe(true);
    const dashboard = await (await fetch(`http://127.0.0.1:${port}/`)).text();
    expect(dashboard).toContain(`href="/deploys/${id}"`);
    expect(dashboard).toContain('demo → staging');

    child.stdin!.end();
    expect(await exited).toBe(0);
    await expect(fetch(`http://127.0.0.1:${port}/`)).rejects.toThrow();
  });
});
