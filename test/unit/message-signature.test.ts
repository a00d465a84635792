// Message integrity: the canonical form, signing and verification, key rotation and the key
// setting's checks.
import { createHmac, createSecretKey } from 'node:crypto';
import { parseSigningKeys, type SigningKeyring } from '../../src/security/key-settings';
import { canonicalForm, canonicalValue, signMessage, verifyMessage, SIGNED_PROPERTIES, type SignableMessage } from '../../src/security/message-signature';
import type { OutgoingMessage } from '@backbone/azure-model/service-bus';
import { signingSetting, testSecret } from '../support/keys';

const HOUR = 3600_000;
/** The entity every message here is sent to and read from. */
const TO = 'inbound';
const retiredAt = Date.parse('2026-03-01T00:00:00Z');
/** k0 retired long ago, k1 retired at `retiredAt` (window 1 day), k2 current. */
const keys: SigningKeyring = parseSigningKeys(
  signingSetting({
    current: 'k2',
    rotationWindow: 'P1D',
    keys: { k0: { secret: testSecret(9), retiredAt: '2025-01-01T00:00:00Z' }, k1: { secret: testSecret(1), retiredAt: '2026-03-01T00:00:00Z' }, k2: { secret: testSecret(2) } },
  }),
);

const message = (): OutgoingMessage => ({
  body: Buffer.from('{"messageType":"OrderPlaced","payload":{"orderId":"o-1"}}'),
  messageId: 'm-1',
  subject: 'OrderPlaced',
  correlationId: 'c-1',
  contentType: 'application/json',
  applicationProperties: { messageType: 'OrderPlaced', schemaVersion: 1, priority: 'normal', traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01' },
});

/** Signed with a given key of the ring, as a sender still on older settings would. */
function signedWith(id: string, m = message()): OutgoingMessage {
  const ring = { ...keys, current: keys.keys.get(id) ?? { id, secret: createSecretKey(Buffer.alloc(32, 7)) } };
  return signMessage(m, ring, TO);
}

describe('canonical form', () => {
  test('length-prefixed fields: moving bytes between fields changes it', () => {
    const a = canonicalForm({ messageId: 'ab', subject: 'c', body: Buffer.from('x') }, TO);
    const b = canonicalForm({ messageId: 'a', subject: 'bc', body: Buffer.from('x') }, TO);
    expect(a.equals(b)).toBe(false);
    const c = canonicalForm({ body: Buffer.from('x'), applicationProperties: { messageType: 'ab', priority: 'c' } }, TO);
    const d = canonicalForm({ body: Buffer.from('x'), applicationProperties: { messageType: 'a', priority: 'bc' } }, TO);
    expect(c.equals(d)).toBe(false);
  });

  test('an absent header differs from an empty one; a typed property value keeps its type', () => {
    expect(canonicalForm({ body: Buffer.alloc(0) }, TO).equals(canonicalForm({ correlationId: '', body: Buffer.alloc(0) }, TO))).toBe(false);
    expect(canonicalValue(1)).not.toBe(canonicalValue('1'));
    expect(canonicalValue(true)).not.toBe(canonicalValue('true'));
    expect(canonicalValue(new Date(5))).toBe('d5');
    expect(canonicalValue(null)).toBe('z');
  });

  test('properties are taken in sorted order, whatever order they were set in', () => {
    const forward: SignableMessage = { body: Buffer.from('x'), applicationProperties: { messageType: 'A', schemaVersion: 1, route: 'r' } };
    const backward: SignableMessage = { body: Buffer.from('x'), applicationProperties: { route: 'r', schemaVersion: 1, messageType: 'A' } };
    expect(canonicalForm(forward, TO).equals(canonicalForm(backward, TO))).toBe(true);
    expect([...SIGNED_PROPERTIES]).toEqual([...SIGNED_PROPERTIES].sort());
  });

  test('it is exactly the documented layout', () => {
    const field = (s: string | Buffer) => {
      const bytes = Buffer.isBuffer(s) ? s : Buffer.from(s);
      const n = Buffer.alloc(4);
      n.writeUInt32BE(bytes.length);
      return Buffer.concat([n, bytes]);
    };
    const count = Buffer.alloc(4);
    count.writeUInt32BE(1);
    const expected = Buffer.concat([field('sb-hmac-v2'), field('inbound'), field('=m'), field('-'), field('=c'), field('-'), field('-'), count, field('priority'), field('shigh'), field('body')]);
    expect(canonicalForm({ messageId: 'm', correlationId: 'c', applicationProperties: { priority: 'high', traceparent: 'not signed' }, body: Buffer.from('body') }, TO)).toEqual(expected);
    // and the MAC is HMAC-SHA256 of it with the key's secret
    const signed = signMessage<OutgoingMessage>({ messageId: 'm', correlationId: 'c', applicationProperties: { priority: 'high' }, body: Buffer.from('body') }, keys, TO);
    expect(signed.applicationProperties!.sig).toBe(
      createHmac('sha256', Buffer.from(testSecret(2), 'base64'))
        .update(expected)
        .digest('base64'),
    );
    expect(signed.applicationProperties!.sigKeyId).toBe('k2');
  });
});

describe('sign, then verify', () => {
  test('a signed message verifies, with the key it names', () => {
    expect(verifyMessage(signMessage(message(), keys, TO), keys, { destination: TO })).toEqual({ valid: true, keyId: 'k2' });
  });

  test('signing again replaces the previous signature', () => {
    const twice = signMessage(signedWith('k1'), keys, TO);
    expect(twice.applicationProperties).toMatchObject({ sigKeyId: 'k2' });
    expect(verifyMessage(twice, keys, { destination: TO }).valid).toBe(true);
  });

  test.each<[string, string, (m: OutgoingMessage) => void]>([
    ['a changed body', 'mismatch', (m) => (m.body = Buffer.from(m.body.toString().replace('o-1', 'o-2')))],
    ['a changed signed property', 'mismatch', (m) => (m.applicationProperties!.messageType = 'OrderCancelled')],
    ['a signed property added', 'mismatch', (m) => (m.applicationProperties!['x-triage-resubmits'] = 0)],
    ['a property turned from number to string', 'mismatch', (m) => (m.applicationProperties!.schemaVersion = '1')],
    ['a changed messageId', 'mismatch', (m) => (m.messageId = 'm-2')],
    ['a changed sessionId', 'mismatch', (m) => (m.sessionId = 's')],
    ['a signature of the wrong shape', 'malformed', (m) => (m.applicationProperties!.sig = 'abc')],
    ['no signature at all', 'unsigned', (m) => (delete m.applicationProperties!.sig, delete m.applicationProperties!.sigKeyId)],
    ['a key id nobody configured', 'unknown-key', (m) => (m.applicationProperties!.sigKeyId = 'k9')],
  ])('%s fails: %s', (_what, check, tamper) => {
    const signed = signMessage(message(), keys, TO);
    tamper(signed);
    const result = verifyMessage(signed, keys, { destination: TO });
    expect(result).toMatchObject({ valid: false, check });
    expect((result as { description: string }).description).toMatch(new RegExp(`^${check}: `));
  });

  test('properties outside the signed set (trace context, dead-letter bookkeeping) may change', () => {
    const signed = signMessage(message(), keys, TO);
    signed.applicationProperties!.traceparent = '00-11111111111111111111111111111111-2222222222222222-01';
    signed.applicationProperties!.DeadLetterReason = 'SignatureInvalid';
    signed.applicationProperties!['x-retry-attempt'] = 3;
    expect(verifyMessage(signed, keys, { destination: TO }).valid).toBe(true);
  });

  test('a signature binds the destination: the same message read from another entity fails (security review, finding 1)', () => {
    const signed = signMessage(message(), keys, 'review');
    expect(verifyMessage(signed, keys, { destination: 'review' }).valid).toBe(true);
    expect(verifyMessage(signed, keys, { destination: 'inbound' })).toMatchObject({ valid: false, check: 'mismatch' });
    // A dead letter is checked for the entity it died in; a subscription's messages for their topic; names are case-insensitive.
    expect(verifyMessage(signed, keys, { destination: 'review/$deadletterqueue' }).valid).toBe(true);
    expect(verifyMessage(signMessage(message(), keys, 'order-events'), keys, { destination: 'order-events/subscriptions/analytics' }).valid).toBe(true);
    expect(verifyMessage(signMessage(message(), keys, 'Order-Events'), keys, { destination: 'order-events' }).valid).toBe(true);
  });

  test('a copy marked as having failed verification is never signed, and never verifies (security review, finding 1)', () => {
    const forged = { ...message(), applicationProperties: { ...message().applicationProperties, sig: 'x'.repeat(43) + '=', sigKeyId: 'k2', 'x-verification': 'failed' } };
    const sent = signMessage(forged, keys, TO);
    expect(sent).toBe(forged);
    expect(verifyMessage(sent, keys, { destination: TO })).toMatchObject({ valid: false, check: 'marked-unverified' });
    // Even a genuine signature does not help a message so marked.
    const genuine = signMessage(message(), keys, TO);
    genuine.applicationProperties!['x-verification'] = 'failed';
    expect(verifyMessage(genuine, keys, { destination: TO })).toMatchObject({ valid: false, check: 'marked-unverified' });
  });

  test('a message signed with an unknown secret under a known key id is a mismatch', () => {
    const forged = signMessage(message(), { ...keys, current: { id: 'k2', secret: createSecretKey(Buffer.alloc(32, 0x42)) } }, TO);
    expect(verifyMessage(forged, keys, { destination: TO })).toMatchObject({ valid: false, check: 'mismatch' });
  });
});

describe('rotation: two keys verify while the old one retires', () => {
  test('the previous key verifies what the broker accepted before retiredAt + the window', () => {
    const m = signedWith('k1');
    expect(verifyMessage(m, keys, { destination: TO, enqueuedAt: retiredAt - HOUR })).toEqual({ valid: true, keyId: 'k1' });
    expect(verifyMessage(m, keys, { destination: TO, enqueuedAt: retiredAt + 23 * HOUR })).toEqual({ valid: true, keyId: 'k1' });
  });

  test('a message with the old key enqueued after the window (a replay) is refused, even if genuine', () => {
    const m = signedWith('k1');
    const result = verifyMessage(m, keys, { destination: TO, enqueuedAt: retiredAt + 25 * HOUR });
    expect(result).toMatchObject({ valid: false, check: 'retired-key' });
    expect((result as { description: string }).description).toContain('2026-03-01T00:00:00.000Z');
    expect(verifyMessage(signedWith('k0'), keys, { destination: TO, enqueuedAt: Date.parse('2026-01-01T00:00:00Z') })).toMatchObject({ valid: false, check: 'retired-key' });
  });

  test('without an enqueued time the verifier uses now', () => {
    expect(verifyMessage(signedWith('k1'), keys, { destination: TO, now: retiredAt + 2 * HOUR }).valid).toBe(true);
    expect(verifyMessage(signedWith('k1'), keys, { destination: TO, now: retiredAt + 48 * HOUR }).valid).toBe(false);
  });

  test('an operator resubmitting an old dead letter may accept any configured key', () => {
    expect(verifyMessage(signedWith('k0'), keys, { destination: TO, ignoreRotationWindow: true }).valid).toBe(true);
    expect(verifyMessage(signedWith('k9'), keys, { destination: TO, ignoreRotationWindow: true })).toMatchObject({ valid: false, check: 'unknown-key' });
  });

  test('a key added before it becomes current verifies at once (step one of a rotation)', () => {
    const next = parseSigningKeys(signingSetting({ current: 'k2', keys: { k2: { secret: testSecret(2) }, k3: { secret: testSecret(3) } } }));
    const fromNewerInstance = signMessage(message(), { ...next, current: next.keys.get('k3')! }, TO);
    expect(verifyMessage(fromNewerInstance, next, { destination: TO })).toEqual({ valid: true, keyId: 'k3' });
  });
});

describe('MESSAGE_SIGNING_KEYS is checked, and its errors never show a secret', () => {
  const secret = testSecret(5);
  test.each([
    ['unset', undefined, /MESSAGE_SIGNING_KEYS is not set/],
    ['not JSON', `{"current":"k1","keys":{"k1":{"secret":"${secret}"}`, /is not valid JSON/],
    ['no current key', JSON.stringify({ keys: { k1: { secret } } }), /must have required property 'current'/],
    ['a current key that is not configured', JSON.stringify({ current: 'k2', keys: { k1: { secret } } }), /current names "k2", which is not in keys/],
    ['a retired current key', JSON.stringify({ current: 'k1', keys: { k1: { secret, retiredAt: '2026-01-01T00:00:00Z' } } }), /has a retiredAt/],
    ['a short secret', JSON.stringify({ current: 'k1', keys: { k1: { secret: Buffer.alloc(16, 1).toString('base64') } } }), /32 random bytes in base64/],
    ['a bad window', JSON.stringify({ current: 'k1', rotationWindow: 'one day', keys: { k1: { secret } } }), /rotationWindow must be an ISO 8601 duration/],
    ['a bad retiredAt', JSON.stringify({ current: 'k1', keys: { k1: { secret }, k0: { secret, retiredAt: 'yesterday' } } }), /\/keys\/k0\/retiredAt must match format "date-time"/],
    ['a key id with a colon', JSON.stringify({ current: 'k:1', keys: { 'k:1': { secret } } }), /must match pattern/],
  ])('%s', (_what, text, message) => {
    let error: Error | undefined;
    try {
      parseSigningKeys(text);
    } catch (e) {
      error = e as Error;
    }
    expect(error?.message).toMatch(message);
    expect(error?.message).not.toContain(secret);
  });
});
