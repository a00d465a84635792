// What Application Insights receives from the app, without an Azure account: the real
// applicationinsights v3 distro (as functions/telemetry.ts starts it) exports to a local HTTPS
// ingestion endpoint that records the envelopes (test/support/app-insights-probe.ts, in a child
// process). Spans arrive as requests/dependencies and metrics as customMetrics, their
// attributes as customDimensions — the shapes the workbook's KQL reads — and whole traces are
// kept (fixed-ratio sampling, not the distro's default of 5 traces/s).
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';

interface Envelope {
  name: string;
  data: { baseType: string; baseData: { name?: string; properties?: Record<string, string>; metrics?: { name: string; value: number; count: number }[] } };
  tags: Record<string, string>;
}

let received: Envelope[];

beforeAll(() => {
  const out = execFileSync(process.execPath, [join(__dirname, '../support/app-insights-probe.js')], {
    // The probe's endpoint has a self-signed certificate: trusted by that process alone.
    env: { ...process.env, NODE_TLS_REJECT_UNAUTHORIZED: '0', NODE_NO_WARNINGS: '1' },
    encoding: 'utf8',
    timeout: 60_000,
  });
  received = JSON.parse(out.trim().split('\n').at(-1)!) as Envelope[];
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
