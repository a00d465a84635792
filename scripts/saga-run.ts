// npm run saga:run [-- --sagas 1000 --transient 0.05 --decline 0.02]
// Runs that many order-fulfilment sagas on the embedded host (a fresh data directory) with
// transient failures on every participant and permanent declines, waits until each has ended and
// checks every participant against every saga's outcome. Exits 1 if any saga did not end or any
// participant disagrees.
import Table from 'cli-table3';
import { percentile } from '../src/projections/projector';
import { parseScriptArgs } from './support/cli-args';
import { runSagas } from './support/saga-run';

async function main(): Promise<void> {
  const { values } = parseScriptArgs('npm run saga:run [-- --sagas 1000 --transient 0.05 --decline 0.02 --concurrency 16]', {
    options: {
      sagas: { type: 'string', default: '1000' },
      transient: { type: 'string', default: '0.05' },
      decline: { type: 'string', default: '0.02' },
      concurrency: { type: 'string', default: '16' },
    },
  });
  const options = { sagas: Number(values.sagas), transientRate: Number(values.transient), declineRate: Number(values.decline), concurrency: Number(values.concurrency) };
  console.log(`${options.sagas} sagas, ${options.transientRate * 100}% transient failures per activity call, ${options.declineRate * 100}% of sagas declined at some step\n`);
  const r = await runSagas({ ...options, showProgress: true });
  const table = new Table({ head: ['outcome', 'sagas'], style: process.stdout.isTTY ? undefined : { head: [], border: [] } });
  for (const [status, n] of Object.entries(r.outcomes).sort()) table.push([status, n]);
  table.push(['did not end', r.unfinished.length]);
  console.log(`\n${table.toString()}`);
  console.log(`participants consistent with the outcome: ${r.consistent} of ${r.sagas}`);
  console.log(`saga duration: p50 ${percentile(r.sagaDurationsMs, 50)} ms, p99 ${percentile(r.sagaDurationsMs, 99)} ms (retries wait 1 s, 2 s, …); run took ${(r.durationMs / 1000).toFixed(1)} s`);
  for (const p of r.problems.slice(0, 20)) console.log(`  ${p.orderId} (${p.status}): ${p.problems.join('; ')}`);
  if (r.unfinished.length || r.problems.length) process.exitCode = 1;
}

main().catch((error: Error) => {
  console.error(error);
  process.exitCode = 1;
});
