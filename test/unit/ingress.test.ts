import { completeEnvelope, parseEnvelope, parseEnvelopeInput } from '../../src/esb/envelope';
import { acceptMessage, idFromKey, toServiceBusMessage, type Accepted, type AcceptedBatch } from '../../src/esb/ingress';
import { checkJsonText } from '../../src/esb/input-limits';
import { SchemaRegistry } from '../../src/esb/schemas';
import { RecordingSender } from '../support/fakes';
import { testFieldProtector } from '../support/keys';
import { parseFaultPlan, shouldFail } from '../../src/observability/fault-injection';
import { parseSchedule } from '@backbone/local-azure/host/timer-listener';
import { PayloadTooLargeError, UnsupportedMediaTypeError, ValidationError } from '../../src/shared/errors';

const registry = SchemaRegistry.load();
const fields = testFieldProtector(registry);
const now = () => new Date('2026-05-06T07:08:09.000Z');
const order = { orderId: 'o-1', customerId: 'c-1', items: [{ sku: 'A-1', quantity: 2, unitPrice: 10 }], totalAmount: 20, currency: 'EUR' };
const request = (body: unknown, headers: Record<string, string> = {}, contentType: string | null = 'application/json') => ({
  contentType,
  body: Buffer.isBuffer(body) ? body : Buffer.from(typeof body === 'string' ? body : JSON.stringify(body)),
  header: (name: string) => headers[name.toLowerCase()] ?? null,
});
const accept = (req: ReturnType<typeof request> & { traceparent?: string }, sender = new RecordingSender()) => acceptMessage(req, { sender, registry, fields, now }) as Promise<Accepted>;

describe('ingress: given a request, when it is accepted, then one message is on the inbound queue', () => {
  test('the envelope is completed and mapped onto Service Bus properties', async () => {
    const sender = new RecordingSender();
    const accepted = await accept(
      {
        ...request({ messageType: 'OrderPlaced', causationId: 'c-0', headers: { source: 'web', priority: 'high', ttl: 60 }, payload: order }),
        traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01',
      },
      sender,
    );
    expect(sender.sent).toHaveLength(1);
    const { entity, message } = sender.sent[0]!;
    expect(entity).toBe('inbound');
    expect(JSON.parse(message.body.toString())).toEqual({
      messageId: accepted.messageId,
      messageType: 'OrderPlaced',
      schemaVersion: 1,
      correlationId: accepted.correlationId,
      causationId: 'c-0',
      timestamp: '2026-05-06T07:08:09.000Z',
      headers: { priority: 'high', source: 'web', ttl: 60 },
      payload: order,
    });
    expect(message).toMatchObject({ messageId: accepted.messageId, correlationId: accepted.correlationId, subject: 'OrderPlaced', contentType: 'application/json', timeToLiveMs: 60_000 });
    expect(message.applicationProperties).toEqual({
      messageType: 'OrderPlaced',
      schemaVersion: 1,
      priority: 'high',
      source: 'web',
      causationId: 'c-0',
      traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01',
      'Diagnostic-Id': '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01',
    });
  });

  test('an Idempotency-Key derives stable ids; different keys derive different ids', async () => {
    const body = { messageType: 'OrderPlaced', payload: order };
    const a = await accept(request(body, { 'idempotency-key': 'k-1' }));
    const b = await accept(request(body, { 'idempotency-key': 'k-1' }));
    const c = await accept(request(body, { 'idempotency-key': 'k-2' }));
    expect(a).toEqual(b);
    expect(a).toEqual({ messageId: idFromKey('msg', 'k-1'), correlationId: idFromKey('corr', 'k-1') });
    expect(c.messageId).not.toBe(a.messageId);
  });

  test('XML, a partner document, Avro and CSV all become the same canonical envelope', async () => {
    const sender = new RecordingSender();
    const xml = `<?xml version="1.0"?><message messageType="OrderPlaced" schemaVersion="1" messageId="x-1"><headers><priority>high</priority><ttl>30</ttl></headers><payload><orderId>o-1</orderId><customerId>c-1</customerId><items><item><sku>A-1</sku><quantity>2</quantity><unitPrice>10</unitPrice></item></items><totalAmount>20</totalAmount><currency>EUR</currency></payload></message>`;
    await accept(request(xml, {}, 'application/xml'), sender);
    const po = `<PurchaseOrder xmlns="urn:partner:po:1"><PurchaseOrderNumber>9</PurchaseOrderNumber><BuyerId>b</BuyerId><Currency>EUR</Currency><Lines><item><ItemCode>A</ItemCode><Qty>1</Qty><Price>2.5</Price></item></Lines></PurchaseOrder>`;
    await accept(request(po, { 'x-message-id': 'po-9' }, 'application/xml'), sender);
    const avroBody = registry.get('OrderPlaced.v1').avro!.toBuffer(order);
    await accept(request(avroBody, { 'x-schema': 'OrderPlaced.v1', 'x-message-id': 'a-1', 'x-priority': 'urgent' }, 'avro/binary'), sender);
    const csv = 'orderId,customerId,items[0].sku,items[0].quantity,items[0].unitPrice,totalAmount,currency\no-1,c-1,A-1,2,10,20,EUR\n';
    const batch = (await acceptMessage(request(csv, { 'x-message-type': 'OrderPlaced' }, 'text/csv'), { sender, registry, fields, now })) as AcceptedBatch;
    expect(batch.count).toBe(1);
    const bodies = sender.sent.map((s) => JSON.parse(s.message.body.toString()) as { messageType: string; payload: unknown; headers: unknown; messageId: string });
    expect(bodies[0]).toMatchObject({ messageId: 'x-1', messageType: 'OrderPlaced', headers: { priority: 'high', ttl: 30 }, payload: order });
    expect(bodies[1]).toMatchObject({ messageId: 'po-9', messageType: 'PartnerOrder', payload: { PurchaseOrderNumber: '9', Lines: [{ ItemCode: 'A', Qty: 1, Price: 2.5 }] } });
    expect(bodies[2]).toMatchObject({ messageId: 'a-1', messageType: 'OrderPlaced', headers: { priority: 'urgent' }, payload: order });
    expect(bodies[3]).toMatchObject({ messageType: 'OrderPlaced', payload: order });
  });
});

describe('ingress: given bad input, then a typed error and nothing sent', () => {
  test.each([
    ['a wrong content type', request({ messageType: 'OrderPlaced', payload: order }, {}, 'text/plain'), UnsupportedMediaTypeError],
    ['no content type', request({ messageType: 'OrderPlaced', payload: order }, {}, null), UnsupportedMediaTypeError],
    ['broken JSON', request('{"messageType":'), ValidationError],
    ['an envelope without payload', request({ messageType: 'OrderPlaced' }), ValidationError],
    ['an unknown messageType', request({ messageType: 'Nope', payload: {} }), ValidationError],
    ['a payload that breaks its schema', request({ messageType: 'OrderPlaced', payload: { ...order, items: [] } }), ValidationError],
    ['an oversized body', request({ messageType: 'OrderPlaced', payload: { ...order, orderId: 'x'.repeat(300_000) } }), PayloadTooLargeError],
    ['XML with an entity declaration', request('<!DOCTYPE x [<!ENTITY a "b">]><message/>', {}, 'application/xml'), ValidationError],
    ['Avro without a named schema', request(Buffer.from([1, 2]), {}, 'avro/binary'), ValidationError],
    ['Avro bytes that do not match the schema', request(Buffer.from([1, 2, 3]), { 'x-schema': 'OrderPlaced.v1' }, 'avro/binary'), ValidationError],
    ['CSV without a message type', request('a,b\n1,2\n', {}, 'text/csv'), ValidationError],
  ])('%s', async (_what, req, type) => {
    const sender = new RecordingSender();
    await expect(acceptMessage(req, { sender, registry, fields, now })).rejects.toBeInstanceOf(type);
    expect(sender.sent).toHaveLength(0);
  });

  test('a payload error names the field path under payload', async () => {
    await expect(accept(request({ messageType: 'OrderPlaced', payload: { ...order, items: [{ sku: 'A', quantity: 0, unitPrice: 1 }] } }))).rejects.toMatchObject({
      target: 'payload.items[0].quantity',
    });
  });

  test('a CSV error names the row and the field; no row of the batch is sent', async () => {
    const sender = new RecordingSender();
    const csv = 'sku,warehouse,delta,reason\nA,W1,1,receipt\nB,W1,lots,receipt\n';
    await expect(acceptMessage(request(csv, { 'x-message-type': 'InventoryAdjusted' }, 'text/csv'), { sender, registry, fields, now })).rejects.toMatchObject({ target: 'rows[1].payload.delta' });
    expect(sender.sent).toHaveLength(0);
  });

  test('nesting is counted outside strings only', () => {
    expect(() => checkJsonText(`{"s":"${'['.repeat(100)}"}`)).not.toThrow();
    expect(() => checkJsonText(`{"s":"\\"${'{'.repeat(100)}"}`)).not.toThrow();
    expect(() => checkJsonText('['.repeat(33) + ']'.repeat(33))).toThrow(/nested more than 32/);
  });

  test('envelope errors name every failing field', () => {
    try {
      parseEnvelopeInput({ messageType: 'x', payload: 1, headers: { priority: 'no' } });
      throw new Error('expected a ValidationError');
    } catch (error) {
      expect(error).toBeInstanceOf(ValidationError);
      expect((error as ValidationError).details.map((d) => d.target).sort()).toEqual(['headers.priority', 'messageType', 'payload']);
    }
  });
});

describe('the consumer side of the envelope', () => {
  test('a queued envelope must carry its ids; one that does parses back to the same envelope', () => {
    const envelope = completeEnvelope({ messageType: 'OrderPlaced', payload: { a: 1 } }, { messageId: () => 'm', correlationId: () => 'c', now });
    expect(parseEnvelope(JSON.parse(JSON.stringify(envelope)))).toEqual(envelope);
    expect(() => parseEnvelope({ messageType: 'OrderPlaced', payload: {} })).toThrow(/messageId is required/);
    expect(toServiceBusMessage(envelope).timeToLiveMs).toBeUndefined();
  });
});

describe('fault plan and timer schedules', () => {
  test('FAULT_INJECTION is a map of target → rate, validated', () => {
    const plan = parseFaultPlan('{"routeMessage": 0.5, "send:fulfilment": 1}');
    expect(shouldFail(plan, 'routemessage', () => 0.4)).toBe(true);
    expect(shouldFail(plan, 'routeMessage', () => 0.6)).toBe(false);
    expect(shouldFail(plan, 'send:fulfilment', () => 0.99)).toBe(true);
    expect(shouldFail(plan, 'other', () => 0)).toBe(false);
    expect(parseFaultPlan(undefined).size).toBe(0);
    expect(() => parseFaultPlan('{"x": 2}')).toThrow(/0 to 1/);
    expect(() => parseFaultPlan('nope')).toThrow(/JSON/);
  });

  test('NCRONTAB with seconds, 5-field cron and TimeSpan schedules; nonsense refused', () => {
    const at = Date.UTC(2026, 0, 1, 0, 0, 3);
    expect(new Date(parseSchedule('*/10 * * * * *', 'UTC').next(at)).toISOString()).toBe('2026-01-01T00:00:10.000Z');
    expect(new Date(parseSchedule('0 */5 * * *', 'UTC').next(at)).toISOString()).toBe('2026-01-01T05:00:00.000Z');
    expect(parseSchedule('00:00:30', 'UTC').next(at) - at).toBe(30_000);
    expect(parseSchedule('0 0 9 * * MON-FRI', 'UTC').isCron).toBe(true);
    expect(() => parseSchedule('every monday', 'UTC')).toThrow(/not recognized/);
  });
});
