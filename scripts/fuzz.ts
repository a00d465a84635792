// npm run fuzz [-- --runs 10000 --target xml --target http-messages-csv --seed 42 --path 3:1:0 --slow-ms 2000]
// Runs every fuzz target (test/support/fuzz: the decoders, route conditions, the broker's SQL
// filter, and every POST/DELETE endpoint and the inbound queue through an in-process embedded
// host, the AMQP listener over raw sockets, and the Cosmos DB REST endpoint over HTTP) with that many generated inputs each, prints a table of targets, runs and failures, and
// for each failure the counterexample, its seed and path and the command that replays it. An input
// that took longer than --slow-ms to handle counts as a failure too: a hang is a denial of service
// (the jest suites, which must not assert on time, leave this to the script). Exits 1 on any
// failure. The jest suites run the same properties with fewer runs.
import Table from 'cli-table3';
import { AMQP_TARGETS } from '../test/support/fuzz/amqp-targets';
import { COSMOS_TARGETS } from '../test/support/fuzz/cosmos-targets';
import { HTTP_TARGETS } from '../test/support/fuzz/http-targets';
import { runTarget, type FuzzHost, type TargetResult } from '../test/support/fuzz/runner';
import { UNIT_TARGETS } from '../test/support/fuzz/unit-targets';
import { startHost, type RunningHost } from '../test/support/host';
import { appRoot } from '../src/shared/app-paths';
import { parseScriptArgs } from './support/cli-args';
import { progress } from './support/progress';

const ALL = [...UNIT_TARGETS, ...HTTP_TARGETS, ...AMQP_TARGETS, ...COSMOS_TARGETS];

async function main(): Promise<void> {
  const { values } = parseScriptArgs('npm run fuzz [-- --runs 10000 --target <name>[,<name>] --seed <n> --path <path> --list --slow-ms 2000]', {
    options: {
      runs: { type: 'string', default: '10000' },
      target: { type: 'string', multiple: true },
      seed: { type: 'string' },
      path: { type: 'string' },
      list: { type: 'boolean', default: false },
      'slow-ms': { type: 'string', default: '2000' },
    },
  });
  if (values.list) {
    for (const t of ALL) console.log(`${t.name.padEnd(24)} ${t.level.padEnd(5)} ${t.what}`);
    return;
  }
  const runs = Number(values.runs);
  if (!Number.isSafeInteger(runs) || runs < 1) throw new Error(`--runs must be a positive whole number (got ${values.runs})`);
  const seed = values.seed === undefined ? undefined : Number(values.seed);
  if (seed !== undefined && !Number.isSafeInteger(seed)) throw new Error(`--seed must be a whole number (got ${values.seed})`);
  const slowMs = Number(values['slow-ms']);
  if (!Number.isFinite(slowMs) || slowMs <= 0) throw new Error(`--slow-ms must be a positive number (got ${values['slow-ms']})`);
  const names = (values.target ?? []).flatMap((t) => t.split(',')).filter(Boolean);
  const unknown = names.filter((n) => !ALL.some((t) => t.name === n));
  if (unknown.length) throw new Error(`No fuzz target named ${unknown.join(', ')}; npm run fuzz -- --list shows them`);
  const targets = names.length ? ALL.filter((t) => names.includes(t.name)) : ALL;
  if (values.path !== undefined && targets.length !== 1) throw new Error('--path replays one counterexample: give exactly one --target with it');

  let running: RunningHost | undefined;
  if (targets.some((t) => t.level === 'http')) {
    // Submitted orders stay submitted: sagas would add traffic without adding inputs to fuzz.
    process.env.SAGA_AUTOSTART = 'false';
    running = await startHost(appRoot());
  }
  const host: FuzzHost | undefined = running;
  console.log(`${targets.length} targets × ${runs} runs${seed !== undefined ? `, seed ${seed}` : ''}\n`);
  const results: TargetResult[] = [];
  try {
    for (const target of targets) {
      const bar = progress(target.name, runs);
      let ticks = 0;
      const result = await runTarget(target, {
        runs,
        seed,
        path: values.path,
        host,
        onTick: () => {
          ticks++;
          // Shrinking a failure runs the property again: the bar stays full meanwhile.
          if (ticks <= runs) bar.increment();
        },
      });
      bar.stop();
      results.push(result);
    }
  } finally {
    await running?.stop();
  }

  for (const r of results) {
    const budget = Math.max(slowMs, targets.find((t) => t.name === r.name)?.slowMs ?? 0);
    if (r.slowestMs > budget) {
      r.failures++;
      r.error = [r.error, `an input took ${r.slowestMs} ms (over ${budget} ms): ${r.slowestInput}`].filter(Boolean).join('\n');
    }
  }
  const table = new Table({ head: ['target', 'level', 'runs', 'failures', 'slowest run ms', 'seconds'], style: process.stdout.isTTY ? undefined : { head: [], border: [] } });
  for (const r of results) table.push([r.name, r.level, r.runs, r.failures, r.slowestMs, (r.durationMs / 1000).toFixed(1)]);
  console.log(`\n${table.toString()}`);
  for (const r of results.filter((x) => x.outcomes)) {
    const total = Object.values(r.outcomes!).reduce((n, c) => n + c, 0);
    console.log(`\n${r.name}: ${r.runs} inputs in ${(r.durationMs / 1000).toFixed(1)} s (seed ${r.seed}), outcomes by class:`);
    for (const [outcome, count] of Object.entries(r.outcomes!).sort((a, b) => b[1] - a[1]))
      console.log(`  ${String(count).padStart(7)}  ${((100 * count) / total).toFixed(1).padStart(5)}%  ${outcome}`);
  }
  const failed = results.filter((r) => r.failures > 0);
  for (const r of failed) {
    console.log(`\n✗ ${r.name} (seed ${r.seed}${r.path ? `, path ${r.path}` : ''})`);
    console.log(`  ${r.error?.replaceAll('\n', '\n  ')}`);
    if (r.counterexample) console.log(`  counterexample: ${r.counterexample}`);
    console.log(`  replay: npm run fuzz -- --target ${r.name} --seed ${r.seed}${r.path ? ` --path ${r.path}` : ''} --runs ${runs}`);
  }
  const total = results.reduce((n, r) => n + r.runs, 0);
  console.log(`\n${total} inputs, ${failed.length} of ${results.length} targets failed`);
  if (failed.length) process.exitCode = 1;
}

main().catch((error: Error) => {
  console.error(error.message);
  process.exitCode = 1;
});
