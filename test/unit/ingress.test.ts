import { completeEnvelope, parseEnvelope, parseEnvelopeInput } from '../../src/esb/envelope';
import { acceptMessage, checkNesting, idFromKey, toServiceBusMessage } from '../../src/esb/ingress';
import type { MessageSender } from '../../src/messaging/messaging';
import type { OutgoingMessage } from '../../src/messaging/types';
import { PayloadTooLargeError, UnsupportedMediaTypeError, ValidationError } from '../../src/shared/errors';
import { parseFaultPlan, shouldFail } from '../../src/observability/fault-injection';
import { parseSchedule } from '../../src/embedded/host/timer-listener';

class RecordingSender implements MessageSender {
  sent: { entity: string; message: OutgoingMessage }[] = [];
  async send(entity: string, messages: OutgoingMessage[]) {
    for (const message of messages) this.sent.push({ entity, message });
  }
  async schedule(): Promise<number[]> {
    throw new Error('not used');
  }
  async cancelScheduled(): Promise<void> {
    throw new Error('not used');
  }
}

const now = () => new Date('2026-05-06T07:08:09.000Z');
const request = (body: unknown, headers: { contentType?: string | null; key?: string | null } = {}) => ({
  contentType: headers.contentType === undefined ? 'application/json' : headers.contentType,
  body: Buffer.from(typeof body === 'string' ? body : JSON.stringify(body)),
  idempotencyKey: headers.key ?? null,
});

describe('ingress: given a request, when it is accepted, then one message is on the inbound queue', () => {
  test('the envelope is completed and mapped onto Service Bus properties', async () => {
    const sender = new RecordingSender();
    const accepted = await acceptMessage(
      { ...request({ messageType: 'OrderPlaced', causationId: 'c-0', headers: { source: 'web', priority: 'high', ttl: 60 }, payload: { a: 1 } }), traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01' },
      { sender, now },
    );
    expect(sender.sent).toHaveLength(1);
    const { entity, message } = sender.sent[0]!;
    expect(entity).toBe('inbound');
    const envelope = JSON.parse(message.body.toString());
    expect(envelope).toEqual({
      messageId: accepted.messageId,
      messageType: 'OrderPlaced',
      schemaVersion: 1,
      correlationId: accepted.correlationId,
      causationId: 'c-0',
      timestamp: '2026-05-06T07:08:09.000Z',
      headers: { priority: 'high', source: 'web', ttl: 60 },
      payload: { a: 1 },
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
    const sender = new RecordingSender();
    const a = await acceptMessage(request({ messageType: 'X', payload: {} }, { key: 'k-1' }), { sender, now });
    const b = await acceptMessage(request({ messageType: 'X', payload: {} }, { key: 'k-1' }), { sender, now });
    const c = await acceptMessage(request({ messageType: 'X', payload: {} }, { key: 'k-2' }), { sender, now });
    expect(a).toEqual(b);
    expect(a).toEqual({ messageId: idFromKey('msg', 'k-1'), correlationId: idFromKey('corr', 'k-1') });
    expect(c.messageId).not.toBe(a.messageId);
    expect(a.messageId).not.toBe(a.correlationId);
  });
});

describe('ingress: given bad input, then a typed error and nothing sent', () => {
  test.each([
    ['a wrong content type', request({ messageType: 'X', payload: {} }, { contentType: 'text/csv' }), UnsupportedMediaTypeError],
    ['no content type', request({ messageType: 'X', payload: {} }, { contentType: null }), UnsupportedMediaTypeError],
    ['broken JSON', request('{"messageType":'), ValidationError],
    ['a schema violation', request({ messageType: 'X' }), ValidationError],
    ['an oversized body', request({ messageType: 'X', payload: { s: 'x'.repeat(300_000) } }), PayloadTooLargeError],
  ])('%s', async (_what, req, type) => {
    const sender = new RecordingSender();
    await expect(acceptMessage(req, { sender, now })).rejects.toBeInstanceOf(type);
    expect(sender.sent).toHaveLength(0);
  });

  test('nesting is counted outside strings only', () => {
    expect(() => checkNesting(`{"s":"${'['.repeat(100)}"}`)).not.toThrow();
    expect(() => checkNesting(`{"s":"\\"${'{'.repeat(100)}"}`)).not.toThrow();
    expect(() => checkNesting('['.repeat(33) + ']'.repeat(33))).toThrow(/nested more than 32/);
  });

  test('errors name every failing field', () => {
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
  test('FAULT_INJECTION is a map of function name → rate, validated', () => {
    const plan = parseFaultPlan('{"processInbound": 0.5}');
    expect(shouldFail(plan, 'processinbound', () => 0.4)).toBe(true);
    expect(shouldFail(plan, 'processInbound', () => 0.6)).toBe(false);
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
