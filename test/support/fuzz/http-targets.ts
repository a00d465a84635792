// Fuzz targets that go through the embedded host's HTTP listener to the real functions: every
// POST/PUT/PATCH/DELETE endpoint, with near-valid bodies, hostile path parameters, query strings
// and headers, and raw text and bytes. Every answer must be below 500, a 4xx must carry the JSON
// error shape ({ error: { code, message } }), and after the runs the host must still answer
// /api/health with 200 and no function invocation may have failed in the background (the
// messages the runs put on the queues are routed or dead-lettered with a reason, never crash a
// function). The host's own answers (404 for a path no route serves, 400 for a path that is not
// valid percent-encoding) carry the JSON error shape too; the only body-less 4xx allowed are
// Node's own 414 and 431 for a request line or headers over the server's size limits, and the
// Durable HTTP API's 404 for an instance it does not know, as the extension answers it.
import { randomUUID } from 'node:crypto';
import fc from 'fast-check';
import { encodeAvro } from '../../../src/esb/formats/avro';
import { toCsv } from '../../../src/esb/formats/csv';
import { envelopeToXml, payloadToXml } from '../../../src/esb/formats/xml';
import { SchemaRegistry } from '../../../src/esb/schemas';
import { payloads } from '../arbitraries';
import { signedByApp } from '../keys';
import { jsonValue, mutated, nastyString, PROTOTYPE_KEYS, rawBytes, rawText, spliced, validEnvelope, validPayload } from './inputs';
import type { FuzzContext, FuzzHost, FuzzTarget } from './runner';

const registry = SchemaRegistry.load();

interface Request {
  method: string;
  path: string;
  headers: Record<string, string>;
  body?: string | Uint8Array;
}

const SAFE_HEADER = /^[\t\x20-\x7e\x80-\xff]*$/;

/** Sends one request; fails on a 5xx, a 4xx without the JSON error shape, or a broken connection. */
async function send(host: FuzzHost, request: Request): Promise<number> {
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(request.headers)) if (SAFE_HEADER.test(v)) headers[k] = v; // fetch refuses the others itself
  const res = await fetch(host.url(request.path), { method: request.method, headers, body: request.body });
  const text = await res.text();
  if (res.status >= 500) throw new Error(`${request.method} ${request.path} answered ${res.status}: ${text.slice(0, 500)}`);
  if (res.status >= 400) {
    // Node's own refusals, before any handler: the request line or headers over the size limits.
    if ((res.status === 414 || res.status === 431) && text === '') return res.status;
    // The Durable HTTP API speaks the extension's shapes, not the app's: an unknown instance is an
    // empty 404 (HttpApiHandler: request.CreateResponse(HttpStatusCode.NotFound)), other refusals a
    // JSON object of its own. The host's checks before it (percent-encoding) use the app's shape.
    const durable = request.path.toLowerCase().startsWith('/runtime/webhooks/durabletask/');
    if (durable && res.status === 404 && text === '') return res.status;
    let body: { error?: { code?: unknown; message?: unknown } } | undefined;
    try {
      body = JSON.parse(text) as typeof body;
    } catch {
      throw new Error(`${request.method} ${request.path} answered ${res.status} without a JSON body: ${text.slice(0, 200)}`);
    }
    if (durable && body !== null && typeof body === 'object' && !Array.isArray(body)) return res.status;
    if (typeof body?.error?.code !== 'string' || typeof body.error.message !== 'string') {
      throw new Error(`${request.method} ${request.path} answered ${res.status} without { error: { code, message } }: ${text.slice(0, 200)}`);
    }
  }
  return res.status;
}

/** A path segment: mostly ids, some hostile (percent-encoded so the request is well-formed). */
const segment = fc.oneof(
  { weight: 4, arbitrary: fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9._-]{0,20}$/) },
  { weight: 1, arbitrary: fc.constantFrom(...PROTOTYPE_KEYS, '.', '..', '%00', '%ZZ', 'a'.repeat(300), '-1', '1e9999') },
  { weight: 2, arbitrary: nastyString.map((s) => encodeURIComponent(s.replace(/[\uD800-\uDFFF]/g, '?'))) },
);

const headerValue = fc.oneof(nastyString, fc.constantFrom('"3"', 'W/"1"', '*', '99999999999999999999', '', ' '), fc.stringMatching(/^[\x21-\x7e]{1,300}$/));
const commandHeaders = fc.record(
  {
    'if-match': headerValue,
    'idempotency-key': headerValue,
    'x-correlation-id': headerValue,
    traceparent: headerValue,
    'content-type': fc.constantFrom('application/json', 'application/json; charset=utf-8', 'application/json; charset=latin1', 'text/plain', 'application/merge-patch+json', ''),
  },
  { requiredKeys: [] },
);

/** A JSON command body: valid, near-valid, any JSON value, or not JSON at all. */
function commandBody(model: keyof typeof payloads): fc.Arbitrary<string | Uint8Array> {
  const valid = validPayload(model);
  return fc.oneof(
    { weight: 2, arbitrary: valid.map((v) => JSON.stringify(v)) },
    { weight: 4, arbitrary: mutated(valid).map((v) => JSON.stringify(v) ?? 'null') },
    { weight: 2, arbitrary: jsonValue.map((v) => JSON.stringify(v) ?? 'null') },
    { weight: 1, arbitrary: spliced(valid.map((v) => JSON.stringify(v))) },
    { weight: 1, arbitrary: rawText },
    { weight: 1, arbitrary: rawBytes },
  );
}

function httpTarget(name: string, what: string, request: fc.Arbitrary<Request>): FuzzTarget {
  return {
    name,
    level: 'http',
    what,
    property: (ctx: FuzzContext) =>
      fc.asyncProperty(request, async (r) => {
        ctx.tick(r);
        await send(ctx.host!, r);
      }),
    after: (ctx) => hostStillServes(ctx.host!, ctx.logsBefore),
  };
}

/** Health answers 200, the queues the runs fed are drained, and no invocation failed since `since`. */
export async function hostStillServes(host: FuzzHost, since: number): Promise<void> {
  const res = await fetch(host.url('/api/health'));
  if (res.status !== 200) throw new Error(`/api/health answered ${res.status} after the runs`);
  const deadline = Date.now() + 30_000;
  while ((host.host.broker.runtimeProperties('inbound') as { activeMessageCount: number }).activeMessageCount > 0) {
    if (Date.now() > deadline) throw new Error('the inbound queue was not drained within 30 s of the runs');
    await new Promise((r) => setTimeout(r, 20));
  }
  const failed = host.logs.slice(since).filter((l) => l.level === 'error' && /\(Failed, /.test(l.message));
  if (failed.length > 0) throw new Error(`${failed.length} function invocations failed, the first: ${failed[0]!.message.slice(0, 800)}`);
}

const orderId = segment;

const createOrder = httpTarget(
  'http-create-order',
  'POST /api/orders with CreateOrder bodies, headers and content types',
  fc.record({ body: commandBody('CreateOrder.v1'), headers: commandHeaders }).map(({ body, headers }) => ({ method: 'POST', path: '/api/orders', headers, body })),
);

const addItem = httpTarget(
  'http-add-order-item',
  'POST /api/orders/{id}/items',
  fc.record({ id: orderId, body: commandBody('AddOrderItem.v1'), headers: commandHeaders }).map(({ id, body, headers }) => ({ method: 'POST', path: `/api/orders/${id}/items`, headers, body })),
);

const removeItem = httpTarget(
  'http-remove-order-item',
  'DELETE /api/orders/{id}/items/{sku}',
  fc.record({ id: orderId, sku: segment, headers: commandHeaders }).map(({ id, sku, headers }) => ({ method: 'DELETE', path: `/api/orders/${id}/items/${sku}`, headers })),
);

const submitOrder = httpTarget(
  'http-submit-order',
  'POST /api/orders/{id}/submit',
  fc.record({ id: orderId, body: commandBody('SubmitOrder.v1'), headers: commandHeaders }).map(({ id, body, headers }) => ({ method: 'POST', path: `/api/orders/${id}/submit`, headers, body })),
);

const cancelOrder = httpTarget(
  'http-cancel-order',
  'POST /api/orders/{id}/cancel',
  fc.record({ id: orderId, body: commandBody('CancelOrder.v1'), headers: commandHeaders }).map(({ id, body, headers }) => ({ method: 'POST', path: `/api/orders/${id}/cancel`, headers, body })),
);

const receiveStock = httpTarget(
  'http-receive-stock',
  'POST /api/inventory/{sku}/receipts',
  fc
    .record({ sku: segment, body: commandBody('ReceiveStock.v1'), headers: commandHeaders })
    .map(({ sku, body, headers }) => ({ method: 'POST', path: `/api/inventory/${sku}/receipts`, headers, body })),
);

const envelopeHeaders = fc.record(
  {
    'idempotency-key': headerValue,
    'x-message-id': headerValue,
    'x-correlation-id': headerValue,
    'x-causation-id': headerValue,
    'x-source': headerValue,
    'x-priority': fc.oneof(fc.constantFrom('low', 'normal', 'high', 'urgent'), headerValue),
    'x-ttl': fc.oneof(fc.constantFrom('1', '300', '0', '-1', '99999999999999999999', '1.5'), headerValue),
    'x-timestamp': fc.oneof(fc.constant('2026-01-01T00:00:00Z'), headerValue),
  },
  { requiredKeys: [] },
);
const schemaHeaders = (model: string) =>
  fc.oneof(
    { weight: 4, arbitrary: fc.constant({ 'x-schema': model }) },
    {
      weight: 1,
      arbitrary: fc.record({ 'x-message-type': fc.oneof(fc.constant(model.split('.v')[0]!), headerValue), 'x-schema-version': fc.oneof(fc.constant('1'), headerValue) }, { requiredKeys: [] }),
    },
    { weight: 1, arbitrary: fc.record({ 'x-schema': fc.oneof(headerValue, fc.constantFrom(...PROTOTYPE_KEYS)) }) },
  );

const messagesJson = httpTarget(
  'http-messages-json',
  'POST /api/messages as application/json: envelopes valid, mutated, any JSON, raw',
  fc
    .record({
      body: fc.oneof(
        validEnvelope.map((e) => JSON.stringify({ ...(e as object), messageId: undefined })),
        mutated(validEnvelope).map((v) => JSON.stringify(v) ?? 'null'),
        jsonValue.map((v) => JSON.stringify(v) ?? 'null'),
        spliced(validEnvelope.map((v) => JSON.stringify(v))),
        rawText,
        rawBytes,
      ),
      headers: envelopeHeaders,
      type: fc.constantFrom('application/json', 'application/json; charset=utf-8', 'application/json; charset=utf-16'),
    })
    .map(({ body, headers, type }) => ({ method: 'POST', path: '/api/messages', headers: { ...headers, 'content-type': type }, body })),
);

const messagesXml = httpTarget(
  'http-messages-xml',
  'POST /api/messages as application/xml: <message> envelopes and partner documents, valid, spliced, raw',
  fc
    .record({
      body: fc.oneof(
        validEnvelope.map((e) => envelopeToXml({ ...(e as object), messageId: undefined } as never)),
        spliced(validEnvelope.map((e) => envelopeToXml(e as never))),
        validPayload('PartnerOrder.v1').map((p) => payloadToXml('PurchaseOrder', p)),
        spliced(validPayload('PartnerOrder.v1').map((p) => payloadToXml('PurchaseOrder', p))),
        fc.constantFrom(
          '<!DOCTYPE x [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;">]><message messageType="OrderPlaced"><payload>&b;</payload></message>',
          '<message messageType="OrderPlaced"><payload><__proto__><x>1</x></__proto__></payload></message>',
        ),
        rawText,
        rawBytes,
      ),
      headers: envelopeHeaders,
      type: fc.constantFrom('application/xml', 'text/xml', 'application/xml; charset=utf-8'),
    })
    .map(({ body, headers, type }) => ({ method: 'POST', path: '/api/messages', headers: { ...headers, 'content-type': type }, body })),
);

const avroModels = registry.models.filter((m) => m.avro).map((m) => m.name) as (keyof typeof payloads)[];
const messagesAvro = httpTarget(
  'http-messages-avro',
  'POST /api/messages as avro/binary: valid data, bytes flipped or cut, random bytes, under every schema header',
  fc.constantFrom(...avroModels).chain((model) =>
    fc
      .record({
        body: fc.oneof(
          validPayload(model).map((p) => encodeAvro(registry.get(model), p)),
          fc.tuple(validPayload(model), fc.nat(), fc.nat({ max: 255 })).map(([p, at, b]) => {
            const bytes = encodeAvro(registry.get(model), p);
            bytes[at % bytes.length] = b;
            return bytes.subarray(0, bytes.length - (at % 3));
          }),
          rawBytes,
        ),
        headers: fc.tuple(envelopeHeaders, schemaHeaders(model)).map(([a, b]) => ({ ...a, ...b })),
      })
      .map(({ body, headers }) => ({ method: 'POST', path: '/api/messages', headers: { ...headers, 'content-type': 'avro/binary' }, body: new Uint8Array(body) })),
  ),
);

const messagesCsv = httpTarget(
  'http-messages-csv',
  'POST /api/messages as text/csv: valid batches, spliced batches, hostile columns, raw text',
  fc.constantFrom(...(Object.keys(payloads) as (keyof typeof payloads)[])).chain((model) =>
    fc
      .record({
        body: fc.oneof(
          fc.array(validPayload(model), { minLength: 1, maxLength: 3 }).map((ps) => toCsv(ps.map((payload) => ({ payload })))),
          spliced(fc.array(validPayload(model), { minLength: 1, maxLength: 3 }).map((ps) => toCsv(ps.map((payload) => ({ payload }))))),
          fc.tuple(fc.constantFrom(...PROTOTYPE_KEYS, 'items[99999999]', 'items[0]', '@messageId'), nastyString).map(([c, v]) => `${c}.x,orderId\n"${v.replaceAll('"', '""')}",o-1\n`),
          rawText,
        ),
        headers: fc.tuple(envelopeHeaders, schemaHeaders(model)).map(([a, b]) => ({ ...a, ...b })),
      })
      .map(({ body, headers }) => ({ method: 'POST', path: '/api/messages', headers: { ...headers, 'content-type': 'text/csv' }, body })),
  ),
);

const approval = fc.record({ approved: fc.oneof(fc.boolean(), jsonValue), by: nastyString, reason: nastyString }, { requiredKeys: [] });
const sagaEvents = httpTarget(
  'http-saga-events',
  'POST /api/sagas/{orderId}/events/{name} (ManualApproval and others)',
  fc
    .record({
      id: orderId,
      name: fc.oneof(fc.constant('ManualApproval'), segment),
      body: fc.oneof(
        approval.map((a) => JSON.stringify(a)),
        mutated(approval).map((v) => JSON.stringify(v) ?? 'null'),
        rawText,
        rawBytes,
      ),
      headers: commandHeaders,
    })
    .map(({ id, name, body, headers }) => ({ method: 'POST', path: `/api/sagas/${id}/events/${name}`, headers, body })),
);

const query = (params: Record<string, string | undefined>) =>
  Object.entries(params)
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => `${k}=${encodeURIComponent(v!.replace(/[\uD800-\uDFFF]/g, '?'))}`)
    .join('&');
const entity = fc.oneof(fc.constantFrom('inbound', 'review', 'archive', 'order-events/subscriptions/analytics', 'order-commands', 'nope', ''), nastyString);
const filterParams = fc.record(
  {
    entity,
    reason: fc.oneof(fc.constantFrom('InvalidEnvelope', 'NoRouteMatched'), nastyString),
    category: fc.oneof(fc.constantFrom('TRANSIENT', 'INVALID_FORMAT', 'BUSINESS_RULE', 'OTHER'), nastyString),
    messageType: nastyString,
    correlationId: nastyString,
    since: fc.oneof(fc.constant('2026-01-01T00:00:00Z'), nastyString),
    until: nastyString,
    all: fc.constantFrom('true', 'false', 'yes'),
    fromSequenceNumber: fc.oneof(fc.nat().map(String), nastyString),
    max: fc.oneof(fc.nat().map(String), nastyString),
  },
  { requiredKeys: [] },
);
const opsEndpoints: FuzzTarget = httpTarget(
  'http-ops',
  'POST/DELETE ops endpoints: dead-letter resubmit (one, many) and purge, projection rebuild, integration-event republish, saga terminate',
  fc.oneof(
    fc
      .record({ seq: fc.oneof(fc.nat().map(String), segment), q: filterParams })
      .map(({ seq, q }) => ({ method: 'POST', path: `/api/ops/deadletters/${seq}/resubmit?${query({ entity: q.entity })}`, headers: {} })),
    filterParams.map((q) => ({ method: 'POST', path: `/api/ops/deadletters/resubmit?${query(q)}`, headers: {} })),
    filterParams.map((q) => ({ method: 'DELETE', path: `/api/ops/deadletters?${query(q)}`, headers: {} })),
    fc
      .oneof(fc.constantFrom('order-summary', 'customer-orders', 'sales-report', 'inventory-availability'), segment)
      .map((name) => ({ method: 'POST', path: `/api/ops/projections/${name}/rebuild`, headers: {} })),
    fc
      .oneof(
        fc.record({ streamPrefixes: fc.array(fc.oneof(fc.constant('order-'), nastyString), { maxLength: 3 }) }).map((b) => JSON.stringify(b)),
        mutated(fc.constant({ streamPrefixes: ['order-'] })).map((v) => JSON.stringify(v) ?? 'null'),
        rawText,
      )
      .map((body) => ({ method: 'POST', path: '/api/ops/integration-events/republish', headers: { 'content-type': 'application/json' }, body })),
    fc.record({ id: orderId, reason: nastyString }).map(({ id, reason }) => ({ method: 'POST', path: `/api/ops/sagas/${id}/terminate?${query({ reason })}`, headers: {} })),
  ),
);

/** A continuation token: garbled, any JSON in base64url (what the embedded store's tokens are), huge or negative offsets. */
const continuationToken = fc.oneof(
  nastyString,
  jsonValue.map((v) => Buffer.from(JSON.stringify(v) ?? 'null').toString('base64url')),
  fc.oneof(fc.double(), fc.integer(), fc.constantFrom(1e308, -1, Number.MAX_SAFE_INTEGER + 2, 0.5)).map((offset) => Buffer.from(JSON.stringify({ offset })).toString('base64url')),
  fc.uint8Array({ maxLength: 64 }).map((b) => Buffer.from(b).toString('base64url')),
  fc.constantFrom('null', 'abc', '{"offset":1e308}', '', '%', '[]'),
);
const pagedRoutes = httpTarget(
  'http-continuation',
  "GET the paged routes (a customer's orders, the sales report, sagas) with hostile continuation tokens and limits: 400 naming the parameter, never a 500",
  fc
    .record({
      route: fc.oneof(
        segment.map((id) => `/api/customers/${id}/orders`),
        fc.constant('/api/reports/sales'),
        fc.constantFrom('/api/sagas', '/api/sagas?status=Completed', '/api/sagas?status=Compensated'),
      ),
      continuation: continuationToken,
      limit: fc.option(fc.oneof(fc.nat().map(String), nastyString), { nil: undefined }),
    })
    .map(({ route, continuation, limit }) => ({ method: 'GET', path: `${route}${route.includes('?') ? '&' : '?'}${query({ continuation, limit })}`, headers: {} })),
);

/** A path segment written by hand: percent signs followed by anything, raw bytes percent-encoded or not. */
const rawSegment = fc.oneof(
  segment,
  fc.stringMatching(/^(?:%[0-9A-Fa-f]{0,2}|%[G-Zg-z]{1,2}|[A-Za-z0-9._~-]){1,12}$/),
  fc.uint8Array({ minLength: 1, maxLength: 8 }).map((b) => [...b].map((x) => `%${x.toString(16).padStart(2, '0')}`).join('')),
);
const percentPaths = httpTarget(
  'http-paths',
  'any method on percent-encoded paths, valid or not, under /api, the Durable HTTP API and the host root: a JSON 4xx (400 for bad encoding, 404 for no route), never a 500',
  fc
    .record({
      // Not .../entities: the embedded Durable engine answers 501 there until it runs entities (issue 16).
      prefix: fc.constantFrom('/api/orders', '/api/ops/deadletters', '/runtime/webhooks/durabletask', '/runtime/webhooks/durabletask/instances', '/api', ''),
      segments: fc.array(rawSegment, { minLength: 1, maxLength: 4 }),
      method: fc.constantFrom('GET', 'POST', 'DELETE', 'PUT', 'PATCH'),
    })
    .map(({ prefix, segments, method }) => ({ method, path: `${prefix}/${segments.join('/')}`, headers: {} })),
);

/** Waits until the inbound queue has nothing active or locked: the router settled what was sent. */
async function inboundSettled(host: FuzzHost): Promise<void> {
  const deadline = Date.now() + 30_000;
  while ((host.host.broker.runtimeProperties('inbound') as { activeMessageCount: number }).activeMessageCount > 0) {
    if (Date.now() > deadline) throw new Error('the message was not settled within 30 s');
    await new Promise((r) => setTimeout(r, 1));
  }
}

const queuedBody = fc.oneof(
  validEnvelope.map((e) => JSON.stringify(e)),
  mutated(validEnvelope).map((v) => JSON.stringify(v) ?? 'null'),
  jsonValue.map((v) => JSON.stringify(v) ?? 'null'),
  spliced(validEnvelope.map((v) => JSON.stringify(v))),
  validEnvelope.map((e) => envelopeToXml(e as never)),
  rawText,
  rawBytes,
);
const servicebusInbound: FuzzTarget = {
  name: 'servicebus-inbound',
  level: 'http',
  what: "messages put straight on the inbound queue (as another producer than the ingress might, mostly signed with the app's key so the router decodes them): the router completes or dead-letters each with a reason, no invocation fails",
  property: (ctx) =>
    fc.asyncProperty(
      queuedBody,
      fc.constantFrom('application/json', 'application/xml', 'text/plain', 'application/octet-stream', undefined),
      fc.dictionary(fc.oneof(fc.constantFrom('traceparent', 'messageType', 'esb-retry-attempt', 'esb-first-failure'), fc.constantFrom(...PROTOTYPE_KEYS)), fc.oneof(nastyString, fc.integer()), {
        maxKeys: 3,
      }),
      fc.integer({ min: 0, max: 9 }).map((n) => n < 8),
      async (body, contentType, applicationProperties, signed) => {
        ctx.tick([body, contentType, applicationProperties, signed]);
        const host = ctx.host!;
        const before = host.logs.length;
        const message = { body: Buffer.from(body), messageId: `fuzz-${randomUUID()}`, ...(contentType ? { contentType } : {}), applicationProperties };
        try {
          await host.host.broker.send('inbound', [signed ? signedByApp(message, 'inbound') : message]);
        } catch {
          return; // the broker refused it (size, property types): the app never sees it
        }
        await inboundSettled(host);
        const failed = host.logs.slice(before).find((l) => l.level === 'error' && /routeMessage' \(Failed/.test(l.message));
        if (failed) throw new Error(`routeMessage failed on the message rather than dead-lettering it: ${failed.message.slice(0, 800)}`);
      },
    ),
  after: (ctx) => hostStillServes(ctx.host!, ctx.logsBefore),
};

// A bulk resubmit moves up to 1000 parked messages in one request, each a durable send (about
// 25 ms on the embedded host): after the other targets have parked thousands of messages, one
// request matching them all legitimately takes tens of seconds.
opsEndpoints.slowMs = 60_000;

export const HTTP_TARGETS: FuzzTarget[] = [
  servicebusInbound,
  createOrder,
  addItem,
  removeItem,
  submitOrder,
  cancelOrder,
  receiveStock,
  messagesJson,
  messagesXml,
  messagesAvro,
  messagesCsv,
  sagaEvents,
  opsEndpoints,
  pagedRoutes,
  percentPaths,
];
