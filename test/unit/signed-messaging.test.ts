// The signing decorator over a real embedded broker: what is sent and scheduled carries the
// current key's signature, a resubmitted dead letter is re-signed, and a dead letter that does not
// carry the app's signature — or failed verification — is not resubmitted (so a forged message
// cannot get a signature by way of a dead-letter queue).
import type { Messaging } from '../../src/ports/messaging';
import type { OutgoingMessage } from '@backbone/azure-model/service-bus';
import { signMessage, verifyMessage } from '../../src/security/message-signature';
import { withSigning } from '../../src/adapters/decorators/signed-messaging';
import { embeddedHarness, type MessagingHarness } from '../support/messaging-harness';
import { testSigningKeys } from '../support/keys';

let harness: MessagingHarness;
let raw: Messaging;
let signed: Messaging;
beforeEach(() => {
  harness = embeddedHarness();
  raw = harness.messaging;
  signed = withSigning(raw, () => testSigningKeys);
});
afterEach(() => harness.close());

const message = (id: string): OutgoingMessage => ({ body: Buffer.from(`{"n":"${id}"}`), messageId: id, contentType: 'application/json', applicationProperties: { messageType: 'Test' } });

async function deadLettered(m: OutgoingMessage, reason: string): Promise<number> {
  await raw.send('contract-basic', [m]);
  const [got] = await raw.receive('contract-basic', { maxMessages: 1 });
  await raw.deadLetter(got!, { deadLetterReason: reason, deadLetterErrorDescription: 'test', propertiesToModify: { DeadLetterCategory: 'TRANSIENT' } });
  const [dead] = await raw.peek('contract-basic/$deadletterqueue', { maxMessageCount: 10 });
  return dead!.sequenceNumber;
}

test('sends and schedules are signed with the current key', async () => {
  await signed.send('contract-basic', [message('a')]);
  await signed.schedule('contract-basic', [message('b')], new Date(harness.now() + 60_000));
  const stored = await raw.peek('contract-basic', { maxMessageCount: 10 });
  expect(stored).toHaveLength(2);
  for (const m of stored) {
    expect(m.applicationProperties.sigKeyId).toBe('k2');
    expect(verifyMessage(m, testSigningKeys, { destination: 'contract-basic' })).toEqual({ valid: true, keyId: 'k2' });
  }
});

test('a resubmitted dead letter is re-signed (its messageId changed) and verifies', async () => {
  // Signed with the previous key before it retired: the resubmit signs with the current one.
  const seq = await deadLettered(signMessage(message('c'), { ...testSigningKeys, current: testSigningKeys.keys.get('k1')! }, 'contract-basic'), 'RetriesExhausted');
  const result = await signed.resubmit('contract-basic/$deadletterqueue', seq);
  expect(result.messageId).toBe('c#r1');
  const [back] = await raw.peek('contract-basic', { maxMessageCount: 10 });
  expect(back).toMatchObject({ messageId: 'c#r1', applicationProperties: { sigKeyId: 'k2', 'x-resubmit-count': 1, 'x-original-message-id': 'c' } });
  expect(verifyMessage(back!, testSigningKeys, { destination: 'contract-basic' }).valid).toBe(true);
});

test.each([
  ['an unsigned dead letter', () => message('d'), 'MaxDeliveryCountExceeded', /does not carry a valid signature \(unsigned/],
  [
    'a tampered one',
    () => ({ ...signMessage(message('e'), testSigningKeys, 'contract-basic'), body: Buffer.from('{"n":"tampered"}') }),
    'RetriesExhausted',
    /does not carry a valid signature \(mismatch/,
  ],
  ['one dead-lettered SignatureInvalid', () => signMessage(message('f'), testSigningKeys, 'contract-basic'), 'SignatureInvalid', /failed signature verification/],
])('%s is refused (422) and stays where it is', async (_what, make, reason, why) => {
  const seq = await deadLettered(make(), reason);
  await expect(signed.resubmit('contract-basic/$deadletterqueue', seq)).rejects.toMatchObject({ status: 422, message: expect.stringMatching(why) });
  expect((await raw.peek('contract-basic/$deadletterqueue', { maxMessageCount: 10 })).map((m) => m.sequenceNumber)).toEqual([seq]);
  expect(await raw.peek('contract-basic', { maxMessageCount: 10 })).toEqual([]);
});
