// npm run bench:saga [-- --sagas 300 --concurrency 16]
// The order-fulfilment saga on the embedded host with no simulated latency and no faults:
//  - sagas/s and p50/p99 saga duration (submit → saga ended), beside a baseline that calls the
//    same twelve activities directly in a loop (no Durable engine, no replay, no persistence of
//    orchestration state) for other orders in the same run — as a ratio;
//  - the cost of replay: orchestrator invocation time against history length, and each bucket's
//    ratio to the shortest histories.
// Results are also written to bench/results/.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import Table from 'cli-table3';
import { sagas } from '../src/composition/sagas';
import { EmbeddedHost } from '../src/embedded/host/host';
import { percentile } from '../src/projections/projector';
import type { StepInput } from '../src/sagas/definition';
import { appRoot } from '../src/shared/app-paths';
import { forEachLimit } from '../src/shared/concurrency';
import { parseScriptArgs } from './support/cli-args';
import { progress } from './support/progress';

const { values } = parseScriptArgs('npm run bench:saga [-- --sagas 300 --concurrency 16]', { options: { sagas: { type: 'string', default: '300' }, concurrency: { type: 'string', default: '16' } } });
const N = Number(values.sagas);
const C = Number(values.concurrency);
const plain = process.stdout.isTTY ? undefined : { head: [], border: [] };
const fmt = (n: number) => n.toLocaleString('en-US', { maximumFractionDigits: 1 });

async function main(): Promise<void> {
  const dataDir = mkdtempSync(join(tmpdir(), 'bench-saga-'));
  delete process.env.PARTICIPANT_FAULTS;
  process.env.SAGA_AUTOSTART = 'false';
  const host = await EmbeddedHost.start({ appDir: appRoot(), port: 0, database: join(dataDir, 'embedded.sqlite'), logWriter: () => undefined });
  const api = `${host.baseUrl}/api`;
  const post = async (path: string, body: unknown) => {
    const res = await fetch(`${api}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    if (res.status >= 300) throw new Error(`${path}: ${res.status} ${await res.text()}`);
  };
  const order = (orderId: string, i: number) => ({ orderId, customerId: `cust-${i % 50}`, items: [{ sku: `BENCH-${i % 20}`, quantity: 1, unitPrice: 9.99 }, { sku: `BENCH-${(i + 7) % 20}`, quantity: 2, unitPrice: 4.5 }] });
  try {
    console.log(`Saga benchmark: ${N} sagas, ${C} submitted at a time, no simulated latency or faults`);
    console.log(`Machine: ${cpus()[0]?.model} × ${cpus().length}, ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version}\n`);
    for (let s = 0; s < 20; s++) await post(`/inventory/BENCH-${s}/receipts`, { quantity: 1_000_000 });

    // Baseline: the same activities, called one after the other, for orders of their own.
    const base = Array.from({ length: N }, (_, i) => `base-${i}`);
    for (const [i, id] of base.entries()) {
      await post('/orders', order(id, i));
      await post(`/orders/${id}/submit`, {});
    }
    const { activities, definition } = sagas();
    const baseBar = progress('baseline (direct)', N);
    const baseStart = performance.now();
    const baseDurations: number[] = [];
    await forEachLimit(base, C, async (orderId) => {
      const t = performance.now();
      const data: Record<string, unknown> = {};
      for (const step of definition.steps) {
        const input: StepInput = { orderId, sagaId: `direct-${orderId}`, step: step.name, data };
        const r = await activities[step.name]!(input);
        if (!r.ok) throw new Error(`${orderId}: ${step.name} declined: ${r.reason}`);
        Object.assign(data, r.output);
      }
      baseDurations.push(performance.now() - t);
      baseBar.increment();
    });
    const baseMs = performance.now() - baseStart;
    baseBar.stop();

    // Durable: orders submitted, sagas started from the change feed, run by the engine.
    process.env.SAGA_AUTOSTART = 'true';
    const replays: { historyLength: number; invokeMs: number }[] = [];
    const stopObserving = host.durable.observe((e) => {
      if (e.name === definition.orchestrator) replays.push({ historyLength: e.historyLength, invokeMs: e.invokeMs });
    });
    const ids = Array.from({ length: N }, (_, i) => `bench-${i}`);
    const submitted = new Map<string, number>();
    const start = performance.now();
    await forEachLimit(ids, C, async (orderId, i) => {
      await post('/orders', order(orderId, i));
      submitted.set(orderId, performance.now());
      await post(`/orders/${orderId}/submit`, {});
    });
    const bar = progress('sagas (durable)', N);
    const endedAt = new Map<string, number>();
    while (endedAt.size < N) {
      const res = await fetch(`${host.baseUrl}/runtime/webhooks/durabletask/instances?runtimeStatus=Completed&instanceIdPrefix=order-saga-bench-&top=1000`);
      const done = (await res.json()) as { instanceId: string; output: { status: string } }[];
      for (const d of done) {
        const id = d.instanceId.replace('order-saga-', '');
        if (endedAt.has(id)) continue;
        if (d.output.status !== 'Completed') throw new Error(`${id} ended ${d.output.status}`);
        endedAt.set(id, performance.now());
        bar.increment();
      }
      if (endedAt.size < N) await new Promise((r) => setTimeout(r, 20));
    }
    bar.stop();
    const durableMs = Math.max(...endedAt.values()) - start;
    stopObserving();
    const durations = ids.map((id) => endedAt.get(id)! - submitted.get(id)!);

    const sagasPerSecond = N / (durableMs / 1000);
    const basePerSecond = N / (baseMs / 1000);
    const t1 = new Table({ style: plain, head: ['', 'sagas/s', 'p50 ms', 'p99 ms'] });
    t1.push(['Durable saga (submit → ended)', fmt(sagasPerSecond), fmt(percentile(durations, 50)!), fmt(percentile(durations, 99)!)]);
    t1.push(['baseline: the 12 activities called directly', fmt(basePerSecond), fmt(percentile(baseDurations, 50)!), fmt(percentile(baseDurations, 99)!)]);
    t1.push(['ratio durable / direct', `${(sagasPerSecond / basePerSecond).toFixed(2)}×`, `${(percentile(durations, 50)! / percentile(baseDurations, 50)!).toFixed(2)}×`, `${(percentile(durations, 99)! / percentile(baseDurations, 99)!).toFixed(2)}×`]);
    console.log(`\n${t1.toString()}`);

    const buckets = [0, 20, 40, 60, 80, 100, 120];
    const rows: { range: string; invocations: number; meanMs: number }[] = [];
    for (let i = 0; i < buckets.length; i++) {
      const lo = buckets[i]!;
      const hi = buckets[i + 1] ?? Number.POSITIVE_INFINITY;
      const inBucket = replays.filter((r) => r.historyLength >= lo && r.historyLength < hi);
      if (inBucket.length) rows.push({ range: hi === Number.POSITIVE_INFINITY ? `${lo}+` : `${lo}–${hi - 1}`, invocations: inBucket.length, meanMs: inBucket.reduce((s, r) => s + r.invokeMs, 0) / inBucket.length });
    }
    const t2 = new Table({ style: plain, head: ['history events', 'orchestrator invocations', 'mean invocation ms', 'ratio to the shortest'] });
    for (const r of rows) t2.push([r.range, r.invocations, r.meanMs.toFixed(3), `${(r.meanMs / rows[0]!.meanMs).toFixed(2)}×`]);
    console.log(`cost of replay (every orchestrator invocation replays the whole history):\n${t2.toString()}`);
    const perSaga = replays.length / N;
    console.log(`${fmt(perSaga)} orchestrator invocations per saga; longest history ${Math.max(...replays.map((r) => r.historyLength))} events`);

    const results = {
      benchmark: 'saga',
      at: new Date().toISOString(),
      machine: { cpu: cpus()[0]?.model, cores: cpus().length, node: process.version },
      parameters: { sagas: N, concurrency: C },
      durable: { sagasPerSecond, p50Ms: percentile(durations, 50), p99Ms: percentile(durations, 99) },
      direct: { sagasPerSecond: basePerSecond, p50Ms: percentile(baseDurations, 50), p99Ms: percentile(baseDurations, 99) },
      replay: rows,
      invocationsPerSaga: perSaga,
    };
    const out = join(appRoot(), 'bench', 'results');
    mkdirSync(out, { recursive: true });
    const file = join(out, `saga-${results.at.replace(/[:.]/g, '-')}.json`);
    writeFileSync(file, `${JSON.stringify(results, null, 2)}\n`);
    console.log(`\nWritten to ${file}`);
  } finally {
    await host.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

main().catch((error: Error) => {
  console.error(error);
  process.exitCode = 1;
});
