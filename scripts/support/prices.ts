// List prices (USD, pay-as-you-go) the cost model applies. No live price list can be reached from
// where this was written, so each figure names where it came from and how sure it is; check them
// in the Azure pricing calculator for your region before you rely on the totals. Every figure is
// a named constant so docs/cost.md's arithmetic can be re-run with other prices.

export interface Price {
  value: number;
  unit: string;
  source: string;
  /** true when no stored source confirmed the figure (it comes from memory). */
  unverified?: boolean;
}

const p = (value: number, unit: string, source: string, unverified = false): Price => ({ value, unit, source, ...(unverified ? { unverified } : {}) });

export const PRICES = {
  // Functions, Flex Consumption, on demand (no always-ready instances)
  flexGbSecond: p(0.000026, 'per GB-s', 'Flex Consumption on-demand execution time, East US (modal.com pricing guide, 2025)'),
  flexExecutionsPerMillion: p(0.4, 'per million executions', 'Flex Consumption on-demand executions', true),
  flexFreeGbSeconds: p(100_000, 'GB-s per month free', 'Flex on-demand monthly grant (infracost PR #3599, checked against the Retail Prices API)'),
  flexFreeExecutions: p(250_000, 'executions per month free', 'Flex on-demand monthly grant (same source)'),
  // Service Bus Standard
  serviceBusStandardBase: p(9.81, 'per month (730 h)', 'Service Bus Standard base charge (infracost golden file, West Europe)'),
  serviceBusIncludedOps: p(13_000_000, 'operations per month included', 'Service Bus Standard (infracost golden file)'),
  serviceBusOpsPerMillion: p(0.8, 'per million operations, 13M–100M', 'Service Bus Standard (infracost golden file)'),
  // Event Hubs Standard
  eventHubsThroughputUnitHour: p(0.03, 'per TU-hour', 'Event Hubs Standard throughput unit (infracost golden file, East US)'),
  eventHubsIngressPerMillion: p(0.03, 'per million ingress events (64 KB each)', 'Event Hubs Standard ingress (infracost golden file, East US; some sources say $0.028)'),
  // Cosmos DB serverless
  cosmosServerlessPerMillionRu: p(0.25, 'per million RU', 'Cosmos DB serverless (learn.microsoft.com, understand-your-bill, US regions)'),
  cosmosStorageGbMonth: p(0.25, 'per GB-month', 'Cosmos DB transactional storage (same source)'),
  // Azure Storage (the Functions package and the Durable task hub), GPv2 LRS
  storageQueuePer10k: p(0.004, 'per 10,000 queue operations', 'Queue class 1 and 2 operations, GPv2 LRS (infracost golden file, West US)'),
  storageTablePer10k: p(0.00036, 'per 10,000 table transactions', 'Table transactions', true),
  storageTableGbMonth: p(0.045, 'per GB-month (table)', 'Table capacity, LRS', true),
  // Log Analytics (workspace-based Application Insights)
  logAnalyticsPerGb: p(2.3, 'per GB ingested (Analytics logs)', 'Log Analytics pay-as-you-go (infracost golden file; monitoringcost.com)'),
  logAnalyticsFreeGb: p(5, 'GB per month free', 'Log Analytics free allowance (its scope, per billing account or per workspace, differs between sources)'),
  // Azure Monitor alert rules
  metricAlertTimeSeriesMonth: p(0.1, 'per monitored time series per month', 'Azure Monitor metric alerts', true),
  logAlertRule5MinMonth: p(1.5, 'per log search alert rule at 5-minute frequency per month', 'Azure Monitor log search alerts', true),
} as const satisfies Record<string, Price>;

export type Prices = { [K in keyof typeof PRICES]: Price };

/** Cosmos DB request charges as the docs give them, for the sizes measured. */
export const REQUEST_UNITS = {
  source:
    'learn.microsoft.com Cosmos DB "optimize cost of reads and writes" and "key-value store cost": a point read of 1 KB is 1 RU and of 100 KB 10 RU; ' +
    'an insert of 1 KB without indexing about 5.5 RU (50 RU at 100 KB); replacing an item costs twice inserting it. ' +
    'Queries: the capacity planner assumes 10 RU each. Change feed reads are charged like the reads of the items they return.',
  /** RU of a point read of an item of `kb` KB (at least 1). */
  read: (kb: number) => 1 + ((kb - 1) * 9) / 99,
  insert: (kb: number) => 5.5 + ((kb - 1) * 44.5) / 99,
  replace: (kb: number) => 2 * REQUEST_UNITS.insert(kb),
  /** Not given by the docs: taken as an insert of the same item. */
  delete: (kb: number) => REQUEST_UNITS.insert(kb),
  query: 10,
};
