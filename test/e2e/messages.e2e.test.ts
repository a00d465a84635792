// The first real path, end to end on the embedded host: POST /api/messages → inbound queue →
// the router; bad input answered with clear 4xx JSON; a message the router keeps failing on is
// dead-lettered after maxDeliveryCount, and the ops endpoints show why and send it back.
import { repoRoot } from '../support/messaging-harness';
import { postJson, startHost, waitFor, type RunningHost } from '../support/host';
import { signedByApp } from '../support/keys';

let running: RunningHost;
beforeAll(async () => {
  running = await startHost(repoRoot);
});
afterAll(() => running.stop());
afterEach(() => {
  delete process.env.FAULT_INJECTION;
});

const url = (path: string) => running.url(path);
const routed = (messageId: string) => running.logs.filter((l) => l.message.startsWith('Routed ') && l.message.includes(` ${messageId} `));
const payload = { orderId: 'o-1', customerId: 'c-1', items: [{ sku: 'A-1', quantity: 2, unitPrice: 60 }], totalAmount: 120, currency: 'EUR' };
const order = (extra: Record<string, unknown> = {}) => ({ messageType: 'OrderPlaced', payload, ...extra });

describe('POST /api/messages accepts an envelope', () => {
  test('202 with generated ids; the router gets the message', async () => {
    const res = await postJson(url('/api/messages'), order());
    expect(res.status).toBe(202);
    const { messageId, correlationId } = res.json as { messageId: string; correlationId: string };
    expect(messageId).toMatch(/^[0-9a-f-]{36}$/);
    expect(correlationId).toMatch(/^[0-9a-f-]{36}$/);
    const line = await waitFor(() => routed(messageId)[0], 'the router');
    expect(line.message).toContain(`correlationId ${correlationId}`);
  });

  test('ids the producer supplies are kept', async () => {
    const res = await postJson(url('/api/messages'), order({ messageId: 'msg-123', correlationId: 'req-456', causationId: 'msg-122' }));
    expect(res.status).toBe(202);
    expect(res.json).toEqual({ messageId: 'msg-123', correlationId: 'req-456' });
    await waitFor(() => routed('msg-123')[0], 'the router');
  });

  test('the same Idempotency-Key gives the same ids and one enqueued message', async () => {
    const key = `key-${Date.now()}`;
    const first = await postJson(url('/api/messages'), order(), { 'Idempotency-Key': key });
    const second = await postJson(url('/api/messages'), order(), { 'Idempotency-Key': key });
    expect(first.status).toBe(202);
    expect(second.json).toEqual(first.json);
    const id = (first.json as { messageId: string }).messageId;
    await waitFor(() => routed(id)[0], 'the router');
    await waitFor(() => (running.host.broker.runtimeProperties('inbound') as { totalMessageCount: number }).totalMessageCount === 0, 'an empty queue');
    expect(routed(id)).toHaveLength(1);
  });

  test('headers.ttl becomes the message time to live', async () => {
    process.env.FAULT_INJECTION = JSON.stringify({ routeMessage: 1 }); // keep it unrouted to look at it
    const res = await postJson(url('/api/messages'), order({ messageId: 'ttl-msg', headers: { ttl: 30 } }));
    expect(res.status).toBe(202);
    // Wherever the failing router has left it by now: still queued, or already dead-lettered.
    const m = ['inbound', 'inbound/$deadletterqueue', 'archive'].flatMap((path) => running.host.broker.peek(path, { maxMessageCount: 100 })).find((p) => p.messageId === 'ttl-msg')!;
    expect(m.timeToLiveMs).toBe(30_000);
    expect(m.applicationProperties).toMatchObject({ messageType: 'OrderPlaced', schemaVersion: 1, priority: 'normal' });
  });
});

describe('POST /api/messages refuses bad input with a clear 4xx', () => {
  test.each([
    ['a missing messageType', 'messageType', { payload: {} }],
    ['a payload that is not an object', 'payload', { messageType: 'OrderPlaced', payload: [1] }],
    ['an unknown priority', 'headers.priority', order({ headers: { priority: 'asap' } })],
    ['a ttl of zero', 'headers.ttl', order({ headers: { ttl: 0 } })],
    ['a malformed timestamp', 'timestamp', order({ timestamp: 'yesterday' })],
    ['an unknown top-level field', 'connectionString', order({ connectionString: 'x' })],
    ['a lower-case messageType', 'messageType', { messageType: 'orderPlaced', payload: {} }],
    ['a messageId over 128 characters', 'messageId', order({ messageId: 'x'.repeat(129) })],
    ['a messageType without a schema', 'messageType', { messageType: 'NoSuchThing', payload: {} }],
    ['a payload field that breaks its schema', 'payload.items[0].quantity', order({ payload: { ...payload, items: [{ sku: 'A', quantity: -1, unitPrice: 1 }] } })],
    ['a missing required payload field', 'payload.currency', order({ payload: { ...payload, currency: undefined } })],
  ])('400 for %s, naming %s', async (_what, target, body) => {
    const res = await postJson(url('/api/messages'), body);
    expect(res.status).toBe(400);
    expect(res.json).toMatchObject({ error: { code: 'ValidationFailed', target } });
    expect(String((res.json as { error: { message: string } }).error.message)).toContain(target);
  });

  test.each([
    ['truncated JSON', '{"messageType":"OrderPlaced","payload":{', 'ValidationFailed'],
    ['a JSON array', '[1,2,3]', 'ValidationFailed'],
    ['an empty body', '', 'ValidationFailed'],
    ['deeply nested JSON', `{"messageType":"OrderPlaced","payload":${'{"a":'.repeat(200)}1${'}'.repeat(200)}}`, 'InputLimitExceeded'],
  ])('400 for %s', async (_what, body, code) => {
    const res = await postJson(url('/api/messages'), body);
    expect(res.status).toBe(400);
    expect(res.json).toMatchObject({ error: { code } });
  });

  test('400 for a body that is not UTF-8', async () => {
    const res = await fetch(url('/api/messages'), {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: Buffer.from([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x7d]),
    });
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ error: { message: 'The body is not valid UTF-8' } });
  });

  test('400 for an Idempotency-Key with spaces', async () => {
    const res = await postJson(url('/api/messages'), order(), { 'Idempotency-Key': 'has spaces' });
    expect(res).toMatchObject({ status: 400, json: { error: { target: 'Idempotency-Key' } } });
  });

  test('413 for a message over the 256 KB Service Bus limit', async () => {
    const res = await postJson(url('/api/messages'), order({ headers: { note: 'x'.repeat(270 * 1024) } }));
    expect(res.status).toBe(413);
    expect(res.json).toMatchObject({ error: { code: 'PayloadTooLarge' } });
  });

  test.each([
    ['text/plain', 'text/plain'],
    ['application/x-www-form-urlencoded', 'application/x-www-form-urlencoded'],
    ['a latin-1 charset', 'application/json; charset=iso-8859-1'],
  ])('415 for %s', async (_what, contentType) => {
    const res = await postJson(url('/api/messages'), order(), { 'content-type': contentType });
    expect(res.status).toBe(415);
    expect(res.json).toMatchObject({ error: { code: 'UnsupportedMediaType', target: 'Content-Type' } });
  });
});

describe('dead letters through the ops endpoints', () => {
  test('a message the router keeps failing on is dead-lettered after maxDeliveryCount; ops shows why and sends it back', async () => {
    process.env.FAULT_INJECTION = JSON.stringify({ routeMessage: 1 });
    // Sent straight to the queue, as another producer holding the signing key would; its triage
    // budget is spent, so dead-letter triage archives it rather than resubmitting it later.
    const envelope = { messageId: 'doomed-1', messageType: 'OrderPlaced', schemaVersion: 1, correlationId: 'corr-doomed', timestamp: new Date().toISOString(), headers: {}, payload };
    await running.host.broker.send('inbound', [
      signedByApp(
        { body: Buffer.from(JSON.stringify(envelope)), messageId: 'doomed-1', contentType: 'application/json', applicationProperties: { messageType: 'OrderPlaced', 'x-triage-resubmits': 3 } },
        'inbound',
      ),
    ]);
    const listing = await waitFor(async () => {
      const body = (await (await fetch(url('/api/ops/deadletters?entity=archive&reason=MaxDeliveryCountExceeded'))).json()) as { deadLetters: { messageId: string }[] };
      return body.deadLetters.find((d) => d.messageId === 'doomed-1') ? body : undefined;
    }, 'the dead letter to be archived by triage');
    const dead = listing.deadLetters.find((d) => d.messageId === 'doomed-1') as Record<string, unknown>;
    expect(dead).toMatchObject({
      deadLetterReason: 'MaxDeliveryCountExceeded',
      deadLetterErrorDescription: 'Message could not be consumed after 10 delivery attempts.',
      category: 'TRANSIENT',
      originalEntity: 'inbound',
      messageType: 'OrderPlaced',
      body: { messageId: 'doomed-1', messageType: 'OrderPlaced' },
    });
    expect(running.logs.some((l) => l.message.includes('Triage: doomed-1 (MaxDeliveryCountExceeded, TRANSIENT) moved to archive'))).toBe(true);
    const depths = (await (await fetch(url('/api/ops/entities'))).json()) as { entities: { path: string; activeMessageCount: number }[] };
    expect(depths.entities.find((e) => e.path === 'archive')!.activeMessageCount).toBeGreaterThanOrEqual(1);

    delete process.env.FAULT_INJECTION;
    const resubmit = await postJson(url(`/api/ops/deadletters/${String(dead.sequenceNumber)}/resubmit?entity=archive`), '');
    expect(resubmit.status).toBe(200);
    expect(resubmit.json).toMatchObject({ entity: 'archive', resubmitted: { messageId: 'doomed-1#r1' } });
    // The envelope keeps its own messageId: the router sees the same business message.
    await waitFor(() => routed('doomed-1')[0], 'the resubmitted message to be routed');
  });

  test('ops answers 400/404 for a missing or unknown entity and an unknown dead letter', async () => {
    expect((await fetch(url('/api/ops/deadletters'))).status).toBe(400);
    expect((await fetch(url('/api/ops/deadletters?entity=nope'))).status).toBe(404);
    expect((await fetch(url('/api/ops/deadletters?entity=inbound&max=0'))).status).toBe(400);
    expect((await fetch(url('/api/ops/deadletters?entity=inbound&category=SOMETIMES'))).status).toBe(400);
    const missing = await postJson(url('/api/ops/deadletters/999999/resubmit?entity=inbound'), '');
    expect(missing).toMatchObject({ status: 404, json: { error: { code: 'NotFound', target: 'sequenceNumber' } } });
    expect((await fetch(url('/api/ops/deadletters?entity=review'), { method: 'DELETE' })).status).toBe(400);
  });
});

test('GET /api/health answers 200 with the messaging check', async () => {
  const res = await fetch(url('/api/health'));
  expect(res.status).toBe(200);
  expect(await res.json()).toMatchObject({ status: 'Healthy', checks: { messaging: { status: 'Healthy', adapter: 'embedded' } } });
});
