// Fidelity: string inputs of activities, sub-orchestrations and continue-as-new reach their
// function as the strings they are, as on Azure. durable-functions JSON-encodes a string passed to
// callActivity/callActivityWithRetry/continueAsNew (Utils.processInput) and the Durable extension
// takes that layer off: Microsoft's function-chaining sample (learn.microsoft.com, "Function
// chaining in Durable Functions") returns ["Hello Tokyo!", "Hello Seattle!", "Hello London!"].
// Before the fix the embedded host answered `Hello "Tokyo"`. The app (test/fidelity/apps/
// durable-inputs: package.json, host.json, local.settings.json and functions/, no config/) is
// started with --app and driven over HTTP through the URLs its responses give.
import { join } from 'node:path';
import { repoRoot } from '../support/messaging-harness';
import { startApp, untilEnded, type AppProcess } from './app-process';

let app: AppProcess;
beforeAll(async () => {
  app = await startApp(join(repoRoot, 'test', 'fidelity', 'apps', 'durable-inputs'));
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
