// The routes file in use: changed while the host runs, and with a backoff short enough to watch
// retries by scheduled re-enqueue play out to RetriesExhausted and triage.
import { ConfigCopy } from '../support/config-copy';
import { postJson, startHost, waitFor, type RunningHost } from '../support/host';
import { repoRoot } from '../support/messaging-harness';

const config = new ConfigCopy();
let running: RunningHost;
const log = (text: string) => running.logs.find((l) => l.message.includes(text));

beforeAll(async () => {
  config.editRoutes((yaml) => yaml.replace('    deadLetterAfterRetries: 3\n', '    deadLetterAfterRetries: 3\n    retryBackoff: { initialInterval: PT0.05S, maxInterval: PT0.2S }\n'));
  process.env.CONFIG_DIR = config.dir;
  running = await startHost(repoRoot);
});
afterAll(async () => {
  await running.stop();
  delete process.env.CONFIG_DIR;
  delete process.env.FAULT_INJECTION;
  config.remove();
});

test('a route added to routes.yaml while the host runs takes effect without a restart', async () => {
  const feedback = (id: string) => ({ messageId: id, messageType: 'CustomerFeedback', payload: { customerId: 'c', rating: 5 } });
  await postJson(running.url('/api/messages'), feedback('fb-before'));
  await waitFor(() => log('Dead-lettered CustomerFeedback fb-before'), 'NoRouteMatched before the change');
  config.editRoutes(
    (yaml) => `${yaml}\n  - name: feedback\n    priority: 60\n    conditions: { field: messageType, operator: equals, value: CustomerFeedback }\n    destinations:\n      - topic: order-events\n`,
  );
  await new Promise((r) => setTimeout(r, 1100)); // the file is checked at most once a second
  await postJson(running.url('/api/messages'), feedback('fb-after'));
  const line = await waitFor(() => log('Routed CustomerFeedback fb-after'), 'routing by the new route');
  expect(line.message).toContain('via feedback');
});

test('a destination that keeps failing: retries with growing delays, then RetriesExhausted, then triage', async () => {
  process.env.FAULT_INJECTION = JSON.stringify({ 'send:express-processing': 1 });
  const payload = { orderId: 'o-r', customerId: 'c', items: [{ sku: 'A', quantity: 1, unitPrice: 5000 }], totalAmount: 5000, currency: 'EUR' };
  const res = await postJson(running.url('/api/messages'), { messageId: 'retry-me', messageType: 'OrderPlaced', headers: { priority: 'urgent' }, payload });
  expect(res.status).toBe(202);
  const dead = await waitFor(() => log('Dead-lettered OrderPlaced retry-me'), 'RetriesExhausted', 15_000);
  expect(dead.message).toContain('RetriesExhausted [TRANSIENT] Gave up after 3 retries');
  const delays = [1, 2, 3].map((n) => Number(/scheduled in (\d+) ms/.exec(log(`Retry ${n} of OrderPlaced retry-me`)!.message)![1]));
  // ceilings 50, 100, 200 ms; each delay between half and all of its ceiling
  expect(delays[0]).toBeGreaterThanOrEqual(25);
  expect(delays[0]).toBeLessThanOrEqual(50);
  expect(delays[1]).toBeGreaterThanOrEqual(50);
  expect(delays[1]).toBeLessThanOrEqual(100);
  expect(delays[2]).toBeGreaterThanOrEqual(100);
  expect(delays[2]).toBeLessThanOrEqual(200);
  await waitFor(() => log('Triage: retry-me#a3 (RetriesExhausted) resubmitted to inbound'), 'triage to schedule a resubmission');
  const scheduled = running.host.broker.peek('inbound', { maxMessageCount: 250 }).find((m) => m.messageId === 'retry-me#t1');
  expect(scheduled).toMatchObject({ state: 'scheduled', applicationProperties: { 'x-triage-resubmits': 1, 'x-dead-letter-reason': 'RetriesExhausted' } });
  expect(scheduled!.applicationProperties['x-retry-attempt']).toBeUndefined();
});
