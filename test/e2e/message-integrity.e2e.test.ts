// Message integrity through the embedded host: messages put straight on the broker — unsigned,
// tampered, under an unknown key, under a key retired past the rotation window — are
// dead-lettered SignatureInvalid at every Service Bus consumer before anything runs, and cannot
// be resubmitted; a message signed with the previous key, still in its window, is processed.
import { createSecretKey } from 'node:crypto';
import type { OutgoingMessage } from '@backbone/azure-model/service-bus';
import { parseSigningKeys } from '../../src/security/key-settings';
import { signMessage } from '../../src/security/message-signature';
import { postJson, startHost, waitFor, type RunningHost } from '../support/host';
import { signingSetting, testSecret } from '../support/keys';
import { repoRoot } from '../support/messaging-harness';

// k0 retired two days ago, k1 an hour ago (the window is a day), k2 current.
const HOUR = 3600_000;
const setting = signingSetting({
  current: 'k2',
  rotationWindow: 'P1D',
  keys: {
    k0: { secret: testSecret(30), retiredAt: new Date(Date.now() - 48 * HOUR).toISOString() },
    k1: { secret: testSecret(31), retiredAt: new Date(Date.now() - HOUR).toISOString() },
    k2: { secret: testSecret(32) },
  },
});
const ring = parseSigningKeys(setting);

let running: RunningHost;
beforeAll(async () => {
  process.env.MESSAGE_SIGNING_KEYS = setting;
  running = await startHost(repoRoot);
});
afterAll(async () => {
  await running.stop();
  delete process.env.MESSAGE_SIGNING_KEYS;
});

const payload = { orderId: 'o-int', customerId: 'c-1', items: [{ sku: 'A-1', quantity: 1, unitPrice: 20 }], totalAmount: 20, currency: 'EUR' };
const envelope = (id: string) => ({ messageId: id, messageType: 'OrderPlaced', schemaVersion: 1, correlationId: `corr-${id}`, timestamp: new Date().toISOString(), headers: {}, payload });
const inbound = (id: string): OutgoingMessage => ({
  body: Buffer.from(JSON.stringify(envelope(id))),
  messageId: id,
  contentType: 'application/json',
  correlationId: `corr-${id}`,
  subject: 'OrderPlaced',
  applicationProperties: { messageType: 'OrderPlaced', schemaVersion: 1, priority: 'normal' },
});
/** Signed with one key of the ring (or an unknown one), as a sender with those settings would. */
const signedWith = (id: string, m: OutgoingMessage, destination = 'inbound') =>
  signMessage(m, { ...ring, current: ring.keys.get(id) ?? { id, secret: createSecretKey(Buffer.alloc(32, 0x5a)) } }, destination);

const log = (text: string) => running.logs.find((l) => l.message.includes(text));
const peek = (path: string) => running.host.broker.peek(path, { maxMessageCount: 250 });
const reviewed = (id: string) => peek('review').find((m) => m.messageId === id);

async function refusedOnInbound(id: string, message: OutgoingMessage, check: string) {
  await running.host.broker.send('inbound', [message]);
  const parked = await waitFor(() => reviewed(id), `${id} to be dead-lettered and parked for review`);
  expect(parked.applicationProperties).toMatchObject({ 'x-dead-letter-reason': 'SignatureInvalid', 'x-dead-letter-category': 'INVALID_FORMAT', 'x-original-entity': 'inbound' });
  expect(String(parked.applicationProperties['x-dead-letter-description'])).toMatch(new RegExp(`^${check}: `));
  expect(log(`Dead-lettered message ${id}: SignatureInvalid ${check}:`)).toBeDefined();
  // Nothing of it went further: no route ran.
  expect(log(`Routed OrderPlaced ${id}`)).toBeUndefined();
  expect(peek('fulfilment').filter((m) => m.applicationProperties.causationId === id)).toEqual([]);
  return parked;
}

describe('the router (inbound) verifies before it routes', () => {
  test('an unsigned message → SignatureInvalid (unsigned)', async () => {
    await refusedOnInbound('int-unsigned', inbound('int-unsigned'), 'unsigned');
  });

  test('a tampered body → SignatureInvalid (mismatch)', async () => {
    const m = signedWith('k2', inbound('int-body'));
    const forged = { ...m, body: Buffer.from(JSON.stringify({ ...envelope('int-body'), payload: { ...payload, totalAmount: 2 } })) };
    await refusedOnInbound('int-body', forged, 'mismatch');
  });

  test('a tampered application property → SignatureInvalid (mismatch)', async () => {
    const m = signedWith('k2', inbound('int-prop'));
    await refusedOnInbound('int-prop', { ...m, applicationProperties: { ...m.applicationProperties, priority: 'urgent' } }, 'mismatch');
  });

  test('a key id that is not configured → SignatureInvalid (unknown-key)', async () => {
    await refusedOnInbound('int-unknown', signedWith('k9', inbound('int-unknown')), 'unknown-key');
  });

  test('a message with an old key, enqueued after its rotation window (a replay) → SignatureInvalid (retired-key)', async () => {
    const parked = await refusedOnInbound('int-replay', signedWith('k0', inbound('int-replay')), 'retired-key');
    expect(String(parked.applicationProperties['x-dead-letter-description'])).toContain('after the rotation window of 86400 s');
  });

  test('a message signed with the previous key, retired within the window, is processed', async () => {
    await running.host.broker.send('inbound', [signedWith('k1', inbound('int-previous'))]);
    await waitFor(() => log('Routed OrderPlaced int-previous'), 'the message to be routed');
    // What the router sent on is signed with the current key.
    const [out] = peek('fulfilment').filter((m) => m.applicationProperties.causationId === 'int-previous');
    expect(out!.applicationProperties.sigKeyId).toBe('k2');
  });

  test('what failed verification cannot be resubmitted, one at a time or in bulk', async () => {
    const parked = await waitFor(() => reviewed('int-unsigned'), 'the parked message');
    const one = await postJson(running.url(`/api/ops/deadletters/${parked.sequenceNumber}/resubmit?entity=review`), '');
    expect(one.status).toBe(422);
    expect(one.json).toMatchObject({ error: { code: 'BusinessRuleViolated', message: expect.stringContaining('failed signature verification') } });
    const bulk = await postJson(running.url('/api/ops/deadletters/resubmit?entity=review&reason=SignatureInvalid'), '');
    expect(bulk.status).toBe(200);
    expect(bulk.json).toMatchObject({ resubmitted: [] });
    expect((bulk.json!.failed as unknown[]).length).toBeGreaterThanOrEqual(5);
    expect(reviewed('int-unsigned')).toBeDefined();
  });
});

describe('no laundering (security review, finding 1)', () => {
  /** Copies a message as it sits (every property, its sig too) onto another entity, as anyone who can peek and send could. */
  const copyOnto = async (
    entity: string,
    m: { body: Buffer; messageId: string; contentType?: string; correlationId?: string; subject?: string; sessionId?: string; applicationProperties: Record<string, unknown> },
    messageId: string,
  ) =>
    running.host.broker.send(entity, [
      {
        body: m.body,
        messageId,
        contentType: m.contentType,
        correlationId: m.correlationId,
        subject: m.subject,
        sessionId: m.sessionId,
        applicationProperties: { ...m.applicationProperties } as OutgoingMessage['applicationProperties'],
      },
    ]);

  test('unsigned on inbound → dead-lettered → parked for review unsigned and marked; copied back onto inbound it is dead-lettered again, never routed', async () => {
    await running.host.broker.send('inbound', [{ ...inbound('int-forged'), applicationProperties: { messageType: 'OrderPlaced', schemaVersion: 1, priority: 'critical' } }]);
    const parked = await waitFor(() => reviewed('int-forged'), 'the forged message parked for review');
    // The app never vouched for it: no signature of ours, marked as having failed verification.
    expect(parked.applicationProperties.sig).toBeUndefined();
    expect(parked.applicationProperties['x-verification']).toBe('failed');
    await copyOnto('inbound', parked, 'int-forged-again');
    const dead = await waitFor(() => peek('inbound/$deadletterqueue').find((m) => m.messageId === 'int-forged-again') ?? reviewed('int-forged-again'), 'the copy to be refused');
    expect(dead.deadLetterReason ?? dead.applicationProperties['x-dead-letter-reason']).toBe('SignatureInvalid');
    expect(log('Dead-lettered message int-forged-again: SignatureInvalid marked-unverified:')).toBeDefined();
    expect(log('Routed OrderPlaced int-forged-again')).toBeUndefined();
    expect(peek('express-processing').filter((m) => String(m.applicationProperties.causationId).startsWith('int-forged'))).toEqual([]);
  });

  test('a signed forgery with a stolen sig from another message fails too, as does a tampered copy claiming to be unmarked', async () => {
    const parked = await waitFor(() => reviewed('int-forged'), 'the parked forgery');
    const { 'x-verification': _marker, ...unmarked } = parked.applicationProperties;
    await copyOnto('inbound', { ...parked, applicationProperties: unmarked }, 'int-forged-unmarked');
    await waitFor(() => log('Dead-lettered message int-forged-unmarked: SignatureInvalid unsigned:'), 'the unmarked copy to be refused');
    expect(log('Routed OrderPlaced int-forged-unmarked')).toBeUndefined();
  });

  test('a legitimately signed message replayed into another entity fails verification there', async () => {
    // Parked for review with the app's signature (its envelope is invalid, its signature fine): signed for review, not for inbound.
    await running.host.broker.send('inbound', [signedWith('k2', { ...inbound('int-bad-envelope'), body: Buffer.from('{"not":"an envelope"}') })]);
    const parked = await waitFor(() => reviewed('int-bad-envelope'), 'the invalid envelope parked for review');
    expect(parked.applicationProperties.sigKeyId).toBe('k2');
    expect(parked.applicationProperties['x-verification']).toBeUndefined();
    await copyOnto('inbound', parked, 'int-bad-envelope-replayed');
    await waitFor(() => log('Dead-lettered message int-bad-envelope-replayed: SignatureInvalid mismatch:'), 'the replay to be refused');
    // A command signed for order-commands, replayed onto inbound, likewise.
    await running.host.broker.send('inbound', [signedWith('k2', inbound('int-wrong-entity'), 'order-commands')]);
    await waitFor(() => log('Dead-lettered message int-wrong-entity: SignatureInvalid mismatch:'), 'the wrongly addressed message to be refused');
  });
});

test('the order-commands consumer verifies first: an unsigned command changes nothing', async () => {
  const command = {
    messageId: 'int-cmd',
    messageType: 'CreateOrder',
    schemaVersion: 1,
    correlationId: 'corr-cmd',
    timestamp: new Date().toISOString(),
    headers: {},
    payload: { orderId: 'o-forged', customerId: 'c-1', items: [{ sku: 'A', quantity: 1, unitPrice: 1 }] },
  };
  await running.host.broker.send('order-commands', [
    { body: Buffer.from(JSON.stringify(command)), messageId: 'int-cmd', contentType: 'application/json', sessionId: 'o-forged', applicationProperties: { messageType: 'CreateOrder' } },
  ]);
  const dead = await waitFor(() => peek('order-commands/$deadletterqueue').find((m) => m.messageId === 'int-cmd'), 'the dead letter');
  expect(dead.deadLetterReason).toBe('SignatureInvalid');
  expect(dead.deadLetterErrorDescription).toMatch(/^unsigned: /);
  expect((await fetch(running.url('/api/orders/o-forged'))).status).toBe(404);
});

test('the ops-jobs consumer verifies first: an unsigned job does not run', async () => {
  await running.host.broker.send('ops-jobs', [
    { body: Buffer.from(JSON.stringify({ job: 'rebuild-projection', projection: 'order-summary' })), messageId: 'int-job', contentType: 'application/json' },
  ]);
  const dead = await waitFor(() => peek('ops-jobs/$deadletterqueue').find((m) => m.messageId === 'int-job'), 'the dead letter');
  expect(dead.deadLetterReason).toBe('SignatureInvalid');
  expect(running.logs.some((l) => l.message.startsWith('Rebuilt order-summary'))).toBe(false);
});

test('a job the app queued itself is signed and runs', async () => {
  const res = await postJson(running.url('/api/ops/projections/order-summary/rebuild'), '');
  expect(res.status).toBe(202);
  await waitFor(() => running.logs.find((l) => l.message.startsWith('Rebuilt order-summary')), 'the rebuild to run');
});
