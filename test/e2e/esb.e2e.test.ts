// The ESB through the embedded host: every format in, the right document out at every
// destination, bad input answered or dead-lettered with a reason (never a 5xx, never silence),
// dead-letter categories triaged, and the idempotent receiver holding across a restart.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { outgoingMessageId } from '../../src/esb/router';
import { SchemaRegistry } from '../../src/esb/schemas';
import { postJson, startHost, waitFor, type RunningHost } from '../support/host';
import { signedByApp } from '../support/keys';
import { repoRoot } from '../support/messaging-harness';

const registry = SchemaRegistry.load();
const order = { orderId: 'o-100', customerId: 'c-1', items: [{ sku: 'A-1', quantity: 3, unitPrice: 20 }], totalAmount: 60, currency: 'EUR' };
const samples = join(repoRoot, 'config', 'samples');

let dir: string;
let running: RunningHost;
beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'esb-'));
  running = await startHost(repoRoot, { database: join(dir, 'esb.sqlite') });
});
afterAll(async () => {
  await running.stop();
  rmSync(dir, { recursive: true, force: true });
});

const url = (path: string) => running.url(path);
const post = (body: string | Buffer, headers: Record<string, string>) => fetch(url('/api/messages'), { method: 'POST', headers, body });
const log = (text: string) => running.logs.find((l) => l.message.includes(text));
/** Messages on an entity whose causation (or own) id is the inbound messageId. */
const at = (path: string, inboundId: string) => running.host.broker.peek(path, { maxMessageCount: 250 }).filter((m) => m.applicationProperties.causationId === inboundId || m.messageId === inboundId);

describe('formats in: JSON, XML, partner XML, Avro, CSV', () => {
  test('a JSON order reaches the warehouse as XML, the audit log as CSV and the order-events topic as JSON', async () => {
    const res = await postJson(url('/api/messages'), { messageId: 'fmt-json', messageType: 'OrderPlaced', payload: order });
    expect(res.status).toBe(202);
    await waitFor(() => log('Routed OrderPlaced fmt-json'), 'routing');
    const [fulfilment] = at('fulfilment', 'fmt-json');
    expect(fulfilment!.contentType).toBe('application/xml');
    expect(fulfilment!.body.toString()).toContain('<message messageId="');
    expect(fulfilment!.body.toString()).toContain('messageType="FulfilmentRequest"');
    const [audit] = at('audit-log', 'fmt-json');
    expect(audit!.contentType).toBe('text/csv');
    expect(audit!.body.toString().split('\n')[0]).toBe('"orderId","customerId","items[0].sku","items[0].quantity","items[0].unitPrice","totalAmount","currency"');
    const [event] = at('order-events/subscriptions/analytics', 'fmt-json');
    expect(JSON.parse(event!.body.toString())).toMatchObject({ messageType: 'OrderPlaced', causationId: 'fmt-json', payload: order });
  });

  test('an XML envelope (the documented mapping) is routed like the JSON one', async () => {
    const res = await post(readFileSync(join(samples, 'order-placed.xml')), { 'content-type': 'application/xml' });
    expect(res.status).toBe(202);
    const { messageId } = (await res.json()) as { messageId: string };
    await waitFor(() => log(`Routed OrderPlaced ${messageId}`), 'routing');
    expect(at('fulfilment', messageId)).toHaveLength(1);
  });

  test("a partner's purchase order (its own XML) becomes a canonical order and is routed again", async () => {
    const res = await post(readFileSync(join(samples, 'partner-order.xml')), { 'content-type': 'application/xml', 'x-message-id': 'po-e2e' });
    expect(res.status).toBe(202);
    await waitFor(() => log('Routed PartnerOrder po-e2e'), 'the partner order to be routed');
    const canonical = outgoingMessageId('po-e2e', 'partner_orders', 0);
    const line = await waitFor(() => log(`Routed OrderPlaced ${canonical}`), 'the canonical order to be routed');
    expect(line.message).toContain('fulfilment (FulfilmentRequest.v1, xml)');
    const [event] = at('order-events/subscriptions/analytics', canonical);
    expect(JSON.parse(event!.body.toString())).toMatchObject({ payload: { orderId: 'PO-77812', customerId: 'partner:MKT-5531', channel: 'partner', totalAmount: 148.97 } });
  });

  test('an Avro payment (X-Schema names its schema) reaches the finance queue as Avro', async () => {
    const res = await post(readFileSync(join(samples, 'payment-received.avro')), { 'content-type': 'avro/binary', 'x-schema': 'PaymentReceived.v1', 'x-message-id': 'pay-e2e' });
    expect(res.status).toBe(202);
    await waitFor(() => log('Routed PaymentReceived pay-e2e'), 'routing');
    const [finance] = at('finance', 'pay-e2e');
    expect(finance!.contentType).toBe('avro/binary');
    expect(registry.get('PaymentReceived.v1').avro!.fromBuffer(finance!.body)).toMatchObject({ paymentId: 'pay-778', method: 'card' });
    expect(at('payment-events/subscriptions/card-payments', 'pay-e2e')).toHaveLength(1);
  });

  test('a CSV batch answers one messageId per row; each row is routed, in order per SKU', async () => {
    const res = await post(readFileSync(join(samples, 'inventory-adjustments.csv')), { 'content-type': 'text/csv', 'x-message-type': 'InventoryAdjusted' });
    expect(res.status).toBe(202);
    const batch = (await res.json()) as { count: number; messages: { row: number; messageId: string }[] };
    expect(batch.count).toBe(4);
    for (const m of batch.messages) await waitFor(() => log(`Routed InventoryAdjusted ${m.messageId}`), `row ${m.row}`);
    const sessions = running.host.broker.peek('inventory-updates', { maxMessageCount: 250 }).map((m) => m.sessionId);
    expect(sessions).toEqual(expect.arrayContaining(['SKU-1', 'SKU-2']));
  });
});

describe('bad input: a 4xx with a clear JSON error — never a 5xx, never a crash', () => {
  const billionLaughs = `<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;"><!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]><message messageType="OrderPlaced"><payload>&lol3;</payload></message>`;
  const externalEntity = `<?xml version="1.0"?><!DOCTYPE x [<!ENTITY xxe SYSTEM "file:///etc/passwd">]><message messageType="OrderPlaced"><payload>&xxe;</payload></message>`;
  const deepXml = `<message messageType="OrderPlaced"><payload>${'<a>'.repeat(500)}x${'</a>'.repeat(500)}</payload></message>`;
  const cases: [string, number, string | Buffer, Record<string, string>][] = [
    ['truncated JSON', 400, '{"messageType":"OrderPlaced","payload":{"orderId":', { 'content-type': 'application/json' }],
    ['XML with entity expansion (billion laughs)', 400, billionLaughs, { 'content-type': 'application/xml' }],
    ['XML with an external entity', 400, externalEntity, { 'content-type': 'application/xml' }],
    ['malformed XML', 400, '<message messageType="OrderPlaced"><payload></message>', { 'content-type': 'application/xml' }],
    ['deeply nested XML', 400, deepXml, { 'content-type': 'application/xml' }],
    ['deeply nested JSON', 400, `{"messageType":"OrderPlaced","payload":${'['.repeat(100)}${']'.repeat(100)}}`, { 'content-type': 'application/json' }],
    ['Avro bytes that do not match the named schema', 400, Buffer.from([0x02, 0x41, 0xff, 0xff, 0xff]), { 'content-type': 'avro/binary', 'x-schema': 'OrderPlaced.v1' }],
    ['Avro naming a schema that has no Avro form', 400, Buffer.from([0]), { 'content-type': 'avro/binary', 'x-schema': 'OrderCancelled.v1' }],
    ['a CSV row whose columns do not match the header', 400, 'sku,warehouse,delta,reason\nA,W,1\n', { 'content-type': 'text/csv', 'x-message-type': 'InventoryAdjusted' }],
    ['a CSV column that is not a field path', 400, 'sku,ware..house\nA,W\n', { 'content-type': 'text/csv', 'x-message-type': 'InventoryAdjusted' }],
    ['invalid UTF-8', 400, Buffer.from([0x3c, 0x6d, 0xff, 0xfe]), { 'content-type': 'application/xml' }],
    ['a body over the limit', 413, Buffer.alloc(300 * 1024, 0x20), { 'content-type': 'application/xml' }],
    ['a wrong content type', 415, 'a=1', { 'content-type': 'application/x-www-form-urlencoded' }],
  ];
  test.each(cases)('%s → %d', async (_what, status, body, headers) => {
    const res = await post(body, headers);
    expect(res.status).toBe(status);
    const json = (await res.json()) as { error: { code: string; message: string } };
    expect(json.error.code).toEqual(expect.any(String));
    expect(json.error.message.length).toBeGreaterThan(10);
  });

  test('after all of that the host still answers', async () => {
    expect((await fetch(url('/api/health'))).status).toBe(200);
    expect(running.logs.filter((l) => l.message.includes('(Failed, Id=') && l.message.includes('ingestMessage'))).toEqual([]);
  });
});

describe('bad messages on the queue: dead-lettered with a reason, then triaged by category', () => {
  // Straight onto the queue, signed as another producer holding the signing key would send it.
  const put = (messageId: string, body: unknown) =>
    running.host.broker.send('inbound', [signedByApp({ body: Buffer.from(typeof body === 'string' ? body : JSON.stringify(body)), messageId, contentType: 'application/json' }, 'inbound')]);
  const parked = (path: string, messageId: string) =>
    running.host.broker.peek(path, { maxMessageCount: 250 }).find((m) => m.messageId === messageId || m.applicationProperties['x-original-message-id'] === messageId);

  test('not an envelope → InvalidEnvelope → the review queue', async () => {
    await put('bad-env', { hello: 'world' });
    const m = await waitFor(() => parked('review', 'bad-env'), 'the review queue');
    expect(m.applicationProperties).toMatchObject({ 'x-dead-letter-reason': 'InvalidEnvelope', 'x-dead-letter-category': 'INVALID_FORMAT', 'x-original-entity': 'inbound' });
  });

  test('a payload that breaks its schema → SchemaValidationFailed → the review queue', async () => {
    await put('bad-payload', {
      messageId: 'bad-payload',
      messageType: 'OrderPlaced',
      schemaVersion: 1,
      correlationId: 'c',
      timestamp: new Date().toISOString(),
      headers: {},
      payload: { orderId: 'x' },
    });
    const m = await waitFor(() => parked('review', 'bad-payload'), 'the review queue');
    expect(m.applicationProperties['x-dead-letter-reason']).toBe('SchemaValidationFailed');
    expect(String(m.applicationProperties['x-dead-letter-description'])).toContain('payload');
  });

  test('no route → NoRouteMatched → the business-alerts topic', async () => {
    const res = await postJson(url('/api/messages'), { messageId: 'unroutable-1', messageType: 'CustomerFeedback', payload: { customerId: 'c', rating: 2 } });
    expect(res.status).toBe(202);
    const m = await waitFor(() => parked('business-alerts/subscriptions/ops-team', 'unroutable-1'), 'the business-alerts topic');
    expect(m.applicationProperties).toMatchObject({ 'x-dead-letter-reason': 'NoRouteMatched', 'x-dead-letter-category': 'BUSINESS_RULE' });
  });

  test('the ops endpoint lists parked messages by reason and category', async () => {
    await waitFor(() => parked('review', 'bad-env'), 'the review queue');
    const res = await fetch(url('/api/ops/deadletters?entity=review&category=INVALID_FORMAT&reason=InvalidEnvelope'));
    const body = (await res.json()) as { deadLetters: { messageId: string; deadLetterReason: string; originalEntity: string }[] };
    expect(body.deadLetters.map((d) => d.messageId)).toContain('bad-env');
    expect(body.deadLetters.every((d) => d.deadLetterReason === 'InvalidEnvelope' && d.originalEntity === 'inbound')).toBe(true);
  });

  test('resubmitting by filter sends every selected message back through the router', async () => {
    await waitFor(() => parked('review', 'bad-env'), 'the review queue');
    const res = await fetch(url('/api/ops/deadletters/resubmit?entity=review&reason=InvalidEnvelope'), { method: 'POST' });
    const body = (await res.json()) as { matched: number; resubmitted: { messageId: string }[]; failed: unknown[] };
    expect(res.status).toBe(200);
    expect(body.failed).toEqual([]);
    expect(body.resubmitted.map((r) => r.messageId)).toContain('bad-env#r1');
    // Still not an envelope: the router dead-letters it again and triage parks it again.
    await waitFor(() => running.host.broker.peek('review', { maxMessageCount: 250 }).find((m) => m.messageId === 'bad-env#r1'), 'the message to come back to review');
    expect(log('Dead-lettered message bad-env#r1: InvalidEnvelope')).toBeDefined();
  });

  test('purge removes what the filter selects, only that', async () => {
    await waitFor(() => parked('review', 'bad-payload'), 'the review queue');
    const res = await fetch(url('/api/ops/deadletters?entity=review&reason=SchemaValidationFailed'), { method: 'DELETE' });
    expect(await res.json()).toMatchObject({ entity: 'review', purged: 1 });
    expect(parked('review', 'bad-payload')).toBeUndefined();
    expect(parked('review', 'bad-env')).toBeDefined(); // the InvalidEnvelope one stays
  });
});

test('idempotent receiver: a message routed before a restart is skipped when it is delivered again after it', async () => {
  const envelope = { messageId: 'once-only', messageType: 'OrderPlaced', schemaVersion: 1, correlationId: 'c-once', timestamp: new Date().toISOString(), headers: {}, payload: order };
  await running.host.broker.send('inbound', [signedByApp({ body: Buffer.from(JSON.stringify(envelope)), messageId: 'once-only', contentType: 'application/json' }, 'inbound')]);
  await waitFor(() => log('Routed OrderPlaced once-only'), 'routing');
  const sentBefore = at('fulfilment', 'once-only').length;
  expect(sentBefore).toBe(1);

  await running.stop();
  running = await startHost(repoRoot, { database: join(dir, 'esb.sqlite') });
  // The same business message again, under another Service Bus messageId (a redelivery from
  // another path — broker duplicate detection would not catch it).
  await running.host.broker.send('inbound', [signedByApp({ body: Buffer.from(JSON.stringify(envelope)), messageId: 'once-only-again', contentType: 'application/json' }, 'inbound')]);
  await waitFor(() => log('Skipped OrderPlaced once-only'), 'the duplicate to be skipped');
  expect(at('fulfilment', 'once-only')).toHaveLength(1);
});
