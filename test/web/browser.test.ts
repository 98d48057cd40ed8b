import type { Browser, Page } from 'playwright-core';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DeployEvents } from '../../src/deploy/events.js';
import { createWebServer, type WebServer } from '../../src/web/server.js';
import { artifactPath, chromiumSkipReason, launchChromium } from '../support/browser.js';
import { type TempStore, tempStore } from '../support/db.js';
import { SimulatedRun, seedDeploy, seedLines } from './fixtures.js';

const skip = chromiumSkipReason();

// Code run inside the page is passed as strings: this project type-checks for Node, without DOM types.

/** Seq of the log rows currently in the DOM (the viewer draws only those near the viewport). */
const renderedSeqs = (page: Page) => page.evaluate<number[]>(`[...document.querySelectorAll('#log .l')].map((r) => Number(r.dataset.seq))`);

/** Whether row #L<seq> is drawn and inside the log's visible area. */
async function visibleInLog(page: Page, seq: number): Promise<boolean> {
  return page.evaluate<boolean>(`(() => {
    const row = document.getElementById('L${seq}');
    const log = document.getElementById('log');
    if (!row || !log) return false;
    const r = row.getBoundingClientRect();
    const l = log.getBoundingClientRect();
    return r.top >= l.top - 1 && r.bottom <= l.bottom + 1;
  })()`);
}

const countText = (page: Page) => page.locator('#count').textContent();

const logText = (seq: number) =>
  seq % 100 === 7 ? `\x1b[31mERROR\x1b[0m <img src=x onerror="window.pwned=1"> <b>not bold</b> ${seq}` : `\x1b[32mok\x1b[0m step ${seq}`;

describe.skipIf(skip)('the deploy page in a real Chromium', () => {
  let t: TempStore;
  let events: DeployEvents;
  let web: WebServer;
  let browser: Browser;

  beforeAll(async () => {
    t = await tempStore();
    events = new DeployEvents();
    web = createWebServer({ host: '127.0.0.1', port: 0, store: t.store, events, logger: pino({ level: 'silent' }), teams: ['web'] });
    await web.start();
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
    await web?.stop();
    await t?.close();
  });

  it('streams new lines without a reload, renders colours and HTML as text, filters by host, follows #L links', async () => {
    const deploy = await seedDeploy(t.store, { app: 'web', environment: 'production', state: 'running', hosts: ['web-1', 'web-2', 'web-3'] });
    await seedLines(t.store, deploy.id, 2000, ['web-1', 'web-2', 'web-3'], logText);
    const run = new SimulatedRun(t.store, events, deploy.id, 2000);
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(`${web.url}/deploys/${deploy.id}`);

    // Follow mode shows the end of the stored log; then lines published now appear in the same page.
    await page.locator('#L2000').waitFor();
    await page.evaluate('window.marker = 42');
    await page.locator('#live:not([hidden])').waitFor();
    for (let i = 0; i < 30; i++) run.line(`web-${(i % 3) + 1}`, `live line ${i}`, i === 29 ? 'stderr' : 'stdout');
    await page.locator('#L2030').waitFor();
    expect(await page.locator('#L2030 .t').textContent()).toBe('live line 29');
    expect(await page.locator('#L2030').getAttribute('class')).toContain('stderr');
    expect(await visibleInLog(page, 2030)).toBe(true);
    expect(await page.evaluate('window.marker')).toBe(42); // no reload
    await run.flush();

    // A #L link opened from chat: scrolled to, highlighted; ANSI colours rendered, markup shown as text.
    await page.goto(`${web.url}/deploys/${deploy.id}#L1207`);
    await page.locator('#L1207.hl').waitFor();
    expect(await visibleInLog(page, 1207)).toBe(true);
    expect(await page.locator('#follow').isChecked()).toBe(false);
    const row = page.locator('#L1207 .t');
    expect(await row.textContent()).toBe('ERROR <img src=x onerror="window.pwned=1"> <b>not bold</b> 1207');
    expect(await row.locator('span.ansi-red-fg').textContent()).toBe('ERROR');
    expect(await row.locator('img, b').count()).toBe(0);
    expect(await page.evaluate('window.pwned')).toBeUndefined();

    // Clicking a line number moves the highlight and the address.
    await page.locator('#L1210 a.n').click();
    await page.locator('#L1210.hl').waitFor();
    expect(new URL(page.url()).hash).toBe('#L1210');
    expect(await page.locator('#log .l.hl').count()).toBe(1);

    // Host filter: only web-2's lines, the count says so, and new lines of other hosts stay out.
    await page.selectOption('#host-filter', 'web-2');
    await expect.poll(() => page.textContent('#count')).toMatch(/^\d+ of \d+ lines$/);
    const hosts = await page.$$eval('#log .l .h', (els) => [...new Set(els.map((e) => e.textContent))]);
    expect(hosts).toEqual(['web-2']);
    expect(await countText(page)).toBe('677 of 2030 lines');
    await page.locator('#follow').check();
    run.line('web-1', 'web-1 after filter');
    run.line('web-2', 'web-2 after filter');
    await page.locator('#L2032').waitFor();
    expect(await page.locator('#L2031').count()).toBe(0);
    expect(await countText(page)).toBe('678 of 2032 lines');
    expect(new URL(page.url()).searchParams.get('host')).toBe('web-2');

    // A #L link to a line the filter hides clears the filter.
    await page.evaluate(`location.hash = '#L1202'`);
    await page.locator('#L1202.hl').waitFor();
    expect(await page.locator('#host-filter').inputValue()).toBe('');
    expect(await visibleInLog(page, 1202)).toBe(true);

    const shot = artifactPath('deploy-page.png');
    await page.screenshot({ path: shot });
    console.log(`screenshot: ${shot}`);

    // The end of the deploy reaches the open page: state badge and hosts update, the stream closes.
    await run.host('web-1', 'succeeded');
    await run.state('succeeded');
    await page.locator('#state .s-succeeded').waitFor();
    await page.locator('#hosts tr[data-host="web-1"] .s-succeeded').waitFor();
    await page.locator('#live[hidden]').waitFor({ state: 'attached' });
    expect(errors).toEqual([]);

    const dash = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    await dash.goto(`${web.url}/`);
    await dash.locator('#metrics svg.chart').first().waitFor();
    expect(await dash.locator(`#recent a[href="/deploys/${deploy.id}"]`).count()).toBe(1);
    const dashShot = artifactPath('dashboard.png');
    await dash.screenshot({ path: dashShot, fullPage: true });
    console.log(`screenshot: ${dashShot}`);
    await dash.close();
    await page.close();
  });

  it('opens a 100k-line log drawing only the rows in view, and jumps anywhere in it', async () => {
    const deploy = await seedDeploy(t.store, { state: 'succeeded', finishedAt: new Date(), hosts: ['web-1', 'web-2'] });
    await seedLines(t.store, deploy.id, 100_000, ['web-1', 'web-2'], logText);
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    await page.goto(`${web.url}/deploys/${deploy.id}#L99993`);
    await page.locator('#L99993.hl').waitFor({ timeout: 60_000 });
    expect(await visibleInLog(page, 99993)).toBe(true);
    await expect.poll(() => page.textContent('#count'), { timeout: 60_000 }).toBe('100000 lines');
    const drawn = await renderedSeqs(page);
    expect(drawn.length).toBeLessThan(200);
    expect(drawn).toContain(99993);

    // Scrolling to the middle draws the middle.
    await page.evaluate(`document.getElementById('log').scrollTop = 50000 * 20`);
    await page.locator('#L50001').waitFor();
    expect((await renderedSeqs(page)).length).toBeLessThan(200);

    // The filter over all 100k lines.
    await page.selectOption('#host-filter', 'web-1');
    await expect.poll(() => page.textContent('#count'), { timeout: 30_000 }).toBe('50000 of 100000 lines');
    await page.close();
  });
});
