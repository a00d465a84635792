// npm run chaos [-- --orders 400 --kills 6 --concurrency 16 --stall-timeout 180 --workers 2]
// Runs order traffic against the embedded host as a separate process and kills it with SIGKILL at
// random moments — two thirds while orders arrive, the rest while the sagas run on — restarting it
// on the same data directory each time, then checks and prints: every accepted message processed
// or dead-lettered with a reason (0 lost), no duplicate events, every saga terminal, every
// participant consistent with its saga, every projection equal to a rebuild. A waiting phase gives
// up only when nothing advanced for --stall-timeout seconds (so the run takes as long as its work);
// the table is printed either way, with the phase that stalled, and the result is written as JSON
// to bench/results/. Exits 1 if any check fails.
// --workers 2 runs every host with the functions in 2 worker processes (FUNCTIONS_WORKER_PROCESS_COUNT).
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import Table from 'cli-table3';
import { appRoot } from '../src/shared/app-paths';
import { integerOption, parseScriptArgs } from './support/cli-args';
import { chaosPassed, runChaos } from './support/chaos-run';

async function main(): Promise<void> {
  const { values } = parseScriptArgs('npm run chaos [-- --orders 400 --kills 6 --concurrency 16 --late-edit-every 10 --stall-timeout 180 --workers 2]', {
    options: {
      orders: { type: 'string', default: '400' },
      kills: { type: 'string', default: '6' },
      concurrency: { type: 'string', default: '16' },
      'late-edit-every': { type: 'string', default: '10' },
      'stall-timeout': { type: 'string', default: '180' },
      workers: { type: 'string', default: '1' },
    },
  });
  const options = {
    orders: integerOption('orders', values.orders, 1),
    kills: integerOption('kills', values.kills, 1),
    concurrency: integerOption('concurrency', values.concurrency, 1),
    lateEditEvery: integerOption('late-edit-every', values['late-edit-every'], 1),
    killAfterMs: [1_500, 5_000] as [number, number],
    stallTimeoutMs: integerOption('stall-timeout', values['stall-timeout'], 1) * 1000,
    showProgress: true,
    log: (line: string) => console.log(line),
  };
  // FUNCTIONS_WORKER_PROCESS_COUNT for every host started (the child inherits it): the functions in that many worker processes.
  const workers = integerOption('workers', values.workers, 1);
  process.env.FUNCTIONS_WORKER_PROCESS_COUNT = String(workers);
  console.log(
    `${workers > 1 ? `functions in ${workers} worker processes; ` : ''}${options.orders} orders (every ${options.lateEditEvery}th with a late edit), ${options.kills} SIGKILLs 1.5–5 s after each start, ` +
      `a phase that waits fails after ${options.stallTimeoutMs / 1000} s without progress\n`,
  );
  const r = await runChaos(options);
  const plain = process.stdout.isTTY ? undefined : { head: [], border: [] };
  const checks = new Table({ head: ['check', 'result'], style: plain });
  const ok = (good: boolean) => (good ? 'ok' : 'FAILED');
  checks.push([
    'host killed (SIGKILL) and restarted',
    `${r.kills} times: ${r.killsByPhase.traffic} while orders arrived, ${r.killsByPhase.sagas} while sagas ran, ${r.killsByPhase.settled} after they ended`,
  ]);
  checks.push(['messages accepted (refused)', `${r.accepted} (${r.refused})`]);
  checks.push(['accepted → processed', r.processed]);
  checks.push([
    'accepted → dead-lettered with a reason',
    Object.entries(r.deadLettered)
      .map(([k, n]) => `${k} ${n}`)
      .join(', ') || 0,
  ]);
  checks.push(['accepted → lost', `${r.lost.length} ${ok(r.lost.length === 0)}`]);
  checks.push(['duplicate events', `${r.duplicateEvents.length} ${ok(r.duplicateEvents.length === 0)}`]);
  checks.push([
    'sagas terminal',
    `${Object.values(r.sagaOutcomes).reduce((a, b) => a + b, 0)} (${Object.entries(r.sagaOutcomes)
      .map(([k, n]) => `${k} ${n}`)
      .join(', ')}); not terminal: ${r.sagasNotTerminal.length} ${ok(r.sagasNotTerminal.length === 0)}`,
  ]);
  checks.push(['participants inconsistent with their saga', `${r.inconsistentParticipants.length} ${ok(r.inconsistentParticipants.length === 0)}`]);
  for (const p of r.projections) checks.push([`projection ${p.name} = rebuild`, `${p.documents} documents ${ok(p.equal)}`]);
  for (const p of r.phases) checks.push([`phase: ${p.name}`, `${(p.durationMs / 1000).toFixed(1)} s${p.stalled ? ` — stopped waiting: ${p.stalled} FAILED` : ''}`]);
  console.log(`\n${checks.toString()}\nrun took ${(r.durationMs / 1000).toFixed(1)} s on ${cpus().length} × ${cpus()[0]?.model ?? 'CPU'}, Node ${process.version}`);
  const dir = join(appRoot(), 'bench', 'results');
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `chaos-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
  writeFileSync(file, `${JSON.stringify({ ...r, passed: chaosPassed(r), machine: { cpus: cpus().length, model: cpus()[0]?.model, node: process.version } }, null, 2)}\n`);
  console.log(`results: ${file}`);
  for (const line of [...r.lost, ...r.duplicateEvents, ...r.sagasNotTerminal, ...r.inconsistentParticipants].slice(0, 20)) console.log(`  ${line}`);
  if (!chaosPassed(r)) process.exitCode = 1;
}

main().catch((error: Error) => {
  console.error(error.stack ?? error.message);
  process.exitCode = 1;
});
