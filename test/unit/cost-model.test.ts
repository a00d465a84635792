// The usage meter and the cost model's arithmetic, on numbers small enough to check by hand.
import { UsageMeter } from '@backbone/local-azure/usage';
import { cosmosRequestUnits, costModel, type Deployment } from '../../scripts/support/cost-model';
import { PRICES } from '../../scripts/support/prices';

describe('UsageMeter', () => {
  test('adds calls, items, bytes and KB (at least 1 KB an item) per service, resource and operation', () => {
    const meter = new UsageMeter(() => 0);
    meter.call('cosmos', 'events', 'insert', [100, 3072]);
    meter.call('cosmos', 'events', 'insert', [2048]);
    meter.call('serviceBus', 'orders', 'receive (empty)');
    expect(meter.records()).toEqual([
      { service: 'cosmos', resource: 'events', operation: 'insert', calls: 2, items: 3, bytes: 5220, kb: 1 + 3 + 2, ms: 0 },
      { service: 'serviceBus', resource: 'orders', operation: 'receive (empty)', calls: 1, items: 0, bytes: 0, kb: 0, ms: 0 },
    ]);
    meter.reset();
    expect(meter.records()).toEqual([]);
  });

  test('busy time is the time at least one execution runs, overlaps counted once', () => {
    let now = 0;
    const meter = new UsageMeter(() => now);
    meter.executionStarted(); // 0
    now = 10;
    meter.executionStarted(); // overlaps the first
    now = 30;
    meter.executionEnded();
    now = 40;
    meter.executionEnded(); // busy 0..40
    now = 100;
    meter.executionStarted();
    now = 105;
    expect(meter.busyMs()).toBe(45); // and the one still running counts so far
    meter.executionEnded();
    expect(meter.busyMs()).toBe(45);
  });
});

describe('cosmosRequestUnits', () => {
  test('reads, inserts and replaces follow the documented figures; queries 10 RU; batches and empty polls nothing themselves', () => {
    const meter = new UsageMeter(() => 0);
    meter.call('cosmos', 'c', 'read', [1024]);
    meter.call('cosmos', 'c', 'insert', [700]); // under 1 KB costs what 1 KB does
    meter.call('cosmos', 'c', 'replace', [1024]);
    meter.call('cosmos', 'c', 'insert', [100 * 1024]);
    meter.call('cosmos', 'c', 'query', [200, 300]);
    meter.call('cosmos', 'c', 'batch');
    meter.call('cosmos', 'c', 'changeFeed (empty)');
    const ru = Object.fromEntries(cosmosRequestUnits(meter.records()).map((r) => [r.operation, r.ru]));
    expect(ru.read).toBeCloseTo(1);
    expect(ru.insert).toBeCloseTo(5.5 + 50); // 1 KB and 100 KB
    expect(ru.replace).toBeCloseTo(11);
    expect(ru.query).toBe(10);
    expect(ru.batch).toBe(0);
    expect(ru['changeFeed (empty)']).toBe(0);
  });
});

describe('costModel', () => {
  const deployment: Deployment = {
    instanceMemoryMB: 2048,
    changeFeedPollers: [{ function: 'p', feedPollDelayMs: 5000 }],
    deadLetterTimeSeries: 10,
    logAlertRules: 3,
    throughputUnits: 1,
    telemetry: { samplingRatio: 1, functionLogLevel: 'Information' },
  };

  test('prices each measured quantity per million orders and shows the arithmetic; idle is the hourly charges and the alert rules', () => {
    const meter = new UsageMeter(() => 0);
    // Two orders: 4 inserts of ~1 KB, 6 Service Bus calls, 2 events, 10 executions of 100 ms.
    for (let i = 0; i < 4; i++) meter.call('cosmos', 'events', 'insert', [1024]);
    for (const op of ['send', 'receive', 'complete', 'send', 'receive', 'complete']) meter.call('serviceBus', 'q', op, op === 'send' ? [500] : []);
    meter.call('serviceBus', 'q', 'receive (empty)');
    meter.call('eventHubs', 'h', 'publish', [500, 500]);
    for (let i = 0; i < 10; i++) meter.call('functions', 'f', 'execution', [], 100);
    const model = costModel({ orders: 2, usage: meter.records(), busyMs: 500, storedBytes: { events: { items: 4, bytes: 4 * 874 } }, durableHistoryBytes: 0 }, deployment);

    expect(model.perOrder).toMatchObject({ cosmosRu: 11, serviceBusOperations: 3, eventHubsEvents: 1, executions: 5 });
    expect(model.perOrder.gbSecondsBusy).toBeCloseTo(0.5); // 0.25 s busy per order × 2 GB
    expect(model.perOrder.gbSecondsSum).toBeCloseTo(1); // 0.5 s of executions per order × 2 GB
    const line = (item: string) => model.perMillion.find((l) => l.item === item)!;
    expect(line('request units')).toMatchObject({ quantity: 11_000_000, usd: 11 * PRICES.cosmosServerlessPerMillionRu.value, arithmetic: '11,000,000 RU × $0.25/1,000,000 (serverless)' });
    expect(line('operations').usd).toBeCloseTo(3 * PRICES.serviceBusOpsPerMillion.value);
    expect(line('executions').usd).toBeCloseTo(5 * PRICES.flexExecutionsPerMillion.value);
    expect(model.perMillionUsd).toBeCloseTo(model.perMillion.reduce((a, l) => a + l.usd, 0));

    expect(model.idleUsd).toBeCloseTo(
      PRICES.serviceBusStandardBase.value + 730 * PRICES.eventHubsThroughputUnitHour.value + 10 * PRICES.metricAlertTimeSeriesMonth.value + 3 * PRICES.logAlertRule5MinMonth.value,
    );
    // At 1 million orders a month the 13M included Service Bus operations cover the 3M used.
    expect(model.monthAtOneMillion.find((l) => l.item === 'operations beyond the 13M included')!.usd).toBe(0);
    // A poll every 5 s for a 730-hour month: 525,600 empty reads at 1 RU.
    expect(model.monthAtOneMillion.find((l) => l.item.startsWith('change-feed polls'))!.quantity).toBe(525_600);
  });

  test("telemetry: the host's share unsampled (its Function records dropped at Warning), the app's at the sampling ratio plus every failed order", () => {
    const meter = new UsageMeter(() => 0);
    // Two orders: 10 executions, 20 Executing/Executed records, 4 user records, 6 Service Bus
    // calls by bindings, 4 Cosmos DB requests and 1 Event Hubs call by the SDKs, 6 app spans.
    for (let i = 0; i < 10; i++) meter.call('functions', 'f', 'execution', [], 10);
    for (let i = 0; i < 20; i++) meter.call('logs', 'Function.f', 'information', [100]);
    for (let i = 0; i < 4; i++) meter.call('logs', 'Function.f.User', 'information', [50]);
    for (const op of ['send', 'receive', 'complete', 'send', 'receive', 'complete']) meter.call('serviceBus', 'q', op);
    for (let i = 0; i < 4; i++) meter.call('cosmos', 'events', 'insert', [1024]);
    meter.call('eventHubs', 'h', 'publish', [500]);
    const run = { orders: 2, usage: meter.records(), busyMs: 100, storedBytes: {}, durableHistoryBytes: 0, appSpans: { spans: 6, attributeBytes: 600 } };
    const unsampled = costModel(run, deployment);
    // Per order: 5 requests + 10 host records + 3 Service Bus calls; 3 app spans + 2 user records + 2 Cosmos + 0.5 Event Hubs.
    expect(unsampled.perOrder.telemetryItems).toBeCloseTo(18 + 7.5);
    expect(unsampled.perOrder.telemetryBytes).toBeCloseTo(25.5 * 600 + (20 * 100 + 4 * 50 + 600) / 2);
    expect(unsampled.perOrder.unsampledTelemetryBytes).toBeCloseTo(unsampled.perOrder.telemetryBytes);

    const sampled = costModel(run, { ...deployment, telemetry: { samplingRatio: 0.1, functionLogLevel: 'Warning' } }, PRICES, { failedOrderShare: 0.02 });
    const kept = 0.1 + 0.9 * 0.02;
    expect(sampled.perOrder.telemetryItems).toBeCloseTo(5 + 3 + kept * 7.5);
    expect(sampled.perOrder.telemetryBytes).toBeCloseTo(8 * 600 + kept * (7.5 * 600 + (4 * 50 + 600) / 2));
    expect(sampled.perOrder.unsampledTelemetryBytes).toBeCloseTo(unsampled.perOrder.telemetryBytes);
    const logAnalytics = (m: typeof sampled) => m.perMillion.find((l) => l.service === 'Log Analytics')!.usd;
    expect(logAnalytics(sampled) / logAnalytics(unsampled)).toBeCloseTo(sampled.perOrder.telemetryBytes / unsampled.perOrder.telemetryBytes);
  });
});
