// npm run bench:chart [-- --out docs/images/performance.png] [--results bench/results]
// A picture of the latest `npm run load` results in bench/results/: orders/s of each kind of run
// beside the app's own code called directly in the same run, and each stage's latency (p50, p99)
// for a saturated run and a run at a rate the host sustains. Chart.js draws it in Debian's
// Chromium (as the dashboard's browser test uses it), which writes the PNG.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { chromium } from 'playwright-core';
import { appRoot } from '../src/shared/app-paths';
import { parseScriptArgs } from './support/cli-args';
import type { LoadResult } from './support/load-run';
import { STAGE_LABELS } from './support/order-stages';

const USAGE = 'npm run bench:chart [-- --out docs/images/performance.png] [--results bench/results] [--chromium /usr/bin/chromium]';
const STAGES = ['ingress', 'inboundWait', 'route', 'commandsWait', 'commandAppend', 'changeFeedToView', 'acceptedToView'] as const;

interface Run {
  file: string;
  at: string;
  label: string;
  result: LoadResult;
}

/** What kind of run a result is: the figures are compared within a kind, never across. */
function kindOf(r: LoadResult): string {
  const o = r.options as LoadResult['options'] & { rate?: number; sdkMode?: boolean };
  const parts = [`${r.orders} orders`, o.sagas ? 'with sagas' : 'no sagas'];
  if (o.rate) parts.push(`${o.rate}/s`);
  if (o.faults) parts.push(`${Math.round(o.faults * 100)}% faults`);
  if (o.sdkMode) parts.push('SDK mode');
  return parts.join(', ');
}

/** The newest result of each kind, oldest kind first. */
function latestRuns(dir: string): Run[] {
  const byKind = new Map<string, Run>();
  if (!existsSync(dir)) return [];
  for (const file of readdirSync(dir)
    .filter((f) => /^load-.*\.json$/.test(f))
    .sort()) {
    const result = JSON.parse(readFileSync(join(dir, file), 'utf8')) as LoadResult;
    if (!result.stages || typeof result.ordersPerSecond !== 'number') continue;
    const at = /(\d{4}-\d\d-\d\dT\d\d-\d\d)/.exec(file)?.[1]?.replace(/T(\d\d)-(\d\d)/, ' $1:$2') ?? '';
    const label = kindOf(result);
    byKind.set(label, { file, at, label, result });
  }
  return [...byKind.values()];
}

async function main(): Promise<void> {
  const { values } = parseScriptArgs(USAGE, { options: { out: { type: 'string' }, results: { type: 'string' }, chromium: { type: 'string', default: '/usr/bin/chromium' } } });
  const resultsDir = resolve(values.results ?? join(appRoot(), 'bench', 'results'));
  const out = resolve(values.out ?? join(resultsDir, 'performance.png'));
  const runs = latestRuns(resultsDir);
  if (runs.length === 0) throw new Error(`No load results in ${relative(process.cwd(), resultsDir) || resultsDir}: run npm run load first`);
  // The latency panel compares a saturated run (queues build up) with one at a sustained rate.
  const saturated = runs.filter((r) => !(r.result.options as { rate?: number }).rate).at(-1);
  const paced = runs.filter((r) => (r.result.options as { rate?: number }).rate).at(-1);
  const latency = [saturated, paced].filter((r): r is Run => r !== undefined);

  // A paced run's orders/s is its rate, not what the host can do: only unpaced runs show capacity.
  const unpaced = runs.filter((r) => !(r.result.options as { rate?: number }).rate);
  const data = {
    throughput: {
      labels: unpaced.map((r) => `${r.label} (${r.at})`),
      host: unpaced.map((r) => r.result.ordersPerSecond),
      direct: unpaced.map((r) => r.result.baseline?.ordersPerSecond ?? null),
    },
    stages: STAGES.map((s) => STAGE_LABELS[s]),
    latency: latency.map((r) => ({ label: `${r.label} (${r.at})`, p50: STAGES.map((s) => r.result.stages[s]?.p50 ?? null), p99: STAGES.map((s) => r.result.stages[s]?.p99 ?? null) })),
    machine: `${runs[0]!.result.machine.cpus} cores, Node ${runs[0]!.result.machine.node}`,
  };

  const browser = await chromium.launch({ executablePath: values.chromium, headless: true, args: ['--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking'] });
  try {
    const page = await browser.newPage({ viewport: { width: 1200, height: 560 + 300 * latency.length }, deviceScaleFactor: 1 });
    await page.setContent(PAGE);
    // The UMD build is not in chart.js's exports map; it sits beside the CommonJS entry.
    await page.addScriptTag({ path: join(dirname(require.resolve('chart.js')), 'chart.umd.min.js') });
    await page.addScriptTag({ content: DRAW });
    await page.evaluate((d) => (globalThis as unknown as { draw(data: unknown): void }).draw(d), data);
    await page.locator('#charts').screenshot({ path: out });
  } finally {
    await browser.close();
  }
  console.log(`${runs.length} kind(s) of load run charted from ${runs.map((r) => r.file).join(', ')}\nchart: ${out}`);
}

const PAGE = `<!doctype html><html><head><meta charset="utf-8"><style>
body { margin: 0; font: 14px system-ui, sans-serif; background: #fff; }
#charts { padding: 16px 24px; width: 1150px; }
h2 { font-size: 16px; margin: 12px 0 4px; } p { margin: 0 0 8px; color: #555; }
.box { position: relative; height: 260px; margin-bottom: 16px; }
</style></head><body><div id="charts"></div></body></html>`;

/** The page: one bar chart of orders/s, one of stage latency per run (plain JS, run by Chromium). */
const DRAW = String.raw`
function section(title, note, height) {
  const root = document.getElementById('charts');
  const h = document.createElement('h2'); h.textContent = title;
  const p = document.createElement('p'); p.textContent = note;
  const box = document.createElement('div'); box.className = 'box'; box.style.height = height + 'px';
  const canvas = document.createElement('canvas'); box.append(canvas);
  root.append(h, p, box);
  return canvas;
}
function draw(data) {
  const common = { animation: false, responsive: true, maintainAspectRatio: false, indexAxis: 'y' };
  if (data.throughput.labels.length) new Chart(section('Orders per second, end to end (npm run load)', 'The embedded host beside the app\'s own code called directly in the same run (no host). ' + data.machine + '.', 60 + 50 * data.throughput.labels.length), {
    type: 'bar',
    data: { labels: data.throughput.labels, datasets: [
      { label: 'embedded host', data: data.throughput.host, backgroundColor: '#2b6cb0' },
      { label: 'direct (baseline, same run)', data: data.throughput.direct, backgroundColor: '#a0aec0' },
    ] },
    options: { ...common, scales: { x: { title: { display: true, text: 'orders/s' }, beginAtZero: true } } },
  });
  for (const run of data.latency) {
    new Chart(section('Latency by stage: ' + run.label, 'Per order (its SubmitOrder message), from its spans; log scale.', 240), {
      type: 'bar',
      data: { labels: data.stages, datasets: [
        { label: 'p50 ms', data: run.p50, backgroundColor: '#38a169' },
        { label: 'p99 ms', data: run.p99, backgroundColor: '#dd6b20' },
      ] },
      options: { ...common, scales: { x: { type: 'logarithmic', title: { display: true, text: 'ms' }, ticks: { maxRotation: 0, autoSkipPadding: 12 } } } },
    });
  }
}`;

main().catch((error: Error) => {
  console.error(error.message);
  process.exit(1);
});
