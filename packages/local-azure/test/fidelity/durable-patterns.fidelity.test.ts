// Fidelity: the Durable Functions application patterns of Microsoft's docs, each in the app
// test/fidelity/apps/durable-patterns (started with --app, no config/), driven over HTTP through
// the URLs its responses give, and checked against what the extension answers:
// - fan-out/fan-in (Task.all), retries of activities and sub-orchestrations
//   (callActivityWithRetry / callSubOrchestratorWithRetry; DurableTask.Core's RetryInterceptor),
// - human interaction (waitForExternalEvent raced with a timer through Task.any; raiseEvent via
//   sendEventPostUri), monitor (continueAsNew loop), eternal orchestration (terminatePostUri),
// - synchronous start (waitForCompletionOrCreateCheckStatusResponse: 200 with the output when it
//   ends in time, else the 202 check-status answer),
// - callHttp, including the asynchronous 202 + Location pattern polled to its end (the
//   extension's CallHttpAsync; its result is DurableHttpResponse { statusCode, headers, content }),
// - the status API's showHistory shape (the extension's DurableClient.GetDurableOrchestrationStatusAsync:
//   one `historyEvents` array, event types by name, scheduling events folded into their
//   completions) and a start with no body recording input null.
import { join } from 'node:path';
import { packageRoot, startApp, untilEnded, type AppProcess } from './app-process';

interface CheckStatus {
  id: string;
  statusQueryGetUri: string;
  sendEventPostUri: string;
  terminatePostUri: string;
}

let app: AppProcess;
beforeAll(async () => {
  app = await startApp(join(packageRoot, 'test', 'fidelity', 'apps', 'durable-patterns'));
});
afterAll(async () => {
  await app?.stop();
});

async function start(name: string, input?: unknown): Promise<CheckStatus> {
  const res = await fetch(`${app.baseUrl}/api/orchestrators/${name}`, { method: 'POST', ...(input === undefined ? {} : { body: JSON.stringify(input) }) });
  expect(res.status).toBe(202);
  return (await res.json()) as CheckStatus;
}

test('fan-out/fan-in: Task.all over ten activities', async () => {
  const status = await untilEnded((await start('fanOutFanIn', 10)).statusQueryGetUri);
  expect(status).toMatchObject({ runtimeStatus: 'Completed', output: 385 });
});

test('retries: an activity and a sub-orchestration succeed on their third attempt; exhausted retries throw', async () => {
  const status = await untilEnded((await start('withRetries', 'r1')).statusQueryGetUri, 30_000);
  expect(status).toMatchObject({
    runtimeStatus: 'Completed',
    output: { activity: 'r1-activity succeeded on attempt 3', child: 'r1-child succeeded on attempt 3', exhausted: 'gave up' },
  });
});

test('human interaction: the approval event wins over the timer; without it the timer does', async () => {
  const waiting = await start('approval', { timeoutMs: 60_000 });
  const raised = await fetch(waiting.sendEventPostUri.replace('{eventName}', 'Approval'), { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ by: 'ana' }) });
  expect(raised.status).toBe(202);
  expect(await untilEnded(waiting.statusQueryGetUri)).toMatchObject({ runtimeStatus: 'Completed', output: 'approved by ana' });
  const ignored = await start('approval', { timeoutMs: 300 });
  expect(await untilEnded(ignored.statusQueryGetUri)).toMatchObject({ runtimeStatus: 'Completed', output: 'timed out' });
});

test('monitor: continueAsNew until the condition holds', async () => {
  const status = await untilEnded((await start('monitor', { polls: 0, until: 16 })).statusQueryGetUri);
  expect(status).toMatchObject({ runtimeStatus: 'Completed', output: { polls: 4, value: 16 } });
});

test('eternal orchestration: runs generation after generation until terminated; a start with no body records input null', async () => {
  // Started through the extension's webhook with no body: the extension records input null.
  // (durable-functions' client.startNew without an input posts "" as JSON — axios serializes the
  // empty string — so an app starting it that way gets input "", on Azure as here.)
  const res = await fetch(`${app.baseUrl}/runtime/webhooks/durabletask/orchestrators/eternal`, { method: 'POST' });
  expect(res.status).toBe(202);
  const eternal = (await res.json()) as CheckStatus;
  const first = (await (await fetch(eternal.statusQueryGetUri)).json()) as { input: unknown };
  expect(first.input).toBeNull();
  let generation = 0;
  const deadline = Date.now() + 15_000;
  while (generation < 3 && Date.now() < deadline) {
    const s = (await (await fetch(eternal.statusQueryGetUri)).json()) as { runtimeStatus: string; customStatus: { generation: number } | null };
    expect(s.runtimeStatus).toBe('Running');
    generation = s.customStatus?.generation ?? 0;
    await new Promise((r) => setTimeout(r, 100));
  }
  expect(generation).toBeGreaterThanOrEqual(3);
  const terminated = await fetch(eternal.terminatePostUri.replace('{text}', 'enough'), { method: 'POST' });
  expect(terminated.status).toBe(202);
  expect(await untilEnded(eternal.statusQueryGetUri)).toMatchObject({ runtimeStatus: 'Terminated', output: 'enough' });
});

test('synchronous start: 200 with the output in time, else 202 with the check-status payload', async () => {
  const quick = await fetch(`${app.baseUrl}/api/sync/fanOutFanIn`, { method: 'POST', body: '3' });
  expect(quick.status).toBe(200);
  expect(await quick.json()).toBe(14);
  const slow = await fetch(`${app.baseUrl}/api/sync/approval?timeout=300`, { method: 'POST', body: JSON.stringify({ timeoutMs: 60_000 }) });
  expect(slow.status).toBe(202);
  const payload = (await slow.json()) as CheckStatus;
  expect(payload.statusQueryGetUri).toContain(`/runtime/webhooks/durabletask/instances/${payload.id}`);
  await fetch(payload.terminatePostUri.replace('{text}', 'done'), { method: 'POST' });
});

test('callHttp: a GET, and a 202 + Location job polled until it answers 200', async () => {
  const status = await untilEnded((await start('callHttp', app.baseUrl)).statusQueryGetUri, 30_000);
  expect(status).toMatchObject({
    runtimeStatus: 'Completed',
    output: { plain: { statusCode: 200, content: 'pong' }, job: { statusCode: 200, content: { done: true, polls: 2, size: 3 } } },
  });
});

test("showHistory=true answers the extension's shape: one historyEvents array, folded task events", async () => {
  const started = await start('fanOutFanIn', 2);
  await untilEnded(started.statusQueryGetUri);
  const res = await fetch(`${started.statusQueryGetUri}&showHistory=true&showHistoryOutput=true`);
  const body = (await res.json()) as { historyEvents: Record<string, unknown>[]; history?: unknown };
  expect(body.history).toBeUndefined();
  const types = body.historyEvents.map((e) => e.EventType);
  expect(types).toEqual(['ExecutionStarted', 'TaskCompleted', 'TaskCompleted', 'ExecutionCompleted']);
  expect(body.historyEvents[0]).toMatchObject({ FunctionName: 'fanOutFanIn', Input: '2' });
  expect(body.historyEvents[1]).toMatchObject({ FunctionName: 'square', Input: '1', Result: 1, ScheduledTime: expect.any(String) });
  expect(body.historyEvents[3]).toMatchObject({ OrchestrationStatus: 'Completed', Result: 5 });
  for (const e of body.historyEvents) {
    expect(e).not.toHaveProperty('EventId');
    expect(e).not.toHaveProperty('IsPlayed');
    expect(e).not.toHaveProperty('TaskScheduledId');
  }
  // Without showHistoryOutput, results are left out.
  const plain = (await (await fetch(`${started.statusQueryGetUri}&showHistory=true`)).json()) as { historyEvents: Record<string, unknown>[] };
  expect(plain.historyEvents[1]).not.toHaveProperty('Result');
});
