// The whole pipeline under load on the embedded host: orders arrive as CreateOrder + SubmitOrder
// messages at the ESB ingress (sent from a worker thread) → router → order-commands → event store
// → change feed → views, fulfilment saga and integration events. Stage latencies come from the
// spans of each order's trace; failures are counted by category (refused requests, dead letters
// by reason, saga outcomes other than Completed, orders that never finished).
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { EmbeddedHost } from '@backbone/local-azure/host/host';
import type { LogRecord } from '@backbone/local-azure/host/logger';
import { percentile } from '../../src/projections/projector';
import { injectedFaultCounts } from '../../src/observability/fault-injection';
import { appRoot } from '../../src/shared/app-paths';
import { deadLetterCensus, type DeadLetterEntry } from './dead-letter-census';
import type { ClientWorkerData, ClientWorkerMessage } from './load-client-worker';
import { epochNow, messageIdOf, planOrders } from './order-traffic';
import { STAGE_LABELS, StageCollector, stagesOf, type OrderStages } from './order-stages';
import { progress } from './progress';

export interface LoadOptions {
  orders: number;
  concurrency: number;
  /** Orders per second (open loop); unset: as fast as the concurrency allows (closed loop). */
  rate?: number;
  /** Run the fulfilment saga for every order (else orders stop at submitted: route → command → append → projection). */
  sagas: boolean;
  /** Transient failure rate injected everywhere: functions (not HTTP), sends, document operations, saga participants. */
  faults?: number;
  showProgress?: boolean;
  /** Stop waiting for unfinished orders after this long once the traffic is sent. */
  drainTimeoutMs?: number;
  /** SQLite file (default: a fresh temporary directory, as `npm start` uses a file). */
  dataDir?: string;
  /**
   * Measure the baseline first: the same orders through the app's own code called directly, no
   * host (scripts/support/direct-pipeline.ts, in a process of its own).
   */
  baseline?: boolean;
  /** Where the host's log records go (default: nowhere). */
  hostLog?: (record: LogRecord) => void;
  /** SDK mode: the app's Azure SDK clients over the host's wire endpoints (else the in-process adapters). */
  sdkMode?: boolean;
  /** FUNCTIONS_WORKER_PROCESS_COUNT: above 1, the functions run in that many worker processes (in SDK mode). */
  workerProcesses?: number;
}

export interface Distribution {
  count: number;
  p50?: number;
  p95?: number;
  p99?: number;
  max?: number;
}

export interface LoadResult {
  options: LoadOptions;
  machine: { cpus: number; node: string };
  orders: number;
  accepted: number;
  finished: number;
  /** First request sent → last order finished. */
  durationMs: number;
  ordersPerSecond: number;
  /** Messages accepted per second by the ingress while sending. */
  ingressMessagesPerSecond: number;
  stages: Record<string, Distribution>;
  sagaOutcomes: Record<string, number>;
  failures: {
    refused: Record<string, number>;
    deadLetters: Record<string, number>;
    unfinished: number;
  };
  retriedRequests: number;
  deadLetterSamples: DeadLetterEntry[];
  /** Faults injected during the run (FAULT_INJECTION), by kind: function, send, store. */
  injectedFaults: Record<string, number>;
  /** Sagas that did not complete: where and why. */
  sagaProblems: { orderId: string; status: string; failedStep?: string; lastError?: string }[];
  /** The app's code called directly for the same orders (route → command → append → projection), and our orders/s as a share of it. */
  baseline?: { ordersPerSecond: number; durationMs: number; ratio: number };
}

/** Runs the direct pipeline for `orders` orders in a child process; its orders/s. */
export function directPipeline(orders: number, concurrency: number): { ordersPerSecond: number; durationMs: number } {
  const run = spawnSync(process.execPath, [join(__dirname, 'direct-pipeline.js'), String(orders), String(concurrency)], { encoding: 'utf8', env: { ...process.env, SAGA_AUTOSTART: 'false' } });
  if (run.status !== 0) throw new Error(`the direct pipeline failed: ${run.stderr}`);
  return JSON.parse(run.stdout.trim().split('\n').at(-1)!) as { ordersPerSecond: number; durationMs: number };
}

const SKUS = Array.from({ length: 50 }, (_, i) => `LOAD-SKU-${String(i).padStart(2, '0')}`);

export function distribution(samples: number[]): Distribution {
  const rounded = (v: number | undefined) => (v === undefined ? undefined : Math.round(v * 10) / 10);
  return {
    count: samples.length,
    p50: rounded(percentile(samples, 50)),
    p95: rounded(percentile(samples, 95)),
    p99: rounded(percentile(samples, 99)),
    max: rounded(samples.length ? Math.max(...samples) : undefined),
  };
}

/** FAULT_INJECTION and PARTICIPANT_FAULTS for a uniform transient failure rate. */
export function faultSettings(rate: number): Record<string, string> {
  return {
    FAULT_INJECTION: JSON.stringify({ '*': rate, 'send:*': rate, 'store:*': rate }),
    PARTICIPANT_FAULTS: JSON.stringify({ default: { transientFailureRate: rate } }),
  };
}

export async function runLoad(options: LoadOptions): Promise<LoadResult> {
  const baseline = options.baseline ? directPipeline(options.orders, options.concurrency) : undefined;
  const settings: Record<string, string> = {
    SAGA_AUTOSTART: options.sagas ? 'true' : 'false',
    FUNCTIONS_WORKER_PROCESS_COUNT: String(options.workerProcesses ?? 1),
    ...(options.faults ? faultSettings(options.faults) : {}),
  };
  const previous = Object.fromEntries(Object.keys(settings).map((k) => [k, process.env[k]]));
  Object.assign(process.env, settings);
  const dataDir = options.dataDir ?? mkdtempSync(join(tmpdir(), 'load-'));
  const faultsBefore = injectedFaultCounts();
  const host = await EmbeddedHost.start({
    appDir: appRoot(),
    port: 0,
    database: join(dataDir, 'embedded.sqlite'),
    logWriter: options.hostLog ?? (() => undefined),
    sdkMode: options.sdkMode ?? false,
  });
  const api = `${host.baseUrl}/api`;
  const orders = planOrders(options.orders, SKUS);
  const byTrace = new Map(orders.map((o, i) => [o.traceId, i]));
  const submits = new Map<number, { sentAt: number; acceptedAt: number }>();
  const refused: Record<string, number> = {};
  let accepted = 0;
  let retried = 0;
  let finished = 0;
  let lastFinish = 0;
  let unsubscribe = () => {};
  try {
    // Stock enough for every order, so sagas are not declined for want of it.
    // Injected faults answer some of these 503: retried with the same Idempotency-Key, as a client would.
    for (const sku of SKUS) {
      for (let attempt = 1; ; attempt++) {
        const res = await fetch(`${api}/inventory/${sku}/receipts`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'idempotency-key': `load-stock-${sku}` },
          body: JSON.stringify({ quantity: 1_000_000 }),
        });
        if (res.status < 300) break;
        if (res.status !== 503 || attempt >= 20) throw new Error(`stock for ${sku}: ${res.status} ${await res.text()}`);
        await new Promise((r) => setTimeout(r, 20));
      }
    }
    const sendBar = options.showProgress ? progress('accepted', options.orders * 2) : undefined;
    const doneBar = options.showProgress ? progress(options.sagas ? 'sagas ended' : 'views updated', options.orders) : undefined;
    let allFinished!: () => void;
    const finishedAll = new Promise<void>((r) => (allFinished = r));
    let sending = true;
    // Done when every order whose two messages were accepted has finished.
    const checkFinished = () => {
      if (!sending && finished >= submits.size) allFinished();
    };
    const collector = new StageCollector(byTrace.keys(), options.sagas, () => {
      finished++;
      lastFinish = epochNow();
      doneBar?.increment();
      checkFinished();
    });
    unsubscribe = host.telemetry.onSpanEnd(collector.onSpan);

    const started = epochNow();
    let lastAccepted = started;
    const worker = new Worker(join(__dirname, 'load-client-worker.js'), {
      workerData: { baseUrl: host.baseUrl, orders, concurrency: options.concurrency, ...(options.rate ? { rate: options.rate } : {}) } satisfies ClientWorkerData,
    });
    await new Promise<void>((resolve, reject) => {
      worker.on('message', (m: ClientWorkerMessage) => {
        if (m.kind === 'accepted') {
          accepted++;
          lastAccepted = m.acceptedAt;
          if (m.attempts > 1) retried++;
          if (m.messageType === 'SubmitOrder') submits.set(m.index, { sentAt: m.sentAt, acceptedAt: m.acceptedAt });
          sendBar?.increment();
        } else if (m.kind === 'refused') {
          const key = `${m.messageType} HTTP ${m.status || 'connection failed'}`;
          refused[key] = (refused[key] ?? 0) + 1;
          sendBar?.increment(m.messageType === 'CreateOrder' ? 2 : 1);
        } else if (m.kind === 'done') resolve();
        else reject(new Error(`the load client failed: ${m.error}`));
      });
      worker.on('error', reject);
    });
    sendBar?.stop();
    await worker.terminate();
    sending = false;
    checkFinished();
    const sentFor = lastAccepted - started;
    const drain = options.drainTimeoutMs ?? 120_000;
    await Promise.race([finishedAll, new Promise((r) => setTimeout(r, drain).unref())]);
    doneBar?.stop();
    const durationMs = (finished ? lastFinish : epochNow()) - started;

    const samples = new Map<keyof OrderStages, number[]>();
    const sagaOutcomes: Record<string, number> = {};
    orders.forEach((o, i) => {
      const t = collector.get(o.traceId)!;
      const stages = stagesOf(t, messageIdOf(o, 'SubmitOrder'), submits.get(i));
      for (const [k, v] of Object.entries(stages) as [keyof OrderStages, number][]) {
        if (!samples.has(k)) samples.set(k, []);
        samples.get(k)!.push(v);
      }
      if (t.outcome) {
        const status = String(t.outcome.attributes['saga.outcome'] ?? t.outcome.name.replace('saga outcome ', ''));
        sagaOutcomes[status] = (sagaOutcomes[status] ?? 0) + 1;
      }
    });
    const sagaProblems: LoadResult['sagaProblems'] = [];
    for (const [i, o] of orders.entries()) {
      const outcome = collector.get(o.traceId)!.outcome;
      if (!outcome || outcome.name === 'saga outcome Completed' || sagaProblems.length >= 20) continue;
      const res = await fetch(`${api}/sagas/${o.orderId}`);
      const s = (await res.json()) as { status: string; failedStep?: string; lastError?: string };
      sagaProblems.push({ orderId: orders[i]!.orderId, status: s.status, ...(s.failedStep ? { failedStep: s.failedStep } : {}), ...(s.lastError ? { lastError: s.lastError.slice(0, 300) } : {}) });
    }
    const census = await deadLetterCensus(host.baseUrl);
    const deadLetters: Record<string, number> = {};
    for (const d of census) {
      const key = `${d.reason} (${d.entity}${d.messageType ? `, ${d.messageType}` : ''})`;
      deadLetters[key] = (deadLetters[key] ?? 0) + 1;
    }
    const stages: Record<string, Distribution> = {};
    for (const key of Object.keys(STAGE_LABELS) as (keyof OrderStages)[]) if (samples.has(key)) stages[key] = distribution(samples.get(key)!);
    return {
      options,
      machine: { cpus: cpus().length, node: process.version },
      orders: options.orders,
      accepted,
      finished,
      durationMs: Math.round(durationMs),
      ordersPerSecond: Math.round((finished / durationMs) * 1000 * 10) / 10,
      ingressMessagesPerSecond: Math.round((accepted / Math.max(1, sentFor)) * 1000),
      stages,
      sagaOutcomes,
      failures: { refused, deadLetters, unfinished: options.orders - finished },
      retriedRequests: retried,
      deadLetterSamples: census.slice(0, 10),
      sagaProblems,
      injectedFaults: Object.fromEntries(
        Object.entries(injectedFaultCounts())
          .map(([k, n]) => [k, n - (faultsBefore[k] ?? 0)])
          .filter(([, n]) => (n as number) > 0),
      ),
      ...(baseline ? { baseline: { ...baseline, ratio: Math.round((((finished / durationMs) * 1000) / baseline.ordersPerSecond) * 1000) / 1000 } } : {}),
    };
  } finally {
    unsubscribe();
    await host.stop();
    if (!options.dataDir) rmSync(dataDir, { recursive: true, force: true });
    for (const [k, v] of Object.entries(previous)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  }
}
