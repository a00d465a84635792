// The router's decisions, as given / when / then specifications with in-memory ports.
import { join } from 'node:path';
import { loadTopology } from '@backbone/azure-model/topology';
import { categorise, DEAD_LETTER_REASONS } from '../../src/esb/dead-letter-categories';
import { ARCHIVE_QUEUE, BUSINESS_ALERTS_TOPIC, MAX_TRIAGE_RESUBMITS, REVIEW_QUEUE, applyTriage, triage, type DeadLetteredMessage } from '../../src/esb/dead-letter-triage';
import { outgoingMessageId, Router, type InboundMessage, type RouterDecision } from '../../src/esb/router';
import { backoffCeilingMs, retryDelayMs } from '../../src/esb/retry';
import { RouteTable } from '../../src/esb/routing/routes';
import { SchemaRegistry } from '../../src/esb/schemas';
import { buildTransformGraph } from '../../src/esb/transforms/catalog';
import { InMemoryIdempotencyStore, RecordingSender } from '../support/fakes';
import { repoRoot } from '../support/messaging-harness';

const registry = SchemaRegistry.load();
const graph = buildTransformGraph(registry);
const topology = loadTopology(join(repoRoot, 'config', 'topology.yaml'));
const shippedRoutes = RouteTable.load(join(repoRoot, 'config', 'routes.yaml'), { topology, registry, graph });
const NOW = new Date('2026-03-01T12:00:00.000Z');

const order = { orderId: 'o-1', customerId: 'c-1', items: [{ sku: 'A-1', quantity: 2, unitPrice: 800 }], totalAmount: 1600, currency: 'EUR' };
const envelope = (extra: Record<string, unknown> = {}) => ({
  messageId: 'msg-1',
  messageType: 'OrderPlaced',
  schemaVersion: 1,
  correlationId: 'corr-1',
  timestamp: '2026-03-01T11:59:00.000Z',
  headers: { priority: 'high', source: 'web' },
  payload: order,
  ...extra,
});
const inbound = (body: unknown, props: Record<string, unknown> = {}): InboundMessage => ({
  messageId: 'msg-1',
  body,
  contentType: 'application/json',
  applicationProperties: { traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01', ...props },
});

function given(routes = shippedRoutes) {
  const sender = new RecordingSender();
  const idempotency = new InMemoryIdempotencyStore(() => NOW.getTime());
  const router = new Router({ routes: () => routes, registry, graph, sender, idempotency, inboundQueue: 'inbound', now: () => NOW, random: () => 0.5 });
  return { sender, idempotency, router };
}

function expectDeadLetter(decision: RouterDecision, reason: string, category: string) {
  expect(decision).toMatchObject({ action: 'deadLetter', reason, category, properties: { DeadLetterCategory: category } });
}

describe('router: given a valid order, when it is routed', () => {
  test('then every destination of every matching route gets its document, with ids, correlation and trace', async () => {
    const { sender, router } = given();
    const decision = await router.handle(inbound(envelope()));
    expect(decision).toMatchObject({ action: 'complete', result: 'routed', routes: ['order_audit', 'critical_orders'] });
    expect(sender.sent.map((s) => [s.entity, s.message.contentType])).toEqual([
      ['audit-log', 'text/csv'],
      ['express-processing', 'application/json'],
      ['order-events', 'application/json'],
    ]);
    const express = sender.sent[1]!.message;
    expect(express.messageId).toBe(outgoingMessageId('msg-1', 'critical_orders', 0));
    expect(express).toMatchObject({ correlationId: 'corr-1', subject: 'FulfilmentRequest' });
    expect(express.applicationProperties).toMatchObject({
      messageType: 'FulfilmentRequest',
      schemaVersion: 1,
      schema: 'FulfilmentRequest.v1',
      route: 'critical_orders',
      priority: 'high',
      source: 'web',
      causationId: 'msg-1',
      traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01',
    });
    const body = JSON.parse(express.body.toString());
    expect(body).toMatchObject({ messageId: express.messageId, causationId: 'msg-1', correlationId: 'corr-1', messageType: 'FulfilmentRequest', payload: { orderId: 'o-1', priority: 'express' } });
    expect(sender.sent[2]!.message.applicationProperties).toMatchObject({ currency: 'EUR' });
  });

  test('then routing it again sends the same messageIds (duplicate detection drops repeats)', async () => {
    const first = given();
    const second = given();
    await first.router.handle(inbound(envelope()));
    await second.router.handle(inbound(envelope()));
    expect(second.sender.sent.map((s) => s.message.messageId)).toEqual(first.sender.sent.map((s) => s.message.messageId));
  });

  test('then a redelivery of the same envelope is skipped (idempotent receiver)', async () => {
    const { sender, router } = given();
    await router.handle(inbound(envelope()));
    const again = await router.handle({ ...inbound(envelope()), messageId: 'msg-1#a2' });
    expect(again).toMatchObject({ action: 'complete', result: 'duplicate' });
    expect(sender.sent).toHaveLength(3);
  });

  test('then a session destination gets the sessionId its template computes', async () => {
    const { sender, router } = given();
    await router.handle(inbound(envelope({ messageType: 'InventoryAdjusted', payload: { sku: 'SKU-9', warehouse: 'W1', delta: 3, reason: 'receipt' } })));
    expect(sender.sent).toHaveLength(1);
    expect(sender.sent[0]).toMatchObject({ entity: 'inventory-updates', message: { sessionId: 'SKU-9' } });
  });
});

describe('router: non-transient failures dead-letter at once, with a category', () => {
  test.each([
    ['a body that is not an envelope', '"just text"', 'InvalidEnvelope', 'INVALID_FORMAT'],
    ['an envelope without ids', { messageType: 'OrderPlaced', payload: order }, 'InvalidEnvelope', 'INVALID_FORMAT'],
    ['a messageType without a schema', envelope({ messageType: 'Unheard' }), 'UnknownMessageType', 'INVALID_FORMAT'],
    ['a payload that breaks its schema', envelope({ payload: { ...order, currency: 'euro' } }), 'SchemaValidationFailed', 'INVALID_FORMAT'],
    ['a message no route matches', envelope({ messageType: 'CustomerFeedback', payload: { customerId: 'c', rating: 4 } }), 'NoRouteMatched', 'BUSINESS_RULE'],
  ])('%s → %s (%s)', async (_what, body, reason, category) => {
    const { sender, router } = given();
    expectDeadLetter(await router.handle(inbound(body)), reason, category);
    expect(sender.sent).toHaveLength(0);
  });

  test('a transformation failure dead-letters TransformationFailed and nothing is sent', async () => {
    const routes = RouteTable.parse(
      `routes:
  - name: needs-shipping
    conditions: { field: messageType, operator: equals, value: OrderPlaced }
    destinations:
      - { topic: order-events }
      - { topic: order-events, properties: { country: "{payload.shippingAddress.country}" } }`,
      'test',
      { topology, registry, graph },
    );
    const { sender, router } = given(routes);
    const decision = await router.handle(inbound(envelope()));
    expectDeadLetter(decision, 'TransformationFailed', 'INVALID_FORMAT');
    expect(decision).toMatchObject({ description: expect.stringContaining('{payload.shippingAddress.country} has no value') });
    expect(sender.sent).toHaveLength(0);
  });

  test('a destination refusing the message as too large dead-letters MessageTooLarge', async () => {
    const { sender, router } = given();
    sender.failWith('express-processing', () => Object.assign(new Error('too big'), { code: 'MessageSizeExceeded' }));
    expectDeadLetter(await router.handle(inbound(envelope())), 'MessageTooLarge', 'INVALID_FORMAT');
  });
});

describe('router: transient send failures are retried by scheduled re-enqueue', () => {
  const busy = () => Object.assign(new Error('the namespace is busy'), { code: 'ServiceBusy' });

  test('the first failure schedules attempt 1 on the inbound queue, with backoff and retry properties', async () => {
    const { sender, router } = given();
    sender.failWith('express-processing', busy);
    const decision = await router.handle(inbound(envelope()));
    expect(decision).toMatchObject({ action: 'complete', result: 'retry-scheduled', attempt: 1 });
    expect(sender.scheduled).toHaveLength(1);
    const { entity, message, at } = sender.scheduled[0]!;
    expect(entity).toBe('inbound');
    expect(message.messageId).toBe('msg-1#a1');
    expect(message.applicationProperties).toMatchObject({ 'x-retry-attempt': 1, 'x-first-failure-time': NOW.toISOString(), 'x-last-error': 'the namespace is busy' });
    // critical_orders: initial interval 1 s, random 0.5 → 750 ms
    expect(at.getTime() - NOW.getTime()).toBe(750);
    expect(JSON.parse(message.body.toString())).toMatchObject({ messageId: 'msg-1', correlationId: 'corr-1' });
  });

  test('attempt n carries on from the properties; beyond deadLetterAfterRetries it dead-letters RetriesExhausted', async () => {
    const { sender, router } = given();
    sender.failWith('express-processing', busy);
    const props = { 'x-retry-attempt': 2, 'x-first-failure-time': '2026-03-01T11:00:00.000Z' };
    const third = await router.handle({ ...inbound(envelope(), props), messageId: 'msg-1#a2' });
    expect(third).toMatchObject({ action: 'complete', result: 'retry-scheduled', attempt: 3 });
    expect(sender.scheduled[0]!.message).toMatchObject({ messageId: 'msg-1#a3', applicationProperties: { 'x-first-failure-time': '2026-03-01T11:00:00.000Z' } });
    const fourth = await router.handle({ ...inbound(envelope(), { ...props, 'x-retry-attempt': 3 }), messageId: 'msg-1#a3' });
    expectDeadLetter(fourth, 'RetriesExhausted', 'TRANSIENT'); // critical_orders: deadLetterAfterRetries 3
    expect(fourth).toMatchObject({ description: expect.stringContaining('Gave up after 3 retries since 2026-03-01T11:00:00.000Z') });
  });

  test('the backoff curve: ceilings double from the initial interval up to the cap; delays lie in [ceiling/2, ceiling]', () => {
    const policy = { initialIntervalMs: 1000, maxIntervalMs: 60_000 };
    expect([1, 2, 3, 4, 5, 6, 7, 8].map((n) => backoffCeilingMs(n, policy))).toEqual([1000, 2000, 4000, 8000, 16_000, 32_000, 60_000, 60_000]);
    for (const n of [1, 2, 3, 4, 5, 6, 7, 8]) {
      const ceiling = backoffCeilingMs(n, policy);
      expect(retryDelayMs(n, policy, () => 0)).toBe(ceiling / 2);
      expect(retryDelayMs(n, policy, () => 0.999999)).toBe(Math.round(ceiling / 2 + (ceiling / 2) * 0.999999));
      expect(retryDelayMs(n, policy, () => 0.5)).toBe(Math.round(ceiling * 0.75));
    }
  });
});

describe('dead-letter triage: each category has its destination', () => {
  const dead = (reason: string, props: Record<string, unknown> = {}): DeadLetteredMessage => ({
    entity: 'inbound',
    messageId: 'msg-9',
    body: Buffer.from('{}'),
    contentType: 'application/json',
    correlationId: 'corr-9',
    applicationProperties: { messageType: 'OrderPlaced', DeadLetterReason: reason, ...props } as DeadLetteredMessage['applicationProperties'],
    deadLetterReason: reason,
    deadLetterErrorDescription: `because ${reason}`,
  });

  test('every reason the app uses has a category', () => {
    expect(Object.keys(DEAD_LETTER_REASONS).length).toBeGreaterThanOrEqual(12);
    expect(categorise('SomethingNew')).toBe('OTHER');
    expect(categorise('NoRouteMatched', 'TRANSIENT')).toBe('TRANSIENT'); // a stamped category wins
  });

  test.each([
    ['SchemaValidationFailed', 'INVALID_FORMAT', REVIEW_QUEUE],
    ['TransformationFailed', 'INVALID_FORMAT', REVIEW_QUEUE],
    ['NoRouteMatched', 'BUSINESS_RULE', BUSINESS_ALERTS_TOPIC],
    ['TTLExpiredException', 'OTHER', ARCHIVE_QUEUE],
    ['SomethingUnforeseen', 'OTHER', ARCHIVE_QUEUE],
  ])('%s → %s → %s, with where it came from and why', async (reason, category, destination) => {
    const decision = triage(dead(reason), NOW);
    expect(decision).toMatchObject({ action: 'park', category, destination });
    const sender = new RecordingSender();
    await applyTriage(decision, dead(reason), sender, NOW);
    expect(sender.sent[0]!.entity).toBe(destination);
    expect(sender.sent[0]!.message).toMatchObject({ messageId: 'msg-9', correlationId: 'corr-9' });
    expect(sender.sent[0]!.message.applicationProperties).toMatchObject({
      'x-dead-letter-reason': reason,
      'x-dead-letter-description': `because ${reason}`,
      'x-dead-letter-category': category,
      'x-original-entity': 'inbound',
      'x-original-message-id': 'msg-9',
      'x-triaged-at': NOW.toISOString(),
    });
    expect(sender.sent[0]!.message.applicationProperties!.DeadLetterReason).toBeUndefined();
  });

  test('TRANSIENT → resubmitted later with backoff and a fresh retry budget, at most 3 times, then archived', async () => {
    for (const reason of ['MaxDeliveryCountExceeded', 'RetriesExhausted']) {
      const first = triage(dead(reason, { 'x-retry-attempt': 3 }), NOW, () => 0.5);
      expect(first).toMatchObject({ action: 'resubmit', category: 'TRANSIENT', attempt: 1 });
      const sender = new RecordingSender();
      await applyTriage(first, dead(reason, { 'x-retry-attempt': 3 }), sender, NOW);
      expect(sender.scheduled[0]).toMatchObject({ entity: 'inbound', message: { messageId: 'msg-9#t1' } });
      expect(sender.scheduled[0]!.message.applicationProperties).toMatchObject({ 'x-triage-resubmits': 1 });
      expect(sender.scheduled[0]!.message.applicationProperties!['x-retry-attempt']).toBeUndefined();
      expect(sender.scheduled[0]!.at.getTime() - NOW.getTime()).toBe(225_000); // 5 min ceiling, random 0.5
    }
    expect(triage(dead('MaxDeliveryCountExceeded', { 'x-triage-resubmits': MAX_TRIAGE_RESUBMITS }), NOW)).toMatchObject({ action: 'park', destination: ARCHIVE_QUEUE });
  });
});
