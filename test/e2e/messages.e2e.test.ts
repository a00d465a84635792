// The first real path, end to end on the embedded host: POST /api/messages → inbound queue →
// processInbound; bad input answered with clear 4xx JSON; a handler that keeps failing ends in
// the dead-letter queue, visible and resubmittable through the ops endpoints.
import { repoRoot } from '../support/messaging-harness';
import { postJson, startHost, waitFor, type RunningHost } from '../support/host';

let running: RunningHost;
beforeAll(async () => {
  running = await startHost(repoRoot);
});
afterAll(() => running.stop());
afterEach(() => {
  delete process.env.FAULT_INJECTION;
});

const url = (path: string) => running.url(path);
const consumed = (messageId: string) => running.logs.filter((l) => l.message.startsWith('Consumed ') && l.message.includes(` ${messageId} `));
const order = (extra: Record<string, unknown> = {}) => ({ messageType: 'OrderPlaced', payload: { orderId: 'o-1', totalAmount: 120 }, ...extra });

describe('POST /api/messages accepts an envelope', () => {
  test('202 with generated ids; the message reaches the Service Bus–triggered consumer', async () => {
    const res = await postJson(url('/api/messages'), order());
    expect(res.status).toBe(202);
    const { messageId, correlationId } = res.json as { messageId: string; correlationId: string };
    expect(messageId).toMatch(/^[0-9a-f-]{36}$/);
    expect(correlationId).toMatch(/^[0-9a-f-]{36}$/);
    const line = await waitFor(() => consumed(messageId)[0], 'the consumer');
    expect(line.message).toContain(`correlationId ${correlationId}`);
  });

  test('ids the producer supplies are kept', async () => {
    const res = await postJson(url('/api/messages'), order({ messageId: 'msg-123', correlationId: 'req-456', causationId: 'msg-122' }));
    expect(res.status).toBe(202);
    expect(res.json).toEqual({ messageId: 'msg-123', correlationId: 'req-456' });
    await waitFor(() => consumed('msg-123')[0], 'the consumer');
  });

  test('the same Idempotency-Key gives the same ids and one enqueued message', async () => {
    const key = `key-${Date.now()}`;
    const first = await postJson(url('/api/messages'), order(), { 'Idempotency-Key': key });
    const second = await postJson(url('/api/messages'), order(), { 'Idempotency-Key': key });
    expect(first.status).toBe(202);
    expect(second.json).toEqual(first.json);
    const id = (first.json as { messageId: string }).messageId;
    await waitFor(() => consumed(id)[0], 'the consumer');
    await waitFor(() => (running.host.broker.runtimeProperties('inbound') as { totalMessageCount: number }).totalMessageCount === 0, 'an empty queue');
    expect(consumed(id)).toHaveLength(1);
  });

  test('headers.ttl becomes the message time to live', async () => {
    process.env.FAULT_INJECTION = JSON.stringify({ processInbound: 1 }); // keep it in the queue to look at
    const res = await postJson(url('/api/messages'), order({ messageId: 'ttl-msg', headers: { ttl: 30 } }));
    expect(res.status).toBe(202);
    // Wherever the failing consumer has left it by now: still queued, or already dead-lettered.
    const m = ['inbound', 'inbound/$deadletterqueue']
      .flatMap((path) => running.host.broker.peek(path, { maxMessageCount: 100 }))
      .find((p) => p.messageId === 'ttl-msg')!;
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
  ])('400 for %s, naming %s', async (_what, target, body) => {
    const res = await postJson(url('/api/messages'), body);
    expect(res.status).toBe(400);
    expect(res.json).toMatchObject({ error: { code: 'ValidationFailed', target } });
    expect(String((res.json as { error: { message: string } }).error.message)).toContain(target);
  });

  test.each([
    ['truncated JSON', '{"messageType":"OrderPlaced","payload":{'],
    ['a JSON array', '[1,2,3]'],
    ['an empty body', ''],
    ['deeply nested JSON', `{"messageType":"OrderPlaced","payload":${'{"a":'.repeat(200)}1${'}'.repeat(200)}}`],
  ])('400 for %s', async (_what, body) => {
    const res = await postJson(url('/api/messages'), body);
    expect(res.status).toBe(400);
    expect(res.json).toMatchObject({ error: { code: 'ValidationFailed' } });
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
    const res = await postJson(url('/api/messages'), order({ payload: { blob: 'x'.repeat(270 * 1024) } }));
    expect(res.status).toBe(413);
    expect(res.json).toMatchObject({ error: { code: 'PayloadTooLarge' } });
  });

  test.each([
    ['text/plain', 'text/plain'],
    ['application/xml', 'application/xml'],
    ['a latin-1 charset', 'application/json; charset=iso-8859-1'],
  ])('415 for %s', async (_what, contentType) => {
    const res = await postJson(url('/api/messages'), order(), { 'content-type': contentType });
    expect(res.status).toBe(415);
    expect(res.json).toMatchObject({ error: { code: 'UnsupportedMediaType', target: 'Content-Type' } });
  });
});

describe('dead letters through the ops endpoints', () => {
  test('a consumer that keeps failing dead-letters after maxDeliveryCount; ops shows why and resubmits it', async () => {
    process.env.FAULT_INJECTION = JSON.stringify({ processInbound: 1 });
    const res = await postJson(url('/api/messages'), order({ messageId: 'doomed-1' }));
    expect(res.status).toBe(202);

    const listing = await waitFor(async () => {
      const r = await fetch(url('/api/ops/deadletters?entity=inbound'));
      const body = (await r.json()) as { deadLetters: { messageId: string }[] };
      return body.deadLetters.find((d) => d.messageId === 'doomed-1') ? body : undefined;
    }, 'the dead letter to be listed');
    const dead = listing.deadLetters.find((d) => d.messageId === 'doomed-1') as Record<string, unknown>;
    expect(dead).toMatchObject({
      deadLetterReason: 'MaxDeliveryCountExceeded',
      deadLetterErrorDescription: 'Message could not be consumed after 10 delivery attempts.',
      deliveryCount: 10,
      messageType: 'OrderPlaced',
      body: { messageId: 'doomed-1', messageType: 'OrderPlaced' },
    });
    const depths = (await (await fetch(url('/api/ops/entities'))).json()) as { entities: { path: string; deadLetterMessageCount: number }[] };
    expect(depths.entities.find((e) => e.path === 'inbound')!.deadLetterMessageCount).toBeGreaterThanOrEqual(1);

    delete process.env.FAULT_INJECTION;
    const resubmit = await postJson(url(`/api/ops/deadletters/${String(dead.sequenceNumber)}/resubmit?entity=inbound`), '');
    expect(resubmit.status).toBe(200);
    expect(resubmit.json).toMatchObject({ entity: 'inbound', resubmitted: { messageId: 'doomed-1#r1' } });
    // The envelope keeps its own messageId: the consumer sees the same business message.
    await waitFor(() => consumed('doomed-1')[0], 'the resubmitted message to be consumed');
  });

  test('ops answers 400/404 for a missing or unknown entity and an unknown dead letter', async () => {
    expect((await fetch(url('/api/ops/deadletters'))).status).toBe(400);
    expect((await fetch(url('/api/ops/deadletters?entity=nope'))).status).toBe(404);
    expect((await fetch(url('/api/ops/deadletters?entity=inbound&max=0'))).status).toBe(400);
    const missing = await postJson(url('/api/ops/deadletters/999999/resubmit?entity=inbound'), '');
    expect(missing).toMatchObject({ status: 404, json: { error: { code: 'NotFound', target: 'sequenceNumber' } } });
  });
});

test('GET /api/health answers 200 with the messaging check', async () => {
  const res = await fetch(url('/api/health'));
  expect(res.status).toBe(200);
  expect(await res.json()).toMatchObject({ status: 'Healthy', checks: { messaging: { status: 'Healthy', adapter: 'embedded' } } });
});
