// Turns what the embedded host counted for N orders into an Azure bill: per 1 million orders,
// service by service, with the arithmetic shown; and what the deployment costs when nothing runs.
// The counts are measured; the prices (./prices) and the request-unit formulas are the docs'
// list figures; the few assumptions the model makes are stated beside the line they change.
import type { UsageRecord } from '@backbone/local-azure/usage';
import { SYSTEM_PROPERTY_BYTES } from '@backbone/local-azure/docstore/store';
import { PRICES, REQUEST_UNITS, type Prices } from './prices';

export interface MeasuredRun {
  orders: number;
  usage: UsageRecord[];
  /** Milliseconds during which at least one function ran (one instance busy). */
  busyMs: number;
  /** Bytes and items each Cosmos container grew by over the run (bodies, without system properties). */
  storedBytes: Record<string, { items: number; bytes: number }>;
  /** Bytes of Durable history the run left in the task hub. */
  durableHistoryBytes: number;
  /** The app's own spans (Application Insights dependencies beside the host's requests) and their attribute bytes. */
  appSpans?: { spans: number; attributeBytes: number };
}

export interface Deployment {
  instanceMemoryMB: number;
  /** cosmosDBTrigger functions: each polls its lease's change feed every feedPollDelay while an instance runs. */
  changeFeedPollers: { function: string; feedPollDelayMs: number }[];
  /** Queues and subscriptions: time series of the dead-letter metric alert. */
  deadLetterTimeSeries: number;
  logAlertRules: number;
  throughputUnits: number;
  /** What infra/app/api.bicep sets: TELEMETRY_SAMPLING_RATIO and the host's Function log level in Azure. */
  telemetry: { samplingRatio: number; functionLogLevel: 'Information' | 'Warning' };
}

export interface CostAssumptions {
  /** Share of orders whose transaction fails somewhere: their traces are kept whole whatever the sampling. */
  failedOrderShare: number;
}

export const DEFAULT_ASSUMPTIONS: CostAssumptions = { failedOrderShare: 0.02 };

export interface CostLine {
  service: string;
  item: string;
  /** Per 1 million orders. */
  quantity: number;
  unit: string;
  usd: number;
  arithmetic: string;
}

export interface CostModel {
  perOrder: {
    cosmosRu: number;
    cosmosRequests: number;
    serviceBusOperations: number;
    eventHubsEvents: number;
    executions: number;
    gbSecondsBusy: number;
    gbSecondsSum: number;
    durableStorageTransactions: number;
    telemetryItems: number;
    telemetryBytes: number;
    /** Before sampling: every trace sent whole, the host's Function logs at the host.json level. */
    unsampledTelemetryBytes: number;
    storedBytes: number;
  };
  /** Marginal cost of 1 million more orders, no free grants. */
  perMillion: CostLine[];
  perMillionUsd: number;
  /** A month with nothing to do. */
  idle: CostLine[];
  idleUsd: number;
  /** A month with 1 million orders: idle + usage, free grants and included operations applied. */
  monthAtOneMillion: CostLine[];
  monthAtOneMillionUsd: number;
  assumptions: string[];
}

const M = 1_000_000;
const fmt = (n: number, digits = 2) => n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: 0 });
const usd = (n: number) => `$${n < 1 && n > 0 ? String(Number(n.toPrecision(2))) : fmt(n, 2)}`;

/** Σ RU of the items of one record (sizes as Cosmos stores them), for a formula linear in KB. */
function requestUnits(r: UsageRecord, ru: (kb: number) => number): number {
  return r.items * ru(1) + (r.kb - r.items) * (ru(2) - ru(1));
}

/** Request units of what one run asked of Cosmos DB, by container and operation. */
export function cosmosRequestUnits(usage: UsageRecord[]): { container: string; operation: string; calls: number; items: number; ru: number }[] {
  const out: { container: string; operation: string; calls: number; items: number; ru: number }[] = [];
  for (const r of usage.filter((u) => u.service === 'cosmos')) {
    let ru: number;
    switch (r.operation) {
      case 'read':
      case 'changeFeed':
        ru = requestUnits(r, REQUEST_UNITS.read);
        break;
      case 'insert':
        ru = requestUnits(r, REQUEST_UNITS.insert);
        break;
      case 'replace':
        ru = requestUnits(r, REQUEST_UNITS.replace);
        break;
      case 'delete':
        ru = requestUnits(r, REQUEST_UNITS.delete);
        break;
      case 'query':
        ru = r.calls * REQUEST_UNITS.query;
        break;
      default:
        // 'batch' (its operations are counted as their own kinds) and empty change-feed polls
        // (what a running instance does every 5 s, priced with the idle costs).
        ru = 0;
    }
    out.push({ container: r.resource, operation: r.operation, calls: r.calls, items: r.items, ru });
  }
  return out;
}

const SERVICE_BUS_BILLED = new Set(['send', 'schedule', 'receive', 'complete', 'abandon', 'deadLetter', 'defer', 'renewLock', 'renewSessionLock', 'getSessionState', 'setSessionState']);

export function costModel(run: MeasuredRun, deployment: Deployment, prices: Prices = PRICES, assumptions: CostAssumptions = DEFAULT_ASSUMPTIONS): CostModel {
  const per = (n: number) => n / run.orders;
  const sum = (f: (r: UsageRecord) => boolean, pick: (r: UsageRecord) => number) => run.usage.filter(f).reduce((a, r) => a + pick(r), 0);
  const gb = deployment.instanceMemoryMB / 1024;

  const ruRows = cosmosRequestUnits(run.usage);
  const cosmosRu = per(ruRows.reduce((a, r) => a + r.ru, 0));
  const cosmosRequests = per(
    sum(
      (r) => r.service === 'cosmos' && r.operation !== 'changeFeed (empty)',
      (r) => r.calls,
    ),
  );
  const serviceBusOperations = per(
    sum(
      (r) => r.service === 'serviceBus' && SERVICE_BUS_BILLED.has(r.operation),
      (r) => r.calls,
    ),
  );
  const eventHubsEvents = per(
    sum(
      (r) => r.service === 'eventHubs' && r.operation === 'publish',
      (r) => r.items * Math.ceil(Math.max(1, r.bytes / r.items) / 65536),
    ),
  );
  const executions = per(
    sum(
      (r) => r.service === 'functions',
      (r) => r.calls,
    ),
  );
  const gbSecondsBusy = per((run.busyMs / 1000) * gb);
  const gbSecondsSum = per(
    (sum(
      (r) => r.service === 'functions',
      (r) => r.ms,
    ) /
      1000) *
      gb,
  );
  // Azure Storage backend: every queue message is put, got and deleted (3 operations); every
  // episode writes its history batch and the instance row, and reads the history (3 transactions).
  const queueMessages = per(
    sum(
      (r) => r.service === 'durable' && r.operation === 'message',
      (r) => r.calls,
    ),
  );
  const episodes = per(
    sum(
      (r) => r.service === 'durable' && r.resource === 'history',
      (r) => r.calls,
    ),
  );
  const queueOps = queueMessages * 3;
  const tableOps = episodes * 3;
  // Application Insights: a trace per log record, a request per execution, a dependency per call
  // to Cosmos DB, Service Bus or Event Hubs; ~600 bytes of envelope each plus the message.
  // Two sources (telemetryMode OpenTelemetry): the Functions host sends its requests, its own log
  // records and the bindings' Service Bus calls, and cannot sample them (azure-functions-host
  // #11496); its Function category is at Warning in Azure (an app setting in infra/app/api.bicep),
  // which drops the Executing/Executed records. The worker (the app's distro) sends the app's
  // spans, its user log records and the SDK calls to Cosmos DB and Event Hubs, sampled by trace:
  // the sampled share of orders plus every failed order whole (failed-trace-keeper.ts).
  const ENVELOPE = 600;
  const logs = (pick: (r: UsageRecord) => number, f: (r: UsageRecord) => boolean) => per(sum((r) => r.service === 'logs' && f(r), pick));
  const calls = (r: UsageRecord) => r.calls;
  const bytes = (r: UsageRecord) => r.bytes;
  const isUser = (r: UsageRecord) => r.resource.endsWith('.User');
  const quietInAzure = (r: UsageRecord) =>
    deployment.telemetry.functionLogLevel === 'Warning' && r.resource.startsWith('Function.') && (r.operation === 'information' || r.operation === 'debug' || r.operation === 'trace');
  const hostLogRecords = logs(calls, (r) => !isUser(r) && !quietInAzure(r));
  const hostLogBytes = logs(bytes, (r) => !isUser(r) && !quietInAzure(r));
  const userLogRecords = logs(calls, isUser);
  const userLogBytes = logs(bytes, isUser);
  const sdkDependencies =
    cosmosRequests +
    per(
      sum(
        (r) => r.service === 'eventHubs',
        (r) => r.calls,
      ),
    );
  // The app's spans (esb.route, command …, saga step …, send …) arrive as dependencies too.
  const appSpans = per(run.appSpans?.spans ?? 0);
  const appSpanBytes = per(run.appSpans?.attributeBytes ?? 0);
  const hostItems = executions + hostLogRecords + serviceBusOperations;
  const workerItems = appSpans + userLogRecords + sdkDependencies;
  const r = deployment.telemetry.samplingRatio;
  const keptShare = r + (1 - r) * assumptions.failedOrderShare;
  const telemetryItems = hostItems + keptShare * workerItems;
  const telemetryBytes = hostItems * ENVELOPE + hostLogBytes + keptShare * (workerItems * ENVELOPE + userLogBytes + appSpanBytes);
  const allLogRecords = logs(calls, () => true);
  const unsampledTelemetryBytes = (executions + serviceBusOperations + allLogRecords + appSpans + sdkDependencies) * ENVELOPE + logs(bytes, () => true) + appSpanBytes;
  const storedItems = Object.values(run.storedBytes).reduce((a, c) => a + c.items, 0);
  const storedBytes = per(Object.values(run.storedBytes).reduce((a, c) => a + c.bytes, 0) + storedItems * SYSTEM_PROPERTY_BYTES);
  const historyBytes = per(run.durableHistoryBytes);

  const line = (service: string, item: string, quantity: number, unit: string, price: number, priceUnit: number, priceLabel: string): CostLine => ({
    service,
    item,
    quantity,
    unit,
    usd: (quantity / priceUnit) * price,
    arithmetic: `${fmt(quantity, quantity < 100 ? 2 : 0)} ${unit} × ${usd(price)}${priceUnit === 1 ? '' : `/${fmt(priceUnit, 0)}`} ${priceLabel}`.trim(),
  });

  const perMillion: CostLine[] = [
    line('Cosmos DB', 'request units', cosmosRu * M, 'RU', prices.cosmosServerlessPerMillionRu.value, M, '(serverless)'),
    line('Cosmos DB', 'storage added (bills every month after)', (storedBytes * M) / 1e9, 'GB', prices.cosmosStorageGbMonth.value, 1, 'per GB-month'),
    line('Functions', 'executions', executions * M, 'executions', prices.flexExecutionsPerMillion.value, M, ''),
    line('Functions', `execution time (${gb} GB instances, busy time)`, gbSecondsBusy * M, 'GB-s', prices.flexGbSecond.value, 1, 'per GB-s'),
    line('Service Bus', 'operations', serviceBusOperations * M, 'operations', prices.serviceBusOpsPerMillion.value, M, ''),
    line('Event Hubs', 'ingress events', eventHubsEvents * M, 'events', prices.eventHubsIngressPerMillion.value, M, ''),
    line('Storage (task hub)', 'queue operations', queueOps * M, 'operations', prices.storageQueuePer10k.value, 10_000, ''),
    line('Storage (task hub)', 'table transactions', tableOps * M, 'transactions', prices.storageTablePer10k.value, 10_000, ''),
    line('Storage (task hub)', 'history kept (bills every month after)', (historyBytes * M) / 1e9, 'GB', prices.storageTableGbMonth.value, 1, 'per GB-month'),
    line('Log Analytics', 'telemetry ingested', (telemetryBytes * M) / 1e9, 'GB', prices.logAnalyticsPerGb.value, 1, 'per GB'),
  ];

  const hours = 730;
  const idle: CostLine[] = [
    line('Service Bus', 'Standard base charge', 1, 'month', prices.serviceBusStandardBase.value, 1, ''),
    line('Event Hubs', `${deployment.throughputUnits} throughput unit(s)`, deployment.throughputUnits * hours, 'TU-hours', prices.eventHubsThroughputUnitHour.value, 1, 'per TU-hour'),
    line('Azure Monitor', 'dead-letter metric alert', deployment.deadLetterTimeSeries, 'time series', prices.metricAlertTimeSeriesMonth.value, 1, 'per month'),
    line('Azure Monitor', 'log search alerts (5-minute)', deployment.logAlertRules, 'rules', prices.logAlertRule5MinMonth.value, 1, 'per month'),
    { service: 'Functions', item: 'Flex on demand, no always-ready instances: scales to zero', quantity: 0, unit: '', usd: 0, arithmetic: '$0' },
    { service: 'Cosmos DB', item: 'serverless: no request units when idle (storage is per GB, above)', quantity: 0, unit: '', usd: 0, arithmetic: '$0' },
  ];

  // A month with 1 million orders (~0.4 per second): an instance stays up, so the background
  // polling counts too — each Cosmos trigger reads its change feed every feedPollDelay (an empty
  // read assumed 1 RU).
  const secondsPerMonth = hours * 3600;
  const leasePollRu = deployment.changeFeedPollers.reduce((a, p) => a + secondsPerMonth / (p.feedPollDelayMs / 1000), 0);
  const billedGbSeconds = Math.max(0, gbSecondsBusy * M - prices.flexFreeGbSeconds.value);
  const billedExecutions = Math.max(0, executions * M - prices.flexFreeExecutions.value);
  const billedSbOps = Math.max(0, serviceBusOperations * M - prices.serviceBusIncludedOps.value);
  const billedLogGb = Math.max(0, (telemetryBytes * M) / 1e9 - prices.logAnalyticsFreeGb.value);
  const month: CostLine[] = [
    ...idle.filter((l) => l.usd > 0),
    line('Cosmos DB', 'request units of the orders', cosmosRu * M, 'RU', prices.cosmosServerlessPerMillionRu.value, M, ''),
    line(
      'Cosmos DB',
      `change-feed polls (${deployment.changeFeedPollers.map((p) => `${p.function} every ${p.feedPollDelayMs} ms`).join(', ')})`,
      leasePollRu,
      'RU',
      prices.cosmosServerlessPerMillionRu.value,
      M,
      '',
    ),
    line('Cosmos DB', 'storage of this month’s orders', (storedBytes * M) / 1e9, 'GB', prices.cosmosStorageGbMonth.value, 1, 'per GB-month'),
    line('Functions', 'executions beyond the free 250,000', billedExecutions, 'executions', prices.flexExecutionsPerMillion.value, M, ''),
    line('Functions', 'GB-s beyond the free 100,000', billedGbSeconds, 'GB-s', prices.flexGbSecond.value, 1, 'per GB-s'),
    line('Service Bus', 'operations beyond the 13M included', billedSbOps, 'operations', prices.serviceBusOpsPerMillion.value, M, ''),
    line('Event Hubs', 'ingress events', eventHubsEvents * M, 'events', prices.eventHubsIngressPerMillion.value, M, ''),
    line('Storage (task hub)', 'queue operations', queueOps * M, 'operations', prices.storageQueuePer10k.value, 10_000, ''),
    line('Storage (task hub)', 'table transactions', tableOps * M, 'transactions', prices.storageTablePer10k.value, 10_000, ''),
    line('Log Analytics', 'telemetry beyond the free 5 GB', billedLogGb, 'GB', prices.logAnalyticsPerGb.value, 1, 'per GB'),
  ];
  const total = (lines: CostLine[]) => lines.reduce((a, l) => a + l.usd, 0);
  return {
    perOrder: {
      cosmosRu,
      cosmosRequests,
      serviceBusOperations,
      eventHubsEvents,
      executions,
      gbSecondsBusy,
      gbSecondsSum,
      durableStorageTransactions: queueOps + tableOps,
      telemetryItems,
      telemetryBytes,
      unsampledTelemetryBytes,
      storedBytes,
    },
    perMillion,
    perMillionUsd: total(perMillion),
    idle,
    idleUsd: total(idle),
    monthAtOneMillion: month,
    monthAtOneMillionUsd: total(month),
    assumptions: [
      `Cosmos DB request units from measured item sizes with the documented formulas (${REQUEST_UNITS.source}); sizes include ${SYSTEM_PROPERTY_BYTES} bytes of system properties per item. Our indexing policies index only the paths queries use, so the no-indexing write figures are close.`,
      `Functions execution time: the time at least one function ran on this machine, × ${gb} GB (instanceMemoryMB ${deployment.instanceMemoryMB}). Summing every execution's duration instead (no overlap) gives ${fmt(gbSecondsSum * M, 0)} GB-s per million orders. Durations in Azure include network round trips to the services (here they are in-process), so expect more.`,
      'Service Bus: one operation per API call the app made (a send, a receive that returned messages, a complete, …); empty receives of idle listeners are not counted, and on Flex an idle app has no listeners.',
      'Durable task hub (Azure Storage backend): 3 queue operations per message (put, get, delete) and 3 table transactions per orchestrator episode (history read, history write, instance row).',
      `Telemetry: a trace per log record, a request per execution, a dependency per service call and per app span (measured), ~600 bytes each plus the message and attributes. The host's share (requests, its log records with the Function category at ${deployment.telemetry.functionLogLevel} in Azure, the bindings' Service Bus calls) is not sampled; the app's (its spans, user log records, Cosmos DB and Event Hubs calls) is sent for ${fmt(r * 100, 1)}% of orders (TELEMETRY_SAMPLING_RATIO ${r}) plus every failed order whole, assumed ${fmt(assumptions.failedOrderShare * 100, 1)}% of orders: ${fmt(keptShare * 100, 1)}% of it. Unsampled, with every Executing/Executed record, it was ${fmt((unsampledTelemetryBytes * M) / 1e9, 0)} GB per million orders, ${usd(((unsampledTelemetryBytes * M) / 1e9) * prices.logAnalyticsPerGb.value)}.`,
      'The order-events topic feeds other systems (its subscriptions have no function here): their receives and completes bill to whoever consumes them, about 2 operations per delivery.',
      `Idle: Flex Consumption and Cosmos DB serverless cost nothing with nothing to do; the Service Bus Standard base charge and the Event Hubs throughput unit(s) bill by the hour regardless.`,
      'Change-feed polling: while an instance runs, every cosmosDBTrigger reads its change feed each feedPollDelay even when nothing changed; an empty read is assumed to cost 1 RU (not confirmed by a stored source). The app polls every 100 ms for low projection lag; 1–5 s divides that line by 10–50.',
    ],
  };
}
