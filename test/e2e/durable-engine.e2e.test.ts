// The embedded Durable engine runs the fixture app's orchestrations through the real
// durable-functions replay: activities in sequence and fanned out, retries with backoff, durable
// timers, external events racing a timeout, sub-orchestrations, continue-as-new, custom status,
// failures, nondeterminism, suspension and termination — through the durable client
// (df.getClient) and the HTTP API its createCheckStatusResponse links to.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ManualClock } from '@backbone/local-azure/clock';
import { postJson, rawHistory, startHost, waitFor, type RunningHost } from '../support/host';
import { repoRoot } from '../support/messaging-harness';

const appDir = join(repoRoot, 'test', 'fixtures', 'host-app');

interface Status {
  runtimeStatus: string;
  output: unknown;
  customStatus: unknown;
  input: unknown;
  history?: { EventType: string; Name?: string }[];
}

let dir: string;
let running: RunningHost;
const clock = new ManualClock(Date.UTC(2026, 5, 1));

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'durable-'));
  running = await startHost(appDir, { database: join(dir, 'embedded.sqlite'), clock, sweepIntervalMs: 0 });
});
afterAll(async () => {
  await running?.stop();
  rmSync(dir, { recursive: true, force: true });
});

async function start(name: string, id: string, input?: unknown) {
  const res = await postJson(running.url(`/api/orchestrators/${name}/${id}`), input === undefined ? '' : input);
  expect(res.status).toBe(202);
  return res;
}
const status = async (id: string): Promise<Status> => ({
  ...((await (await fetch(running.url(`/api/durable/${id}/status`))).json()) as Status),
  history: rawHistory(running, id) as Status['history'],
});
const settled = (id: string, statuses = ['Completed', 'Failed', 'Terminated']) =>
  waitFor(async () => {
    const s = await status(id);
    return statuses.includes(s.runtimeStatus) && s;
  }, `${id} to finish`);

test('createCheckStatusResponse links to the HTTP API; a sequence of activities completes with custom status', async () => {
  const res = await start('sequenceOrchestrator', 'seq-1', { values: ['a', 'b', 'c'] });
  const links = res.json as Record<string, string>;
  expect(links.id).toBe('seq-1');
  expect(res.headers.get('location')).toBe(links.statusQueryGetUri);
  const done = await settled('seq-1');
  expect(done).toMatchObject({ runtimeStatus: 'Completed', output: ['a', 'b', 'c'], customStatus: { step: 'c' }, input: { values: ['a', 'b', 'c'] } });
  const polled = await fetch(links.statusQueryGetUri!);
  expect(polled.status).toBe(200);
  expect(((await polled.json()) as Status).runtimeStatus).toBe('Completed');
  expect(done.history!.filter((e) => e.EventType === 'TaskScheduled').map((e) => e.Name)).toEqual(['echoActivity', 'echoActivity', 'echoActivity']);
});

const tick = async (ms: number) => {
  clock.advance(ms);
  await new Promise((r) => setTimeout(r, 20));
};
/** Waits until the instance has scheduled `n` timers (so the clock can be moved past them). */
const timers = (id: string, n: number) => waitFor(async () => ((await status(id)).history ?? []).filter((e) => e.EventType === 'TimerCreated').length >= n, `${n} timer(s) in ${id}`);
const fixture = () => (globalThis as unknown as { __fixture: { activityRuns: Record<string, number>; flaky: Record<string, number> } }).__fixture;
const op = (id: string, name: string, body?: unknown) => fetch(running.url(`/api/durable/${id}/${name}`), { method: 'POST', body: body === undefined ? undefined : JSON.stringify(body) });

test('callActivityWithRetry: failed attempts wait for durable retry timers (first interval × coefficient^n) and then succeed', async () => {
  await start('retryOrchestrator', 'retry-1', { key: 'r1', failures: 2, attempts: 5 });
  await timers('retry-1', 1);
  await tick(500);
  expect(fixture().flaky.r1).toBe(1); // the first retry waits 1 s
  await tick(600);
  await timers('retry-1', 2);
  expect(fixture().flaky.r1).toBe(2);
  await tick(1_500);
  expect(fixture().flaky.r1).toBe(2); // then 2 s (coefficient 2)
  await tick(600);
  await waitFor(() => fixture().flaky.r1 === 3, 'the third attempt');
  expect(await settled('retry-1')).toMatchObject({ runtimeStatus: 'Completed', output: 'ok after 3' });
  const history = (await status('retry-1')).history!.map((e) => e.EventType);
  expect(history.filter((e) => e === 'TaskFailed')).toHaveLength(2);
  expect(history.filter((e) => e === 'TimerFired')).toHaveLength(2);
});

test('callActivityWithRetry gives up after maxNumberOfAttempts; the orchestrator catches the failure', async () => {
  await start('retryOrchestrator', 'retry-2', { key: 'r2', failures: 10, attempts: 2 });
  await timers('retry-2', 1);
  await tick(1_100);
  await timers('retry-2', 2);
  expect(fixture().flaky.r2).toBe(2);
  await tick(10); // after the last attempt: a zero-delay timer, as DurableTask.Core creates
  const done = await settled('retry-2');
  expect(done.output).toMatch(/^gave up: Activity function 'flakyActivity' failed: {2}attempt 2 fails/);
  expect(fixture().flaky.r2).toBe(2);
});

test('an external event that arrives in time wins the race with the timer', async () => {
  await start('approvalOrchestrator', 'approve-1', { timeoutMs: 60_000 });
  await waitFor(async () => (await status('approve-1')).runtimeStatus === 'Running', 'running');
  expect((await op('approve-1', 'raise', { approved: true, by: 'alice' })).status).toBe(202);
  expect(await settled('approve-1')).toMatchObject({ output: { approved: true, by: 'alice' } });
});

test('without the event the durable timer fires and the orchestrator moves on', async () => {
  await start('approvalOrchestrator', 'approve-2', { timeoutMs: 60_000 });
  await timers('approve-2', 1);
  await tick(30_000);
  expect((await status('approve-2')).runtimeStatus).toBe('Running');
  await tick(31_000);
  expect(await settled('approve-2')).toMatchObject({ output: { approved: false, reason: 'timed out' } });
  // An event for a finished instance is refused with 410, which the client treats as done.
  expect((await op('approve-2', 'raise', { approved: true })).status).toBe(202);
  const direct = await fetch(`${running.host.baseUrl}/runtime/webhooks/durabletask/instances/approve-2/raiseEvent/Approval`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: '{}',
  });
  expect(direct.status).toBe(410);
});

test('Task.all fans out and in; a sub-orchestration runs as a child instance', async () => {
  await start('fanOutOrchestrator', 'fan-1', [1, 2, 3, 4]);
  expect(await settled('fan-1')).toMatchObject({ runtimeStatus: 'Completed', output: { fanned: [1, 2, 3, 4], child: ['x', 'y'] } });
  // The child's id is the parent's execution id and the task's sequence number, as DurableTask.Core names it.
  const created = ((await status('fan-1')).history as { EventType: string; InstanceId?: string }[]).find((e) => e.EventType === 'SubOrchestrationInstanceCreated');
  expect(created!.InstanceId).toMatch(/^[0-9a-f]{32}:4$/);
  expect(await status(created!.InstanceId!)).toMatchObject({ runtimeStatus: 'Completed', output: ['x', 'y'] });
});

test('continueAsNew starts a fresh execution with the new input', async () => {
  await start('counterOrchestrator', 'count-1', 0);
  for (let i = 0; i < 4; i++) {
    await new Promise((r) => setTimeout(r, 30));
    await tick(20);
  }
  const done = await settled('count-1');
  expect(done).toMatchObject({ runtimeStatus: 'Completed', output: 'counted to 3', input: 3 });
  expect(done.history!.filter((e) => e.EventType === 'ExecutionStarted')).toHaveLength(1);
});

test('an orchestrator that throws fails the instance with its message', async () => {
  await start('failingOrchestrator', 'fail-1');
  const done = await settled('fail-1');
  expect(done.runtimeStatus).toBe('Failed');
  expect(done.output).toMatch(/the orchestration gives up/);
});

test('a nondeterministic orchestrator fails on replay, naming what changed', async () => {
  await start('nondeterministicOrchestrator', 'nd-1');
  const done = await settled('nd-1');
  expect(done.runtimeStatus).toBe('Failed');
  expect(done.output).toMatch(/Non-Deterministic workflow detected/);
  expect(done.output).toMatch(/'echoActivity'.*'flakyActivity'/);
});

test('suspend holds an instance (events wait), resume lets it go on; terminate ends it', async () => {
  await start('approvalOrchestrator', 'sus-1', { timeoutMs: 600_000 });
  await waitFor(async () => (await status('sus-1')).runtimeStatus === 'Running', 'running');
  expect((await op('sus-1', 'suspend')).status).toBe(202);
  await waitFor(async () => (await status('sus-1')).runtimeStatus === 'Suspended', 'suspended');
  await op('sus-1', 'raise', { approved: true, by: 'bob' });
  await new Promise((r) => setTimeout(r, 100));
  expect((await status('sus-1')).runtimeStatus).toBe('Suspended');
  await op('sus-1', 'resume');
  expect(await settled('sus-1')).toMatchObject({ runtimeStatus: 'Completed', output: { approved: true, by: 'bob' } });

  await start('approvalOrchestrator', 'term-1', { timeoutMs: 600_000 });
  await waitFor(async () => (await status('term-1')).runtimeStatus === 'Running', 'running');
  await op('term-1', 'terminate');
  expect(await settled('term-1')).toMatchObject({ runtimeStatus: 'Terminated', output: 'stopped by test' });
});

test('starting an instance id that is running is refused; a finished one can be started again; purge deletes it', async () => {
  await start('approvalOrchestrator', 'dup-1', { timeoutMs: 600_000 });
  await waitFor(async () => (await status('dup-1')).runtimeStatus === 'Running', 'running');
  const again = await postJson(running.url('/api/orchestrators/approvalOrchestrator/dup-1'), { timeoutMs: 1 });
  expect(again.status).toBe(500); // the client's startNew rejects; the starter function fails
  const api = await fetch(`${running.host.baseUrl}/runtime/webhooks/durabletask/orchestrators/approvalOrchestrator/dup-1`, { method: 'POST', body: '{}' });
  expect(api.status).toBe(500); // as the extension answers: the storage layer refuses the duplicate
  expect(((await api.json()) as { ExceptionMessage: string }).ExceptionMessage).toBe('An Orchestration instance with the status Running already exists.');
  await op('dup-1', 'terminate');
  await settled('dup-1');
  await start('sequenceOrchestrator', 'dup-1', { values: ['again'] });
  expect(await settled('dup-1')).toMatchObject({ runtimeStatus: 'Completed', output: ['again'] });
  const purged = (await (await op('dup-1', 'purge')).json()) as { instancesDeleted: number };
  expect(purged.instancesDeleted).toBe(1);
  expect((await fetch(`${running.host.baseUrl}/runtime/webhooks/durabletask/instances/dup-1`)).status).toBe(404);
});

test('query by runtime status', async () => {
  const completed = (await (await fetch(running.url('/api/durable/any/query'))).json()) as { instanceId: string }[];
  expect(completed.map((s) => s.instanceId)).toEqual(expect.arrayContaining(['seq-1', 'retry-1', 'fan-1']));
});

test('activities ran once each for the orchestrations above (replays do not re-run them)', () => {
  for (const key of ['seq-1:a', 'seq-1:b', 'seq-1:c', 'fan-1:1', 'fan-1:4']) expect(fixture().activityRuns[key]).toBe(1);
});

test('after a restart, in-flight instances resume where their history left them', async () => {
  await start('approvalOrchestrator', 'restart-1', { timeoutMs: 600_000 });
  await timers('restart-1', 1);
  await running.stop();
  running = await startHost(appDir, { database: join(dir, 'embedded.sqlite'), clock, sweepIntervalMs: 0 });
  expect((await status('restart-1')).runtimeStatus).toBe('Running');
  await op('restart-1', 'raise', { approved: true, by: 'after-restart' });
  expect(await settled('restart-1')).toMatchObject({ runtimeStatus: 'Completed', output: { approved: true, by: 'after-restart' } });
});
