// The operations dashboard when the host has API keys (API_KEYS): in Chromium, the page asks for
// a key, says so when one is wrong or lacks the ops role, works with an ops key (kept in this
// tab's sessionStorage, sent as x-api-key on every API call, to this host only), an action taken
// from it is audited under the key's name, and "Forget key" asks again.
//
// Skipped without /usr/bin/chromium, except in CI (as dashboard.browser.e2e.test.ts).
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import type { AuditRecord } from '../../src/security/audit-log';
import { hashApiKey } from '../../src/security/identity';
import { startHost, waitFor, type RunningHost } from '../support/host';
import { repoRoot } from '../support/messaging-harness';

const CHROMIUM = '/usr/bin/chromium';
const ARGS = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];
const WAIT_MS = 15_000;
const ARTIFACTS = join(repoRoot, 'test-results');
const haveBrowser = existsSync(CHROMIUM);
const inCi = Boolean(process.env.CI);
if (!haveBrowser && !inCi) console.log(`Dashboard key test skipped: no Chromium at ${CHROMIUM} (apt-get install chromium, as .ci/run does).`);
const browserTest = haveBrowser || inCi ? test : test.skip;

const OPS_KEY = randomBytes(24).toString('base64url');
const READER_KEY = randomBytes(24).toString('base64url');

let running: RunningHost | undefined;
let browser: Browser | undefined;
let page: Page;
const foreignRequests: string[] = [];
const pageErrors: string[] = [];
/** The x-api-key each API request of the page carried. */
const sentKeys: { path: string; key: string | undefined }[] = [];

beforeAll(async () => {
  if (!haveBrowser) return;
  process.env.API_KEYS = JSON.stringify([
    { name: 'ops-console', sha256: hashApiKey(OPS_KEY), roles: ['ops'] },
    { name: 'reporting', sha256: hashApiKey(READER_KEY), roles: ['orders.read'] },
  ]);
  [running, browser] = await Promise.all([startHost(repoRoot), chromium.launch({ executablePath: CHROMIUM, headless: true, args: ARGS })]);
  page = await browser.newPage({ viewport: { width: 1440, height: 900 } });
  const origin = new URL(running.host.baseUrl).origin;
  page.on('request', (r) => {
    const url = new URL(r.url());
    if (url.origin !== origin && url.protocol !== 'data:') foreignRequests.push(r.url());
    if (url.pathname.startsWith('/api/') || url.pathname.startsWith('/dashboard/api/')) sentKeys.push({ path: url.pathname, key: r.headers()['x-api-key'] });
  });
  page.on('pageerror', (e) => pageErrors.push(e.message));
}, 30_000);

afterAll(async () => {
  await browser?.close();
  await running?.stop();
  delete process.env.API_KEYS;
});

browserTest(
  'the page asks for a key, refuses a wrong one and one without ops, works with an ops key, and an action from it is audited under that key',
  async () => {
    if (!running || !browser) throw new Error(`CI=true but no Chromium at ${CHROMIUM}: .ci/run installs it with apt-get (see its output).`);
    const banner = page.locator('[data-testid="error-banner"]');
    const form = page.locator('[data-testid="key-form"]');
    const useKey = async (key: string) => {
      await page.locator('[data-testid="key-input"]').fill(key);
      await page.locator('[data-testid="key-submit"]').click();
    };

    await page.goto(`${running.host.baseUrl}/#/projections`);
    await page.locator('[data-testid="live-status"]', { hasText: 'key needed' }).waitFor({ timeout: WAIT_MS });
    await form.waitFor({ state: 'visible', timeout: WAIT_MS });
    expect(await banner.textContent()).toMatch(/This host needs an API key: enter one with the ops role/);
    expect(await page.locator('[data-testid="key-forget"]').isHidden()).toBe(true);
    mkdirSync(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: join(ARTIFACTS, 'dashboard-key.png') });

    await useKey('not-the-key');
    await banner.filter({ hasText: 'The host did not accept this API key' }).waitFor({ timeout: WAIT_MS });

    await useKey(READER_KEY);
    await banner.filter({ hasText: 'The API key in use lacks the ops role' }).waitFor({ timeout: WAIT_MS });

    await useKey(OPS_KEY);
    await page.locator('[data-testid="live-status"]', { hasText: 'live' }).waitFor({ timeout: WAIT_MS });
    await form.waitFor({ state: 'hidden', timeout: WAIT_MS });
    expect(await banner.isHidden()).toBe(true);
    expect(await page.evaluate('sessionStorage.getItem("ops-api-key")')).toBe(OPS_KEY);

    // A rebuild from the page: the ops API accepts it, and the audit names the key.
    const rebuild = page.locator('[data-testid="projection-rebuild-order-summary"]');
    await rebuild.waitFor({ timeout: WAIT_MS });
    await page.waitForFunction(`!document.querySelector('[data-testid="projection-rebuild-order-summary"]').disabled`, undefined, { timeout: WAIT_MS });
    await rebuild.click();
    await page.locator('[data-testid="projection-job-order-summary"]').waitFor({ timeout: WAIT_MS });
    const record = await waitFor(async () => {
      const res = await fetch(running!.url('/api/ops/audit?action=projection.rebuild'), { headers: { 'x-api-key': OPS_KEY } });
      const { records } = (await res.json()) as { records: AuditRecord[] };
      return records.find((r) => r.outcome === 'accepted');
    }, 'the rebuild in the audit');
    expect(record).toMatchObject({ type: 'OpsActionPerformed', target: 'projection:order-summary', caller: { name: 'ops-console', kind: 'apiKey', roles: ['ops'] } });

    // Every API call after the key was accepted carried it.
    const firstWithKey = sentKeys.findIndex((s) => s.key === OPS_KEY);
    expect(firstWithKey).toBeGreaterThanOrEqual(0);
    expect(sentKeys.slice(firstWithKey).filter((s) => s.key !== OPS_KEY)).toEqual([]);
    expect(sentKeys.some((s) => s.path === '/api/ops/projections' && s.key === OPS_KEY)).toBe(true);
    expect(sentKeys.some((s) => s.path === '/api/ops/projections/order-summary/rebuild' && s.key === OPS_KEY)).toBe(true);

    await page.locator('[data-testid="key-forget"]').click();
    await page.locator('[data-testid="live-status"]', { hasText: 'key needed' }).waitFor({ timeout: WAIT_MS });
    await form.waitFor({ state: 'visible', timeout: WAIT_MS });
    expect(await page.evaluate('sessionStorage.getItem("ops-api-key")')).toBeNull();

    expect(foreignRequests).toEqual([]);
    expect(pageErrors).toEqual([]);
  },
  45_000,
);
