// The live dashboard in headless Chromium (Debian's, driven by playwright-core) against `ferry up` with three fake
// hosts: an admin logs in and sees the hosts; the Drain button drains a host holding four servers, one at a time, and
// the page follows the drain's progress from the server's pushed snapshots (no reload) until it completes; the Cancel
// button stops a second drain; a member's login is refused with the 403 message. With FERRY_DASHBOARD_SCREENSHOT set
// (a path), the page is captured mid-drain.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { ADMIN_PASSWORD, EvacuationCloud } from '../support/host-evacuation';

jest.setTimeout(120_000);

const CHROMIUM = '/usr/bin/chromium';
const CHROMIUM_FLAGS = [
  '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
  '--disable-component-update', '--disable-sync',
];
const DEMO_PASSWORD = 'dashboard-demo';
const SERVERS = 4;
// A fake live migration of an m1.tiny (512 MiB of RAM) at 192 MiB/s takes about 2.7 s: long enough to watch.
const MIGRATION_BANDWIDTH = 192 * 1024 * 1024;

async function logIn(page: Page, url: string, user: string, password: string): Promise<void> {
  await page.goto(`${url}/dashboard`);
  await page.fill('input[name=username]', user);
  await page.fill('input[name=password]', password);
  await page.fill('input[name=project]', user);
  await page.click('#login-form button[type=submit]');
}

/** A document the test marked (a global variable), to tell that the page was never reloaded. */
interface Marked {
  ferryMark?: number;
}

const drainRow = (page: Page, host: string) => page.locator(`#drains tr[data-host="${host}"]`).first();

describe('dashboard in headless Chromium (ferry up, three fake hosts)', () => {
  let cloud: EvacuationCloud;
  let context: BrowserContext;
  let userDataDir: string;

  beforeAll(async () => {
    userDataDir = mkdtempSync(join(tmpdir(), 'ferry-chromium-'));
    [cloud, context] = await Promise.all([
      EvacuationCloud.start({ settings: {
        FERRY_DASHBOARD_INTERVAL: '200', FERRY_FAKE_MIGRATION_BANDWIDTH: String(MIGRATION_BANDWIDTH), FERRY_DEMO_PASSWORD: DEMO_PASSWORD,
      } }),
      chromium.launchPersistentContext(userDataDir, { executablePath: CHROMIUM, headless: true, args: CHROMIUM_FLAGS, viewport: { width: 1280, height: 900 } }),
    ]);
    await cloud.buildOnFirstHost(SERVERS);
  }, 180_000);

  afterAll(async () => {
    await context?.close();
    await cloud?.close();
    if (userDataDir) rmSync(userDataDir, { recursive: true, force: true });
  });

  it('an admin drains a host from the page and watches it progress to the end, then cancels another drain', async () => {
    const page = await context.newPage();
    await logIn(page, cloud.url, 'admin', ADMIN_PASSWORD);
    const first = page.locator('#hosts tr[data-host="compute-1"]');
    await first.locator('td.instances strong', { hasText: String(SERVERS) }).waitFor({ timeout: 20_000 });
    await page.locator('#hosts tr[data-host="compute-2"]').waitFor();
    await page.locator('#hosts tr[data-host="compute-3"]').waitFor();
    // Marks this document: a reload would lose it.
    await page.evaluate(() => { (globalThis as unknown as Marked).ferryMark = 1; });

    await page.fill('#drain-concurrency', '1');
    await first.locator('button.drain').click();
    await page.locator('#message', { hasText: 'Drain of compute-1: accepted.' }).waitFor();

    // Follow the drain as the page shows it, until it completes.
    const seen: string[] = [];
    const progress = new Set<number>();
    let shot = false;
    const row = drainRow(page, 'compute-1');
    await row.waitFor({ timeout: 10_000 });
    for (const deadline = Date.now() + 90_000; Date.now() < deadline;) {
      const [status, moved, percents] = await Promise.all([
        row.getAttribute('data-status'), row.locator('.meter .figure').textContent(),
        page.locator('#migrations tbody tr').evaluateAll((rows) => rows.map((r) => (r as unknown as { dataset: Record<string, string | undefined> }).dataset.progress)),
      ]);
      if (seen.at(-1) !== moved) seen.push(moved!);
      for (const p of percents) if (p) progress.add(Number(p));
      const midway = percents.some((p) => p && Number(p) > 0 && Number(p) < 100);
      if (!shot && process.env.FERRY_DASHBOARD_SCREENSHOT && midway && moved !== `moved 0/${SERVERS}`) {
        await page.screenshot({ path: resolve(__dirname, '../..', process.env.FERRY_DASHBOARD_SCREENSHOT), fullPage: true });
        shot = true;
      }
      if (status === 'completed') break;
      await page.waitForTimeout(50);
    }
    expect(await row.getAttribute('data-status')).toBe('completed');
    // The figure moved through the counts one by one (concurrency 1), pushed by the server: the document is the same.
    expect(seen[0]).toMatch(new RegExp(`^moved [01]/${SERVERS}$`));
    expect(seen.at(-1)).toBe(`moved ${SERVERS}/${SERVERS}`);
    expect(seen.length).toBeGreaterThanOrEqual(3);
    // The migrations under way showed their byte counters moving.
    expect([...progress].filter((p) => p > 0 && p < 100).length).toBeGreaterThanOrEqual(1);
    if (process.env.FERRY_DASHBOARD_SCREENSHOT) expect(shot).toBe(true);
    expect(await page.evaluate(() => (globalThis as unknown as Marked).ferryMark)).toBe(1);
    await first.locator('td.instances strong', { hasText: '0' }).waitFor();
    await first.locator('.badge.disabled').waitFor();
    expect(await first.locator('button.drain').isDisabled()).toBe(true);

    // The servers now sit on compute-2 and compute-3: drain the fuller one and cancel it from its row.
    const counts = await Promise.all(['compute-2', 'compute-3'].map(async (h) => Number(await page.locator(`#hosts tr[data-host="${h}"] td.instances strong`).textContent())));
    const second = counts[0] >= counts[1] ? 'compute-2' : 'compute-3';
    expect(Math.max(...counts)).toBeGreaterThanOrEqual(2);
    await page.locator(`#hosts tr[data-host="${second}"] button.drain`).click();
    const cancelRow = drainRow(page, second);
    await cancelRow.locator('button.cancel').click({ timeout: 10_000 });
    await page.locator('#message', { hasText: `Cancel of the drain of ${second}: accepted.` }).waitFor();
    await page.locator(`#drains tr[data-host="${second}"][data-status="cancelled"]`).waitFor({ timeout: 30_000 });
    const tally = await cancelRow.locator('.tally').textContent();
    expect(tally).toMatch(/in flight 0 · pending [1-9]/);
    await page.close();
  });

  it('a member logs in and is told the dashboard needs the admin role', async () => {
    const page = await context.newPage();
    await logIn(page, cloud.url, 'demo', DEMO_PASSWORD);
    const message = page.locator('#forbidden-message');
    await message.waitFor({ timeout: 10_000 });
    expect(await message.textContent()).toMatch(/^demo @ demo may not see the dashboard: it needs the admin role\. \(Policy doesn't allow os_compute_api:os-ferry-dashboard to be performed\.\)$/);
    expect(await page.locator('#dashboard-view').isHidden()).toBe(true);
    await page.close();
  });
});
