// Field-level encryption through the embedded host: card details and personal data leave the
// ingress encrypted (messages, HTTP commands alike), are stored encrypted in the events with only
// the card's last four digits and brand in clear, never reach a view, and are decrypted only by
// the payment step that authorizes the card.
import { SchemaRegistry } from '../../src/esb/schemas';
import { decodeAvro } from '../../src/esb/formats/avro';
import { isSealed } from '../../src/security/sealed-value';
import { postJson, startHost, waitFor, type RunningHost } from '../support/host';
import { signedByApp } from '../support/keys';
import { repoRoot } from '../support/messaging-harness';

let running: RunningHost;
beforeAll(async () => {
  running = await startHost(repoRoot);
  for (const sku of ['FE-1', 'FE-2']) expect((await postJson(running.url(`/api/inventory/${sku}/receipts`), { quantity: 100 })).status).toBeLessThan(300);
});
afterAll(() => running.stop());

const CLEAR = { number: '4111111111111111', holder: 'Erika Mustermann', email: 'erika.fe@example.com', phone: '+49 30 7654321', street: 'Geheimweg 7', postalCode: '10999' };
const checkout = (orderId: string, card = CLEAR.number, expiry = '12/30') => ({
  orderId,
  customerId: 'c-fe',
  items: [
    { sku: 'FE-1', quantity: 2, unitPrice: 10 },
    { sku: 'FE-2', quantity: 1, unitPrice: 5 },
  ],
  customer: { email: CLEAR.email, phone: CLEAR.phone },
  shippingAddress: { line1: CLEAR.street, city: 'Berlin', postalCode: CLEAR.postalCode, country: 'DE' },
  payment: { method: 'card', card: { number: card, holder: CLEAR.holder, expiry } },
});

type Saga = { status: string; lastError?: string; failedStep?: string };
const sagaEnded = (orderId: string) =>
  waitFor(
    async () => {
      const res = await fetch(running.url(`/api/sagas/${orderId}`));
      const saga = res.ok ? ((await res.json()) as Saga) : undefined;
      return saga && ['Completed', 'Compensated', 'CompensationFailed'].includes(saga.status) && saga;
    },
    `the saga of ${orderId} to end`,
    20_000,
  );

const orderCreated = async (orderId: string) => {
  const events = (await (await fetch(running.url(`/api/orders/${orderId}/events`))).json()) as { events: { type: string; data: Record<string, any> }[] };
  return events.events.find((e) => e.type === 'OrderCreated')!.data;
};

/** Every stored document (events, views, ledgers, …) and broker message, as text. */
const storedText = () =>
  [
    ...(running.host.db.prepare('SELECT body FROM doc_items').all() as { body: string }[]).map((r) => String(r.body)),
    ...(running.host.db.prepare('SELECT body, app_props FROM sb_messages').all() as { body: Buffer; app_props: string | null }[]).map((r) => `${r.body.toString('latin1')} ${r.app_props ?? ''}`),
    ...(running.host.db.prepare('SELECT * FROM df_history').raw(true).all() as unknown[][]).map((r) => r.map(String).join(' ')),
  ].join('\n');

function expectNothingInClear() {
  const text = storedText();
  for (const clear of Object.values(CLEAR)) expect(text).not.toContain(clear);
}

test('a checkout through the ESB: encrypted in the events and messages, last4 and brand in the view, authorized by card', async () => {
  expect((await postJson(running.url('/api/messages'), { messageType: 'CreateOrder', payload: checkout('fe-1') })).status).toBe(202);
  expect((await postJson(running.url('/api/messages'), { messageType: 'SubmitOrder', payload: { orderId: 'fe-1' } })).status).toBe(202);
  expect(await sagaEnded('fe-1')).toMatchObject({ status: 'Completed' });

  const created = await orderCreated('fe-1');
  expect(created.payment).toMatchObject({ method: 'card', card: { last4: '1111', brand: 'visa' } });
  for (const value of [
    created.payment.card.number,
    created.payment.card.holder,
    created.payment.card.expiry,
    created.customer.email,
    created.customer.phone,
    created.shippingAddress.line1,
    created.shippingAddress.postalCode,
  ]) {
    expect(isSealed(value)).toBe(true);
  }
  expect(created.shippingAddress).toMatchObject({ city: 'Berlin', country: 'DE' });

  const view = await waitFor(async () => {
    const res = await fetch(running.url('/api/orders/fe-1'));
    return res.headers.get('x-read-model') === 'view' && ((await res.json()) as Record<string, any>);
  }, 'the order view');
  expect(view.payment).toEqual({ method: 'card', brand: 'visa', last4: '1111' });
  expect(JSON.stringify(view)).not.toMatch(/enc:v1:|Erika|example\.com/);
  const customerOrders = (await (await fetch(running.url('/api/customers/c-fe/orders'))).json()) as unknown;
  expect(JSON.stringify(customerOrders)).not.toMatch(/enc:v1:|1111|Erika/);

  // The payment step decrypted the card to authorize it; what it recorded is the brand and last four.
  const ledger = (running.host.db.prepare('SELECT body FROM doc_items WHERE body LIKE \'%"step":"authorizePayment"%\' AND body LIKE \'%fe-1%\'').all() as { body: string }[]).map(
    (r) => JSON.parse(r.body) as { effect: Record<string, unknown> },
  );
  expect(ledger).toEqual([expect.objectContaining({ effect: expect.objectContaining({ card: { brand: 'visa', last4: '1111' } }) })]);
  expectNothingInClear();
});

test('an order created over HTTP is encrypted the same way', async () => {
  const res = await postJson(running.url('/api/orders'), checkout('fe-http'));
  expect(res.status).toBe(201);
  const created = await orderCreated('fe-http');
  expect(created.payment.card.last4).toBe('1111');
  expect(isSealed(created.payment.card.number)).toBe(true);
  expect(isSealed(created.customer.email)).toBe(true);
  expectNothingInClear();
});

test('the payment step declines an expired card: the saga compensates and says why', async () => {
  await postJson(running.url('/api/messages'), { messageType: 'CreateOrder', payload: checkout('fe-expired', '5555555555554444', '01/24') });
  await postJson(running.url('/api/messages'), { messageType: 'SubmitOrder', payload: { orderId: 'fe-expired' } });
  const saga = await sagaEnded('fe-expired');
  expect(saga).toMatchObject({ status: 'Compensated', failedStep: 'authorizePayment' });
  expect(saga.lastError).toContain('CardExpired: the card ending 4444 expired 01/24');
});

test('bad card data is a 400 naming the field, before anything is sent', async () => {
  const luhn = await postJson(running.url('/api/messages'), { messageType: 'CreateOrder', payload: checkout('fe-bad', '4111111111111112') });
  expect(luhn.status).toBe(400);
  expect(luhn.json).toMatchObject({ error: { target: 'payload.payment.card.number' } });
  const created = (await orderCreated('fe-1')) as { payment: { card: { number: string } } };
  const replayed = checkout('fe-sealed');
  replayed.payment.card.number = created.payment.card.number;
  const sealed = await postJson(running.url('/api/messages'), { messageType: 'CreateOrder', payload: replayed });
  expect(sealed.status).toBe(400);
  expect(sealed.json).toMatchObject({ error: { target: 'payload.payment.card.number', message: expect.stringContaining('already encrypted') } });
  const overHttp = await postJson(running.url('/api/orders'), replayed);
  expect(overHttp.status).toBe(400);
  expect(overHttp.json).toMatchObject({ error: { target: 'payment.card.number' } });
});

test('a command carrying a card in clear is refused where it would be stored, even with a valid signature', async () => {
  const command = {
    messageId: 'fe-clear',
    messageType: 'CreateOrder',
    schemaVersion: 1,
    correlationId: 'corr-fe-clear',
    timestamp: new Date().toISOString(),
    headers: {},
    payload: checkout('fe-clear'),
  };
  await running.host.broker.send('order-commands', [
    signedByApp(
      {
        body: Buffer.from(JSON.stringify(command)),
        messageId: 'fe-clear',
        contentType: 'application/json',
        sessionId: 'fe-clear',
        subject: 'CreateOrder',
        applicationProperties: { messageType: 'CreateOrder' },
      },
      'order-commands',
    ),
  ]);
  const dead = await waitFor(() => running.host.broker.peek('order-commands/$deadletterqueue', { maxMessageCount: 50 }).find((m) => m.messageId === 'fe-clear'), 'the dead letter');
  expect(dead.deadLetterReason).toBe('CommandInvalid');
  expect(dead.deadLetterErrorDescription).toContain('payload.payment.card.number must be encrypted');
  expect((await fetch(running.url('/api/orders/fe-clear'))).status).toBe(404);
});

test('a card payment reaches finance as Avro and the ledger topic as JSON with the card encrypted', async () => {
  const payment = {
    paymentId: 'pay-fe',
    orderId: 'fe-1',
    amount: 25,
    currency: 'EUR',
    method: 'card',
    card: { number: '6011111111111117', holder: 'Max Muster', expiry: '10/29' },
    payer: { email: 'max.fe@example.com' },
  };
  expect((await postJson(running.url('/api/messages'), { messageId: 'pay-fe', messageType: 'PaymentReceived', payload: payment })).status).toBe(202);
  const at = (path: string) => running.host.broker.peek(path, { maxMessageCount: 250 }).find((m) => m.applicationProperties.causationId === 'pay-fe');
  const finance = await waitFor(() => at('finance'), 'the finance message');
  const decoded = decodeAvro(SchemaRegistry.load().get('PaymentReceived.v1'), finance.body) as typeof payment & { card: { last4: string; brand: string } };
  expect(decoded.card).toMatchObject({ last4: '1117', brand: 'discover' });
  expect([decoded.card.number, decoded.card.holder, decoded.card.expiry, decoded.payer.email].every(isSealed)).toBe(true);
  const ledger = await waitFor(() => at('payment-events/subscriptions/ledger'), 'the ledger message');
  expect(ledger.body.toString()).not.toMatch(/6011111111111117|max\.fe@example\.com|Max Muster/);
  expect(JSON.parse(ledger.body.toString()).payload.card.last4).toBe('1117');
});
