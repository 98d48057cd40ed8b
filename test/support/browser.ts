/**
 * Debian's Chromium driven by playwright-core, for tests of the web viewer. Never downloads a browser:
 * it uses /usr/bin/chromium (or CHROMIUM_PATH) with flags that stop it calling home, which would hang
 * without network. Without Chromium the test is skipped, except in CI where that is a failure.
 *
 *   const skip = chromiumSkipReason();
 *   describe.skipIf(skip)('viewer', () => { ... const browser = await launchChromium(); ... });
 */
import { existsSync, mkdirSync } from 'node:fs';
import { resolve } from 'node:path';
import { type Browser, chromium } from 'playwright-core';

export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--disable-dev-shm-usage',
];

/** Why browser tests cannot run here, or false when they can. Throws in CI: there Chromium must exist. */
export function chromiumSkipReason(): string | false {
  if (existsSync(CHROMIUM_PATH)) return false;
  const reason = `${CHROMIUM_PATH} not found (apt-get install chromium)`;
  if (process.env.CI) throw new Error(`browser tests must run in CI: ${reason}`);
  console.warn(`skipping browser tests: ${reason}`);
  return reason;
}

export async function launchChromium(): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM_PATH, args: CHROMIUM_ARGS, headless: true, timeout: 30_000 });
}

/** test-artifacts/<name>, created if needed; the path is absolute so the test can print it. */
export function artifactPath(name: string): string {
  const dir = resolve('test-artifacts');
  mkdirSync(dir, { recursive: true });
  return resolve(dir, name);
}
