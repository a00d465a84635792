// Fidelity: an app that calls app.setup({ enableHttpStream: true }) gets its requests and
// responses streamed, as the Functions host proxies them to the worker (the library reports
// capability HttpUri and waits for the proxied request, x-ms-invocation-id, x-forwarded-host/proto);
// before, every request hung. And host.json's functionTimeout ends an invocation that never
// answers with the 500 Azure gives (learn.microsoft.com, "Function app timeout duration";
// Flex Consumption's default is 30 minutes).
import { join } from 'node:path';
import { packageRoot, startApp, type AppProcess } from './app-process';

let app: AppProcess;
beforeAll(async () => {
  app = await startApp(join(packageRoot, 'test', 'fidelity', 'apps', 'http-stream'));
});
afterAll(async () => {
  await app?.stop();
});

test('a 5 MiB request body streams into the function and its streamed answer comes back whole', async () => {
  const body = Buffer.alloc(5 * 1024 * 1024, 0x61);
  const res = await fetch(`${app.baseUrl}/api/countBytes`, { method: 'POST', body });
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toBe('text/plain');
  expect(await res.text()).toBe(`received ${body.length} bytes in several chunks\npart 1\npart 2\n`);
});

test('a plain request on a streaming app answers, with its query and the host it was sent to', async () => {
  const res = await fetch(`${app.baseUrl}/api/greet?name=Ada`);
  expect(res.status).toBe(200);
  expect(await res.text()).toBe(`hello Ada at ${new URL(app.baseUrl).host}`);
});

test('an invocation past functionTimeout answers 500, and the app goes on serving', async () => {
  const res = await fetch(`${app.baseUrl}/api/neverAnswers`);
  expect(res.status).toBe(500);
  expect(app.output()).toMatch(/Timeout value of 2000ms was exceeded by function: Functions\.neverAnswers|Timeout value of 2000ms was exceeded/);
  expect((await fetch(`${app.baseUrl}/api/greet?name=again`)).status).toBe(200);
});
