// The input limits through the embedded host: each one answered with its status and a JSON error
// naming the setting (413 for size, 400 InputLimitExceeded otherwise) on the ingress in all four
// formats and on the command API, a limit changed by its app setting without a restart, the
// host's own request body limit (FUNCTIONS_REQUEST_BODY_SIZE_LIMIT, here lowered to 1 MiB), and
// a message past the limits put straight on the inbound queue dead-lettered with the reason.
import { SchemaRegistry } from '../../src/esb/schemas';
import { encodeAvro } from '../../src/esb/formats/avro';
import { signedByApp } from '../support/keys';
import { startHost, waitFor, type RunningHost } from '../support/host';
import { repoRoot } from '../support/messaging-harness';

const HOST_LIMIT = 1024 * 1024;
const registry = SchemaRegistry.load();
const order = { orderId: 'o-1', customerId: 'c-1', items: [{ sku: 'A-1', quantity: 1, unitPrice: 20 }], totalAmount: 20, currency: 'EUR' };

let running: RunningHost;
beforeAll(async () => {
  process.env.SAGA_AUTOSTART = 'false';
  process.env.FUNCTIONS_REQUEST_BODY_SIZE_LIMIT = String(HOST_LIMIT);
  running = await startHost(repoRoot);
});
afterAll(async () => {
  await running.stop();
  delete process.env.SAGA_AUTOSTART;
  delete process.env.FUNCTIONS_REQUEST_BODY_SIZE_LIMIT;
});

interface Answer {
  status: number;
  error: { code: string; message: string; target?: string; details?: { target: string; message: string }[] };
}

async function post(path: string, body: string | Uint8Array, headers: Record<string, string>): Promise<Answer> {
  const res = await fetch(running.url(path), { method: 'POST', headers, body });
  const text = await res.text();
  return { status: res.status, error: (JSON.parse(text) as { error: Answer['error'] }).error };
}

const json = { 'content-type': 'application/json' };
const message = (payload: unknown) => JSON.stringify({ messageType: 'OrderPlaced', payload });

describe('body size: 413 naming the limit', () => {
  test('a message over INPUT_MAX_BODY_BYTES (declared length, refused before the body is decoded)', async () => {
    const a = await post('/api/messages', message({ ...order, note: 'x'.repeat(300_000) }), json);
    expect(a).toMatchObject({ status: 413, error: { code: 'PayloadTooLarge' } });
    expect(a.error.message).toMatch(/The body is \d+ bytes; the limit is 262144 \(INPUT_MAX_BODY_BYTES\)/);
  });

  test('a command over INPUT_MAX_BODY_BYTES', async () => {
    const a = await post('/api/orders', JSON.stringify({ customerId: 'c', items: [], pad: 'x'.repeat(300_000) }), json);
    expect(a).toMatchObject({ status: 413, error: { code: 'PayloadTooLarge', details: [{ target: 'INPUT_MAX_BODY_BYTES' }] } });
  });

  test('a CSV batch is measured against INPUT_MAX_BATCH_BYTES instead', async () => {
    const rows = Array.from({ length: 1100 }, (_, i) => `"o-${i}","c-1","A-1",1,20,20,"EUR"`).join('\n');
    const csv = `orderId,customerId,items[0].sku,items[0].quantity,items[0].unitPrice,totalAmount,currency\n${rows}\n`;
    expect(Buffer.byteLength(csv)).toBeGreaterThan(262144 / 8);
    process.env.INPUT_MAX_BATCH_BYTES = '4096';
    try {
      const a = await post('/api/messages', csv, { 'content-type': 'text/csv', 'x-schema': 'OrderPlaced.v1' });
      expect(a).toMatchObject({ status: 413, error: { code: 'PayloadTooLarge' } });
      expect(a.error.message).toMatch(/the limit is 4096 \(INPUT_MAX_BATCH_BYTES\)/);
    } finally {
      delete process.env.INPUT_MAX_BATCH_BYTES;
    }
  });

  test("over the host's limit the host answers 413 itself, for a declared length and for a streamed body, and keeps serving", async () => {
    const declared = await post('/api/messages', 'x'.repeat(HOST_LIMIT + 1), json);
    expect(declared).toMatchObject({ status: 413, error: { code: 'PayloadTooLarge' } });
    expect(declared.error.message).toContain('FUNCTIONS_REQUEST_BODY_SIZE_LIMIT');
    const chunk = new Uint8Array(64 * 1024).fill(0x20);
    let sent = 0;
    const stream = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (sent > 4 * HOST_LIMIT) return controller.close();
        sent += chunk.length;
        controller.enqueue(chunk);
      },
    });
    const res = await fetch(running.url('/api/messages'), { method: 'POST', headers: json, body: stream, duplex: 'half' } as RequestInit);
    expect(res.status).toBe(413);
    expect(res.headers.get('connection')).toBe('close');
    expect(((await res.json()) as Answer).error.code).toBe('PayloadTooLarge');
    expect((await fetch(running.url('/api/health'))).status).toBe(200);
  });
});

describe('nesting, string and array length: 400 InputLimitExceeded naming the setting and the field', () => {
  test.each([
    ['JSON nesting', message({ ...order, extra: JSON.parse(`${'{"a":'.repeat(40)}1${'}'.repeat(40)}`) as unknown }), json, 'INPUT_MAX_DEPTH', `payload.extra${'.a'.repeat(30)}`],
    ['a JSON string', message({ ...order, orderId: 'x'.repeat(40_000) }), json, 'INPUT_MAX_STRING_LENGTH', 'payload.orderId'],
    ['a JSON array', message({ ...order, items: Array.from({ length: 1001 }, () => order.items[0]) }), json, 'INPUT_MAX_ARRAY_LENGTH', 'payload.items'],
    ['XML nesting', `<message messageType="OrderPlaced"><payload>${'<a>'.repeat(40)}1${'</a>'.repeat(40)}</payload></message>`, { 'content-type': 'application/xml' }, 'INPUT_MAX_DEPTH', undefined],
    [
      'an XML text',
      `<message messageType="OrderPlaced"><payload><orderId>${'x'.repeat(40_000)}</orderId></payload></message>`,
      { 'content-type': 'application/xml' },
      'INPUT_MAX_STRING_LENGTH',
      'message/payload/orderId',
    ],
    [
      'XML children',
      `<message messageType="OrderPlaced"><payload><items>${'<item/>'.repeat(1001)}</items></payload></message>`,
      { 'content-type': 'application/xml' },
      'INPUT_MAX_ARRAY_LENGTH',
      'message/payload/items',
    ],
    ['a CSV cell', `orderId,customerId\n"${'x'.repeat(40_000)}",c\n`, { 'content-type': 'text/csv', 'x-schema': 'OrderPlaced.v1' }, 'INPUT_MAX_STRING_LENGTH', 'rows[0]'],
    ['a CSV column index', 'items[5000].sku\nA\n', { 'content-type': 'text/csv', 'x-schema': 'OrderPlaced.v1' }, 'INPUT_MAX_ARRAY_LENGTH', 'items[5000].sku'],
    ['a command string', JSON.stringify({ customerId: 'c'.repeat(40_000), items: [] }), json, 'INPUT_MAX_STRING_LENGTH', 'customerId'],
  ])('%s', async (_what, body, headers, setting, target) => {
    const path = _what.startsWith('a command') ? '/api/orders' : '/api/messages';
    const a = await post(path, body, headers);
    expect(a).toMatchObject({ status: 400, error: { code: 'InputLimitExceeded' } });
    expect(a.error.message).toContain(`(${setting})`);
    if (target !== undefined) expect(a.error.target).toBe(target);
  });

  test('an Avro array block over the limit is refused before it is decoded', async () => {
    const bytes = Buffer.from([2, 0x6f, 2, 0x63, 0, 0x80, 0xa8, 0xd6, 0xb9, 0x07]); // claims a billion items
    const a = await post('/api/messages', bytes, { 'content-type': 'avro/binary', 'x-schema': 'OrderPlaced.v1' });
    expect(a).toMatchObject({ status: 400, error: { code: 'InputLimitExceeded', target: 'items' } });
    const valid = await fetch(running.url('/api/messages'), {
      method: 'POST',
      headers: { 'content-type': 'avro/binary', 'x-schema': 'OrderPlaced.v1' },
      body: encodeAvro(registry.get('OrderPlaced.v1'), order),
    });
    expect(valid.status).toBe(202);
  });

  test('a limit follows its app setting without a restart', async () => {
    const body = message({ ...order, shippingAddress: { line1: 'l', city: 'c', postalCode: 'p', country: 'DE' } });
    expect((await fetch(running.url('/api/messages'), { method: 'POST', headers: json, body })).status).toBe(202);
    process.env.INPUT_MAX_DEPTH = '2';
    try {
      const a = await post('/api/messages', body, json);
      expect(a).toMatchObject({ status: 400, error: { code: 'InputLimitExceeded', target: 'payload.items' } });
      expect(a.error.message).toBe('The JSON is nested more than 2 levels deep (INPUT_MAX_DEPTH)');
    } finally {
      delete process.env.INPUT_MAX_DEPTH;
    }
  });
});

describe('on the queue: dead-lettered InputLimitExceeded, then parked for review', () => {
  test('a dead letter whose properties fill the 64 KB header is still parked: its own largest properties give way (found by fuzzing)', async () => {
    const applicationProperties = { big: 'x'.repeat(40_000), bigger: 'y'.repeat(25_400), small: 's' };
    // Signed with the app's key: what is wrong with it is its body, not its signature.
    await running.host.broker.send('inbound', [signedByApp({ body: Buffer.from('not an envelope'), messageId: 'fat-props', contentType: 'text/plain', applicationProperties }, 'inbound')]);
    const parked = await waitFor(() => running.host.broker.peek('review', { maxMessageCount: 250 }).find((m) => m.applicationProperties['x-original-message-id'] === 'fat-props'), 'the review queue');
    expect(parked.applicationProperties).toMatchObject({ 'x-dead-letter-reason': 'InvalidEnvelope', 'x-dropped-properties': 'big', bigger: 'y'.repeat(25_400), small: 's' });
    expect(running.logs.filter((l) => l.level === 'error' && /triageInboundDeadLetters' \(Failed/.test(l.message))).toEqual([]);
  });

  test('a dead letter whose body is at the size limit, with no room for any copy, stays deferred in the dead-letter queue (found by fuzzing)', async () => {
    const body = Buffer.alloc(262_144 - 'at-the-limit'.length - 'text/plain'.length, 0x61);
    await running.host.broker.send('inbound', [{ body, messageId: 'at-the-limit', contentType: 'text/plain' }]);
    const deferred = await waitFor(
      () => running.host.broker.peek('inbound/$deadletterqueue', { maxMessageCount: 250 }).find((m) => m.messageId === 'at-the-limit' && m.applicationProperties['x-triage-error'] !== undefined),
      'the dead letter to be set aside',
    );
    expect(deferred.state).toBe('deferred');
    expect(deferred.body.length).toBe(body.length);
    expect(String(deferred.applicationProperties['x-triage-error'])).toMatch(/accepts at most 262144/);
    // The function logs after the deferral commits, so the line may trail the message's new state.
    await waitFor(() => running.logs.find((l) => l.message.includes('Triage of at-the-limit: too large to copy anywhere')), 'the triage log line');
    expect(running.logs.filter((l) => l.level === 'error' && /triageInboundDeadLetters' \(Failed/.test(l.message))).toEqual([]);
  });

  test('an envelope past the nesting limit, sent by another producer straight to inbound', async () => {
    const envelope = {
      messageId: 'too-deep',
      messageType: 'OrderPlaced',
      schemaVersion: 1,
      correlationId: 'c',
      timestamp: new Date().toISOString(),
      headers: {},
      payload: JSON.parse(`${'{"a":'.repeat(100)}1${'}'.repeat(100)}`) as unknown,
    };
    // Signed with the app's key: the limit, not the signature, is what stops it.
    await running.host.broker.send('inbound', [signedByApp({ body: Buffer.from(JSON.stringify(envelope)), messageId: 'too-deep', contentType: 'application/json' }, 'inbound')]);
    const parked = await waitFor(
      () => running.host.broker.peek('review', { maxMessageCount: 250 }).find((m) => m.applicationProperties['x-original-message-id'] === 'too-deep' || m.messageId === 'too-deep'),
      'the review queue',
    );
    expect(parked.applicationProperties).toMatchObject({ 'x-dead-letter-reason': 'InputLimitExceeded', 'x-dead-letter-category': 'INVALID_FORMAT', 'x-original-entity': 'inbound' });
    expect(String(parked.applicationProperties['x-dead-letter-description'])).toContain('INPUT_MAX_DEPTH');
    expect(running.logs.filter((l) => l.level === 'error' && /routeMessage' \(Failed/.test(l.message))).toEqual([]);
  });
});
