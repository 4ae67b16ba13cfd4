/**
 * Debian's Chromium for browser tests, driven by playwright-core (never a downloaded browser):
 * launched headless from /usr/bin/chromium, or, when SKIFF_TEST_CHROMIUM_CDP names a running
 * one's DevTools endpoint (`http://127.0.0.1:9222`), that one, so a CI run can start it once.
 */
import type { Browser } from 'playwright-core';
import { chromium } from 'playwright-core';

export const CHROMIUM_PATH = '/usr/bin/chromium';

/** The flags DESIGN.md found to work here: no sandbox (root in CI), no GPU, no calls home. */
export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

export interface TestBrowser {
  readonly browser: Browser;
  /** Closes a browser this process launched; leaves a shared one running. */
  close(): Promise<void>;
}

export async function startChromium(): Promise<TestBrowser> {
  const shared = process.env.SKIFF_TEST_CHROMIUM_CDP;
  if (shared) {
    const browser = await chromium.connectOverCDP(shared);
    return { browser, close: async () => {} };
  }
  const browser = await chromium.launch({ executablePath: CHROMIUM_PATH, args: CHROMIUM_ARGS });
  return { browser, close: () => browser.close() };
}
