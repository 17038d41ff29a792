/// <reference lib="dom" />
/// <reference lib="dom.iterable" />
// The admin server's live status page in a real browser (Debian's headless Chromium) against a real
// cluster under load: one row per worker, charts that fill, an event after a worker is killed.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chromiumAvailable, openBrowser, type TestBrowser } from '../helpers/browser.js';
import { ClusterProcess, type LoadResult, ROOT, runLoad } from '../helpers/cluster-process.js';

// In CI a missing browser is a failure, not a skip (.ci/run installs it).
const run = chromiumAvailable() || !!process.env.CI;

describe.skipIf(!run)('status page', () => {
  let cp: ClusterProcess;
  let browser: TestBrowser;
  let port: number;
  let admin: { port: number };
  let stopLoad = false;
  let load: Promise<LoadResult>;

  beforeAll(async () => {
    cp = new ClusterProcess('app.mjs', {
      WORKERS: '2',
      STANDBY: '1',
      TELEMETRY_INTERVAL: '250',
      CONFIG_JSON: JSON.stringify({
        autoScaling: { enabled: true, minWorkers: 2, maxWorkers: 2, intervalMs: 500 },
        resources: { maxMemoryPerWorker: '512MB' },
      }),
    });
    ({ port, admin } = await cp.listening());
    await cp.waitFor((e) => e.event === 'worker:standby', 15_000, 'the standby');
    // Bounded load for the whole test: the charts and rates have something to show.
    load = runLoad(port, () => stopLoad, { keepAlive: 2, fresh: 1, maxRequests: 500_000, maxMs: 100_000 });
    browser = await openBrowser();
  });
  afterAll(async () => {
    stopLoad = true;
    await load;
    await browser?.close();
    await cp?.cleanup();
  });

  it('shows each worker, live charts and rates, and the event of a killed worker; saves a screenshot', {
    timeout: 120_000,
  }, async () => {
    const page = await browser.page(`http://127.0.0.1:${admin.port}/`);
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(String(e)));
    const all = (await cp.command('workers')).workers as { slot: number; pid: number; state: string }[];
    const workers = all.filter((w) => w.state === 'ready');
    const standby = all.find((w) => w.state === 'standby')!;

    // One row per worker, with its pid, ready; the standby after them, without a slot.
    await page.waitForFunction(
      (n: number) => {
        const rows = [...document.querySelectorAll('#workers tr.worker')];
        const states = rows.map((r) => r.querySelector('[data-col=state] .badge')?.textContent);
        return rows.length === n + 1 && states.slice(0, n).every((s) => s === 'ready') && states[n] === 'standby';
      },
      { timeout: 15_000 },
      workers.length,
    );
    const rows = await page.$$eval('#workers tr.worker', (trs) =>
      trs.map((tr) => ({
        slot: tr.querySelector('[data-col=slot]')?.textContent,
        pid: tr.querySelector('[data-col=pid]')?.textContent,
      })),
    );
    expect(rows).toEqual([
      ...workers.map((w) => ({ slot: String(w.slot), pid: String(w.pid) })),
      { slot: '–', pid: String(standby.pid) },
    ]);

    // The cluster's request-rate chart gains points and shows a non-zero rate under load.
    await page.waitForFunction(
      () => {
        const points =
          document.querySelector('#cluster [data-metric=requestRate] svg.chart polyline')?.getAttribute('points') ?? '';
        const rate = Number.parseFloat(
          document.querySelector('#cluster [data-metric=requestRate] .v')?.textContent ?? '0',
        );
        return points.trim().split(/\s+/).length >= 4 && rate > 0;
      },
      { timeout: 20_000 },
    );
    // Each worker's CPU sparkline has points; the auto-scaler panel shows its signals.
    await page.waitForFunction(
      () =>
        [...document.querySelectorAll('#workers tr.worker td[data-col=cpu] svg.chart polyline')].every(
          (p) => (p.getAttribute('points') ?? '').trim().split(/\s+/).length >= 2,
        ),
      { timeout: 15_000 },
    );
    expect(await page.$eval('#autoscaler', (el) => el.getAttribute('data-on'))).toBe('true');
    expect(await page.$$eval('#as-signals .signal', (els) => els.map((e) => e.getAttribute('data-trigger')))).toContain(
      'cpu',
    );
    expect(await page.$eval('#conn', (el) => el.getAttribute('data-state'))).toBe('live');

    // For the README's screenshot: charts with a minute of history.
    if (process.env.UPDATE_SCREENSHOT) await new Promise((r) => setTimeout(r, 50_000));

    // A killed worker appears in the feed with its pid, and the standby takes its row.
    const victim = workers[0]!;
    process.kill(victim.pid, 'SIGKILL');
    await page.waitForFunction(
      (pid: number) =>
        [...document.querySelectorAll('#events li.event[data-type="worker:exit"]')].some((li) =>
          li.textContent?.includes(String(pid)),
        ),
      { timeout: 15_000 },
      victim.pid,
    );
    await page.waitForFunction(
      (slot: number, pid: number) => {
        const row = document.querySelector(`#workers tr.worker[data-slot="${slot}"]`);
        return (
          row &&
          row.querySelector('[data-col=pid]')?.textContent === String(pid) &&
          row.querySelector('[data-col=state] .badge')?.textContent === 'ready'
        );
      },
      { timeout: 20_000 },
      victim.slot,
      standby.pid,
    );
    expect(await page.$$eval('#events li.event[data-type="worker:restart"]', (els) => els.length)).toBeGreaterThan(0);

    // UPDATE_SCREENSHOT=1 writes the one the README shows.
    const out = process.env.UPDATE_SCREENSHOT
      ? path.join(ROOT, 'docs/status-page.png')
      : path.join(os.tmpdir(), 'otel-cluster-status-page.png');
    mkdirSync(path.dirname(out), { recursive: true });
    await page.screenshot({ path: out as `${string}.png`, fullPage: false });
    expect(errors).toEqual([]);
  });
});

describe.skipIf(!run)('status page with hostile strings', () => {
  let cp: ClusterProcess;
  let browser: TestBrowser;
  const dir = mkdtempSync(path.join(os.tmpdir(), 'oc-xss-'));
  const markup = '<img src=x onerror=alert(1)><script>alert(2)</script>';
  afterAll(async () => {
    await browser?.close();
    await cp?.cleanup();
    rmSync(dir, { recursive: true, force: true });
  });

  it('a health check failing with markup shows it as text in the feed, and runs nothing', {
    timeout: 60_000,
  }, async () => {
    cp = new ClusterProcess('app.mjs', {
      WORKERS: '1',
      HEALTH_FAIL_DIR: dir,
      HEALTH_FAIL_MESSAGE: markup,
      CONFIG_JSON: JSON.stringify({ healthCheck: { enabled: true, interval: 300, timeout: 250, maxFailures: 1 } }),
    });
    const { admin, workers } = await cp.listening();
    browser = await openBrowser();
    const page = await browser.page(`http://127.0.0.1:${admin.port}/`);
    const dialogs: string[] = [];
    page.on('dialog', (d) => {
      dialogs.push(d.message());
      void d.dismiss();
    });
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(String(e)));
    writeFileSync(path.join(dir, String(workers[0]!.pid)), '');
    await cp.waitFor((e) => e.event === 'worker:unhealthy', 15_000, 'worker:unhealthy');
    await page.waitForFunction(
      (text: string) => [...document.querySelectorAll('#events li.event')].some((li) => li.textContent?.includes(text)),
      { timeout: 15_000 },
      markup,
    );
    expect(await page.$$eval('#events img, #events script', (els) => els.length)).toBe(0);
    expect(await page.evaluate(() => document.querySelectorAll('img[src="x"]').length)).toBe(0);
    expect(dialogs).toEqual([]);
    expect(errors).toEqual([]);
  });
});
