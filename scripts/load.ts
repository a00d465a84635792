// npm run load [-- --orders 2000 --concurrency 64 --rate 100 --no-sagas --faults 0.05]
// Drives the whole pipeline on the embedded host (a fresh SQLite file): CreateOrder + SubmitOrder
// messages at the ESB ingress → router → order-commands → event store → change feed → views,
// fulfilment saga, integration events. Prints throughput, end-to-end and per-stage latencies
// (p50/p95/p99, from each order's trace) and failures by category; writes the JSON to
// bench/results/. Exits 1 when any accepted order did not finish or anything was dead-lettered.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Table from 'cli-table3';
import { appRoot } from '../src/shared/app-paths';
import { integerOption, parseScriptArgs, usageFailure } from './support/cli-args';
import { runLoad } from './support/load-run';
import { STAGE_LABELS } from './support/order-stages';

async function main(): Promise<void> {
  const { values } = parseScriptArgs('npm run load [-- --orders 1000 --concurrency 32 --rate 100 --no-sagas --faults 0.05 --no-baseline]', {
    options: {
      orders: { type: 'string', default: '1000' },
      concurrency: { type: 'string', default: '32' },
      rate: { type: 'string' },
      'no-sagas': { type: 'boolean', default: false },
      faults: { type: 'string', default: '0' },
      'no-baseline': { type: 'boolean', default: false },
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
  const plain = process.stdout.isTTY ? undefined : { head: [], border: [] };
  console.log(
    `\nfinished ${r.finished} of ${r.orders} orders in ${(r.durationMs / 1000).toFixed(1)} s: ${r.ordersPerSecond} orders/s; ingress accepted ${r.ingressMessagesPerSecond} messages/s; ${r.retriedRequests} requests needed a retry`,
  );
  if (r.baseline) {
    console.log(
      `baseline, the same orders through the app's code called directly (ingress → router → command handler → projector, no host, measured first in this run): ${r.baseline.ordersPerSecond} orders/s — ` +
        `the host pipeline does ${r.baseline.ratio}× that${options.sagas ? ' (and runs every saga besides)' : ''}`,
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
  const file = join(dir, `load-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
  writeFileSync(file, `${JSON.stringify(r, null, 2)}\n`);
  console.log(`results: ${file}`);
  if (r.finished < r.orders || Object.keys(r.failures.deadLetters).length) process.exitCode = 1;
}

main().catch((error: Error) => {
  console.error(error.message);
  process.exitCode = 1;
});
