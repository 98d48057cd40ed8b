/**
 * The viewer on the real deploy engine: a `transport: local` deploy runs real shell steps through the
 * engine's log pipeline (splitter → Masker → DeployEvents → batched LogLine writes) while a viewer watches
 * over SSE, drops and resumes. Its steps print a seeded token and a PEM private key: neither may reach the
 * database, the API, the raw log, the live stream, the page or the chat.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventLines } from '../../src/deploy/events.js';
import { createWebServer, type WebServer } from '../../src/web/server.js';
import { type DeployHarness, deployHarness, makeRepo, type TestRepo } from '../deploy/harness.js';
import { openSse, type SseEvent } from './sse-client.js';
import { waitUntil } from '../support/wait.js';

const TOKEN = 'seeded-Tok3n-7f3a9c1e5b2d4f60a8e1';
const KEY_BODY = [
  'b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW',
  'QyNTUxOQAAACDkX0Zq2YpW3mVhWm7qJx6b9x2eV0c8sP9m1c3fJx4vFgAAAJgB3Rk9Ad0Z',
];
const PEM = ['-----BEGIN OPENSSH PRIVATE KEY-----', ...KEY_BODY, '-----END OPENSSH PRIVATE KEY-----'];
const LINES = 3000;

function leaks(text: string): string[] {
  return [TOKEN, ...KEY_BODY].filter((secret) => text.includes(secret));
}

describe('the viewer on a real local deploy', () => {
  let repo: TestRepo;
  let h: DeployHarness;
  let web: WebServer;
  let deployDir: string;

  beforeAll(async () => {
    repo = makeRepo();
    repo.commit('first');
    deployDir = mkdtempSync(join(tmpdir(), 'shepherd-local-'));
    const app = {
      repo_url: repo.bare,
      transport: 'local',
      deploy_to: deployDir,
      default_environment: 'staging',
      steps: [
        'git clone --quiet "$SHEPHERD_REPO_URL" . && git checkout --quiet "$SHEPHERD_SHA"',
        // A careless step: prints a token it was given, then a private key, then a long build log.
        `echo "deploying with token ${TOKEN}"`,
        `printf '%s\\n' ${PEM.map((l) => `'${l}'`).join(' ')}`,
        `i=0; while [ $i -lt ${LINES} ]; do i=$((i+1)); printf 'build \\033[32mstep\\033[0m %s <b>done</b>\\n' $i; [ $((i % 1000)) -eq 0 ] && sleep 0.2; done; true`,
        `echo "failing; token was ${TOKEN}" >&2; exit 3`,
      ],
      environments: { staging: { hosts: ['localhost'] } },
    };
    h = await deployHarness(JSON.stringify({ release_managers: ['irc:boss'], apps: { web: app } }), { secrets: [TOKEN] });
    // No secrets given to the viewer: what is checked here is the pipeline's own masking.
    web = createWebServer({ host: '127.0.0.1', port: 0, store: h.store, events: h.events, logger: pino({ level: 'silent' }) });
    await web.start();
  });
  afterAll(async () => {
    await web?.stop();
    await h?.close();
    repo?.close();
    if (deployDir) rmSync(deployDir, { recursive: true, force: true });
  });

  it('streams the whole log once across a reconnect, and no secret reaches any output', async () => {
    const firstLine = new Promise<number>((resolve) => {
      const off = h.events.subscribe((e) => {
        const [line] = eventLines(e);
        if (line) {
          off();
          resolve(line.deployId);
        }
      });
    });
    await h.chat.say('alice', 'deploy web/main to staging');
    const id = await firstLine;

    // A viewer joins mid-deploy, drops after a while, and resumes with Last-Event-ID.
    const got: SseEvent[] = [];
    const url = `${web.url}/deploys/${id}/events`;
    const first = openSse(url, { onEvent: (e) => got.push(e) });
    await waitUntil('500 lines on the first connection', () => got.filter((e) => e.event === 'line').length >= 500);
    first.close();
    const lastId = Number(got.filter((e) => e.id).at(-1)?.id ?? 0);
    expect(lastId).toBeGreaterThan(0);
    const second = openSse(url, { lastEventId: lastId, onEvent: (e) => got.push(e) });
    await second.ended;
    await h.deployer.idle();

    // The stream: every stored line exactly once, in order, the same text as stored, then state and end.
    const stored = await h.store.deploys.lines(id, { limit: 1_000_000 });
    expect(stored.length).toBeGreaterThan(LINES);
    const streamed = got.filter((e) => e.event === 'line').map((e) => JSON.parse(e.data) as { seq: number; text: string });
    expect(streamed.map((l) => l.seq)).toEqual(stored.map((l) => l.seq));
    expect(streamed.map((l) => l.text)).toEqual(stored.map((l) => l.text));
    expect(got.at(-1)?.event).toBe('end');
    const deploy = await h.store.db.deploy.findUniqueOrThrow({ where: { id } });
    expect(deploy.state).toBe('failed');

    // The secrets were printed (the masks are there) but are nowhere to be read.
    const all = stored.map((l) => l.text).join('\n');
    expect(all).toContain('deploying with token ********');
    expect(all).toContain('-----BEGIN OPENSSH PRIVATE KEY-----');
    expect(all).toContain(`build \x1b[32mstep\x1b[0m ${LINES} <b>done</b>`);
    expect(leaks(all)).toEqual([]);

    let api = '';
    for (let after = 0; ; ) {
      const page = (await (await fetch(`${web.url}/api/deploys/${id}/lines?after=${after}&limit=1000`)).json()) as {
        lines: { seq: number }[];
        next: number | null;
      };
      api += JSON.stringify(page);
      if (page.next === null) break;
      after = page.next;
    }
    expect(api).toContain('********');
    expect(leaks(api)).toEqual([]);
    const raw = await (await fetch(`${web.url}/deploys/${id}/raw`)).text();
    expect(raw.split('\n').filter(Boolean)).toHaveLength(stored.length);
    expect(leaks(raw)).toEqual([]);
    expect(leaks(JSON.stringify(streamed))).toEqual([]);
    expect(leaks(await (await fetch(`${web.url}/deploys/${id}`)).text())).toEqual([]);
    expect(leaks(await (await fetch(`${web.url}/api/deploys/${id}`)).text())).toEqual([]);

    // Chat: the failure message quotes the failing host's last lines, masked too.
    const chat = h.texts().join('\n');
    expect(chat).toContain(`/deploys/${id}`);
    expect(chat).toContain('failing; token was ********');
    expect(leaks(chat)).toEqual([]);
  });
});
