// The operations dashboard in a real browser: Debian's Chromium, headless, driven by
// playwright-core. An order submitted through the API shows up on the Sagas view and reaches
// Completed there; its timeline shows every step; its trace renders; the page asks nothing of any
// host but this one. A screenshot is kept in test-results/ as the run's artifact.
//
// Without /usr/bin/chromium the test is skipped with the reason, except in CI (CI=true), where
// .ci/run installs it and a missing browser must fail the run.
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { ORDER_FULFILMENT_SAGA } from '../../src/sagas/order-fulfilment';
import { postJson, startHost, type RunningHost } from '../support/host';
import { repoRoot } from '../support/messaging-harness';

const CHROMIUM = '/usr/bin/chromium';
// The flags the machine notes list: without the background-networking ones Chromium keeps
// trying to reach Google's hosts, which this machine's closed network refuses.
const ARGS = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];
const ARTIFACTS = join(repoRoot, 'test-results');
const WAIT_MS = 15_000;

const haveBrowser = existsSync(CHROMIUM);
const inCi = Boolean(process.env.CI);
if (!haveBrowser && !inCi) console.log(`Dashboard browser test skipped: no Chromium at ${CHROMIUM} (apt-get install chromium, as .ci/run does).`);
const browserTest = haveBrowser || inCi ? test : test.skip;

let running: RunningHost | undefined;
let browser: Browser | undefined;
let page: Page;
const foreignRequests: string[] = [];
const pageErrors: string[] = [];

beforeAll(async () => {
  if (!haveBrowser) return;
  [running, browser] = await Promise.all([
    startHost(repoRoot),
    // Playwright gives the browser a new empty profile (--user-data-dir) of its own.
    chromium.launch({ executablePath: CHROMIUM, headless: true, args: ARGS }),
  ]);
  await postJson(running.url('/api/inventory/SKU-DASH/receipts'), { quantity: 1_000 });
  page = await browser.newPage({ viewport: { width: 1440, height: 900 } });
  const origin = new URL(running.host.baseUrl).origin;
  page.on('request', (r) => {
    if (!r.url().startsWith(`${origin}/`) && !r.url().startsWith('data:')) foreignRequests.push(r.url());
  });
  page.on('pageerror', (e) => pageErrors.push(e.message));
}, 30_000);

afterAll(async () => {
  await browser?.close();
  await running?.stop();
});

browserTest(
  'an order submitted through the API reaches Completed on the Sagas view; its timeline and trace render; the page stays on this host',
  async () => {
    if (!running || !browser) throw new Error(`CI=true but no Chromium at ${CHROMIUM}: .ci/run installs it with apt-get (see its output).`);
    const orderId = `dash-${Date.now()}`;
    const correlationId = `corr-${orderId}`;
    const headers = { 'x-correlation-id': correlationId };

    await page.goto(`${running.host.baseUrl}/#/sagas`);
    await page.locator('[data-testid="live-status"]', { hasText: 'live' }).waitFor({ timeout: WAIT_MS });

    // Below the approval threshold: the saga runs all its steps with no one to approve it.
    const created = await postJson(running.url('/api/orders'), { orderId, customerId: 'cust-dash', items: [{ sku: 'SKU-DASH', quantity: 2, unitPrice: 12.5 }] }, headers);
    expect(created.status).toBe(201);
    expect((await postJson(running.url(`/api/orders/${orderId}/submit`), {}, headers)).status).toBe(200);

    const status = page.locator(`[data-testid="saga-status-${orderId}"]`);
    await status.waitFor({ timeout: WAIT_MS });
    await page.locator(`[data-testid="saga-status-${orderId}"]`, { hasText: /^Completed$/ }).waitFor({ timeout: WAIT_MS });
    expect(await status.textContent()).toBe('Completed');

    // The timeline: one bar per step, in the saga's order, none failed.
    await page.locator(`[data-testid="saga-row-${orderId}"]`).click();
    await page.locator('[data-testid="saga-detail-status"]', { hasText: 'Completed' }).waitFor({ timeout: WAIT_MS });
    const stepRows = page.locator('[data-testid^="timeline-step-"]');
    // A string runs in the page (this project compiles without the DOM's types).
    await page.waitForFunction(`document.querySelectorAll('[data-testid^="timeline-step-"]').length === ${ORDER_FULFILMENT_SAGA.steps.length}`, undefined, { timeout: WAIT_MS });
    const shown = (await stepRows.evaluateAll((rows) => rows.map((r) => r.getAttribute('data-testid') ?? ''))).map((id) => id.replace('timeline-step-', ''));
    expect(shown).toEqual(ORDER_FULFILMENT_SAGA.steps.map((s) => s.name));
    expect(shown).toHaveLength(12);
    expect(await page.locator('[data-testid^="timeline-compensation-"]').count()).toBe(0);
    expect(await page.locator('.tl-failed').count()).toBe(0);
    mkdirSync(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: join(ARTIFACTS, 'dashboard.png'), fullPage: true });

    // From the saga to its trace: the correlationId the order's events carry.
    await page.locator(`[data-testid="saga-trace-link"][data-correlation-id="${correlationId}"]`).click();
    await page.locator('[data-testid="view-trace"]').waitFor({ state: 'visible', timeout: WAIT_MS });
    expect(await page.locator('[data-testid="trace-input"]').inputValue()).toBe(correlationId);
    await page.locator('[data-testid="trace-span"]').first().waitFor({ timeout: WAIT_MS });
    expect(await page.locator('[data-testid="trace-span"]').count()).toBeGreaterThan(0);
    await page.screenshot({ path: join(ARTIFACTS, 'dashboard-trace.png'), fullPage: true });

    // The flow view draws every entity of the topology.
    await page.locator('[data-testid="tab-flow"]').click();
    await page.locator('[data-testid="flow-row-inbound"]').waitFor({ timeout: WAIT_MS });

    expect(foreignRequests).toEqual([]);
    expect(pageErrors).toEqual([]);
  },
  30_000,
);
