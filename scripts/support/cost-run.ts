// Puts N orders through the whole app on the embedded host — create, submit, the fulfilment saga
// to its end, the projections, the integration events, a few customer reads — and returns what
// the host counted for them (packages/local-azure/src/usage.ts), with the Cosmos items and Durable history
// they left behind. The setup (stock) is not counted. Used by `npm run cost` and its test.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadTopology } from '@backbone/azure-model/topology';
import { EmbeddedHost } from '@backbone/local-azure/host/host';
import { TRACER_NAME } from '../../src/observability/tracing';
import { appRoot } from '../../src/shared/app-paths';
import { forEachLimit } from '../../src/shared/concurrency';
import type { Deployment, MeasuredRun } from './cost-model';
import { progress } from './progress';

export interface CostRunOptions {
  orders: number;
  /** GET /api/orders/{id} calls per order (a customer looking at the order). */
  readsPerOrder: number;
  concurrency?: number;
  showProgress?: boolean;
}

const SKUS = Array.from({ length: 20 }, (_, i) => `COST-SKU-${i}`);
const ACTIVE = ['Pending', 'Running', 'Suspended', 'ContinuedAsNew'] as const;

/** The deployment's shape, read from infra/ and config/ (what the idle costs depend on). */
export function deploymentShape(host: Pick<EmbeddedHost, 'functions'>): Deployment {
  const root = appRoot();
  const main = readFileSync(join(root, 'infra', 'main.bicep'), 'utf8');
  const memory = /param instanceMemoryMB int = (\d+)/.exec(main);
  const hubs = readFileSync(join(root, 'infra', 'modules', 'eventhubs.bicep'), 'utf8');
  const capacity = /var throughputUnits = (\d+)/.exec(hubs);
  const alerts = readFileSync(join(root, 'infra', 'modules', 'alerts.bicep'), 'utf8');
  const api = readFileSync(join(root, 'infra', 'app', 'api.bicep'), 'utf8');
  const sampling = /param telemetrySamplingRatio string = '([0-9.]+)'/.exec(api);
  const functionLogLevel = /AzureFunctionsJobHost__logging__logLevel__Function: '(\w+)'/.exec(api)?.[1] ?? 'Information';
  if (!memory || !capacity || !sampling) throw new Error('infra/: instanceMemoryMB, the Event Hubs throughputUnits or telemetrySamplingRatio is no longer where the cost model reads it');
  if (functionLogLevel !== 'Information' && functionLogLevel !== 'Warning')
    throw new Error(`infra/app/api.bicep: the cost model prices the Function log level Information or Warning, not ${functionLogLevel}`);
  const topology = loadTopology(join(root, 'config', 'topology.yaml'));
  return {
    instanceMemoryMB: Number(memory[1]),
    throughputUnits: Number(capacity[1]),
    changeFeedPollers: host.functions
      .filter((f) => f.trigger === 'cosmosDBTrigger')
      .map((f) => {
        const trigger = Object.values(f.bindings).find((b) => b.type === 'cosmosDBTrigger') as { feedPollDelay?: number } | undefined;
        // The extension's default feedPollDelay is 5 s.
        return { function: f.name, feedPollDelayMs: Number(trigger?.feedPollDelay ?? 5000) };
      }),
    deadLetterTimeSeries: topology.serviceBus.queues.length + topology.serviceBus.topics.reduce((n, t) => n + t.subscriptions.length, 0),
    logAlertRules: (alerts.match(/'Microsoft\.Insights\/scheduledQueryRules@/g) ?? []).length,
    telemetry: { samplingRatio: Number(sampling[1]), functionLogLevel },
  };
}

export async function runOrdersForCost(options: CostRunOptions): Promise<{ run: MeasuredRun; deployment: Deployment; durationMs: number }> {
  const previousFaults = process.env.PARTICIPANT_FAULTS;
  delete process.env.PARTICIPANT_FAULTS;
  const dataDir = mkdtempSync(join(tmpdir(), 'cost-run-'));
  const host = await EmbeddedHost.start({ appDir: appRoot(), port: 0, database: join(dataDir, 'embedded.sqlite'), logWriter: () => undefined });
  const api = `${host.baseUrl}/api`;
  const call = async (method: string, path: string, body?: unknown) => {
    const res = await fetch(`${api}${path}`, { method, headers: { 'content-type': 'application/json' }, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
    if (res.status >= 300) throw new Error(`${method} ${path}: ${res.status} ${await res.text()}`);
    await res.arrayBuffer();
  };
  const stored = () =>
    Object.fromEntries(
      (
        host.db.prepare('SELECT container, COUNT(*) AS items, COALESCE(SUM(length(CAST(body AS BLOB))), 0) AS bytes FROM doc_items GROUP BY container').all() as {
          container: string;
          items: number;
          bytes: number;
        }[]
      ).map((r) => [r.container, { items: r.items, bytes: r.bytes }]),
    ) as Record<string, { items: number; bytes: number }>;
  const historyBytes = () => host.db.prepare('SELECT COALESCE(SUM(length(CAST(event AS BLOB))), 0) FROM df_history').pluck().get() as number;
  const executions = () =>
    host.usage
      .records()
      .filter((r) => r.service === 'functions')
      .reduce((a, r) => a + r.calls, 0);
  /** Until no saga runs and no function has run for a while (projections and events caught up). */
  const settle = async (deadline: number) => {
    let last = -1;
    let stableSince = Date.now();
    for (;;) {
      const running = host.durable.store.query({ runtimeStatus: [...ACTIVE], top: 1 }).length;
      const n = executions();
      if (n !== last) {
        last = n;
        stableSince = Date.now();
      }
      if (running === 0 && Date.now() - stableSince >= 1_500) return;
      if (Date.now() > deadline) throw new Error(`The orders did not settle in time (${running} saga(s) still running)`);
      await new Promise((r) => setTimeout(r, 100));
    }
  };
  try {
    for (const sku of SKUS) await call('POST', `/inventory/${sku}/receipts`, { quantity: 1_000_000 });
    await settle(Date.now() + 60_000);
    const before = stored();
    const historyBefore = historyBytes();
    const appSpans = () => host.telemetry.spanTotals()[TRACER_NAME] ?? { spans: 0, attributeBytes: 0 };
    const spansBefore = appSpans();
    host.usage.reset();
    const started = performance.now();

    const run = `c${Date.now().toString(36)}`;
    const ids = Array.from({ length: options.orders }, (_, i) => `${run}-${i}`);
    const bar = options.showProgress ? progress('orders', ids.length) : undefined;
    await forEachLimit(ids, options.concurrency ?? 8, async (orderId, i) => {
      await call('POST', '/orders', {
        orderId,
        customerId: `cust-${i % 50}`,
        items: [
          { sku: SKUS[i % SKUS.length], quantity: 1 + (i % 3), unitPrice: 9.99 },
          { sku: SKUS[(i + 7) % SKUS.length], quantity: 1, unitPrice: 4.5 },
        ],
      });
      await call('POST', `/orders/${orderId}/submit`, {});
      for (let r = 0; r < options.readsPerOrder; r++) await call('GET', `/orders/${orderId}`);
      bar?.increment();
    });
    bar?.stop();
    const wait = options.showProgress ? progress('sagas and projections', 1) : undefined;
    await settle(Date.now() + 10 * 60_000);
    wait?.update(1, 1, 'settled');
    wait?.stop();

    const after = stored();
    const storedBytes: MeasuredRun['storedBytes'] = {};
    for (const [container, now] of Object.entries(after)) {
      const was = before[container] ?? { items: 0, bytes: 0 };
      storedBytes[container] = { items: now.items - was.items, bytes: now.bytes - was.bytes };
    }
    return {
      run: {
        orders: options.orders,
        usage: host.usage.records(),
        busyMs: host.usage.busyMs(),
        storedBytes,
        durableHistoryBytes: historyBytes() - historyBefore,
        appSpans: { spans: appSpans().spans - spansBefore.spans, attributeBytes: appSpans().attributeBytes - spansBefore.attributeBytes },
      },
      deployment: deploymentShape(host),
      durationMs: performance.now() - started,
    };
  } finally {
    await host.stop();
    rmSync(dataDir, { recursive: true, force: true });
    if (previousFaults !== undefined) process.env.PARTICIPANT_FAULTS = previousFaults;
  }
}
