// The messaging port's contract: each Service Bus semantic the app relies on, run against
// every adapter. A test here fails when the semantic breaks.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { OutgoingMessage, ReceivedMessage } from '@backbone/azure-model/service-bus';
import { amqpHarness, azureHarness, azureHarnessConfig, embeddedHarness, workerChannelHarness, type MessagingHarness } from '../support/messaging-harness';

type Factory = () => Promise<MessagingHarness>;
/** What a backend does not have yet, and why: those tests are skipped there, saying so in their title. */
type Gaps = Partial<Record<'adminApi' | 'refusedSettlement' | 'sessionLockExpiry', string>>;
const OVER_AMQP: Gaps = {};
const factories: [string, Factory, Gaps][] = [
  ['embedded broker', async () => embeddedHarness(), {}],
  ['embedded broker from a worker process', async () => workerChannelHarness(), {}],
  ['Azure adapter over AMQP on the local Azure', () => amqpHarness(), OVER_AMQP],
];
const azure = azureHarnessConfig();
if ('env' in azure) factories.push(['Azure Service Bus', () => azureHarness(azure.env), {}]);
else console.log(azure.skip);

const LOCK = 5_000;

function msg(id: string, extra: Partial<OutgoingMessage> = {}): OutgoingMessage {
  return { body: Buffer.from(JSON.stringify({ id })), messageId: id, contentType: 'application/json', ...extra };
}

const ids = (messages: ReceivedMessage[]) => messages.map((m) => m.messageId);

describe.each(factories)('messaging contract: %s', (_name, create, gaps) => {
  let h: MessagingHarness;
  const testIf = (gap: keyof Gaps): typeof test => (gaps[gap] ? (((title: string, fn: () => Promise<void>) => test.skip(`${title} — not here: ${gaps[gap]}`, fn)) as typeof test) : test);
  beforeEach(async () => {
    h = await create();
  }, 120_000);
  afterEach(async () => {
    await h.close();
  });

  const receive = (path: string, max = 1) => h.messaging.receive(path, { maxMessages: max, maxWaitMs: h.waitMs });
  /** Every message the entity holds for receiving: as many as a peek sees there, received. */
  const receiveAll = async (path: string) => {
    const held = await h.messaging.peek(path, { fromSequenceNumber: 0, maxMessageCount: 10 });
    return held.length ? receive(path, held.length) : [];
  };
  /** What a receive finds where nothing should be receivable. */
  const nothingIn = (path: string) => h.messaging.receive(path, { maxMessages: 1, maxWaitMs: h.quietMs });
  async function receiveOne(path: string): Promise<ReceivedMessage> {
    const got = await receive(path);
    expect(got).toHaveLength(1);
    return got[0]!;
  }

  describe('send, peek-lock receive and complete', () => {
    test('a sent message arrives once with its body and properties, delivery count 0', async () => {
      const sentAt = new Date('2026-02-03T04:05:06.000Z');
      await h.messaging.send('contract-basic', [
        msg('m-1', {
          correlationId: 'corr-1',
          subject: 'OrderPlaced',
          applicationProperties: { region: 'EU', total: 12.5, express: true, at: sentAt },
        }),
      ]);
      const m = await receiveOne('contract-basic');
      expect(JSON.parse(m.body.toString())).toEqual({ id: 'm-1' });
      expect(m).toMatchObject({ messageId: 'm-1', correlationId: 'corr-1', subject: 'OrderPlaced', contentType: 'application/json', deliveryCount: 0, state: 'active' });
      expect(m.applicationProperties).toMatchObject({ region: 'EU', total: 12.5, express: true });
      expect(new Date(m.applicationProperties.at as Date).getTime()).toBe(sentAt.getTime());
      expect(m.lockToken).toBeDefined();
      // Locked: nobody else gets it.
      expect(await nothingIn('contract-basic')).toHaveLength(0);
      await h.messaging.complete(m);
      await h.advance(LOCK + 1000);
      expect(await nothingIn('contract-basic')).toHaveLength(0);
    });

    test('messages come in send order with increasing sequence numbers', async () => {
      await h.messaging.send('contract-basic', [msg('a'), msg('b'), msg('c')]);
      const got = await receive('contract-basic', 3);
      expect(ids(got)).toEqual(['a', 'b', 'c']);
      expect(got[0]!.sequenceNumber).toBeLessThan(got[1]!.sequenceNumber);
      expect(got[1]!.sequenceNumber).toBeLessThan(got[2]!.sequenceNumber);
      await Promise.all(got.map((m) => h.messaging.complete(m)));
    });

    test('peek browses without locking, from a sequence number (inclusive)', async () => {
      await h.messaging.send('contract-basic', [msg('p1'), msg('p2'), msg('p3')]);
      const all = await h.messaging.peek('contract-basic', { maxMessageCount: 10 });
      expect(ids(all)).toEqual(['p1', 'p2', 'p3']);
      expect(all.every((m) => m.lockToken === undefined)).toBe(true);
      const fromSecond = await h.messaging.peek('contract-basic', { fromSequenceNumber: all[1]!.sequenceNumber, maxMessageCount: 10 });
      expect(ids(fromSecond)).toEqual(['p2', 'p3']);
      const first = await receiveOne('contract-basic');
      expect(first.deliveryCount).toBe(0); // peeking did not count as a delivery
    });
  });

  describe('lock expiry, abandon and renewal', () => {
    test('a lock that runs out makes the message available again, delivery count +1, old lock lost', async () => {
      await h.messaging.send('contract-basic', [msg('exp-1')]);
      const first = await receiveOne('contract-basic');
      await h.advance(LOCK + 1000);
      const again = await receiveOne('contract-basic');
      expect(again.messageId).toBe('exp-1');
      expect(again.deliveryCount).toBe(1);
      await expect(h.messaging.complete(first)).rejects.toMatchObject({ code: 'MessageLockLost' });
      await h.messaging.complete(again);
    });

    test('abandon releases at once, counts a delivery and applies properties to modify', async () => {
      await h.messaging.send('contract-basic', [msg('ab-1')]);
      const first = await receiveOne('contract-basic');
      await h.messaging.abandon(first, { attempt: 1 });
      const again = await receiveOne('contract-basic');
      expect(again.deliveryCount).toBe(1);
      expect(again.applicationProperties.attempt).toBe(1);
      await h.messaging.complete(again);
    });

    test('renewing the lock keeps the message from coming back', async () => {
      await h.messaging.send('contract-basic', [msg('renew-1')]);
      const m = await receiveOne('contract-basic');
      await h.advance(LOCK - 2000);
      const until = await h.messaging.renewLock(m);
      expect(until.getTime()).toBeGreaterThan(m.lockedUntilUtc!.getTime());
      await h.advance(3000); // past the first lock, within the renewed one
      expect(await nothingIn('contract-basic')).toHaveLength(0);
      await h.messaging.complete(m);
    });
  });

  describe('dead-lettering', () => {
    test('after maxDeliveryCount deliveries the message moves to the dead-letter queue with the reason', async () => {
      await h.messaging.send('contract-basic', [msg('poison-1')]);
      for (let i = 0; i < 3; i++) {
        const m = await receiveOne('contract-basic');
        expect(m.deliveryCount).toBe(i);
        await h.messaging.abandon(m);
      }
      expect(await nothingIn('contract-basic')).toHaveLength(0);
      const dead = await receiveOne('contract-basic/$deadletterqueue');
      expect(dead.messageId).toBe('poison-1');
      expect(dead.deadLetterReason).toBe('MaxDeliveryCountExceeded');
      expect(dead.deadLetterErrorDescription).toBe('Message could not be consumed after 3 delivery attempts.');
      expect(dead.applicationProperties.DeadLetterReason).toBe('MaxDeliveryCountExceeded');
      await h.messaging.complete(dead);
    });

    test('lock expiries count toward maxDeliveryCount too', async () => {
      await h.messaging.send('contract-basic', [msg('expiring-locks')]);
      for (let i = 0; i < 3; i++) {
        await receiveOne('contract-basic');
        await h.advance(LOCK + 1000);
      }
      expect(await nothingIn('contract-basic')).toHaveLength(0);
      expect((await receiveOne('contract-basic/$deadletterqueue')).deadLetterReason).toBe('MaxDeliveryCountExceeded');
    });

    testIf('refusedSettlement')('an explicit dead-letter keeps the reason and description; a dead letter cannot be dead-lettered again', async () => {
      await h.messaging.send('contract-basic', [msg('dl-1')]);
      const m = await receiveOne('contract-basic');
      await h.messaging.deadLetter(m, { deadLetterReason: 'NoRouteMatched', deadLetterErrorDescription: 'no route for Foo' });
      const dead = await receiveOne('contract-basic/$deadletterqueue');
      expect(dead).toMatchObject({ messageId: 'dl-1', deadLetterReason: 'NoRouteMatched', deadLetterErrorDescription: 'no route for Foo', deliveryCount: 0 });
      await expect(h.messaging.deadLetter(dead, { deadLetterReason: 'again' })).rejects.toMatchObject({ code: 'GeneralError' });
    });

    test('a receiver waiting on the dead-letter queue gets a message as soon as it is dead-lettered', async () => {
      await h.messaging.send('contract-basic', [msg('wake-dlq')]);
      const m = await receiveOne('contract-basic');
      const waiting = h.messaging.receive('contract-basic/$deadletterqueue', { maxWaitMs: 60_000 });
      await h.messaging.deadLetter(m, { deadLetterReason: 'Testing' });
      expect(ids(await waiting)).toEqual(['wake-dlq']);
    });

    testIf('adminApi')('runtime properties count active and dead-lettered messages', async () => {
      await h.messaging.send('contract-basic', [msg('c1'), msg('c2')]);
      const m = await receiveOne('contract-basic');
      await h.messaging.deadLetter(m, { deadLetterReason: 'x' });
      const props = await h.messaging.runtimeProperties('contract-basic');
      expect(props).toMatchObject({ kind: 'queue', activeMessageCount: 1, deadLetterMessageCount: 1 });
    });

    testIf('adminApi')('runtime properties of a topic count its subscriptions; the entity list names queues, topics and subscriptions', async () => {
      const entities = await h.messaging.listEntities();
      expect(entities).toEqual(
        expect.arrayContaining([
          { path: 'contract-basic', kind: 'queue' },
          { path: 'contract-filters', kind: 'topic' },
          { path: 'contract-filters/subscriptions/all', kind: 'subscription' },
        ]),
      );
      const subscriptions = entities.filter((e) => e.kind === 'subscription' && e.path.startsWith('contract-filters/')).length;
      expect(await h.messaging.runtimeProperties('contract-filters')).toMatchObject({ kind: 'topic', name: 'contract-filters', subscriptionCount: subscriptions });
    });

    test('a resubmitted dead letter is a new message in its entity (new id suffix, delivery count 0)', async () => {
      await h.messaging.send('contract-basic', [msg('re-1')]);
      await h.messaging.deadLetter(await receiveOne('contract-basic'), { deadLetterReason: 'Broken' });
      const [dead] = await h.messaging.peek('contract-basic/$deadletterqueue', { maxMessageCount: 1 });
      const result = await h.messaging.resubmit('contract-basic/$deadletterqueue', dead!.sequenceNumber);
      expect(result.messageId).toBe('re-1#r1');
      const back = await receiveOne('contract-basic');
      expect(back).toMatchObject({ messageId: 're-1#r1', deliveryCount: 0 });
      expect(back.applicationProperties).toMatchObject({ 'x-resubmit-count': 1, 'x-original-message-id': 're-1' });
      expect(back.applicationProperties.DeadLetterReason).toBeUndefined();
      expect(await h.messaging.peek('contract-basic/$deadletterqueue', { maxMessageCount: 5 })).toHaveLength(0);
    });

    test('a message can be moved from a queue to another entity, and removed by sequence number', async () => {
      await h.messaging.send('contract-basic', [msg('park-1'), msg('park-2')]);
      const [first, second] = await h.messaging.peek('contract-basic', { maxMessageCount: 2 });
      const moved = await h.messaging.resubmit('contract-basic', first!.sequenceNumber, 'contract-dedupe');
      expect(moved.messageId).toBe('park-1#r1');
      expect(ids(await receive('contract-dedupe'))).toEqual(['park-1#r1']);
      expect(await h.messaging.remove('contract-basic', [second!.sequenceNumber])).toBe(1);
      expect(await nothingIn('contract-basic')).toHaveLength(0);
      await expect(h.messaging.resubmit('contract-basic', 999_999, 'contract-dedupe')).rejects.toMatchObject({ code: 'MessageNotFound' });
    });
  });

  describe('time to live', () => {
    test('an expired message is dead-lettered with TTLExpiredException when the entity says so', async () => {
      await h.messaging.send('contract-expiring', [msg('ttl-1')]);
      await h.advance(11_000);
      expect(await nothingIn('contract-expiring')).toHaveLength(0);
      const dead = await receiveOne('contract-expiring/$deadletterqueue');
      expect(dead).toMatchObject({ messageId: 'ttl-1', deadLetterReason: 'TTLExpiredException', deadLetterErrorDescription: 'The message expired and was dead lettered.' });
    });

    test('an expired message is dropped when dead-lettering on expiration is off', async () => {
      await h.messaging.send('contract-expiring-dropped', [msg('ttl-2')]);
      await h.advance(11_000);
      expect(await nothingIn('contract-expiring-dropped')).toHaveLength(0);
      expect(await nothingIn('contract-expiring-dropped/$deadletterqueue')).toHaveLength(0);
    });

    test("a message's own TTL applies when shorter; the entity default is the ceiling", async () => {
      await h.messaging.send('contract-expiring', [msg('short', { timeToLiveMs: 6_000 }), msg('long', { timeToLiveMs: 3_600_000 })]);
      const peeked = await h.messaging.peek('contract-expiring', { maxMessageCount: 5 });
      const span = (m: ReceivedMessage) => m.expiresAtUtc!.getTime() - m.enqueuedTimeUtc.getTime();
      expect(span(peeked.find((m) => m.messageId === 'short')!)).toBe(6_000);
      expect(span(peeked.find((m) => m.messageId === 'long')!)).toBe(10_000);
      await h.advance(7_000);
      expect(ids(await receive('contract-expiring', 5))).toEqual(['long']);
    });
  });

  describe('scheduled delivery', () => {
    testIf('adminApi')('a scheduled message stays invisible until its time, then arrives', async () => {
      const [seq] = await h.messaging.schedule('contract-basic', [msg('later')], new Date(h.now() + 8_000));
      expect(typeof seq).toBe('number');
      expect(await nothingIn('contract-basic')).toHaveLength(0);
      const [scheduled] = await h.messaging.peek('contract-basic', { maxMessageCount: 1 });
      expect(scheduled).toMatchObject({ messageId: 'later', state: 'scheduled' });
      expect(await h.messaging.runtimeProperties('contract-basic')).toMatchObject({ scheduledMessageCount: 1 });
      await h.advance(9_000);
      const m = await receiveOne('contract-basic');
      expect(m.messageId).toBe('later');
      expect(m.enqueuedTimeUtc.getTime()).toBeGreaterThanOrEqual(scheduled!.scheduledEnqueueTimeUtc!.getTime());
    });

    test('a cancelled scheduled message never arrives', async () => {
      const [seq] = await h.messaging.schedule('contract-basic', [msg('cancelled')], new Date(h.now() + 8_000));
      await h.messaging.cancelScheduled('contract-basic', [seq!]);
      await h.advance(9_000);
      expect(await nothingIn('contract-basic')).toHaveLength(0);
    });
  });

  describe('duplicate detection', () => {
    test('a messageId seen within the window is accepted and dropped; after the window it is new again', async () => {
      await h.messaging.send('contract-dedupe', [msg('dup-1')]);
      await h.messaging.send('contract-dedupe', [msg('dup-1')]);
      await h.messaging.send('contract-dedupe', [msg('dup-2'), msg('dup-2')]);
      const got = await receiveAll('contract-dedupe');
      expect(ids(got).sort()).toEqual(['dup-1', 'dup-2']);
      await Promise.all(got.map((m) => h.messaging.complete(m)));
      await h.advance(21_000);
      await h.messaging.send('contract-dedupe', [msg('dup-1')]);
      expect(ids(await receiveAll('contract-dedupe'))).toEqual(['dup-1']);
    });

    test('an entity without duplicate detection keeps both copies', async () => {
      await h.messaging.send('contract-basic', [msg('twice'), msg('twice')]);
      expect(ids(await receiveAll('contract-basic'))).toEqual(['twice', 'twice']);
    });
  });

  describe('sessions', () => {
    test('messages of a session arrive in order; an abandoned one comes back before the rest', async () => {
      await h.messaging.send('contract-sessions', [
        msg('s1-a', { sessionId: 'order-1' }),
        msg('s2-a', { sessionId: 'order-2' }),
        msg('s1-b', { sessionId: 'order-1' }),
        msg('s1-c', { sessionId: 'order-1' }),
      ]);
      const session = (await h.messaging.acceptSession('contract-sessions', { sessionId: 'order-1' }))!;
      const a = await h.messaging.receiveFromSession(session, { maxWaitMs: h.waitMs });
      expect(ids(a)).toEqual(['s1-a']);
      await h.messaging.abandon(a[0]!);
      const again = await h.messaging.receiveFromSession(session, { maxMessages: 3, maxWaitMs: h.waitMs });
      expect(ids(again)).toEqual(['s1-a', 's1-b', 's1-c']);
      expect(again[0]!.deliveryCount).toBe(1);
      await Promise.all(again.map((m) => h.messaging.complete(m)));
      await h.messaging.releaseSession(session);
    });

    test('one receiver per session: a locked session cannot be accepted twice, the next free one is given', async () => {
      await h.messaging.send('contract-sessions', [msg('x1', { sessionId: 'A' }), msg('y1', { sessionId: 'B' })]);
      const first = (await h.messaging.acceptSession('contract-sessions', { sessionId: 'A' }))!;
      await expect(h.messaging.acceptSession('contract-sessions', { sessionId: 'A' })).rejects.toMatchObject({ code: 'SessionCannotBeLocked' });
      const next = await h.messaging.acceptSession('contract-sessions', { maxWaitMs: h.waitMs });
      expect(next?.sessionId).toBe('B');
      await h.messaging.releaseSession(first);
      const reopened = await h.messaging.acceptSession('contract-sessions', { sessionId: 'A' });
      expect(reopened?.sessionId).toBe('A');
      await h.messaging.releaseSession(reopened!);
      await h.messaging.releaseSession(next!);
    });

    testIf('sessionLockExpiry')('a session whose lock runs out can be taken by another receiver', async () => {
      await h.messaging.send('contract-sessions', [msg('lost-1', { sessionId: 'C' })]);
      const s = (await h.messaging.acceptSession('contract-sessions', { sessionId: 'C' }))!;
      await h.messaging.receiveFromSession(s, { maxWaitMs: h.waitMs });
      await h.advance(LOCK + 1000);
      const taken = (await h.messaging.acceptSession('contract-sessions', { sessionId: 'C' }))!;
      const m = await h.messaging.receiveFromSession(taken, { maxWaitMs: h.waitMs });
      expect(ids(m)).toEqual(['lost-1']);
      expect(m[0]!.deliveryCount).toBe(1);
      await expect(h.messaging.receiveFromSession(s, { maxWaitMs: 0 })).rejects.toMatchObject({ code: 'SessionLockLost' });
      await h.messaging.complete(m[0]!);
      await h.messaging.releaseSession(taken);
    });

    test('session state survives release', async () => {
      await h.messaging.send('contract-sessions', [msg('st-1', { sessionId: 'D' })]);
      const s = (await h.messaging.acceptSession('contract-sessions', { sessionId: 'D' }))!;
      expect(await h.messaging.getSessionState(s)).toBeNull();
      await h.messaging.setSessionState(s, Buffer.from('step-3'));
      await h.messaging.releaseSession(s);
      const again = (await h.messaging.acceptSession('contract-sessions', { sessionId: 'D' }))!;
      expect((await h.messaging.getSessionState(again))?.toString()).toBe('step-3');
      await h.messaging.releaseSession(again);
    });

    test('a receiver waiting on its session is handed a message sent to it, and one that falls due by schedule', async () => {
      await h.messaging.send('contract-sessions', [msg('w-0', { sessionId: 'W' })]);
      const s = (await h.messaging.acceptSession('contract-sessions', { sessionId: 'W' }))!;
      await h.messaging.complete((await h.messaging.receiveFromSession(s, { maxWaitMs: h.waitMs }))[0]!);
      // Waiting (the embedded clock does not move by itself: only the arrival can end the wait).
      const waiting = h.messaging.receiveFromSession(s, { maxWaitMs: 60_000 });
      await h.messaging.send('contract-sessions', [msg('v-1', { sessionId: 'V' }), msg('w-1', { sessionId: 'W' })]);
      const got = await waiting;
      expect(ids(got)).toEqual(['w-1']);
      await h.messaging.complete(got[0]!);
      await h.messaging.schedule('contract-sessions', [msg('w-2', { sessionId: 'W' })], new Date(h.now() + 2_000));
      const waitingForSchedule = h.messaging.receiveFromSession(s, { maxWaitMs: 60_000 });
      await h.advance(2_500);
      const due = await waitingForSchedule;
      expect(ids(due)).toEqual(['w-2']);
      await h.messaging.complete(due[0]!);
      await h.messaging.releaseSession(s);
      // The other session's message went to whoever accepts that session.
      const v = (await h.messaging.acceptSession('contract-sessions', { sessionId: 'V' }))!;
      const other = await h.messaging.receiveFromSession(v, { maxWaitMs: h.waitMs });
      expect(ids(other)).toEqual(['v-1']);
      await h.messaging.complete(other[0]!);
      await h.messaging.releaseSession(v);
    });

    test('a session-enabled queue refuses a message without a sessionId', async () => {
      await expect(h.messaging.send('contract-sessions', [msg('no-session')])).rejects.toThrow(/SessionId/);
    });
  });

  describe('deferral', () => {
    test('a deferred message is only returned by sequence number; abandoning it keeps it deferred', async () => {
      await h.messaging.send('contract-basic', [msg('later-please')]);
      const m = await receiveOne('contract-basic');
      await h.messaging.defer(m);
      expect(await nothingIn('contract-basic')).toHaveLength(0);
      const [peeked] = await h.messaging.peek('contract-basic', { maxMessageCount: 1 });
      expect(peeked!.state).toBe('deferred');
      const [back] = await h.messaging.receiveDeferred('contract-basic', [m.sequenceNumber]);
      expect(back).toMatchObject({ messageId: 'later-please', deliveryCount: 1 });
      await h.messaging.abandon(back!);
      expect(await nothingIn('contract-basic')).toHaveLength(0);
      const [third] = await h.messaging.receiveDeferred('contract-basic', [m.sequenceNumber]);
      expect(third!.deliveryCount).toBe(2);
      await h.messaging.complete(third!);
    });
  });

  describe('topics, subscriptions and filters', () => {
    const sub = (name: string) => `contract-filters/subscriptions/${name}`;
    /** Every message the subscription holds: as many as a peek sees there, received and completed. */
    async function delivered(name: string): Promise<string[]> {
      const held = await h.messaging.peek(sub(name), { fromSequenceNumber: 0, maxMessageCount: 20 });
      const got = held.length ? await h.messaging.receive(sub(name), { maxMessages: held.length, maxWaitMs: h.waitMs }) : [];
      await Promise.all(got.map((m) => h.messaging.complete(m)));
      expect(ids(got).sort()).toEqual(ids(held).sort());
      return ids(got).sort();
    }

    test('each subscription receives exactly the messages its rule selects', async () => {
      await h.messaging.send('contract-filters', [
        msg('eu-big', { subject: 'OrderPlaced', applicationProperties: { region: 'EU', total: 1500, priority: 'high' } }),
        msg('us-small', { subject: 'OrderPlaced', applicationProperties: { region: 'US', total: 50, priority: 'low', giftWrap: false } }),
        msg('uk-mid', { subject: 'PaymentTaken', applicationProperties: { region: 'UK', total: 500, priority: 'urgent' } }),
        msg('shipped-eu', { subject: 'OrderShipped', applicationProperties: { region: 'EU', total: 10 } }),
        msg('bare', {}),
      ]);
      expect(await delivered('all')).toEqual(['bare', 'eu-big', 'shipped-eu', 'uk-mid', 'us-small']);
      expect(await delivered('eq')).toEqual(['eu-big', 'shipped-eu']);
      expect(await delivered('neq')).toEqual(['uk-mid', 'us-small']); // 'bare' has no region: UNKNOWN
      expect(await delivered('lt')).toEqual(['shipped-eu', 'us-small']);
      expect(await delivered('gt')).toEqual(['eu-big']);
      expect(await delivered('in')).toEqual(['eu-big', 'uk-mid']);
      expect(await delivered('like')).toEqual(['eu-big', 'shipped-eu', 'us-small']);
      // shipped-eu has no priority: NOT priority = 'low' is UNKNOWN, so it is not selected.
      expect(await delivered('and-or-not')).toEqual(['eu-big', 'uk-mid']);
      expect(await delivered('exists')).toEqual(['us-small']);
      expect(await delivered('correlation')).toEqual(['shipped-eu']);
      // Two matching rules still give one copy.
      expect(await delivered('two-rules')).toEqual(['eu-big', 'shipped-eu']);
    });

    testIf('adminApi')('a message without a sessionId that a session subscription selects is dead-lettered there', async () => {
      await h.messaging.send('contract-filters', [msg('no-sid', { applicationProperties: { region: 'SESSION' } })]);
      expect(await h.messaging.runtimeProperties(sub('sessions'))).toMatchObject({ kind: 'subscription', activeMessageCount: 0, deadLetterMessageCount: 1 });
      const dead = await receiveOne(`${sub('sessions')}/$deadletterqueue`);
      expect(dead).toMatchObject({ messageId: 'no-sid', deadLetterReason: 'Session id is null.' });
    });

    test('receiving from a topic itself is refused', async () => {
      await expect(h.messaging.receive('contract-filters')).rejects.toBeDefined();
    });
  });

  describe('limits', () => {
    test('a message over 256 KB is refused with MessageSizeExceeded', async () => {
      const big = { body: Buffer.alloc(257 * 1024, 'x'), messageId: 'too-big' };
      await expect(h.messaging.send('contract-basic', [big])).rejects.toMatchObject({ code: 'MessageSizeExceeded' });
      expect(await nothingIn('contract-basic')).toHaveLength(0);
    });

    test('an unknown entity is MessagingEntityNotFound', async () => {
      await expect(h.messaging.send('no-such-queue', [msg('x')])).rejects.toMatchObject({ code: 'MessagingEntityNotFound' });
    });
  });
});

describe('embedded broker durability (SQLite file)', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'broker-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  test('an acknowledged send survives a restart; a lock held at the crash counts one delivery', async () => {
    const file = join(dir, 'broker.sqlite');
    const h1 = embeddedHarness(file);
    await h1.messaging.send('contract-basic', [msg('kept-1'), msg('kept-2')]);
    const locked = await h1.messaging.receive('contract-basic');
    expect(ids(locked)).toEqual(['kept-1']);
    const h2 = await h1.reopen!();
    const got = await h2.messaging.receive('contract-basic', { maxMessages: 5 });
    expect(ids(got)).toEqual(['kept-1', 'kept-2']);
    expect(got[0]!.deliveryCount).toBe(1);
    expect(got[1]!.deliveryCount).toBe(0);
    await h2.close();
  });
});
