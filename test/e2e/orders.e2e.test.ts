// The event-sourced order and inventory services through the embedded host: commands over HTTP
// (201/200 with the version and ETag; 400/404/409/412/415/422 with JSON errors), the same
// commands as messages through the ESB and the order-commands queue, change-feed projections
// and the queries on them, time travel, upcasting of stored v1 events, and a rebuild that
// yields the very views the live projector wrote.
import { partitionForKey } from '@backbone/local-azure/eventhubs/partition-key-hash';
import { DocumentEventStore } from '../../src/eventstore/event-store';
import type { Document } from '../../src/ports/documents';
import { startHost, waitFor, type RunningHost } from '../support/host';
import { repoRoot } from '../support/messaging-harness';

let running: RunningHost;
// The fulfilment saga has its own suite (order-saga.e2e); here submitted orders stay submitted.
beforeAll(async () => {
  process.env.SAGA_AUTOSTART = 'false';
  // Commands for a missing order are retried twice (not 8 times over 16 s) before the dead letter.
  process.env.COMMAND_NOT_FOUND_RETRIES = '2';
  running = await startHost(repoRoot);
});
afterAll(async () => {
  await running.stop();
  delete process.env.SAGA_AUTOSTART;
  delete process.env.COMMAND_NOT_FOUND_RETRIES;
});

interface Answer {
  status: number;
  etag: string | null;
  location: string | null;
  body: Record<string, unknown> & { error?: { code: string; message: string; target?: string } };
}

async function call(method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<Answer> {
  const res = await fetch(running.url(`/api${path}`), {
    method,
    headers: { ...(body !== undefined ? { 'content-type': 'application/json' } : {}), ...headers },
    body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, etag: res.headers.get('etag'), location: res.headers.get('location'), body: text ? JSON.parse(text) : {} };
}

const line = (sku: string, quantity = 1, unitPrice = 10) => ({ sku, quantity, unitPrice });
let n = 0;
const newOrder = async (items = [line('SKU-A', 2, 10)], customerId = 'cust-1') => {
  const orderId = `ord-${++n}`;
  const res = await call('POST', '/orders', { orderId, customerId, items });
  expect(res.status).toBe(201);
  return orderId;
};
const viewVersion = async (orderId: string) => {
  const res = await fetch(running.url(`/api/orders/${orderId}`));
  const body = (await res.json()) as { version?: number };
  return res.headers.get('x-read-model') === 'view' ? (body.version ?? 0) : 0;
};
const projected = (orderId: string, version: number) => waitFor(async () => (await viewVersion(orderId)) >= version, `order ${orderId} projected to v${version}`);

describe('commands over HTTP', () => {
  test('create answers 201 with the version, an ETag and a Location; the order id is generated when absent', async () => {
    const res = await call('POST', '/orders', { customerId: 'cust-gen', items: [line('SKU-A', 1, 5), line('SKU-B', 2, 2.5)] });
    expect(res.status).toBe(201);
    expect(res.body).toEqual({ orderId: expect.stringMatching(/^[0-9a-f-]{36}$/), version: 3 });
    expect(res.etag).toBe('"3"');
    expect(res.location).toBe(`/api/orders/${res.body.orderId as string}`);
  });

  test('an Idempotency-Key makes a retried create name the same order, applied once', async () => {
    const body = { customerId: 'cust-idem', items: [line('SKU-A')] };
    const first = await call('POST', '/orders', body, { 'idempotency-key': 'create-1' });
    const again = await call('POST', '/orders', body, { 'idempotency-key': 'create-1' });
    expect(first.status).toBe(201);
    expect(again.status).toBe(200);
    expect(again.body).toEqual({ orderId: first.body.orderId, version: 2, duplicate: true });
    const events = await call('GET', `/orders/${first.body.orderId as string}/events`);
    expect((events.body.events as unknown[]).length).toBe(2);
  });

  test('creating an order id that exists is 409 Conflict', async () => {
    const orderId = await newOrder();
    const res = await call('POST', '/orders', { orderId, customerId: 'cust-1', items: [] });
    expect(res.status).toBe(409);
    expect(res.body.error).toMatchObject({ code: 'Conflict', target: 'orderId' });
  });

  test('add, remove and submit answer 200 with the new version; If-Match makes them conditional (412)', async () => {
    const orderId = await newOrder();
    for (const ifMatch of ['"1"', '1', 'W/"1"']) {
      const stale = await call('POST', `/orders/${orderId}/items`, line('SKU-B'), { 'if-match': ifMatch });
      expect(stale.status).toBe(412);
      expect(stale.body.error).toMatchObject({ code: 'PreconditionFailed', target: 'If-Match' });
    }
    const added = await call('POST', `/orders/${orderId}/items`, line('SKU-B', 3, 1.5), { 'if-match': '"2"' });
    expect(added).toMatchObject({ status: 200, etag: '"3"', body: { orderId, version: 3 } });
    const removed = await call('DELETE', `/orders/${orderId}/items/SKU-A`, undefined, { 'if-match': '3' });
    expect(removed).toMatchObject({ status: 200, body: { version: 4 } });
    const submitted = await call('POST', `/orders/${orderId}/submit`);
    expect(submitted).toMatchObject({ status: 200, body: { version: 5 } });
    expect((await call('POST', `/orders/${orderId}/items`, line('SKU-A'), { 'if-match': 'abc' })).status).toBe(400);
  });

  test('business rules answer 422: no change after submit, at most 100 lines, nothing to submit', async () => {
    const orderId = await newOrder();
    await call('POST', `/orders/${orderId}/submit`);
    const late = await call('POST', `/orders/${orderId}/items`, line('SKU-Z'));
    expect(late.status).toBe(422);
    expect(late.body.error).toMatchObject({ code: 'BusinessRuleViolated', target: 'status' });
    const big = await call('POST', '/orders', { orderId: 'ord-big', customerId: 'cust-1', items: Array.from({ length: 101 }, (_, i) => line(`S-${i}`)) });
    expect(big.status).toBe(422);
    const empty = await newOrder([]);
    expect((await call('POST', `/orders/${empty}/submit`)).status).toBe(422);
  });

  test('cancel answers 200; a cancelled order takes no more lines', async () => {
    const orderId = await newOrder();
    expect((await call('POST', `/orders/${orderId}/cancel`, { reason: 'changed my mind' })).status).toBe(200);
    expect((await call('POST', `/orders/${orderId}/items`, line('SKU-Q'))).status).toBe(422);
  });

  test.each([
    ['a zero quantity', { customerId: 'c', items: [line('S', 0)] }, 'items[0].quantity'],
    ['a negative price', { customerId: 'c', items: [line('S', 1, -1)] }, 'items[0].unitPrice'],
    ['a fractional quantity', { customerId: 'c', items: [line('S', 1.5)] }, 'items[0].quantity'],
    ['no customer', { items: [] }, 'customerId'],
    ['an order id with a slash', { orderId: 'a/b', customerId: 'c', items: [] }, 'orderId'],
    ['an unknown field', { customerId: 'c', items: [], discount: 5 }, 'discount'],
  ])('create with %s is 400 naming the field', async (_what, body, target) => {
    const res = await call('POST', '/orders', body);
    expect(res.status).toBe(400);
    expect(res.body.error).toMatchObject({ code: 'ValidationFailed', target });
  });

  test('malformed JSON is 400, another media type 415, an unknown order or line 404', async () => {
    expect((await call('POST', '/orders', '{"customerId": ', {})).status).toBe(400);
    expect((await call('POST', '/orders', 'x', { 'content-type': 'text/plain' })).status).toBe(415);
    const missing = await call('POST', '/orders/nobody/items', line('SKU-A'));
    expect(missing.status).toBe(404);
    expect(missing.body.error).toMatchObject({ code: 'NotFound' });
    const orderId = await newOrder();
    expect((await call('DELETE', `/orders/${orderId}/items/NOT-THERE`)).status).toBe(404);
  });

  test('stock receipts: 201 for the first, 200 after, with the version; a zero quantity is 400', async () => {
    expect(await call('POST', '/inventory/SKU-R/receipts', { quantity: 5 })).toMatchObject({ status: 201, etag: '"1"', body: { sku: 'SKU-R', version: 1 } });
    expect(await call('POST', '/inventory/SKU-R/receipts', { quantity: 7, reference: 'PO-9' })).toMatchObject({ status: 200, body: { version: 2 } });
    expect((await call('POST', '/inventory/SKU-R/receipts', { quantity: 0 })).status).toBe(400);
  });

  test('concurrent commands on one order: each is applied once or answered 409; no 5xx, no gap', async () => {
    const orderId = await newOrder([]);
    const answers = await Promise.all(Array.from({ length: 30 }, (_, i) => call('POST', `/orders/${orderId}/items`, line(`C-${i}`))));
    expect(answers.every((a) => a.status === 200 || a.status === 409)).toBe(true);
    const ok = answers.filter((a) => a.status === 200);
    const events = (await call('GET', `/orders/${orderId}/events`)).body.events as { version: number; type: string }[];
    expect(events.map((e) => e.version)).toEqual(events.map((_, i) => i + 1));
    expect(events.filter((e) => e.type === 'ItemAdded')).toHaveLength(ok.length);
    expect(new Set(ok.map((a) => a.body.version)).size).toBe(ok.length);
  });
});

describe('queries on the projections', () => {
  test('an order: its summary from the view, with version and ETag', async () => {
    const orderId = await newOrder([line('SKU-A', 2, 10), line('SKU-B', 1, 4.5)]);
    await call('POST', `/orders/${orderId}/submit`);
    await projected(orderId, 4);
    const res = await call('GET', `/orders/${orderId}`);
    expect(res).toMatchObject({ status: 200, etag: '"4"' });
    expect(res.body).toMatchObject({ orderId, customerId: 'cust-1', status: 'submitted', itemCount: 3, total: 24.5, version: 4 });
  });

  test("a customer's orders, newest first, paged with a continuation token", async () => {
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) ids.push(await newOrder([line('SKU-P', 1, i + 1)], 'cust-paged'));
    await Promise.all(ids.map((id) => projected(id, 2)));
    // customer-orders is a projection of its own, which may trail order-summary (in SDK mode its writes go over the wire).
    await waitFor(async () => {
      const res = await call('GET', '/customers/cust-paged/orders?limit=10');
      return res.status === 200 && (res.body.orders as unknown[]).length === ids.length;
    }, 'the customer-orders view of all five orders');
    const seen: string[] = [];
    let continuation: string | undefined;
    let pages = 0;
    do {
      const res = await call('GET', `/customers/cust-paged/orders?limit=2${continuation ? `&continuation=${encodeURIComponent(continuation)}` : ''}`);
      expect(res.status).toBe(200);
      seen.push(...(res.body.orders as { orderId: string }[]).map((o) => o.orderId));
      continuation = res.body.continuation as string | undefined;
      pages++;
    } while (continuation);
    expect(pages).toBe(3);
    expect(seen).toEqual([...ids].reverse());
    expect((await call('GET', '/customers/cust-paged/orders?limit=0')).status).toBe(400);
  });

  test('the sales report counts submitted orders per SKU and takes cancelled ones back out', async () => {
    const before = (await call('GET', '/reports/sales?limit=100')).body.products as { sku: string; unitsSold: number; revenue: number }[];
    const sold = (sku: string, list = before) => list.find((p) => p.sku === sku) ?? { unitsSold: 0, revenue: 0 };
    const a = await newOrder([line('SKU-SALES', 3, 2)]);
    const b = await newOrder([line('SKU-SALES', 1, 2)]);
    await call('POST', `/orders/${a}/submit`);
    await call('POST', `/orders/${b}/submit`);
    await call('POST', `/orders/${b}/cancel`, { reason: 'test' });
    await projected(b, 4);
    const after = await waitFor(async () => {
      const products = (await call('GET', '/reports/sales?limit=100')).body.products as { sku: string; unitsSold: number; revenue: number }[];
      return sold('SKU-SALES', products).unitsSold === sold('SKU-SALES').unitsSold + 3 && products;
    }, 'the sales report');
    expect(sold('SKU-SALES', after).revenue).toBe(sold('SKU-SALES').revenue + 6);
  });

  test('inventory availability of a SKU', async () => {
    await call('POST', '/inventory/SKU-INV/receipts', { quantity: 12 });
    const res = await waitFor(async () => {
      const r = await call('GET', '/inventory/SKU-INV');
      return r.status === 200 && r;
    }, 'inventory');
    expect(res.body).toMatchObject({ sku: 'SKU-INV', onHand: 12, reserved: 0, available: 12, version: 1 });
  });

  test('time travel: the events and the state as of a version', async () => {
    const orderId = await newOrder([line('SKU-A', 1, 1)]);
    await call('POST', `/orders/${orderId}/items`, line('SKU-B', 1, 1));
    await call('POST', `/orders/${orderId}/submit`);
    const then = await call('GET', `/orders/${orderId}/events?asOf=2`);
    expect(then.status).toBe(200);
    expect(then.body).toMatchObject({ version: 2, currentVersion: 4, state: { status: 'draft', lines: [{ sku: 'SKU-A' }] } });
    expect((then.body.events as { type: string }[]).map((e) => e.type)).toEqual(['OrderCreated', 'ItemAdded']);
    const now = await call('GET', `/orders/${orderId}/events`);
    expect(now.body).toMatchObject({ version: 4, state: { status: 'submitted' } });
    expect((await call('GET', `/orders/${orderId}/events?asOf=9`)).status).toBe(404);
    expect((await call('GET', `/orders/${orderId}/events?asOf=x`)).status).toBe(400);
  });

  test('unknown ids are 404: order, customer, SKU, events', async () => {
    for (const path of ['/orders/never', '/customers/nobody/orders', '/inventory/NO-SKU', '/orders/never/events']) {
      const res = await call('GET', path);
      expect({ path, status: res.status, code: res.body.error?.code }).toEqual({ path, status: 404, code: 'NotFound' });
    }
  });

  test('projection lag is measured and exposed per projection', async () => {
    const res = await call('GET', '/ops/projections');
    const projections = res.body.projections as { name: string; lag: { samples: number; p50Ms?: number; p99Ms?: number } }[];
    expect(projections.map((p) => p.name).sort()).toEqual(['customer-orders', 'inventory-availability', 'order-summary', 'sales-report']);
    for (const p of projections) {
      expect(p.lag.samples).toBeGreaterThan(0);
      expect(p.lag.p99Ms).toBeGreaterThanOrEqual(p.lag.p50Ms!);
    }
  });
});

describe('versioning', () => {
  test('an ItemAdded stored in schema v1 ({sku, qty, price}) is read with the v2 model everywhere', async () => {
    const store = new DocumentEventStore(running.host.documents.container('events'));
    await store.append(
      'order-legacy-1',
      [
        { type: 'OrderCreated', data: { orderId: 'legacy-1', customerId: 'cust-legacy', createdAt: '2025-01-01T00:00:00.000Z' } },
        { type: 'ItemAdded', schemaVersion: 1, data: { sku: 'OLD-1', qty: 4, price: 2.5 } },
      ],
      { expectedVersion: 0 },
    );
    const events = await call('GET', '/orders/legacy-1/events');
    expect((events.body.events as { schemaVersion: number; data: unknown }[])[1]).toMatchObject({ schemaVersion: 2, data: { sku: 'OLD-1', quantity: 4, unitPrice: 2.5 } });
    await projected('legacy-1', 2);
    expect((await call('GET', '/orders/legacy-1')).body).toMatchObject({ lines: [{ sku: 'OLD-1', quantity: 4, unitPrice: 2.5 }], total: 10 });
    // The decider works on the upcast state: adding more of the same SKU adds to the v1 line.
    expect((await call('POST', '/orders/legacy-1/items', line('OLD-1', 1, 2.5))).status).toBe(200);
    await projected('legacy-1', 3);
    expect((await call('GET', '/orders/legacy-1')).body).toMatchObject({ lines: [{ sku: 'OLD-1', quantity: 5 }] });
  });
});

describe('commands as messages: ESB → order-commands (sessions by orderId)', () => {
  const send = (messageId: string, messageType: string, payload: unknown) => call('POST', '/messages', { messageId, messageType, payload });

  test('CreateOrder, AddOrderItem and SubmitOrder messages are handled in order by the same service', async () => {
    expect((await send('cmd-1', 'CreateOrder', { orderId: 'via-bus', customerId: 'cust-bus', items: [line('SKU-A')] })).status).toBe(202);
    expect((await send('cmd-2', 'AddOrderItem', { orderId: 'via-bus', sku: 'SKU-B', quantity: 2, unitPrice: 3 })).status).toBe(202);
    expect((await send('cmd-3', 'SubmitOrder', { orderId: 'via-bus' })).status).toBe(202);
    await projected('via-bus', 4);
    expect((await call('GET', '/orders/via-bus')).body).toMatchObject({ status: 'submitted', itemCount: 3, total: 16 });
    // Each event names the message that caused it (the routed copy's id derives from it).
    const events = (await call('GET', '/orders/via-bus/events')).body.events as { metadata: { causationId: string; messageId: string } }[];
    expect(events.map((e) => e.metadata.causationId)).toEqual(['cmd-1', 'cmd-1', 'cmd-2', 'cmd-3']);
    expect(new Set(events.map((e) => e.metadata.messageId)).size).toBe(3);
  });

  test('a command that overtook its CreateOrder is tried again later and applied once the order exists', async () => {
    // The inbound queue is not FIFO: SubmitOrder can reach the order-commands session first.
    process.env.COMMAND_NOT_FOUND_RETRIES = '8';
    try {
      expect((await send('early-submit', 'SubmitOrder', { orderId: 'overtaken' })).status).toBe(202);
      await waitFor(() => running.logs.some((l) => /Order overtaken does not exist.*tried again in \d+ ms \(retry 1:/.test(l.message)), 'the first retry');
      expect((await send('late-create', 'CreateOrder', { orderId: 'overtaken', customerId: 'cust-bus', items: [line('SKU-A')] })).status).toBe(202);
      await projected('overtaken', 3);
    } finally {
      process.env.COMMAND_NOT_FOUND_RETRIES = '2';
    }
    expect((await call('GET', '/orders/overtaken')).body).toMatchObject({ status: 'submitted' });
    const events = (await call('GET', '/orders/overtaken/events')).body.events as { type: string; metadata: { causationId: string } }[];
    expect(events.map((e) => [e.type, e.metadata.causationId])).toEqual([
      ['OrderCreated', 'late-create'],
      ['ItemAdded', 'late-create'],
      ['OrderSubmitted', 'early-submit'],
    ]);
  });

  test('a rejected command is dead-lettered with the reason; the queue goes on', async () => {
    await send('cmd-bad', 'AddOrderItem', { orderId: 'no-such-order', sku: 'SKU-A', quantity: 1, unitPrice: 1 });
    const dead = await waitFor(
      () => running.host.broker.peek('order-commands/$deadletterqueue', { maxMessageCount: 50 }).find((m) => m.applicationProperties.messageType === 'AddOrderItem'),
      'the dead letter',
    );
    expect(dead.deadLetterReason).toBe('CommandTargetNotFound');
    expect(dead.deadLetterErrorDescription).toMatch(/no-such-order.*still after 2 retries/);
    await send('cmd-after', 'ReceiveStock', { sku: 'SKU-BUS', quantity: 3 });
    await waitFor(async () => (await call('GET', '/inventory/SKU-BUS')).status === 200, 'the next command');
  });
});

describe('integration events (the change feed as outbox → Event Hubs)', () => {
  const hubEvents = () => [0, 1, 2, 3].flatMap((p) => running.host.eventHubs.read('integration-events', p, -1, 100_000));
  const of = (streamId: string) => hubEvents().filter((e) => e.partitionKey === streamId);

  test("an order's lifecycle events are published in order to one partition, keyed by stream id; draft edits are not", async () => {
    const orderId = await newOrder([line('SKU-IE', 2, 7)], 'cust-ie');
    await call('POST', `/orders/${orderId}/submit`);
    await call('POST', `/orders/${orderId}/cancel`, { reason: 'ie test' });
    const published = await waitFor(() => of(`order-${orderId}`).length === 2 && of(`order-${orderId}`), 'two integration events');
    expect(new Set(published.map((e) => e.partition))).toEqual(new Set([partitionForKey(`order-${orderId}`, 4)]));
    const bodies = published.map((e) => JSON.parse(e.body.toString()) as { eventId: string; eventType: string; streamVersion: number; subject: string });
    expect(bodies.map((b) => [b.eventType, b.streamVersion])).toEqual([
      ['OrderSubmitted', 3],
      ['OrderCancelled', 4],
    ]);
    expect(bodies[0]).toMatchObject({ eventId: `order-${orderId}:3`, subject: orderId, data: { total: 14 } });
    expect(published[0]!.properties).toMatchObject({ eventType: 'OrderSubmitted', streamId: `order-${orderId}`, streamVersion: 3 });
    expect(published[0]!.messageId).toBe(`order-${orderId}:3`);
  });

  test('the sales-metric consumer (its own consumer group) counts submitted orders and cancellations in real time', async () => {
    const metric = async () =>
      (await call('GET', '/metrics/sales')).body as {
        totals: { orders: number; revenue: number; cancelled: number };
        lastHour: { orders: number };
        minutes: unknown[];
        partitions: { partition: string; lastSequenceNumber: number }[];
      };
    // The change feed is ordered, so the earlier tests' events are all on the hub by now; the
    // consumer may still be counting them: start from a metric that has caught up with the hub.
    const caughtUp = async () => {
      const m = await metric();
      const hub = hubEvents();
      return (
        [0, 1, 2, 3].every((p) => {
          const last = Math.max(-1, ...hub.filter((e) => e.partition === p).map((e) => e.sequenceNumber));
          return last === -1 || (m.partitions.find((d) => d.partition === String(p))?.lastSequenceNumber ?? -1) >= last;
        }) && m
      );
    };
    const before = await waitFor(caughtUp, 'the sales metric to catch up with the hub');
    const orderId = await newOrder([line('SKU-M', 1, 100)], 'cust-metric');
    await call('POST', `/orders/${orderId}/submit`);
    const after = await waitFor(async () => {
      const m = await metric();
      return m.totals.orders === before.totals.orders + 1 && m;
    }, 'the metric');
    expect(after.totals.revenue).toBe(before.totals.revenue + 100);
    expect(after.lastHour.orders).toBeGreaterThanOrEqual(1);
    expect(after.minutes.length).toBeGreaterThanOrEqual(1);
  });

  test('republishing through the producer adapter sends every integration event again with the same ids and keys', async () => {
    const countBefore = hubEvents().length;
    const published = new Set(hubEvents().map((e) => `${e.partitionKey}|${e.messageId}|${e.partition}`));
    const res = await call('POST', '/ops/integration-events/republish', { streamPrefixes: ['order-'] });
    expect(res.status).toBe(202);
    const job = await waitFor(async () => {
      const j = await call('GET', `/ops/jobs/${encodeURIComponent(res.body.job as string)}`);
      return j.body.phase === 'completed' && j.body;
    }, 'the republish job');
    const again = hubEvents().slice(countBefore);
    expect(again.length).toBe((job.result as { events: number }).events);
    expect(again.length).toBeGreaterThan(0);
    // The same events as the change feed published (same id, key and partition) — consumers de-duplicate.
    for (const e of again.filter((x) => x.partitionKey?.startsWith('order-'))) expect(published.has(`${e.partitionKey}|${e.messageId}|${e.partition}`)).toBe(true);
  });
});

describe('replay', () => {
  const strip = (d: Document) => {
    const rest: Record<string, unknown> = { ...d };
    for (const key of ['_etag', '_ts', '_lsn', '_rid', '_self', '_attachments', 'id', 'generation', 'updatedAt']) delete rest[key];
    return { ...rest, id: String(d.id).replace(/^g\d+:/, '') };
  };
  async function viewsOf(projection: string, generation: number) {
    const docs: Document[] = [];
    let continuation: string | undefined;
    do {
      const page = await running.host.documents.container('views').query<Document>({
        where: [
          { path: 'projection', op: '=', value: projection },
          { path: 'generation', op: '=', value: generation },
        ],
        limit: 500,
        continuation,
      });
      docs.push(...page.items);
      continuation = page.continuation;
    } while (continuation);
    return docs.map(strip).sort((a, b) => String(a.id).localeCompare(String(b.id)));
  }

  test.each(['order-summary', 'customer-orders', 'sales-report', 'inventory-availability'])('a rebuilt %s equals the live one, and replaces it', async (name) => {
    // Let the live projector catch up with everything written so far: its views stop changing.
    // (Not its status's eventsApplied: that is written at most every few seconds.)
    const projections = async () => (await call('GET', '/ops/projections')).body.projections as { name: string; activeGeneration: number; lastRebuild?: { phase: string; generation: number } }[];
    const before = (await projections()).find((p) => p.name === name)!;
    let live = await viewsOf(name, before.activeGeneration);
    await waitFor(async () => {
      await new Promise((r) => setTimeout(r, 300));
      const again = await viewsOf(name, before.activeGeneration);
      const stable = JSON.stringify(again) === JSON.stringify(live);
      live = again;
      return stable;
    }, `the live ${name} to settle`);
    expect(live.length).toBeGreaterThan(0);

    const res = await call('POST', `/ops/projections/${name}/rebuild`);
    expect(res.status).toBe(202);
    const after = await waitFor(
      async () => (await projections()).find((p) => p.name === name && p.lastRebuild?.phase === 'completed' && p.activeGeneration === before.activeGeneration + 1),
      `${name} rebuilt`,
    );
    expect(await viewsOf(name, after.activeGeneration)).toEqual(live);
    expect(await viewsOf(name, before.activeGeneration)).toEqual([]);
    // Queries read the new generation.
    if (name === 'order-summary') expect((await call('GET', '/orders/via-bus')).body).toMatchObject({ status: 'submitted' });
  });

  test('an unknown projection is 404', async () => {
    expect((await call('POST', '/ops/projections/nope/rebuild')).status).toBe(404);
  });
});
