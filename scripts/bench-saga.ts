// npm run bench:saga [-- --sagas 300 --concurrency 16 --profile <prefix> --workers 2]
// The order-fulfilment saga on the embedded host with no simulated latency and no faults:
//  - baseline: the same twelve activities called directly in a loop (no Durable engine, no
//    replay, no persistence of orchestration state) for orders created and submitted beforehand;
//  - saga: the Durable saga for other orders created and submitted beforehand, started through
//    the Durable HTTP API as the saga starter does (start → saga ended) — the engine's throughput,
//    comparable with the baseline;
//  - end to end: orders created and submitted while it measures, sagas started from the change
//    feed (submit → saga ended) — order commands, projections and integration events included;
//  - for each: sagas/s, p50/p99 duration, CPU ms and SQLite commits per saga (the whole host);
//  - the floor under the engine: the saga phase's orchestrator invocations replayed again without
//    SQL or commits, plus the activities' own CPU;
//  - the cost of replay: orchestrator invocation time against history length, and each bucket's
//    ratio to the shortest histories.
//  - with --workers 2, the durable phase again on a second host whose functions run in two worker
//    processes (FUNCTIONS_WORKER_PROCESS_COUNT), beside the first (one process) — its CPU figure is
//    the host process's only.
// A saga has ended when the engine has committed its end (it tells in-process listeners then), so
// nothing polls the HTTP API while it measures; every outcome is checked through that API after.
// Results are also written to bench/results/.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { cpus, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import Table from 'cli-table3';
import { sagas } from '../src/composition/sagas';
import { EmbeddedHost } from '@backbone/local-azure/host/host';
import { percentile } from '../src/projections/projector';
import { sagaInstanceId, type StepInput } from '../src/sagas/definition';
import { appRoot } from '../src/shared/app-paths';
import { forEachLimit } from '../src/shared/concurrency';
import { integerOption, parseScriptArgs } from './support/cli-args';
import { progress } from './support/progress';

const { values } = parseScriptArgs('npm run bench:saga [-- --sagas 300 --concurrency 16 --profile <prefix> --workers 2]', {
  options: {
    sagas: { type: 'string', default: '300' },
    concurrency: { type: 'string', default: '16' },
    /** Writes CPU profiles of the two durable phases, <prefix>-saga.cpuprofile and <prefix>-e2e.cpuprofile (Chrome DevTools, VS Code). */
    profile: { type: 'string' },
    workers: { type: 'string' },
  },
});
const N = Number(values.sagas);
const C = Number(values.concurrency);
const WORKERS = values.workers === undefined ? undefined : integerOption('workers', values.workers, 2);
const plain = process.stdout.isTTY ? undefined : { head: [], border: [] };
const fmt = (n: number) => n.toLocaleString('en-US', { maximumFractionDigits: 1 });

interface Phase {
  perSecond: number;
  durations: number[];
  cpuMsPerSaga: number;
  commitsPerSaga: number;
}

/** Waits for `done`, failing when `progressOf` has not moved for `ms`. */
async function unlessStalled(done: Promise<void>, progressOf: () => number, ms: number): Promise<void> {
  let last = -1;
  let timer: NodeJS.Timeout | undefined;
  const stalled = new Promise<never>((_, reject) => {
    timer = setInterval(() => {
      const now = progressOf();
      if (now === last) reject(new Error(`No saga ended in ${ms / 1000} s (${now} of ${N} ended)`));
      last = now;
    }, ms);
  });
  try {
    await Promise.race([done, stalled]);
  } finally {
    clearInterval(timer);
  }
}

/** Every saga of the phase, read through the Durable HTTP API, completed and reports Completed. */
async function checkOutcomes(baseUrl: string, prefix: string, n: number): Promise<void> {
  const res = await fetch(`${baseUrl}/runtime/webhooks/durabletask/instances?instanceIdPrefix=${encodeURIComponent(prefix)}&top=${n + 1}`);
  const all = (await res.json()) as { instanceId: string; runtimeStatus: string; output: { status?: string } | null }[];
  const bad = all.filter((d) => d.runtimeStatus !== 'Completed' || d.output?.status !== 'Completed');
  if (all.length !== n || bad.length) throw new Error(`${all.length} of ${n} sagas found; not completed: ${bad.map((d) => `${d.instanceId} ${d.runtimeStatus} ${d.output?.status}`).join(', ')}`);
}

async function startProfiler(): Promise<{ stop: (file: string) => Promise<void> }> {
  const session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.start');
  return {
    stop: async (file) => {
      const { profile } = await session.post('Profiler.stop');
      writeFileSync(file, JSON.stringify(profile));
      session.disconnect();
      console.log(`CPU profile: ${file}`);
    },
  };
}

/** Waits until the host has committed nothing for a while: the change feed consumers have caught up. */
async function settled(host: EmbeddedHost): Promise<void> {
  for (let last = -1; last !== host.commit.commits;) {
    last = host.commit.commits;
    await new Promise((r) => setTimeout(r, 300));
  }
}

async function main(): Promise<void> {
  const dataDir = mkdtempSync(join(tmpdir(), 'bench-saga-'));
  delete process.env.PARTICIPANT_FAULTS;
  process.env.SAGA_AUTOSTART = 'false';
  const host = await EmbeddedHost.start({ appDir: appRoot(), port: 0, database: join(dataDir, 'embedded.sqlite'), logWriter: () => undefined });
  const api = `${host.baseUrl}/api`;
  const post = async (url: string, body: unknown) => {
    const res = await fetch(url.startsWith('http') ? url : `${api}${url}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    if (res.status >= 300) throw new Error(`${url}: ${res.status} ${await res.text()}`);
  };
  const order = (orderId: string, i: number) => ({
    orderId,
    customerId: `cust-${i % 50}`,
    items: [
      { sku: `BENCH-${i % 20}`, quantity: 1, unitPrice: 9.99 },
      { sku: `BENCH-${(i + 7) % 20}`, quantity: 2, unitPrice: 4.5 },
    ],
  });
  const createAndSubmit = async (orderId: string, i: number) => {
    await post('/orders', order(orderId, i));
    await post(`/orders/${orderId}/submit`, {});
  };
  const { activities, definition } = sagas();
  const replays: { historyLength: number; invokeMs: number }[] = [];

  /** Runs one durable phase: `begin` starts the sagas of `orderIds`; it ends when all have ended. */
  const durablePhase = async (label: string, orderIds: string[], begin: (started: Map<string, number>) => Promise<void>, profileFile?: string, on: EmbeddedHost = host): Promise<Phase> => {
    const instances = new Set(orderIds.map(sagaInstanceId));
    const started = new Map<string, number>();
    const endedAt = new Map<string, number>();
    const bar = progress(label, orderIds.length);
    let allEnded!: () => void;
    const ended = new Promise<void>((resolve) => (allEnded = resolve));
    const stopEnded = on.durable.observeEnded((e) => {
      if (!instances.has(e.instanceId)) return;
      endedAt.set(e.instanceId, performance.now());
      bar.increment();
      if (endedAt.size === instances.size) allEnded();
    });
    const stopObserving = on.durable.observe((e) => {
      if (e.name === definition.orchestrator && instances.has(e.instanceId)) replays.push({ historyLength: e.historyLength, invokeMs: e.invokeMs });
    });
    const profiler = profileFile ? await startProfiler() : undefined;
    const commitsBefore = on.commit.commits;
    const cpuBefore = process.cpuUsage();
    const t0 = performance.now();
    await begin(started);
    await unlessStalled(ended, () => endedAt.size, 60_000);
    const ms = Math.max(...endedAt.values()) - t0;
    if (profiler) await profiler.stop(profileFile!);
    // CPU time of the whole process (every thread) until the projections the sagas fed have caught
    // up: steadier than sagas/s on a shared machine.
    await settled(on);
    const commits = on.commit.commits - commitsBefore;
    const cpu = process.cpuUsage(cpuBefore);
    bar.stop();
    stopEnded();
    stopObserving();
    return {
      perSecond: orderIds.length / (ms / 1000),
      durations: orderIds.map((id) => endedAt.get(sagaInstanceId(id))! - started.get(id)!),
      cpuMsPerSaga: (cpu.user + cpu.system) / 1000 / orderIds.length,
      commitsPerSaga: commits / orderIds.length,
    };
  };

  try {
    console.log(`Saga benchmark: ${N} sagas, ${C} at a time, no simulated latency or faults`);
    console.log(`Machine: ${cpus()[0]?.model} × ${cpus().length}, ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version}\n`);
    for (let s = 0; s < 20; s++) await post(`/inventory/BENCH-${s}/receipts`, { quantity: 1_000_000 });

    // Orders for the baseline and the saga phase, submitted with the saga starter paused.
    const base = Array.from({ length: N }, (_, i) => `base-${i}`);
    const solo = Array.from({ length: N }, (_, i) => `saga-${i}`);
    await forEachLimit([...base, ...solo], C, (orderId, i) => createAndSubmit(orderId, i % N));
    await settled(host);

    // Baseline: the same activities, called one after the other, for orders of their own.
    const baseBar = progress('baseline (direct)', N);
    const baseDurations: number[] = [];
    const baseCpu = process.cpuUsage();
    const baseCommits = host.commit.commits;
    const baseStart = performance.now();
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
    await settled(host);
    const baseCpuUsed = process.cpuUsage(baseCpu);
    const direct: Phase = {
      perSecond: N / (baseMs / 1000),
      durations: baseDurations,
      cpuMsPerSaga: (baseCpuUsed.user + baseCpuUsed.system) / 1000 / N,
      commitsPerSaga: (host.commit.commits - baseCommits) / N,
    };

    // Saga: started through the Durable HTTP API (what the starter's durable client calls).
    const startUrl = `${host.baseUrl}/runtime/webhooks/durabletask/orchestrators/${definition.orchestrator}`;
    const saga = await durablePhase(
      'sagas (durable)',
      solo,
      (started) =>
        forEachLimit(solo, C, async (orderId) => {
          started.set(orderId, performance.now());
          await post(`${startUrl}/${sagaInstanceId(orderId)}`, { orderId });
        }),
      values.profile && `${values.profile}-saga.cpuprofile`,
    );
    await checkOutcomes(host.baseUrl, sagaInstanceId('saga-'), N);
    const replayRows = replays.splice(0);

    // The floor under the engine: every orchestrator invocation of those sagas again, without SQL or commits.
    const replayCpu = process.cpuUsage();
    const replayed: { historyLength: number; ms: number }[] = [];
    for (const orderId of solo) replayed.push(...(await host.durable.replayEpisodes(sagaInstanceId(orderId))));
    const replayUsed = process.cpuUsage(replayCpu);
    const replayCpuMsPerSaga = (replayUsed.user + replayUsed.system) / 1000 / N;
    await settled(host);

    // End to end: orders created and submitted now, sagas started from the change feed.
    process.env.SAGA_AUTOSTART = 'true';
    const e2eIds = Array.from({ length: N }, (_, i) => `bench-${i}`);
    const e2e = await durablePhase(
      'sagas (end to end)',
      e2eIds,
      (started) =>
        forEachLimit(e2eIds, C, async (orderId, i) => {
          await post('/orders', order(orderId, i));
          started.set(orderId, performance.now());
          await post(`/orders/${orderId}/submit`, {});
        }),
      values.profile && `${values.profile}-e2e.cpuprofile`,
    );
    await checkOutcomes(host.baseUrl, sagaInstanceId('bench-'), N);

    // The durable phase again with the functions in worker processes, on a host of its own (the first one stops).
    let workerSaga: Phase | undefined;
    if (WORKERS) {
      await host.stop();
      const workerDir = mkdtempSync(join(tmpdir(), 'bench-saga-workers-'));
      const env = { ...process.env, SAGA_AUTOSTART: 'false', FUNCTIONS_WORKER_PROCESS_COUNT: String(WORKERS) };
      const workerHost = await EmbeddedHost.start({ appDir: appRoot(), port: 0, database: join(workerDir, 'embedded.sqlite'), logWriter: () => undefined, env });
      try {
        const at = (path: string) => `${workerHost.baseUrl}${path}`;
        for (let s = 0; s < 20; s++) await post(at(`/api/inventory/BENCH-${s}/receipts`), { quantity: 1_000_000 });
        const ids = Array.from({ length: N }, (_, i) => `w-${i}`);
        await forEachLimit(ids, C, async (orderId, i) => {
          await post(at('/api/orders'), order(orderId, i));
          await post(at(`/api/orders/${orderId}/submit`), {});
        });
        await settled(workerHost);
        workerSaga = await durablePhase(
          `sagas (durable, ${WORKERS} worker processes)`,
          ids,
          (started) =>
            forEachLimit(ids, C, async (orderId) => {
              started.set(orderId, performance.now());
              await post(at(`/runtime/webhooks/durabletask/orchestrators/${definition.orchestrator}/${sagaInstanceId(orderId)}`), { orderId });
            }),
          undefined,
          workerHost,
        );
        await checkOutcomes(workerHost.baseUrl, sagaInstanceId('w-'), N);
        replays.length = 0;
      } finally {
        await workerHost.stop();
        rmSync(workerDir, { recursive: true, force: true });
      }
    }

    const p = (d: number[], q: number) => percentile(d, q)!;
    const t1 = new Table({ style: plain, head: ['', 'sagas/s', 'p50 ms', 'p99 ms', 'CPU ms/saga', 'commits/saga'] });
    const row = (label: string, r: Phase) => t1.push([label, fmt(r.perSecond), fmt(p(r.durations, 50)), fmt(p(r.durations, 99)), r.cpuMsPerSaga.toFixed(2), fmt(r.commitsPerSaga)]);
    const ratio = (label: string, r: Phase) =>
      t1.push([
        label,
        `${(r.perSecond / direct.perSecond).toFixed(2)}×`,
        `${(p(r.durations, 50) / p(direct.durations, 50)).toFixed(2)}×`,
        `${(p(r.durations, 99) / p(direct.durations, 99)).toFixed(2)}×`,
        `${(r.cpuMsPerSaga / direct.cpuMsPerSaga).toFixed(2)}×`,
        '',
      ]);
    row('Durable saga (start → ended)', saga);
    if (workerSaga) row(`Durable saga, functions in ${WORKERS} worker processes (CPU: host process only)`, workerSaga);
    row('Durable saga end to end (submit → ended)', e2e);
    row('baseline: the 12 activities called directly', direct);
    ratio('ratio saga / direct', saga);
    ratio('ratio end to end / direct', e2e);
    console.log(`\n${t1.toString()}`);
    if (workerSaga)
      console.log(
        `same run: the durable saga with the functions in the host's process ${fmt(saga.perSecond)} sagas/s, in ${WORKERS} worker processes ${fmt(workerSaga.perSecond)} = ${(workerSaga.perSecond / saga.perSecond).toFixed(2)}×`,
      );
    console.log(
      "CPU ms and commits per saga are the whole host's until its projections have caught up; the end-to-end row includes the order commands (and their projections and integration events).",
    );
    console.log(
      `\nFloor under the engine: the ${fmt(replayed.length / N)} orchestrator invocations of a saga replayed alone (no SQL, no commits) take ${replayCpuMsPerSaga.toFixed(2)} ms CPU, the activities called directly ${direct.cpuMsPerSaga.toFixed(2)} ms: ` +
        `${(replayCpuMsPerSaga + direct.cpuMsPerSaga).toFixed(2)} ms per saga, at most ${fmt(1000 / (replayCpuMsPerSaga + direct.cpuMsPerSaga))} sagas/s on one core even if the engine cost nothing.`,
    );

    const buckets = [0, 20, 40, 60, 80, 100, 120];
    const rows: { range: string; invocations: number; meanMs: number }[] = [];
    for (let i = 0; i < buckets.length; i++) {
      const lo = buckets[i]!;
      const hi = buckets[i + 1] ?? Number.POSITIVE_INFINITY;
      const inBucket = replayed.filter((r) => r.historyLength >= lo && r.historyLength < hi);
      if (inBucket.length)
        rows.push({ range: hi === Number.POSITIVE_INFINITY ? `${lo}+` : `${lo}–${hi - 1}`, invocations: inBucket.length, meanMs: inBucket.reduce((s, r) => s + r.ms, 0) / inBucket.length });
    }
    const t2 = new Table({ style: plain, head: ['history events', 'orchestrator invocations', 'mean invocation ms', 'ratio to the shortest'] });
    for (const r of rows) t2.push([r.range, r.invocations, r.meanMs.toFixed(3), `${(r.meanMs / rows[0]!.meanMs).toFixed(2)}×`]);
    // Replayed one at a time: inside the engine other work interleaves with every invocation.
    console.log(`\ncost of replay (the saga run's orchestrator invocations again, one at a time; each replays the whole history):\n${t2.toString()}`);
    const perSaga = replayRows.length / N;
    console.log(`${fmt(perSaga)} orchestrator invocations per saga; longest history ${Math.max(...replayRows.map((r) => r.historyLength))} events`);

    const summary = (r: Phase) => ({ sagasPerSecond: r.perSecond, p50Ms: p(r.durations, 50), p99Ms: p(r.durations, 99), cpuMsPerSaga: r.cpuMsPerSaga, commitsPerSaga: r.commitsPerSaga });
    const results = {
      benchmark: 'saga',
      at: new Date().toISOString(),
      machine: { cpu: cpus()[0]?.model, cores: cpus().length, node: process.version },
      parameters: { sagas: N, concurrency: C },
      saga: summary(saga),
      ...(workerSaga ? { workerProcesses: WORKERS, sagaInWorkerProcesses: summary(workerSaga) } : {}),
      endToEnd: summary(e2e),
      direct: summary(direct),
      replay: rows,
      invocationsPerSaga: perSaga,
      replayAloneCpuMsPerSaga: replayCpuMsPerSaga,
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
