// One order is one trace: a shop's checkout span sends CreateOrder and SubmitOrder through the
// ESB ingress with its W3C traceparent; every span the host and the app record for that order —
// ingress, Service Bus hops, router, command, append, change feed, saga start, each saga step,
// Event Hubs, the OrderCompleted message — lands in that one trace, as one tree. Then each metric
// of the catalog is emitted with exactly its dimensions, and every log line of the order carries
// its correlationId.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { context, trace } from '@opentelemetry/api';
import { ManualClock } from '@backbone/local-azure/clock';
import type { SpanRecord } from '@backbone/local-azure/telemetry';
import { METRICS, type MetricName } from '../../src/observability/metrics';
import { formatTraceparent } from '../../src/observability/tracing';
import { ORDER_FULFILMENT_SAGA } from '../../src/sagas/order-fulfilment';
import { postJson, startHost, waitFor, type RunningHost } from '../support/host';
import { repoRoot } from '../support/messaging-harness';

const STEPS = ORDER_FULFILMENT_SAGA.steps.map((s) => s.name);
/** The OrderCompleted send's ancestry: the order's path from the caller through every hop. */
const ORDER_COMPLETED_PATH = [
  'checkout',
  'ingestMessage',
  'esb.ingress',
  'send inbound',
  'routeMessage',
  'esb.route',
  'send order-commands',
  'handleOrderCommand',
  'command SubmitOrder',
  'append order',
  'start orderFulfilmentSaga',
  'saga step publishOrderCompleted',
  'send order-events',
];

let running: RunningHost;
const clock = new ManualClock(Date.now());
let lapse: NodeJS.Timeout | undefined;

beforeAll(async () => {
  process.env.PARTICIPANT_FAULTS = JSON.stringify({
    steps: {
      createShipment: { declineRules: [{ reason: 'NoShippingToAddress', when: { field: 'orderId', operator: 'starts_with', value: 'obs-declined-' } }] },
      bookCarrier: { declineRules: [{ reason: 'NoCarrier', when: { field: 'orderId', operator: 'starts_with', value: 'obs-stuck-' } }] },
      cancelShipment: { failRules: [{ reason: 'shipping service rejects', when: { field: 'orderId', operator: 'starts_with', value: 'obs-stuck-' } }] },
    },
  });
  running = await startHost(repoRoot, { clock, sweepIntervalMs: 0 });
  for (const sku of ['SKU-A', 'SKU-B']) await postJson(running.url(`/api/inventory/${sku}/receipts`), { quantity: 100_000 });
  // Durable time runs fast (retry backoffs of compensations), wall-clock work is untouched.
  lapse = setInterval(() => clock.advance(2_000), 5);
});

afterAll(async () => {
  if (lapse) clearInterval(lapse);
  await running?.stop();
  delete process.env.PARTICIPANT_FAULTS;
  delete process.env.FAULT_INJECTION;
});

const sagaOf = async (orderId: string) => {
  const res = await fetch(running.url(`/api/sagas/${orderId}`));
  return res.status === 404 ? undefined : ((await res.json()) as { status: string });
};
const ended = (orderId: string) =>
  waitFor(
    async () => {
      const s = await sagaOf(orderId);
      return s && ['Completed', 'Compensated', 'CompensationFailed', 'Failed'].includes(s.status) && s;
    },
    `the saga of ${orderId} to end`,
    30_000,
  );

/** Sends the order's two commands through the ESB ingress, as messages of one checkout. */
async function placeOrder(orderId: string, correlationId: string, traceparent?: string): Promise<void> {
  const headers: Record<string, string> = traceparent ? { traceparent } : {};
  const items = [
    { sku: 'SKU-A', quantity: 2, unitPrice: 10 },
    { sku: 'SKU-B', quantity: 1, unitPrice: 5 },
  ];
  for (const [messageType, payload] of [
    ['CreateOrder', { orderId, customerId: 'cust-obs', items }],
    ['SubmitOrder', { orderId }],
  ] as const) {
    const res = await postJson(running.url('/api/messages'), { messageId: `${orderId}-${messageType}`, messageType, correlationId, payload }, headers);
    expect(res.status).toBe(202);
  }
}

/** The names from the trace's root down to the span. */
function ancestry(span: SpanRecord, byId: Map<string, SpanRecord>): string[] {
  const names = [span.name];
  for (let p = span.parentSpanId && byId.get(span.parentSpanId); p; p = p.parentSpanId && byId.get(p.parentSpanId)) names.unshift(p.name);
  return names;
}

describe('one order is one trace', () => {
  const orderId = 'obs-trace-1';
  const correlationId = 'corr-obs-trace-1';
  let spans: SpanRecord[];
  let checkout: SpanRecord;

  beforeAll(async () => {
    // The shop's checkout: a client span of its own, whose context both requests carry.
    const span = trace.getTracer('shop-frontend').startSpan('checkout');
    const traceparent = formatTraceparent(span.spanContext());
    await context.with(trace.setSpan(context.active(), span), () => placeOrder(orderId, correlationId, traceparent));
    span.end();
    expect((await ended(orderId)).status).toBe('Completed');
    const traceId = span.spanContext().traceId;
    const mine = () => running.host.telemetry.spans().filter((s) => s.traceId === traceId);
    // The last hops (the outcome; OrderConfirmed's publication and its consumer) end a little after the saga's status says Completed.
    await waitFor(() => {
      const all = mine();
      const confirmed = all.find((s) => s.name === 'append order' && String(s.attributes['eventstore.event_types']).includes('OrderConfirmed'));
      const published = confirmed && all.find((s) => s.name === 'send integration-events' && s.parentSpanId === confirmed.spanId);
      return !!published && all.some((s) => s.name === 'update sales metric' && s.parentSpanId === published.spanId) && all.some((s) => s.name === 'saga outcome Completed');
    }, 'the last spans of the order');
    spans = mine();
    checkout = spans.find((s) => s.name === 'checkout')!;
  });

  test('every span of the order carries one trace id', () => {
    const correlated = running.host.telemetry.spans().filter((s) => s.attributes.correlationId === correlationId);
    expect(correlated.length).toBeGreaterThan(20);
    expect(new Set(correlated.map((s) => s.traceId))).toEqual(new Set([checkout.traceId]));
  });

  test('the spans form one tree under the checkout span', () => {
    const ids = new Set(spans.map((s) => s.spanId));
    expect(ids.size).toBe(spans.length);
    const roots = spans.filter((s) => !s.parentSpanId || !ids.has(s.parentSpanId));
    expect(roots.map((s) => s.name)).toEqual(['checkout']);
    // The two requests of the checkout are its children, as the host's request spans.
    expect(spans.filter((s) => s.parentSpanId === checkout.spanId).map((s) => `${s.name}/${s.kind}`)).toEqual(['ingestMessage/server', 'ingestMessage/server']);
  });

  test('the spans have the expected names, from ingress to OrderCompleted', () => {
    const names = new Set(spans.map((s) => s.name));
    for (const name of [
      ...ORDER_COMPLETED_PATH,
      'command CreateOrder',
      'append inventory',
      'project events',
      'send integration-events',
      'update sales metric',
      ...STEPS.map((s) => `saga step ${s}`),
      'saga outcome Completed',
    ]) {
      expect(names).toContain(name);
    }
    const byId = new Map(spans.map((s) => [s.spanId, s]));
    // The OrderCompleted message, traced back hop by hop to the checkout.
    const orderCompleted = spans.find((s) => s.name === 'send order-events' && s.attributes['messaging.message.id'] === `order-completed-${orderId}`)!;
    expect(ancestry(orderCompleted, byId)).toEqual(ORDER_COMPLETED_PATH);
    // Each step is a child of the saga's start; the OrderConfirmed append and its Event Hubs publication continue from confirmOrder.
    const start = spans.find((s) => s.name === 'start orderFulfilmentSaga')!;
    for (const step of STEPS) expect(spans.find((s) => s.name === `saga step ${step}`)!.parentSpanId).toBe(start.spanId);
    const confirmAppend = spans.find((s) => s.name === 'append order' && String(s.attributes['eventstore.event_types']).includes('OrderConfirmed'))!;
    expect(ancestry(confirmAppend, byId).slice(-3)).toEqual(['start orderFulfilmentSaga', 'saga step confirmOrder', 'append order']);
    const published = spans.filter((s) => s.name === 'send integration-events' && s.parentSpanId === confirmAppend.spanId);
    expect(published).toHaveLength(1);
    expect(spans.some((s) => s.name === 'update sales metric' && s.parentSpanId === published[0]!.spanId)).toBe(true);
  });

  test('the events store the trace context of their append, the messages of their send', async () => {
    const res = (await (await fetch(running.url(`/api/orders/${orderId}/events`))).json()) as { events: { type: string; metadata: { traceparent?: string } }[] };
    for (const e of res.events) {
      expect(e.metadata.traceparent).toMatch(new RegExp(`^00-${checkout.traceId}-[0-9a-f]{16}-01$`));
      const spanId = e.metadata.traceparent!.split('-')[2];
      expect(spans.find((s) => s.spanId === spanId)?.name).toBe('append order');
    }
    const completed = running.host.broker.peek('order-events/subscriptions/analytics', { maxMessageCount: 500 }).find((m) => m.messageId === `order-completed-${orderId}`)!;
    const sent = completed.applicationProperties.traceparent as string;
    expect(completed.applicationProperties['Diagnostic-Id']).toBe(sent);
    expect(spans.find((s) => s.spanId === sent.split('-')[2])?.name).toBe('send order-events');
  });

  test('every log line of the order carries its correlationId', () => {
    const lines = running.host.telemetry.logs().filter((l) => l.traceId === checkout.traceId);
    // Accepted, routed, applied (×2 each), the saga started and ended; batch lines (projections, publication) are on their batch's trace.
    expect(lines.length).toBeGreaterThanOrEqual(8);
    const batchLines = running.host.telemetry.logs().filter(
      (l) =>
        /^(Projected|Published|Sales metric)/.test(l.body) &&
        String(l.attributes.correlationId ?? '')
          .split(',')
          .includes(correlationId),
    );
    expect(batchLines.length).toBeGreaterThan(0);
    for (const line of lines)
      expect({ line: line.body, correlationId: String(line.attributes.correlationId ?? '').split(',') }).toEqual({ line: line.body, correlationId: expect.arrayContaining([correlationId]) });
  });
});

test('each metric of the catalog is emitted with exactly its dimensions', async () => {
  // A route's destination that refuses sends for a while: the router retries with backoff.
  process.env.FAULT_INJECTION = JSON.stringify({ 'send:audit-log': 1 });
  const order = JSON.parse(readFileSync(join(repoRoot, 'config/samples/order-placed.json'), 'utf8')) as Record<string, unknown>;
  expect((await postJson(running.url('/api/messages'), { ...order, messageId: 'obs-retry-1' })).status).toBe(202);
  await waitFor(async () => (await running.host.telemetry.metrics()).some((p) => p.name === 'esb.retries'), 'a router retry');
  delete process.env.FAULT_INJECTION;
  // With API keys configured, a request without one is refused.
  process.env.API_KEYS = JSON.stringify([{ name: 'obs', sha256: 'a'.repeat(64), roles: ['ops'] }]);
  expect((await fetch(running.url('/api/ops/entities'))).status).toBe(401);
  delete process.env.API_KEYS;
  // An XML message (decoded at the ingress), an unroutable one (dead-lettered), and sagas of each outcome.
  const xml = readFileSync(join(repoRoot, 'config/samples/order-placed.xml'));
  expect((await fetch(running.url('/api/messages'), { method: 'POST', headers: { 'content-type': 'application/xml' }, body: xml })).status).toBe(202);
  const unroutable = readFileSync(join(repoRoot, 'config/samples/customer-feedback-unroutable.json'), 'utf8');
  expect((await postJson(running.url('/api/messages'), unroutable)).status).toBe(202);
  await placeOrder('obs-happy-1', 'corr-obs-happy-1');
  await placeOrder('obs-declined-1', 'corr-obs-declined-1');
  await placeOrder('obs-stuck-1', 'corr-obs-stuck-1');
  expect((await ended('obs-happy-1')).status).toBe('Completed');
  expect((await ended('obs-declined-1')).status).toBe('Compensated');
  expect((await ended('obs-stuck-1')).status).toBe('CompensationFailed');

  const expected: Partial<Record<MetricName, Record<string, string>>> = {
    'esb.messages.routed': { route: 'order_commands', entity: 'order-commands', messageType: 'SubmitOrder' },
    'esb.transformations': { fromFormat: 'xml', toFormat: 'json', stage: 'ingress' },
    'esb.retries': { messageType: 'OrderPlaced' },
    'esb.deadletters': { reason: 'NoRouteMatched' },
    'eventstore.events.appended': { eventType: 'OrderConfirmed', streamType: 'order' },
    'projection.lag': { projection: 'order-summary' },
    'saga.started': { saga: 'orderFulfilmentSaga' },
    'saga.completed': { saga: 'orderFulfilmentSaga' },
    'saga.compensated': { saga: 'orderFulfilmentSaga', failedStep: 'createShipment' },
    'saga.failed': { saga: 'orderFulfilmentSaga', failedStep: 'bookCarrier' },
    'saga.duration': { outcome: 'CompensationFailed' },
    'saga.step.duration': { step: 'confirmOrder', outcome: 'completed' },
    'saga.compensation.duration': { compensation: 'cancelShipment', outcome: 'failed' },
    'security.refusals': { operation: 'ops.readEntities', status: '401' },
  };
  const points = await waitFor(async () => {
    const all = await running.host.telemetry.metrics();
    return (Object.keys(METRICS) as MetricName[]).every((name) => all.some((p) => p.name === name && Object.entries(expected[name] ?? {}).every(([k, v]) => p.attributes[k] === v))) && all;
  }, 'every metric of the catalog');
  for (const name of Object.keys(METRICS) as MetricName[]) {
    const mine = points.filter((p) => p.name === name);
    expect(mine.length).toBeGreaterThan(0);
    for (const p of mine) {
      expect({ name, dimensions: Object.keys(p.attributes).sort() }).toEqual({ name, dimensions: [...METRICS[name].dimensions].sort() });
      expect({ name, kind: p.kind }).toEqual({ name, kind: METRICS[name].kind === 'counter' ? 'counter' : 'histogram' });
      if (p.kind === 'counter') expect(p.value).toBeGreaterThan(0);
      else expect(p.count).toBeGreaterThan(0);
    }
  }
  const transformations = points.filter((p) => p.name === 'esb.transformations').map((p) => `${p.attributes.stage}:${p.attributes.fromFormat}→${p.attributes.toFormat}`);
  expect(transformations).toEqual(expect.arrayContaining(['ingress:xml→json']));
  // The router's transform to the fulfilment model, encoded as the route asks.
  expect(transformations.some((t) => t.startsWith('route:json→'))).toBe(true);
  const deadLetters = points.find((p) => p.name === 'esb.deadletters' && p.attributes.reason === 'NoRouteMatched')!;
  expect(deadLetters.attributes.category).toBe('BUSINESS_RULE');
});

test("the workbook's and alerts' KQL name only metrics, dimensions and spans the code emitted above", async () => {
  const dir = join(repoRoot, 'infra/queries');
  const files = readdirSync(dir).filter((f) => f.endsWith('.kql'));
  expect(files.length).toBeGreaterThanOrEqual(9);
  const points = await running.host.telemetry.metrics();
  const spans = running.host.telemetry.spans();
  const metricNames = new Set(points.map((p) => p.name));
  const spanNames = new Set(spans.map((s) => s.name));
  const dimensions = new Set([...points, ...spans, ...running.host.telemetry.logs()].flatMap((x) => Object.keys(x.attributes)));
  const problems: string[] = [];
  for (const file of files) {
    const kql = readFileSync(join(dir, file), 'utf8')
      .split('\n')
      .filter((l) => !l.trim().startsWith('//'))
      .join('\n');
    const metricsQuery = /\bcustomMetrics\b/.test(kql);
    for (const m of kql.matchAll(/customDimensions(?:\[\s*["']([^"']+)["']\s*\]|\.(\w+))/g)) {
      const key = m[1] ?? m[2]!;
      if (!dimensions.has(key)) problems.push(`${file}: custom dimension '${key}' is not emitted`);
    }
    const named = [...kql.matchAll(/\bname\s*==\s*"([^"]+)"/g)].map((m) => m[1]!);
    for (const list of kql.matchAll(/\bname\s+in\s*\(([^)]*)\)/g)) named.push(...[...list[1]!.matchAll(/"([^"]+)"/g)].map((m) => m[1]!));
    for (const name of named) {
      if (!(metricsQuery ? metricNames : spanNames).has(name)) problems.push(`${file}: ${metricsQuery ? 'metric' : 'span'} '${name}' is not emitted`);
    }
    for (const [, prefix] of kql.matchAll(/\bname\s+startswith\s+"([^"]+)"/g)) {
      if (![...spanNames].some((n) => n.startsWith(prefix!))) problems.push(`${file}: no span name starts with '${prefix}'`);
    }
  }
  expect(problems).toEqual([]);
  // The check bites: a misspelt dimension or metric would be reported.
  expect(dimensions.has('failedStep') && metricNames.has('saga.failed') && !dimensions.has('failed_step')).toBe(true);
});
