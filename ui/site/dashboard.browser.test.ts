// The built site dashboard in Debian's chromium against a fake hub (testing/fake-hub.ts): the
// panels render from /api/machines, live events update them, degraded quality is marked, the
// indicator follows a dropped and restored stream, and a screenshot is left in the temp folder.
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildUi } from '../../scripts/build-ui.mjs';
import { startFakeHub, type FakeHub } from './testing/fake-hub.ts';
import { fixtureMachines, fixtureSite } from './testing/site-fixture.ts';

const chromiumPath = '/usr/bin/chromium';
const chromiumArgs = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];
const distDirectory = join(import.meta.dirname, '..', 'dist', 'site');
const screenshotPath = join(tmpdir(), 'millwright-site-dashboard.png');
const waitMs = 10_000;

const hasChromium = existsSync(chromiumPath);
if (!hasChromium) console.warn(`site dashboard browser test skipped: ${chromiumPath} not found (install Debian's chromium package)`);

describe.skipIf(!hasChromium)('site dashboard in chromium', () => {
  let hub: FakeHub | undefined;
  let browser: Browser | undefined;
  let page: Page;
  const pageProblems: string[] = [];

  /** Rendered text with line breaks between flex items collapsed to single spaces. */
  const text = async (testId: string) => (await page.getByTestId(testId).innerText()).replace(/\s+/g, ' ').trim();

  beforeAll(async () => {
    const build = await buildUi(); // rebuilds only when ui/site changed since the last build
    if (build.status === 'no-vite') throw new Error(`cannot build the dashboard: ${build.reason}`);
    hub = await startFakeHub(distDirectory);
    browser = await chromium.launch({ executablePath: chromiumPath, args: chromiumArgs });
    page = await browser.newPage({ viewport: { width: 1920, height: 1080 }, locale: 'en-US' });
    page.on('pageerror', (error) => pageProblems.push(`page error: ${error.message}`));
    page.on('console', (message) => {
      if (message.text().startsWith('millwright:')) pageProblems.push(message.text());
    });
    await page.goto(hub.url);
  });

  afterAll(async () => {
    await browser?.close();
    await hub?.close();
  });

  it('shows the site, a card per line and a panel per machine with values in units', async () => {
    await page.getByTestId('machine-line1-m1').waitFor({ timeout: waitMs });
    expect(await text('site-name')).toBe(fixtureSite);
    expect(await page.getByTestId(/^line-/).count()).toBe(2);
    expect(await page.getByTestId(/^machine-/).count()).toBe(fixtureMachines.length);
    expect(await page.getByTestId('machine-line1-m1').getAttribute('data-status')).toBe('running');
    expect(await page.getByTestId('value-line1/m3/state').getAttribute('data-status')).toBe('fault');
    expect(await page.getByTestId('value-line1/m2/state').getAttribute('data-status')).toBe('idle');
    expect(await text('value-line1/m1/good_count')).toContain('12,840');
    expect(await text('value-line1/m1/vibration')).toContain('2.31 mm/s');
    expect(await text('updated-line1/m2')).toMatch(/4\d s ago/);
  });

  it('applies a live event to the machine it names', async () => {
    await page.locator('[data-testid="live-indicator"][data-live-status="live"]').waitFor({ timeout: waitMs });
    await expect.poll(() => text('value-line1/m1/temperature'), { timeout: waitMs }).toContain('71.4 °C'); // end of the backlog
    hub!.sendPoints([
      { tag: 'line1/m1/temperature', ts: Date.now(), value: 74.2, quality: 'good' },
      { tag: 'line1/m1/good_count', ts: Date.now(), value: 12_841, quality: 'good' },
    ]);
    await expect.poll(() => text('value-line1/m1/temperature'), { timeout: waitMs }).toContain('74.2 °C');
    expect(await text('value-line1/m1/good_count')).toContain('12,841');
    expect(await text('updated-line1/m1')).toBe('updated just now');
  });

  it('marks values whose quality is not good, from the snapshot and from live events', async () => {
    const vibration = page.getByTestId('value-line1/m3/vibration');
    expect(await vibration.getAttribute('data-quality')).toBe('bad');
    expect(await vibration.innerText()).toMatch(/bad/i);
    expect(await page.getByTestId('value-line2/m2/speed').getAttribute('data-quality')).toBe('uncertain');
    expect(await page.getByTestId('value-line1/m1/vibration').getAttribute('data-quality')).toBe('good');
    hub!.sendPoints([{ tag: 'line2/m1/temperature', ts: Date.now(), value: 65.9, quality: 'bad' }]);
    await expect.poll(() => page.getByTestId('value-line2/m1/temperature').getAttribute('data-quality'), { timeout: waitMs }).toBe('bad');
    expect(await text('value-line2/m1/temperature')).toMatch(/bad/i);
  });

  it('shows reconnecting while the stream is down, reopens it, and keeps live values over the re-fetched snapshot', async () => {
    const indicator = page.getByTestId('live-indicator');
    hub!.setLiveAvailable(false);
    hub!.dropLiveClients();
    await expect.poll(() => indicator.getAttribute('data-live-status'), { timeout: waitMs }).toBe('reconnecting');
    expect(await indicator.innerText()).toMatch(/reconnecting/i);
    // The first refusal ends EventSource's own retries; the second is the dashboard reopening it.
    await expect.poll(() => hub!.refusedLiveCount(), { timeout: waitMs }).toBeGreaterThanOrEqual(2);
    expect(await indicator.getAttribute('data-live-status')).toBe('reconnecting');
    hub!.setLiveAvailable(true);
    await expect.poll(() => indicator.getAttribute('data-live-status'), { timeout: waitMs }).toBe('live');
    await expect.poll(() => hub!.liveClientCount(), { timeout: waitMs }).toBe(1);
    expect(await text('value-line1/m1/temperature')).toContain('74.2 °C'); // the older snapshot did not win
  });

  it('lists the gateways with state, acked sequence and last seen', async () => {
    expect(await page.getByTestId(/^gateway-/).count()).toBe(3);
    const row = page.getByTestId('gateway-gw-line1');
    expect(await row.getAttribute('data-state')).toBe('online');
    expect(await row.innerText()).toContain('18446744073709551000');
    expect(await page.getByTestId('gateway-gw-packing').innerText()).toMatch(/offline[\s\S]*10 min ago/i);
  });

  it('draws temperature sparklines and renders a full-page screenshot without page errors', async () => {
    const polyline = page.getByTestId('sparkline-line1/m3').locator('polyline');
    expect((await polyline.getAttribute('points'))?.split(' ').length).toBeGreaterThan(30);
    await page.screenshot({ path: screenshotPath, fullPage: true });
    console.log(`site dashboard screenshot: ${screenshotPath}`);
    expect(existsSync(screenshotPath)).toBe(true);
    expect(pageProblems).toEqual([]);
  });
});
