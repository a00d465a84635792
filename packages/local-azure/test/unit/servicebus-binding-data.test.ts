import { batchMetadata, netDateTime, netDateTimeOffset, roundTripFormat, singleMessageMetadata, parentTraceparentOf, triggerInput } from '../../src/host/servicebus-binding-data';
import { serviceBusOutputBodies } from '../../src/host/output-bindings';
import type { ReceivedMessage } from '@backbone/azure-model/service-bus';

const base: ReceivedMessage = {
  entityPath: 'inbound',
  body: Buffer.from('{"orderId":"o-1","priority":"high","nested":{"a":1},"list":[1],"flag":true}'),
  messageId: 'm-1',
  correlationId: 'c-1',
  contentType: 'application/json',
  subject: 'OrderPlaced',
  applicationProperties: { Region: 'EU', at: new Date('2026-01-01T00:00:00Z') },
  sequenceNumber: 7,
  enqueuedTimeUtc: new Date('2026-03-04T05:06:07.120Z'),
  deliveryCount: 0,
  state: 'active',
  lockToken: 'lock-1',
  lockedUntilUtc: new Date('2026-03-04T05:07:07.120Z'),
};

describe('Service Bus trigger data, as the extension gives it to a Node worker', () => {
  test('dates: zone-less DateTime with trimmed fraction, DateTimeOffset with +00:00, "o" format for logs', () => {
    expect(netDateTime(new Date('2026-03-04T05:06:07.120Z'))).toBe('2026-03-04T05:06:07.12');
    expect(netDateTime(new Date('2026-03-04T05:06:07.000Z'))).toBe('2026-03-04T05:06:07');
    expect(netDateTime(undefined)).toBe('9999-12-31T23:59:59.9999999');
    expect(netDateTimeOffset(new Date('2026-03-04T05:06:07.120Z'))).toBe('2026-03-04T05:06:07.12+00:00');
    expect(roundTripFormat(new Date('2026-03-04T05:06:07.120Z'))).toBe('2026-03-04T05:06:07.1200000+00:00');
  });

  test('single message: .NET delivery count, JSON-typed numbers and dates, nulls omitted, action objects present', () => {
    const md = singleMessageMetadata({ ...base, body: Buffer.from('plain text') }, 'ns.servicebus.windows.net');
    expect(md.DeliveryCount).toEqual({ json: '1' });
    expect(md.SequenceNumber).toEqual({ json: '7' });
    expect(md.EnqueuedTimeUtc).toEqual({ json: '"2026-03-04T05:06:07.12"' });
    expect(md.MessageId).toEqual({ string: 'm-1' });
    expect(md.Label).toEqual(md.Subject);
    expect(JSON.parse(md.ApplicationProperties!.json!)).toEqual({ Region: 'EU', at: '2026-01-01T00:00:00.000Z' });
    expect(md.ReplyTo).toBeUndefined();
    expect(md.SessionId).toBeUndefined();
    expect(md.MessageActions).toEqual({ json: '{}' });
    expect(JSON.parse(md.Client!.json!)).toMatchObject({ FullyQualifiedNamespace: 'ns.servicebus.windows.net' });
  });

  test("a JSON object body's top-level properties are copied into the metadata (arrays skipped, booleans as .NET text)", () => {
    const md = singleMessageMetadata({ ...base, body: Buffer.from('{"messageId":"from-body","orderId":"o-1","nested":{"a":1},"list":[1],"flag":true,"none":null}') }, 'ns');
    expect(md.messageId).toEqual({ string: 'from-body' });
    expect(md.MessageId).toBeUndefined();
    expect(md.orderId).toEqual({ string: 'o-1' });
    expect(md.nested).toEqual({ json: '{"a":1}' });
    expect(md.flag).toEqual({ string: 'True' });
    expect(md.list).toBeUndefined();
    expect(md.none).toBeUndefined();
  });

  test('batch: Array keys, string arrays without empty entries, the partition key bug kept', () => {
    const md = batchMetadata([base, { ...base, messageId: 'm-2', correlationId: undefined, partitionKey: 'p', deliveryCount: 2 }], 'ns');
    expect(md.MessageIdArray).toEqual({ collectionString: { string: ['m-1', 'm-2'] } });
    expect(md.CorrelationIdArray).toEqual({ collectionString: { string: ['c-1'] } });
    expect(md.DeliveryCountArray).toEqual({ json: '[1,3]' });
    expect(md.SequenceNumberArray).toEqual({ collectionSint64: { sint64: [7, 7] } });
    expect(md.TransactionPartitionKeyArray).toEqual(md.PartitionKeyArray);
  });

  test('trigger input: string by default, bytes for binary, a JSON array for cardinality many', () => {
    expect(triggerInput([base], false, undefined)).toEqual({ string: base.body.toString() });
    expect(triggerInput([base], false, 'binary')).toEqual({ bytes: base.body });
    expect(triggerInput([base, base], true, undefined).json).toBe(JSON.stringify([JSON.parse(base.body.toString()), JSON.parse(base.body.toString())]));
    expect(() => triggerInput([{ ...base, body: Buffer.from('not json') }], true, undefined)).toThrow(/Json\.NET/);
    expect(triggerInput([{ ...base, body: Buffer.from('') }, base], true, 'string').collectionString!.string).toHaveLength(1);
  });

  test('trace context: the message traceparent, else its Diagnostic-Id, else none (the invocation starts a trace)', () => {
    const parent = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';
    const other = '00-1af7651916cd43dd8448eb211c80319c-c7ad6b7169203331-01';
    expect(parentTraceparentOf({ ...base, applicationProperties: { 'Diagnostic-Id': parent } })).toBe(parent);
    expect(parentTraceparentOf({ ...base, applicationProperties: { traceparent: other, 'Diagnostic-Id': parent } })).toBe(other);
    expect(parentTraceparentOf({ ...base, applicationProperties: { traceparent: 'not-a-traceparent' } })).toBeUndefined();
    expect(parentTraceparentOf(base)).toBeUndefined();
  });
});

describe('Service Bus output binding conversion', () => {
  test('an object becomes indented JSON; an array one message per element; a Buffer the text System.Byte[]', () => {
    expect(serviceBusOutputBodies({ json: JSON.stringify({ a: 1, b: [1, 2] }) })).toEqual(['{\n  "a": 1,\n  "b": [\n    1,\n    2\n  ]\n}']);
    expect(serviceBusOutputBodies({ json: JSON.stringify([{ a: 1 }, 'x', 5, true, null]) })).toEqual(['{\n  "a": 1\n}', 'x', '5', 'True']);
    expect(serviceBusOutputBodies({ string: '["p","q"]' })).toEqual(['p', 'q']);
    expect(serviceBusOutputBodies({ string: 'not json {' })).toEqual(['not json {']);
    expect(serviceBusOutputBodies({ bytes: Buffer.from('abc') })).toEqual(['System.Byte[]']);
    expect(serviceBusOutputBodies({ int: 3 })).toEqual(['3']);
  });
});
