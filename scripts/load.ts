// npm run load [-- --orders 2000 --concurrency 64 --rate 100 --no-sagas --faults 0.05 --sdk]
// Drives the whole pipeline on the embedded host (a fresh SQLite file): CreateOrder + SubmitOrder
// messages at the ESB ingress → router → order-commands → event store → change feed → views,
// fulfilment saga, integration events. Prints throughput, end-to-end and per-stage latencies
// (p50/p95/p99, from each order's trace) and failures by category; writes the JSON to
// bench/results/. Exits 1 when any accepted order did not finish or anything was dead-lettered.
// --sdk runs the same orders again in SDK mode (the app's Azure SDK clients over the host's wire
// endpoints) after the default mode, on a fresh database, and prints the two side by side.
// --workers 2 runs them again with the functions in 2 worker processes (FUNCTIONS_WORKER_PROCESS_COUNT,
// which puts the app in SDK mode), and prints that beside the one-process run.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Table from 'cli-table3';
import { appRoot } from '../src/shared/app-paths';
import { integerOption, parseScriptArgs, usageFailure } from './support/cli-args';
import { runLoad, type LoadResult } from './support/load-run';
import { STAGE_LABELS } from './support/order-stages';

async function main(): Promise<void> {
  const { values } = parseScriptArgs('npm run load [-- --orders 1000 --concurrency 32 --rate 100 --no-sagas --faults 0.05 --no-baseline --sdk --workers 2]', {
    options: {
      orders: { type: 'string', default: '1000' },
      concurrency: { type: 'string', default: '32' },
      rate: { type: 'string' },
      'no-sagas': { type: 'boolean', default: false },
      faults: { type: 'string', default: '0' },
      'no-baseline': { type: 'boolean', default: false },
      sdk: { type: 'boolean', default: false },
      workers: { type: 'string' },
    },
  });
  const rate = values.rate === undefined ? undefined : Number(values.rate);
  if (rate !== undefined && !(rate > 0)) usageFailure(`--rate must be a number of orders per second above 0, not '${values.rate}'`);
  const faults = Number(values.faults);
  if (!(faults >= 0 && faults < 1)) usageFailure(`--faults must be a rate from 0 to below 1, not '${values.faults}'`);
  const options = {
    orders: integerOption('orders', values.orders, 1),
    concurrency: integerOption('concurrency', values.concurrency, 1),
    ...(rate ? { rate } : {}),
    sagas: !values['no-sagas'],
    faults,
    baseline: !values['no-baseline'],
    showProgress: true,
  };
  console.log(
    `${options.orders} orders (CreateOrder + SubmitOrder messages each), ${options.rate ? `${options.rate} orders/s` : 'as fast as possible'}, ${options.concurrency} in flight, ` +
      `${options.sagas ? 'each through the 12-step fulfilment saga' : 'no sagas (route → command → append → projection)'}${options.faults ? `, ${options.faults * 100}% transient faults everywhere` : ''}\n`,
  );
  const r = await runLoad(options);
  report(r, options.sagas);
  const runs = [r];
  if (values.sdk) {
    console.log('\nthe same orders in SDK mode (@azure/service-bus, @azure/cosmos and @azure/event-hubs over the wire endpoints)\n');
    const sdk = await runLoad({ ...options, baseline: false, sdkMode: true });
    report(sdk, options.sagas);
    runs.push(sdk);
    const unit = options.sagas ? 'orders/s, each through its saga' : 'orders/s';
    console.log(`\nsame run: default mode ${r.ordersPerSecond} ${unit}; SDK mode ${sdk.ordersPerSecond} ${unit} = ${(sdk.ordersPerSecond / r.ordersPerSecond).toFixed(2)}× the default mode`);
  }
  if (values.workers !== undefined) {
    const workerProcesses = integerOption('workers', values.workers, 2);
    console.log(`\nthe same orders with the functions in ${workerProcesses} worker processes (FUNCTIONS_WORKER_PROCESS_COUNT=${workerProcesses}; SDK mode)\n`);
    const w = await runLoad({ ...options, baseline: false, workerProcesses });
    report(w, options.sagas);
    runs.push(w);
    const unit = options.sagas ? 'orders/s, each through its saga' : 'orders/s';
    console.log(
      `\nsame run: functions in the host's process ${r.ordersPerSecond} ${unit}; in ${workerProcesses} worker processes ${w.ordersPerSecond} ${unit} = ${(w.ordersPerSecond / r.ordersPerSecond).toFixed(2)}×`,
    );
  }
  for (const run of runs) if (run.finished < run.orders || Object.keys(run.failures.deadLetters).length) process.exitCode = 1;
}

function report(r: LoadResult, sagas: boolean): void {
  const plain = process.stdout.isTTY ? undefined : { head: [], border: [] };
  console.log(
    `\nfinished ${r.finished} of ${r.orders} orders in ${(r.durationMs / 1000).toFixed(1)} s: ${r.ordersPerSecond} orders/s; ingress accepted ${r.ingressMessagesPerSecond} messages/s; ${r.retriedRequests} requests needed a retry`,
  );
  if (r.baseline) {
    console.log(
      `baseline, the same orders through the app's code called directly (ingress → router → command handler → projector, no host, measured first in this run): ${r.baseline.ordersPerSecond} orders/s — ` +
        `the host pipeline does ${r.baseline.ratio}× that${sagas ? ' (and runs every saga besides)' : ''}`,
    );
  }
  const stages = new Table({ head: ['stage (SubmitOrder message)', 'n', 'p50 ms', 'p95 ms', 'p99 ms', 'max ms'], style: plain });
  for (const [key, d] of Object.entries(r.stages)) stages.push([STAGE_LABELS[key as keyof typeof STAGE_LABELS], d.count, d.p50 ?? '', d.p95 ?? '', d.p99 ?? '', d.max ?? '']);
  console.log(stages.toString());
  const failures = new Table({ head: ['failure', 'count'], style: plain });
  for (const [k, n] of Object.entries(r.failures.refused)) failures.push([`refused: ${k}`, n]);
  for (const [k, n] of Object.entries(r.failures.deadLetters)) failures.push([`dead-lettered: ${k}`, n]);
  for (const [k, n] of Object.entries(r.sagaOutcomes)) if (k !== 'Completed') failures.push([`saga ${k}`, n]);
  failures.push(['accepted but not finished', r.failures.unfinished - Object.values(r.failures.refused).reduce((a, b) => a + b, 0)]);
  console.log(failures.toString());
  if (Object.keys(r.sagaOutcomes).length)
    console.log(
      `saga outcomes: ${Object.entries(r.sagaOutcomes)
        .map(([k, n]) => `${k} ${n}`)
        .join(', ')}`,
    );
  if (Object.keys(r.injectedFaults).length)
    console.log(
      `faults injected: ${Object.entries(r.injectedFaults)
        .map(([k, n]) => `${k} ${n}`)
        .join(', ')} — each retried or redelivered without a person`,
    );
  for (const p of r.sagaProblems) console.log(`  ${p.orderId}: ${p.status}${p.failedStep ? ` at ${p.failedStep}` : ''}${p.lastError ? ` — ${p.lastError}` : ''}`);
  const dir = join(appRoot(), 'bench', 'results');
  mkdirSync(dir, { recursive: true });
  const file = join(
    dir,
    `load-${r.options.sdkMode ? 'sdk-' : ''}${(r.options.workerProcesses ?? 1) > 1 ? `workers${r.options.workerProcesses}-` : ''}${new Date().toISOString().replace(/[:.]/g, '-')}.json`,
  );
  writeFileSync(file, `${JSON.stringify(r, null, 2)}\n`);
  console.log(`results: ${file}`);
}

main().catch((error: Error) => {
  console.error(error.message);
  process.exitCode = 1;
});
