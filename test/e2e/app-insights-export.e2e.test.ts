// What Application Insights receives from the app, without an Azure account: the real
// applicationinsights v3 distro (as functions/telemetry.ts starts it) exports to a local HTTPS
// ingestion endpoint that records the envelopes (test/support/app-insights-probe.ts, in a child
// process). Spans arrive as requests/dependencies and metrics as customMetrics, their
// attributes as customDimensions — the shapes the workbook's KQL reads — and whole traces are
// kept (fixed-ratio sampling, not the distro's default of 5 traces/s). With TELEMETRY_SAMPLING_RATIO
// 0.1, one trace in ten arrives whole, and so does every failed one (src/observability/failed-trace-keeper.ts).
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';

interface Envelope {
  name: string;
  sampleRate?: number;
  data: { baseType: string; baseData: { name?: string; message?: string; success?: boolean; properties?: Record<string, string>; metrics?: { name: string; value: number; count: number }[] } };
  tags: Record<string, string>;
}

function probe(...args: string[]): Envelope[] {
  const out = execFileSync(process.execPath, [join(__dirname, '../support/app-insights-probe.js'), ...args], {
    // The probe's endpoint has a self-signed certificate: trusted by that process alone.
    env: { ...process.env, NODE_TLS_REJECT_UNAUTHORIZED: '0', NODE_NO_WARNINGS: '1' },
    encoding: 'utf8',
    timeout: 60_000,
  });
  return JSON.parse(out.trim().split('\n').at(-1)!) as Envelope[];
}

let received: Envelope[];

beforeAll(() => {
  received = probe();
}, 70_000);

test('spans become requests and dependencies of one operation, metrics customMetrics, with their dimensions', () => {
  const requests = received.filter((e) => e.data.baseType === 'RequestData');
  const dependencies = received.filter((e) => e.data.baseType === 'RemoteDependencyData');
  expect(requests.filter((e) => e.data.baseData.name === 'routeMessage')).toHaveLength(20);
  expect(dependencies.filter((e) => e.data.baseData.name === 'esb.route')).toHaveLength(20);
  expect(dependencies.filter((e) => e.data.baseData.name === 'send order-commands')).toHaveLength(20);
  // customDimensions.correlationId on every span; one operation_Id per transaction.
  const first = requests.find((e) => e.data.baseData.properties?.correlationId === 'corr-ai-0')!;
  const operation = first.tags['ai.operation.id'];
  const sameOperation = received.filter((e) => e.tags['ai.operation.id'] === operation && e.data.baseType !== 'MetricData');
  expect(sameOperation.map((e) => e.data.baseData.name).sort()).toEqual(['esb.route', 'routeMessage', 'send order-commands']);
  expect(sameOperation.every((e) => e.data.baseData.properties?.correlationId === 'corr-ai-0')).toBe(true);

  const metrics = received.filter((e) => e.data.baseType === 'MetricData');
  const metric = (name: string) => metrics.find((e) => e.data.baseData.metrics?.[0]?.name === name)!;
  expect(metric('esb.deadletters').data.baseData.properties).toEqual({ reason: 'NoRouteMatched', category: 'BUSINESS_RULE' });
  expect(metric('saga.step.duration').data.baseData).toMatchObject({
    metrics: [expect.objectContaining({ name: 'saga.step.duration', value: 42, count: 1 })],
    properties: { saga: 'orderFulfilmentSaga', step: 'confirmOrder', outcome: 'completed' },
  });
});

test("sampled at 0.1: one trace in ten arrives whole, and every failed transaction's whole trace with it", () => {
  const sampled = probe('sampled');
  const traces = new Map<string, Envelope[]>();
  for (const e of sampled.filter((x) => x.data.baseType !== 'MetricData')) {
    const id = e.tags['ai.operation.id']!;
    traces.set(id, [...(traces.get(id) ?? []), e]);
  }
  const correlation = (t: Envelope[]) => t.find((e) => e.data.baseType === 'RequestData')?.data.baseData.properties?.correlationId;
  const failed = Array.from({ length: 10 }, (_, k) => `corr-ai-${20 * k + 7}`);
  const arrived = [...traces.values()];
  // Every trace that arrives is whole: the request, both dependencies and the log record, once each.
  for (const t of arrived) {
    expect(t.map((e) => `${e.data.baseType}:${e.data.baseData.name ?? e.data.baseData.message}`).sort()).toEqual(
      ['MessageData:routed ' + correlation(t), 'RemoteDependencyData:esb.route', 'RemoteDependencyData:send order-commands', 'RequestData:routeMessage'].sort(),
    );
  }
  // Every failed one arrived; a kept one stands for itself (sample rate 100%), a sampled one for ten.
  const byCorrelation = new Map(arrived.map((t) => [correlation(t), t]));
  for (const id of failed) expect(byCorrelation.has(id)).toBe(true);
  const others = arrived.filter((t) => !failed.includes(correlation(t)!));
  for (const t of others) expect(t.filter((e) => e.data.baseType !== 'MessageData').every((e) => e.sampleRate === 10)).toBe(true);
  const kept = arrived.filter((t) => failed.includes(correlation(t)!) && t.some((e) => e.sampleRate === 100 && e.data.baseType === 'RequestData'));
  for (const t of kept) expect(t.every((e) => e.sampleRate === 100)).toBe(true);
  // 190 that did not fail at 10%: 19 expected; the bounds are 5 standard deviations apart.
  expect(others.length).toBeGreaterThanOrEqual(5);
  expect(others.length).toBeLessThanOrEqual(40);
  expect(kept.length).toBeGreaterThan(0);
}, 70_000);
