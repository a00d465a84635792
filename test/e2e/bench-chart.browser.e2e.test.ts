// `npm run bench:chart` draws the newest load results of each kind into a PNG. Run here on two
// result files in the shape `npm run load` writes (a saturated run and a paced one) and a file of
// another benchmark that must be ignored; the PNG must be a real image of the expected size.
//
// Skipped without /usr/bin/chromium, except in CI (as dashboard.browser.e2e.test.ts).
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { repoRoot } from '../support/messaging-harness';

const CHROMIUM = '/usr/bin/chromium';
const haveBrowser = existsSync(CHROMIUM);
const browserTest = haveBrowser || process.env.CI ? test : test.skip;
if (!haveBrowser && !process.env.CI) console.log(`bench:chart test skipped: no Chromium at ${CHROMIUM}`);

const stage = (p50: number, p99: number) => ({ count: 10, p50, p95: p99, p99, max: p99 });
const result = (options: Record<string, unknown>, ordersPerSecond: number) => ({
  options: { orders: 10, concurrency: 32, sagas: false, faults: 0, baseline: true, ...options },
  machine: { cpus: 2, node: 'v20.0.0' },
  orders: 10,
  accepted: 20,
  finished: 10,
  durationMs: 1000,
  ordersPerSecond,
  ingressMessagesPerSecond: 2 * ordersPerSecond,
  stages: {
    ingress: stage(5, 20),
    inboundWait: stage(4, 12),
    route: stage(9, 50),
    commandsWait: stage(8, 50),
    commandAppend: stage(2, 12),
    changeFeedToView: stage(45, 120),
    acceptedToView: stage(70, 170),
  },
  sagaOutcomes: {},
  failures: { refused: {}, deadLetters: {}, unfinished: 0 },
  retriedRequests: 0,
  deadLetterSamples: [],
  injectedFaults: {},
  sagaProblems: [],
  baseline: { ordersPerSecond: 300, durationMs: 33, ratio: ordersPerSecond / 300 },
});

browserTest(
  'charts orders/s and latency by stage from bench/results into a PNG',
  () => {
    const dir = mkdtempSync(join(tmpdir(), 'bench-chart-'));
    try {
      writeFileSync(join(dir, 'load-2026-01-01T10-00-00-000Z.json'), JSON.stringify(result({}, 50)));
      writeFileSync(join(dir, 'load-2026-01-01T10-05-00-000Z.json'), JSON.stringify(result({ rate: 20 }, 20)));
      writeFileSync(join(dir, 'startup-2026-01-01T10-06-00-000Z.json'), JSON.stringify({ benchmark: 'startup' }));
      const out = join(dir, 'chart.png');
      const stdout = execFileSync(process.execPath, [join(repoRoot, 'dist', 'scripts', 'bench-chart.js'), '--results', dir, '--out', out], { encoding: 'utf8', timeout: 60_000 });
      expect(stdout).toContain('2 kind(s) of load run charted');
      const png = readFileSync(out);
      expect(png.subarray(0, 8)).toEqual(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]));
      // IHDR: width and height, big-endian, at bytes 16..24. Two latency panels make it tall.
      expect(png.readUInt32BE(16)).toBeGreaterThan(1000);
      expect(png.readUInt32BE(20)).toBeGreaterThan(700);
      expect(png.length).toBeGreaterThan(20_000);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  },
  90_000,
);

test('without load results it says what to run, exit code 1', () => {
  const dir = mkdtempSync(join(tmpdir(), 'bench-chart-empty-'));
  try {
    let failure: { status: number; stderr: string } | undefined;
    try {
      execFileSync(process.execPath, [join(repoRoot, 'dist', 'scripts', 'bench-chart.js'), '--results', dir], { encoding: 'utf8', stdio: 'pipe' });
    } catch (error) {
      failure = error as { status: number; stderr: string };
    }
    expect(failure?.status).toBe(1);
    expect(failure?.stderr).toContain('run npm run load first');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
