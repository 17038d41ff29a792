// Debian's Chromium driven by puppeteer-core, for tests of the admin status page. Tests skip when
// the binary is missing (chromiumAvailable()).
import { existsSync } from 'node:fs';
import puppeteer, { type Browser, type Page } from 'puppeteer-core';

export const CHROMIUM = '/usr/bin/chromium';

export function chromiumAvailable(): boolean {
  return existsSync(CHROMIUM);
}

export interface TestBrowser {
  /** A new tab, 1280x900, navigated to url. */
  page(url: string): Promise<Page>;
  /** Closes the browser; kills it if it does not close. Idempotent. */
  close(): Promise<void>;
}

export async function openBrowser(): Promise<TestBrowser> {
  const browser: Browser = await puppeteer.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'],
    defaultViewport: { width: 1280, height: 900 },
  });
  let closed: Promise<void> | undefined;
  return {
    async page(url) {
      const page = await browser.newPage();
      await page.goto(url, { waitUntil: 'domcontentloaded' });
      return page;
    },
    close() {
      closed ??= (async () => {
        const child = browser.process();
        await Promise.race([browser.close().catch(() => {}), new Promise((r) => setTimeout(r, 5000).unref())]);
        if (child && child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      })();
      return closed;
    },
  };
}
