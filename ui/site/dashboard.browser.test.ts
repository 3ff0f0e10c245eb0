// The built site dashboard in Debian's chromium against a fake hub (testing/fake-hub.ts): the
// panels render from /api/machines, live events update them, degraded quality is marked, line
// alarms come and go with live events and mark their machines, a rule alarm takes its severity,
// message and machine from its /api/alarms record, the gateways table shows each
// gateway's health, the indicator follows a dropped and restored stream, and a screenshot is left
// in the temp folder.
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildUi } from '../../scripts/build-ui.mjs';
import { startFakeHub, type FakeHub } from './testing/fake-hub.ts';
import { alarmRecord, fixtureAlarms, fixtureMachines, fixtureSite } from './testing/site-fixture.ts';

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
    // System groups are not machines: no panel for _alarms or _gateway, no card for a line with only health.
    expect(await page.locator('[data-testid^="machine-"][data-testid*="-_"]').count()).toBe(0);
    expect(await page.getByTestId('line-packing').count()).toBe(0);
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

  it("lists each line's active alarms by severity and marks the machines they belong to", async () => {
    expect(await page.getByTestId('alarms-line1').getAttribute('data-count')).toBe('2');
    const line1Alarms = page.getByTestId('alarms-line1').locator('[data-severity]');
    // m3-fault has a record (severity high, message); m3-vibration none: its severity is guessed.
    await expect.poll(() => text('alarm-line1-m3-fault'), { timeout: waitMs }).toContain('m3 is in fault');
    expect(await line1Alarms.evaluateAll((items) => items.map((item) => [item.getAttribute('data-testid'), item.getAttribute('data-severity')]))).toEqual([
      ['alarm-line1-m3-fault', 'high'],
      ['alarm-line1-m3-vibration', 'neutral'],
    ]);
    expect(await text('alarm-line1-m3-fault')).toMatch(/^high m3 · m3 is in fault m3-fault since \d\d:\d\d:\d\d · 7 min/i);
    expect(await text('alarm-line1-m3-vibration')).toMatch(/^alarm m3-vibration since/i);
    // The first query spans exactly the active alarms' raises.
    const ageOf = (id: string) => fixtureAlarms.find((alarm) => alarm.id === id)?.ageMs ?? Number.NaN;
    expect(hub!.alarmsRequests()[0]).toEqual({ fromMs: hub!.nowMs - ageOf('m3-vibration'), toMs: hub!.nowMs - ageOf('m3-fault'), limit: 200 });
    expect(await page.getByTestId('machine-line1-m3').getAttribute('data-alarm')).toBe('high');
    expect(await text('alarm-marker-line1-m3')).toMatch(/2 alarms/i);
    expect(await page.getByTestId('machine-line1-filler').getAttribute('data-alarm')).toBeNull();
    expect(await page.getByTestId('alarms-line2').getAttribute('data-count')).toBe('0');
    expect(await text('alarms-line2')).toBe('no active alarms');

    hub!.sendPoints([
      { tag: 'line1/filler/temperature', ts: Date.now(), value: 80.4, quality: 'good' },
      { tag: 'line1/_alarms/filler-overtemp', ts: Date.now(), value: true, quality: 'good' },
    ]);
    const raised = page.getByTestId('alarm-line1-filler-overtemp');
    await raised.waitFor({ timeout: waitMs });
    expect(await raised.getAttribute('data-severity')).toBe('critical');
    expect(await text('alarm-line1-filler-overtemp')).toMatch(/filler-overtemp since \d\d:\d\d:\d\d · \d s/);
    expect(await page.getByTestId('alarms-line1').locator('[data-severity]').first().getAttribute('data-testid')).toBe('alarm-line1-filler-overtemp');
    expect(await page.getByTestId('machine-line1-filler').getAttribute('data-alarm')).toBe('critical');
    expect(await text('alarm-marker-line1-filler')).toMatch(/overtemp/i);

    hub!.sendPoints([{ tag: 'line1/_alarms/filler-overtemp', ts: Date.now(), value: false, quality: 'good' }]);
    await raised.waitFor({ state: 'detached', timeout: waitMs });
    expect(await page.getByTestId('alarm-marker-line1-filler').count()).toBe(0);
    expect(await page.getByTestId('machine-line1-filler').getAttribute('data-alarm')).toBeNull();
    expect(await page.getByTestId('alarms-line1').getAttribute('data-count')).toBe('2');

    // Raised again: it stays up for the rest of the run, and a re-fetched snapshot must not clear it.
    hub!.sendPoints([{ tag: 'line1/_alarms/filler-overtemp', ts: Date.now(), value: true, quality: 'good' }]);
    await raised.waitFor({ timeout: waitMs });
  });

  it("shows a rule alarm with its record's severity and message on the machine the record names", async () => {
    const raisedMs = Date.now();
    const message = 'Filler over temperature: stopped by rule';
    // Stored before its state is broadcast, as the hub does; the live event carries the state alone.
    hub!.storeAlarmRecords([alarmRecord('line1', 'over-temperature/over-temperature', raisedMs, true, { severity: 'critical', message, device: 'filler', rule: 'over-temperature' })]);
    hub!.sendPoints([{ tag: 'line1/_alarms/over-temperature/over-temperature', ts: raisedMs, value: true, quality: 'good' }]);
    const ruleAlarm = page.getByTestId('alarm-line1-over-temperature/over-temperature');
    await ruleAlarm.waitFor({ timeout: waitMs });
    await expect.poll(() => text('alarm-line1-over-temperature/over-temperature'), { timeout: waitMs }).toContain(message);
    expect(await ruleAlarm.getAttribute('data-severity')).toBe('critical');
    expect(await ruleAlarm.getAttribute('data-machine')).toBe('filler');
    expect(await text('alarm-line1-over-temperature/over-temperature')).toMatch(/^critical filler · Filler over temperature: stopped by rule over-temperature\/over-temperature since \d\d:\d\d:\d\d/i);
    expect(await ruleAlarm.getAttribute('title')).toMatch(/machine: filler\nrule: over-temperature\nseverity: critical\n/);
    const filler = page.getByTestId('machine-line1-filler');
    expect(await filler.getAttribute('data-alarm')).toBe('critical');
    expect(await text('alarm-marker-line1-filler')).toMatch(/critical alarm: ?2 alarms/i); // with filler-overtemp, raised above
    expect(await page.getByTestId('alarm-marker-line1-filler').getAttribute('title')).toContain(`critical: ${message} (over-temperature/over-temperature)`);
    // Asked about by its own millisecond (with filler-overtemp's raise when that was still pending), nothing wider.
    const last = hub!.alarmsRequests().at(-1);
    expect(last?.toMs).toBe(raisedMs);
    expect(raisedMs - (last?.fromMs ?? 0)).toBeLessThan(waitMs);
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
    expect(await page.getByTestId('alarm-line1-filler-overtemp').count()).toBe(1); // nor did its cleared alarm
    expect(await page.getByTestId('alarm-line1-over-temperature/over-temperature').getAttribute('data-severity')).toBe('critical');
  });

  it('lists the gateways with state, health from their lines, acked sequence and last seen', async () => {
    expect(await page.getByTestId('gateways-table').locator('tbody tr[data-testid]').count()).toBe(3);
    const row = page.getByTestId('gateway-line1-gw');
    expect(await row.getAttribute('data-state')).toBe('online');
    expect(await row.getAttribute('data-health')).toBe('fresh');
    expect(await row.innerText()).toContain('18446744073709551000');
    expect(await text('gateway-line1-gw-lateness')).toBe('0.42 ms max 3.10 ms');
    expect(await text('gateway-line1-gw-overruns')).toBe('0');
    expect(await text('gateway-line1-gw-dropped')).toBe('0');
    expect(await text('gateway-line1-gw-devices')).toBe('4 / 4');
    expect(await page.getByTestId('gateway-line1-gw-uplink').getAttribute('data-uplink')).toBe('connected');
    expect(await text('gateway-line2-gw-lateness')).toContain('6.80 ms');
    expect(await text('gateway-line2-gw-overruns')).toBe('17');
    expect(await text('gateway-line2-gw-dropped')).toBe('1,250');
    expect(await text('gateway-line2-gw-devices')).toBe('1 / 2');
    const packing = page.getByTestId('gateway-packing-gw');
    expect(await packing.innerText()).toMatch(/offline[\s\S]*10 min ago/i);
    expect(await packing.getAttribute('data-health')).toBe('stale');

    hub!.sendPoints([
      { tag: 'line1/_gateway/scan_lateness_p99_ms', ts: Date.now(), value: 0.61, quality: 'good' },
      { tag: 'line1/_gateway/scan_overruns', ts: Date.now(), value: 2, quality: 'good' },
    ]);
    await expect.poll(() => text('gateway-line1-gw-lateness'), { timeout: waitMs }).toContain('0.61 ms');
    expect(await text('gateway-line1-gw-overruns')).toBe('2');
  });

  it('draws temperature sparklines and renders a full-page screenshot without page errors', async () => {
    const polyline = page.getByTestId('sparkline-line1/m3').locator('polyline');
    expect((await polyline.getAttribute('points'))?.split(' ').length).toBeGreaterThan(30);
    await page.screenshot({ path: screenshotPath, fullPage: true });
    console.log(`site dashboard screenshot: ${screenshotPath}`);
    expect(existsSync(screenshotPath)).toBe(true);
    expect(pageProblems).toEqual([]);
    // Alarm records were asked for at start and per raise, never over more than 200 records.
    const alarmsRequests = hub!.alarmsRequests();
    expect(alarmsRequests.length).toBeGreaterThanOrEqual(2);
    expect(alarmsRequests.length).toBeLessThanOrEqual(4);
    expect(alarmsRequests.every((request) => request.limit === 200 && request.fromMs !== undefined && request.toMs !== undefined)).toBe(true);
  });
});
