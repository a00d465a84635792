// Field-level encryption: sealed values (AES-256-GCM bound to their place), the protector at the
// ingress and for consumers, and the configuration's checks against the message catalog.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SchemaRegistry } from '../../src/esb/schemas';
import { loadFieldEncryptionConfig } from '../../src/security/field-encryption-config';
import { FieldProtector } from '../../src/security/field-protection';
import { parseEncryptionKeys } from '../../src/security/key-settings';
import { isSealed, open, seal, sealedKeyId, SEALED_PATTERN, type SealContext } from '../../src/security/sealed-value';
import { ValidationError } from '../../src/shared/errors';
import { testEncryptionKeys, testFieldProtector, testSecret } from '../support/keys';

const registry = SchemaRegistry.load();
const place: SealContext = { messageType: 'CreateOrder', path: 'payment.card.number', binding: 'o-1' };

describe('sealed values', () => {
  test('a value comes back as it went in, typed; the sealed form names the key and fits the schemas', () => {
    for (const value of ['4111111111111111', 42, { a: [1, 'x'] }, 'Zoë Ünicode ✓']) {
      const sealed = seal(value, place, testEncryptionKeys);
      expect(sealed).toMatch(new RegExp(SEALED_PATTERN));
      expect(sealedKeyId(sealed)).toBe('e2');
      expect(open(sealed, place, testEncryptionKeys)).toEqual(value);
    }
  });

  test('the same value seals differently every time (a fresh nonce)', () => {
    expect(seal('4111111111111111', place, testEncryptionKeys)).not.toBe(seal('4111111111111111', place, testEncryptionKeys));
  });

  const parts = (sealed: string) => sealed.split(':');
  const flip = (b64: string) => {
    const bytes = Buffer.from(b64, 'base64url');
    bytes[0] = bytes[0]! ^ 1;
    return bytes.toString('base64url');
  };
  test.each<[string, (p: string[]) => void]>([
    ['the tag', (p) => (p[5] = flip(p[5]!))],
    ['the ciphertext', (p) => (p[4] = flip(p[4]!))],
    ['the nonce', (p) => (p[3] = flip(p[3]!))],
    ['the key id (another configured key)', (p) => (p[2] = 'e1')],
  ])('a changed %s does not decrypt', (_what, tamper) => {
    const p = parts(seal('4111111111111111', place, testEncryptionKeys));
    tamper(p);
    expect(() => open(p.join(':'), place, testEncryptionKeys)).toThrow(/does not decrypt/);
  });

  test('a key id that is not configured is named', () => {
    const p = parts(seal('x', place, testEncryptionKeys));
    p[2] = 'e9';
    expect(() => open(p.join(':'), place, testEncryptionKeys)).toThrow(/key "e9", which is not configured/);
  });

  test.each<[string, SealContext]>([
    ['another field', { ...place, path: 'payment.card.holder' }],
    ['another message type', { ...place, messageType: 'PaymentReceived' }],
    ['another order', { ...place, binding: 'o-2' }],
  ])('moved to %s, it does not decrypt', (_what, elsewhere) => {
    expect(() => open(seal('4111111111111111', place, testEncryptionKeys), elsewhere, testEncryptionKeys)).toThrow(/does not decrypt/);
  });

  test('after a rotation the old key still decrypts what it sealed; new values use the new key', () => {
    const before = parseEncryptionKeys(JSON.stringify({ current: 'e1', keys: { e1: testSecret(11) } }));
    const old = seal('4111111111111111', place, before);
    expect(sealedKeyId(old)).toBe('e1');
    expect(open(old, place, testEncryptionKeys)).toBe('4111111111111111');
    expect(sealedKeyId(seal('x', place, testEncryptionKeys))).toBe('e2');
  });

  test('FIELD_ENCRYPTION_KEYS is checked without showing a key', () => {
    const key = testSecret(3);
    expect(() => parseEncryptionKeys(JSON.stringify({ current: 'e2', keys: { e1: key } }))).toThrow(/current names "e2", which is not in keys/);
    expect(() => parseEncryptionKeys(JSON.stringify({ current: 'e1', keys: { e1: key.slice(4) } }))).toThrow(/32 random bytes in base64/);
    expect(() => parseEncryptionKeys(undefined)).toThrow(/FIELD_ENCRYPTION_KEYS is not set/);
    try {
      parseEncryptionKeys(`{"current":"e1","keys":{"e1":"${key}"`);
    } catch (error) {
      expect((error as Error).message).not.toContain(key);
    }
  });
});

describe('the protector', () => {
  const fields = testFieldProtector(registry);
  const checkout = () => ({
    orderId: 'o-1',
    customerId: 'c-1',
    items: [{ sku: 'A', quantity: 1, unitPrice: 5 }],
    customer: { email: 'erika@example.com' },
    shippingAddress: { line1: 'Hauptstraße 1', city: 'Berlin', postalCode: '10115', country: 'DE' },
    payment: { method: 'card', card: { number: '378282246310005', holder: 'Erika Mustermann', expiry: '12/30' } },
  });
  type Checkout = ReturnType<typeof checkout> & { payment: { card: { last4?: string; brand?: string } } };

  test('at the ingress: derives last4 and brand, encrypts the configured fields, leaves the rest', () => {
    const out = fields.protect('CreateOrder', checkout()) as Checkout;
    expect(out.payment.card).toMatchObject({ last4: '0005', brand: 'amex' });
    for (const v of [out.payment.card.number, out.payment.card.holder, out.payment.card.expiry, out.customer.email, out.shippingAddress.line1, out.shippingAddress.postalCode])
      expect(isSealed(v)).toBe(true);
    expect(out.shippingAddress).toMatchObject({ city: 'Berlin', country: 'DE' });
    expect(JSON.stringify(out)).not.toContain('378282246310005');
    expect(() => registry.validatePayload(registry.get('CreateOrder.v1'), out)).not.toThrow();
  });

  test('derived facts are never taken from the sender', () => {
    const sent = checkout() as Checkout;
    sent.payment.card.last4 = '9999';
    sent.payment.card.brand = 'visa';
    expect((fields.protect('CreateOrder', sent) as Checkout).payment.card).toMatchObject({ last4: '0005', brand: 'amex' });
  });

  test('a value that is already encrypted, or a missing binding field, is a 400 naming the field', () => {
    const sealedAlready = checkout();
    sealedAlready.customer.email = seal('x', { messageType: 'CreateOrder', path: 'customer.email', binding: 'o-1' }, testEncryptionKeys);
    expect(() => fields.protect('CreateOrder', sealedAlready)).toThrow(expect.objectContaining({ status: 400, target: 'payload.customer.email' }));
    const { orderId: _omitted, ...unbound } = checkout();
    expect(() => fields.protect('CreateOrder', unbound)).toThrow(ValidationError);
  });

  test('a message type without encrypted fields passes unchanged', () => {
    const order = { orderId: 'o-1', customerId: 'c', items: [], totalAmount: 1, currency: 'EUR' };
    expect(fields.protect('OrderPlaced', order)).toBe(order);
  });

  test('assertProtected refuses a configured field in clear', () => {
    expect(() => fields.assertProtected('CreateOrder', checkout())).toThrow(expect.objectContaining({ target: 'payload.payment.card.number' }));
    expect(() => fields.assertProtected('CreateOrder', fields.protect('CreateOrder', checkout()))).not.toThrow();
  });

  test('a consumer decrypts only what the configuration grants it, and an unknown one nothing', () => {
    const stored = fields.protect('CreateOrder', checkout()) as Checkout;
    const seen = fields.reveal('authorizePayment', 'CreateOrder', { orderId: stored.orderId, payment: stored.payment }) as Checkout;
    expect(seen.payment.card).toMatchObject({ number: '378282246310005', expiry: '12/30', last4: '0005' });
    expect(isSealed(seen.payment.card.holder)).toBe(true);
    expect(isSealed(stored.payment.card.number)).toBe(true); // the stored copy is untouched
    expect(fields.grants('authorizePayment', 'CreateOrder').sort()).toEqual(['payment.card.expiry', 'payment.card.number']);
    expect(() => fields.reveal('notifyCustomer', 'CreateOrder', stored)).toThrow(/may not decrypt/);
    expect(() => fields.reveal('authorizePayment', 'CreateOrder', { ...stored, orderId: 'o-2' })).toThrow(/does not decrypt/);
  });

  test('array items: [*] encrypts each item, bound to the field path rather than the position', () => {
    const dir = mkdtempSync(join(tmpdir(), 'fle-'));
    try {
      // A catalog of its own, with a list of personal data.
      mkdirSync(join(dir, 'schemas', 'json'), { recursive: true });
      writeFileSync(join(dir, 'schemas', 'catalog.yaml'), 'messages:\n  Contacts.v1:\n    description: contacts\n');
      const email = { type: 'string', anyOf: [{ format: 'email' }, { pattern: SEALED_PATTERN }] };
      writeFileSync(
        join(dir, 'schemas', 'json', 'Contacts.v1.json'),
        JSON.stringify({ $id: 'Contacts.v1', type: 'object', required: ['id'], properties: { id: { type: 'string' }, emails: { type: 'array', items: email } } }),
      );
      const catalog = SchemaRegistry.load(join(dir, 'schemas'));
      writeFileSync(
        join(dir, 'fe.yaml'),
        'messageTypes:\n  Contacts:\n    bind: id\n    encrypt: ["emails[*]"]\nconsumers:\n  mailer:\n    why: sends the mail\n    decrypt:\n      Contacts: ["emails[*]"]\n',
      );
      const p = new FieldProtector(loadFieldEncryptionConfig(join(dir, 'fe.yaml'), catalog), () => testEncryptionKeys);
      const out = p.protect('Contacts', { id: 'c-1', emails: ['a@example.com', 'b@example.com'] }) as { id: string; emails: string[] };
      expect(out.emails.every(isSealed)).toBe(true);
      expect(() => catalog.validatePayload(catalog.get('Contacts.v1'), out)).not.toThrow();
      const reordered = { id: 'c-1', emails: [...out.emails].reverse() };
      expect(p.reveal('mailer', 'Contacts', reordered)).toEqual({ id: 'c-1', emails: ['b@example.com', 'a@example.com'] });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('config/field-encryption.yaml is checked against the catalog at load', () => {
  let dir: string;
  beforeAll(() => (dir = mkdtempSync(join(tmpdir(), 'fle-config-'))));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const load = (yaml: string) => {
    const file = join(dir, `${Math.random().toString(36).slice(2)}.yaml`);
    writeFileSync(file, yaml);
    return () => loadFieldEncryptionConfig(file, registry);
  };

  test('the shipped file loads', () => {
    expect(() => testFieldProtector(registry)).not.toThrow();
  });

  test.each([
    ['an unknown message type', 'messageTypes:\n  Nope:\n    bind: id\n    encrypt: [a]\n', /Nope: not in the message catalog/],
    ['a path the schema does not have', 'messageTypes:\n  CreateOrder:\n    bind: orderId\n    encrypt: [payment.card.pin]\n', /payment\.card\.pin is not a field of CreateOrder\.v1/],
    ['a field whose schema refuses the encrypted form', 'messageTypes:\n  CreateOrder:\n    bind: orderId\n    encrypt: [customerId]\n', /does not accept an encrypted value at customerId/],
    ['a binding field that is not required', 'messageTypes:\n  PaymentReceived:\n    bind: receivedAt\n    encrypt: [card.number]\n', /receivedAt must be a required top-level field/],
    ['an index instead of [*]', 'messageTypes:\n  CreateOrder:\n    bind: orderId\n    encrypt: ["items[0].sku"]\n', /use \[\*\] for array items/],
    [
      'a consumer granted a field that is not encrypted',
      'messageTypes:\n  CreateOrder:\n    bind: orderId\n    encrypt: [payment.card.number]\nconsumers:\n  x:\n    why: y\n    decrypt:\n      CreateOrder: [payment.card.holder]\n',
      /payment\.card\.holder is not an encrypted field of CreateOrder/,
    ],
    [
      'an unknown derivation',
      'messageTypes:\n  CreateOrder:\n    bind: orderId\n    encrypt: [payment.card.number]\n    derive:\n      payment.card.last4: { from: payment.card.number, as: first6 }\n',
      /must be equal to one of the allowed values/,
    ],
    [
      'a consumer without a reason',
      'messageTypes:\n  CreateOrder:\n    bind: orderId\n    encrypt: [payment.card.number]\nconsumers:\n  x:\n    decrypt:\n      CreateOrder: [payment.card.number]\n',
      /must have required property 'why'/,
    ],
  ])('%s fails, naming it', (_what, yaml, message) => {
    expect(load(yaml)).toThrow(message);
  });
});
