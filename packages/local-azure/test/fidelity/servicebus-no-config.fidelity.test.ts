// Fidelity: a Service Bus app with no config/ runs. With no topology declared, the embedded host
// creates the queues, topics and subscriptions the app's bindings name (Service Bus's defaults)
// and says so in one line each; before, the app could not start (config/topology.yaml ENOENT).
import { join } from 'node:path';
import { packageRoot, startApp, type AppProcess } from './app-process';

let app: AppProcess;
beforeAll(async () => {
  app = await startApp(join(packageRoot, 'test', 'fidelity', 'apps', 'servicebus'));
});
afterAll(async () => {
  await app?.stop();
});

test('one line per entity created from the bindings', () => {
  expect(app.output()).toContain("Service Bus queue 'orders' created for function");
  expect(app.output()).toContain("Service Bus topic 'notifications' created for function");
  expect(app.output()).toContain("Service Bus subscription 'notifications/subscriptions/audit' created for function 'auditOrder'");
});

test('a message goes HTTP → queue → trigger → topic → subscription trigger', async () => {
  const res = await fetch(`${app.baseUrl}/api/orders`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ orderId: 'o-1' }) });
  expect(res.status).toBe(202);
  const deadline = Date.now() + 15_000;
  let seen: unknown[] = [];
  while (Date.now() < deadline) {
    seen = (await (await fetch(`${app.baseUrl}/api/audited`)).json()) as unknown[];
    if (seen.length > 0) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  expect(seen).toEqual([{ orderId: 'o-1', forwarded: true }]);
});
