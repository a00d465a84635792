// npm run cost [-- --orders 300 --reads 2]
// What the app costs on Azure at idle and per million orders, from what N orders actually asked
// of each service on the embedded host (Cosmos DB operations and item sizes, Service Bus calls,
// Event Hubs events, function executions and busy time, Durable task hub traffic, log records),
// priced with the list prices in scripts/support/prices.ts. The arithmetic is printed with the
// result; docs/cost.md is this output. Results also go to bench/results/.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Table from 'cli-table3';
import { appRoot } from '../src/shared/app-paths';
import { parseScriptArgs } from './support/cli-args';
import { cosmosRequestUnits, costModel, type CostLine } from './support/cost-model';
import { runOrdersForCost } from './support/cost-run';
import { PRICES } from './support/prices';

const plain = process.stdout.isTTY ? undefined : { head: [], border: [] };
const fmt = (n: number, digits = 2) => n.toLocaleString('en-US', { maximumFractionDigits: digits });
const money = (n: number) => `$${n > 0 && n < 0.01 ? n.toFixed(4) : fmt(n, 2)}`;

function lines(title: string, rows: CostLine[], total: number): string {
  const t = new Table({ head: ['service', 'what', 'arithmetic', 'USD'], style: plain, colAligns: ['left', 'left', 'left', 'right'] });
  for (const r of rows) t.push([r.service, r.item, r.arithmetic, money(r.usd)]);
  t.push(['', 'total', '', money(total)]);
  return `${title}\n${t.toString()}`;
}

async function main(): Promise<void> {
  const { values } = parseScriptArgs('npm run cost [-- --orders 300 --reads 2]', { options: { orders: { type: 'string', default: '300' }, reads: { type: 'string', default: '2' } } });
  const orders = Number(values.orders);
  const readsPerOrder = Number(values.reads);
  if (!Number.isInteger(orders) || orders < 1 || !Number.isInteger(readsPerOrder) || readsPerOrder < 0) throw new Error('--orders must be a positive integer and --reads a non-negative one');
  console.log(`${orders} orders end to end on the embedded host (create, submit, saga, projections, integration events, ${readsPerOrder} reads each)\n`);
  const { run, deployment, durationMs } = await runOrdersForCost({ orders, readsPerOrder, showProgress: true });
  const model = costModel(run, deployment);
  // Before: every trace sent whole and the host's Executing/Executed records, as the app shipped until now.
  const before = costModel(run, { ...deployment, telemetry: { samplingRatio: 1, functionLogLevel: 'Information' } });

  const usage = new Table({ head: ['service', 'resource', 'operation', 'calls/order', 'items/order', 'avg item bytes'], style: plain, colAligns: ['left', 'left', 'left', 'right', 'right', 'right'] });
  const billed = run.usage.filter((r) => r.service !== 'logs' && !r.operation.endsWith('(empty)')).sort((a, b) => a.service.localeCompare(b.service) || b.calls - a.calls);
  for (const r of billed) usage.push([r.service, r.resource, r.operation, fmt(r.calls / orders), fmt(r.items / orders), r.items ? fmt(r.bytes / r.items, 0) : '']);
  console.log(`\nMeasured per order (${fmt(durationMs / 1000, 1)} s run)\n${usage.toString()}`);

  const ru = new Table({ head: ['container', 'operation', 'calls/order', 'RU/order'], style: plain, colAligns: ['left', 'left', 'right', 'right'] });
  for (const r of cosmosRequestUnits(run.usage)
    .filter((x) => x.ru > 0)
    .sort((a, b) => b.ru - a.ru))
    ru.push([r.container, r.operation, fmt(r.calls / orders), fmt(r.ru / orders)]);
  ru.push(['', 'total', fmt(model.perOrder.cosmosRequests), fmt(model.perOrder.cosmosRu)]);
  console.log(`\nCosmos DB request units per order\n${ru.toString()}`);
  const sizes = new Table({ head: ['container', 'items/order', 'bytes/order', 'avg item bytes'], style: plain, colAligns: ['left', 'right', 'right', 'right'] });
  for (const [c, s] of Object.entries(run.storedBytes)) if (s.items > 0) sizes.push([c, fmt(s.items / orders), fmt(s.bytes / orders, 0), fmt(s.bytes / s.items, 0)]);
  console.log(`\nDocuments each order leaves (bodies, before system properties)\n${sizes.toString()}`);

  const p = model.perOrder;
  console.log(
    `\nPer order: ${fmt(p.cosmosRu)} RU in ${fmt(p.cosmosRequests)} Cosmos requests, ${fmt(p.serviceBusOperations)} Service Bus operations, ` +
      `${fmt(p.eventHubsEvents)} Event Hubs events, ${fmt(p.executions)} function executions (${fmt(p.gbSecondsBusy, 3)} GB-s busy), ` +
      `${fmt(p.durableStorageTransactions)} task-hub storage transactions, ${fmt(p.telemetryItems)} telemetry items (${fmt(p.telemetryBytes / 1024)} KB), ${fmt(p.storedBytes / 1024)} KB stored.`,
  );
  console.log(`\n${lines('Per 1 million orders (marginal: no free grants)', model.perMillion, model.perMillionUsd)}`);
  const t = deployment.telemetry;
  const compare = new Table({
    head: ['per 1 million orders', 'telemetry KB/order', 'Log Analytics', 'total (marginal)', 'month with 1M orders'],
    style: plain,
    colAligns: ['left', 'right', 'right', 'right', 'right'],
  });
  const logLine = (m: typeof model) => m.perMillion.find((l) => l.service === 'Log Analytics')!.usd;
  compare.push([
    'before: every trace, Function logs at Information',
    fmt(before.perOrder.telemetryBytes / 1024),
    money(logLine(before)),
    money(before.perMillionUsd),
    money(before.monthAtOneMillionUsd),
  ]);
  compare.push([
    `now: ${t.samplingRatio} of traces + failed ones, Function logs at ${t.functionLogLevel}`,
    fmt(model.perOrder.telemetryBytes / 1024),
    money(logLine(model)),
    money(model.perMillionUsd),
    money(model.monthAtOneMillionUsd),
  ]);
  console.log(`\nTelemetry sampling, before and after (same run; infra/app/api.bicep sets the second row)\n${compare.toString()}`);
  console.log(`\n${lines('Idle: a month with nothing to do', model.idle, model.idleUsd)}`);
  console.log(`\n${lines('A month with 1 million orders (free grants and included operations applied)', model.monthAtOneMillion, model.monthAtOneMillionUsd)}`);
  console.log('\nAssumptions');
  for (const a of model.assumptions) console.log(`  - ${a}`);
  const unverified = Object.entries(PRICES)
    .filter(([, v]) => 'unverified' in v && v.unverified)
    .map(([k]) => k);
  console.log(`\nPrices: scripts/support/prices.ts (sources beside each). Not confirmed by a stored source: ${unverified.join(', ')}.`);

  const out = join(appRoot(), 'bench', 'results');
  mkdirSync(out, { recursive: true });
  const at = new Date().toISOString();
  const file = join(out, `cost-${at.replace(/[:.]/g, '-')}.json`);
  writeFileSync(file, `${JSON.stringify({ at, orders, readsPerOrder, deployment, run, model, before }, null, 2)}\n`);
  console.log(`\nwritten to ${file}`);
}

main().catch((error: Error) => {
  console.error(error);
  process.exitCode = 1;
});
