// Fidelity: a function with a binding the embedded host does not run (a blob output, Twilio, a
// Storage queue trigger) does not stop the app. Azure indexes each function on its own and runs the
// others; the embedded host leaves that one out with a warning naming it and the binding, and an
// HTTP one answers 501 with the reason. Before, the whole app refused to start.
import { join } from 'node:path';
import { packageRoot, startApp, type AppProcess } from './app-process';

let app: AppProcess;
beforeAll(async () => {
  app = await startApp(join(packageRoot, 'test', 'fidelity', 'apps', 'unsupported-bindings'));
});
afterAll(async () => {
  await app?.stop();
});

test('the app starts and the function the host runs answers', async () => {
  const res = await fetch(`${app.baseUrl}/api/hello`);
  expect(res.status).toBe(200);
  expect(await res.text()).toBe('hello');
});

test('each function left out is named with its binding in a warning', () => {
  expect(app.output()).toContain("function 'saveUpload' is not loaded: its output binding");
  expect(app.output()).toMatch(/function 'saveUpload' is not loaded: its output binding '[^']+' of type blob is not supported/);
  expect(app.output()).toMatch(/function 'sendSms' is not loaded: its output binding '[^']+' of type twilioSms is not supported/);
  expect(app.output()).toMatch(/function 'resize' is not loaded: its trigger type queueTrigger is not one the embedded host runs/);
});

test('calling one over HTTP answers 501 with the reason, as JSON', async () => {
  const res = await fetch(`${app.baseUrl}/api/uploads`, { method: 'POST', body: 'x' });
  expect(res.status).toBe(501);
  expect(await res.json()).toMatchObject({ error: { code: 'NotImplemented', message: expect.stringMatching(/saveUpload.*blob/) } });
});
