// Fidelity: string inputs of activities, sub-orchestrations and continue-as-new reach their
// function as the strings they are, as on Azure. durable-functions JSON-encodes a string passed to
// callActivity/callActivityWithRetry/continueAsNew (Utils.processInput) and the Durable extension
// takes that layer off: Microsoft's function-chaining sample (learn.microsoft.com, "Function
// chaining in Durable Functions") returns ["Hello Tokyo!", "Hello Seattle!", "Hello London!"].
// Before the fix the embedded host answered `Hello "Tokyo"`. The app (test/fidelity/apps/
// durable-inputs: package.json, host.json, local.settings.json and functions/, no config/) is
// started with --app and driven over HTTP through the URLs its responses give.
import { request } from 'node:http';
import { join } from 'node:path';
import { packageRoot, startApp, untilEnded, type AppProcess } from './app-process';

let app: AppProcess;
beforeAll(async () => {
  app = await startApp(join(packageRoot, 'test', 'fidelity', 'apps', 'durable-inputs'));
});
afterAll(async () => {
  await app?.stop();
});

async function start(name: string, input?: unknown): Promise<{ statusQueryGetUri: string }> {
  const res = await fetch(`${app.baseUrl}/api/orchestrators/${name}`, { method: 'POST', body: input === undefined ? undefined : JSON.stringify(input) });
  expect(res.status).toBe(202);
  return (await res.json()) as { statusQueryGetUri: string };
}

test('an app with no config/ starts with --app', () => {
  expect(app.output()).toMatch(/startOrchestration: \[POST\] http:\/\/localhost:\d+\/api\/orchestrators\/\{name\}/);
});

test('callActivity, callActivityWithRetry and a sub-orchestration get "Tokyo", not "\\"Tokyo\\""', async () => {
  const { statusQueryGetUri } = await start('helloCities');
  const status = await untilEnded(statusQueryGetUri);
  expect(status).toMatchObject({ runtimeStatus: 'Completed', output: ['Hello Tokyo', 'Hello Seattle', 'Hello London'] });
});

test('continueAsNew with a string input hands the next execution that string', async () => {
  const { statusQueryGetUri } = await start('growString', 'a');
  const status = await untilEnded(statusQueryGetUri);
  expect(status).toMatchObject({ runtimeStatus: 'Completed', output: 'aaa' });
});

/** POSTs with a Host header of the caller's choosing (fetch does not let one set it). */
function postAs(host: string, path: string): Promise<{ status: number; body: Record<string, string> }> {
  const target = new URL(app.baseUrl);
  return new Promise((resolve, reject) => {
    const req = request({ host: target.hostname, port: target.port, path, method: 'POST', headers: { host } }, (res) => {
      let text = '';
      res.on('data', (d: Buffer) => (text += d.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) as Record<string, string> }));
    });
    req.on('error', reject);
    req.end();
  });
}

test('check-status URLs name the host the caller used, and times are whole seconds (HttpApiHandler: ToString("s") + "Z")', async () => {
  // The library builds them from request.url (DurableClient.getClientResponseLinks); Azure's host
  // gives request.url the caller's Host. Before, they always said http://localhost:<port>.
  const started = await postAs('orders.example.test:8443', '/api/orchestrators/helloOne');
  expect(started.status).toBe(202);
  expect(started.body.statusQueryGetUri).toMatch(/^http:\/\/orders\.example\.test:8443\/runtime\/webhooks\/durabletask\/instances\//);
  const status = await untilEnded(started.body.statusQueryGetUri!.replace('http://orders.example.test:8443', app.baseUrl));
  expect(status).toMatchObject({ runtimeStatus: 'Completed' });
  const raw = (await (await fetch(started.body.statusQueryGetUri!.replace('http://orders.example.test:8443', app.baseUrl))).json()) as { createdTime: string; lastUpdatedTime: string };
  expect(raw.createdTime).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
  expect(raw.lastUpdatedTime).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
});
