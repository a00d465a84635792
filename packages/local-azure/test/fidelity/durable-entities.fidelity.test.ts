// Fidelity: Durable entities as the Durable Functions extension runs them for a JavaScript app
// (its TaskEntityShim, HttpApiHandler and DurableOrchestrationContext; durable-functions' Entity
// and DurableClient): the counter pattern of Microsoft's "Durable entities" docs — signals from a
// client and from an orchestration, calls that answer, state read through the durable client and
// the HTTP API (GET /runtime/webhooks/durabletask/entities/{name}/{key}: 200 with the state, 404
// when it has none), an operation that throws failing only the call, critical sections
// (context.df.lock) keeping read-modify-write from losing updates, and entity state kept across a
// SIGKILL of the host. Before, the host refused every entityTrigger function and answered 501.
import { join } from 'node:path';
import { packageRoot, startApp, untilEnded, type AppProcess } from './app-process';

const appDir = join(packageRoot, 'test', 'fidelity', 'apps', 'durable-entities');
let app: AppProcess;
beforeAll(async () => {
  app = await startApp(appDir);
});
afterAll(async () => {
  await app?.stop();
});

const signal = (key: string, op: string, input?: unknown) => fetch(`${app.baseUrl}/api/counters/${key}/${op}`, { method: 'POST', ...(input === undefined ? {} : { body: JSON.stringify(input) }) });
const read = async (key: string) => (await (await fetch(`${app.baseUrl}/api/counters/${key}`)).json()) as { entityExists: boolean; entityState?: unknown };

async function until<T>(probe: () => Promise<T>, ok: (v: T) => boolean, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (ok(v) || Date.now() > deadline) return v;
    await new Promise((r) => setTimeout(r, 100));
  }
}

interface CheckStatus {
  statusQueryGetUri: string;
  sendEventPostUri: string;
  terminatePostUri: string;
}

async function start(name: string, input: unknown): Promise<CheckStatus> {
  const res = await fetch(`${app.baseUrl}/api/orchestrators/${name}`, { method: 'POST', body: JSON.stringify(input) });
  expect(res.status).toBe(202);
  return (await res.json()) as CheckStatus;
}

const run = async (name: string, input: unknown) => untilEnded((await start(name, input)).statusQueryGetUri);
const runtimeStatus = async (s: CheckStatus) => ((await (await fetch(s.statusQueryGetUri)).json()) as { runtimeStatus: string }).runtimeStatus;

test('a client signals a counter and reads its state (DurableClient.signalEntity / readEntityState)', async () => {
  expect(await read('c1')).toEqual({ entityExists: false });
  for (const n of [1, 2, 3]) expect((await signal('c1', 'add', n)).status).toBe(202);
  expect(
    await until(
      () => read('c1'),
      (s) => s.entityState === 6,
    ),
  ).toEqual({ entityExists: true, entityState: 6 });
});

test('the HTTP API reads and signals entities as the extension does', async () => {
  const api = `${app.baseUrl}/runtime/webhooks/durabletask/entities/counter`;
  expect((await fetch(`${api}/h1`)).status).toBe(404);
  const posted = await fetch(`${api}/h1?op=add`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: '7' });
  expect(posted.status).toBe(202);
  const state = await until(
    () => fetch(`${api}/h1`),
    (r) => r.status === 200,
  );
  expect(await state.json()).toBe(7);
  const listed = (await (await fetch(`${api}?fetchState=true`)).json()) as { entityId: { name: string; key: string }; state: unknown }[];
  expect(listed).toContainEqual(expect.objectContaining({ entityId: { name: 'counter', key: 'h1' }, state: 7 }));
  // DELETE is the 'delete' operation: the counter destructs and has no state any more.
  expect((await fetch(`${api}/h1`, { method: 'DELETE' })).status).toBe(202);
  expect(
    (
      await until(
        () => fetch(`${api}/h1`),
        (r) => r.status === 404,
      )
    ).status,
  ).toBe(404);
  // Bad input is refused before anything is queued.
  expect((await fetch(`${api}/h1?op=add`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: '{' })).status).toBe(400);
  const unknown = await fetch(`${app.baseUrl}/runtime/webhooks/durabletask/entities/nosuch/k?op=x`, { method: 'POST' });
  expect(unknown.status).toBe(404);
  expect(await unknown.json()).toEqual({ error: "The function 'nosuch' doesn't exist, is disabled, or is not an entity function." });
});

test('an orchestration calls and signals an entity; a failing operation fails only its call', async () => {
  const status = await run('callCounter', 'o1');
  // add 5 (call), add 1 (signal, sent before the get and so processed first), get → 6.
  expect(status).toMatchObject({ runtimeStatus: 'Completed', output: { after: 6, failure: 'failed' } });
  expect(await read('o1')).toEqual({ entityExists: true, entityState: 6 });
});

test('an operation that signals another entity', async () => {
  await signal('s1', 'addAndTell', 4);
  expect(
    await until(
      () => read('s1-log'),
      (s) => s.entityState === 1,
    ),
  ).toEqual({ entityExists: true, entityState: 1 });
  expect(await read('s1')).toEqual({ entityExists: true, entityState: 4 });
});

test('critical sections: two read-modify-write orchestrations on one counter lose no update', async () => {
  const starts = await Promise.all(
    [1, 2, 3].map(() => fetch(`${app.baseUrl}/api/orchestrators/incrementSlowly`, { method: 'POST', body: JSON.stringify('locked') }).then((r) => r.json() as Promise<{ statusQueryGetUri: string }>)),
  );
  const ended = await Promise.all(starts.map((s) => untilEnded(s.statusQueryGetUri, 30_000)));
  expect(ended.map((e) => e.runtimeStatus)).toEqual(['Completed', 'Completed', 'Completed']);
  expect(await read('locked')).toEqual({ entityExists: true, entityState: 3 });
});

test('an orchestration terminated while waiting for a lock does not leave the entity locked', async () => {
  const holder = await start('holdLock', 'held');
  // It holds the lock once the entity's answer (an EventRaised) is in its history.
  const locked = await until(
    async () => ((await (await fetch(`${holder.statusQueryGetUri}&showHistory=true`)).json()) as { historyEvents?: { EventType: string }[] }).historyEvents ?? [],
    (events) => events.some((e) => e.EventType === 'EventRaised'),
  );
  expect(locked.some((e) => e.EventType === 'EventRaised')).toBe(true);
  // The second one's lock request waits at the entity behind the holder's lock; it is terminated there.
  const waiter = await start('holdLock', 'held');
  await new Promise((r) => setTimeout(r, 300));
  expect(await runtimeStatus(waiter)).toBe('Running');
  expect((await fetch(waiter.terminatePostUri.replace('{text}', 'stop'), { method: 'POST' })).status).toBe(202);
  expect((await untilEnded(waiter.statusQueryGetUri)).runtimeStatus).toBe('Terminated');
  expect((await fetch(holder.sendEventPostUri.replace('{eventName}', 'go'), { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: 'true' })).status).toBe(202);
  expect(await untilEnded(holder.statusQueryGetUri)).toMatchObject({ runtimeStatus: 'Completed', output: 'released' });
  // The terminated one's request is dropped, not granted: a signal from outside gets through.
  await signal('held', 'add', 2);
  expect(
    await until(
      () => read('held'),
      (s) => s.entityState === 2,
    ),
  ).toEqual({ entityExists: true, entityState: 2 });
});

test('entity state and accepted signals survive a SIGKILL of the host', async () => {
  for (const n of [10, 20]) await signal('k1', 'add', n);
  await until(
    () => read('k1'),
    (s) => s.entityState === 30,
  );
  // Accepted (202) just before the kill: it must be applied after the restart, once.
  expect((await signal('k1', 'add', 5)).status).toBe(202);
  await app.kill();
  app = await startApp(appDir, { dataDir: app.dataDir });
  expect(
    await until(
      () => read('k1'),
      (s) => s.entityState === 35,
    ),
  ).toEqual({ entityExists: true, entityState: 35 });
  await signal('k1', 'add', 1);
  expect(
    await until(
      () => read('k1'),
      (s) => s.entityState === 36,
    ),
  ).toEqual({ entityExists: true, entityState: 36 });
});
