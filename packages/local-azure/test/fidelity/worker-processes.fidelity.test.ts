// Fidelity: FUNCTIONS_WORKER_PROCESS_COUNT. Azure runs that many language worker processes per
// instance and spreads invocations evenly over them (learn.microsoft.com, "App settings reference
// for Azure Functions": default 1, at most 10; not valid on Flex Consumption); a process that dies
// fails what it ran with WorkerProcessExitException and is started again (azure-functions-host). The app test/fidelity/apps/worker-processes sets 2 and says which process ran each
// function; its app start/terminate hooks and Service Bus jobs write a journal shared by both.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { packageRoot, startApp, untilEnded, type AppProcess } from './app-process';

// Function code in worker processes reaches Service Bus over AMQP: a free port, as suites run side by side.
const AMQP_ON_A_FREE_PORT = ['--amqp-port', '0'];
const appDir = join(packageRoot, 'test', 'fidelity', 'apps', 'worker-processes');
const journalDir = mkdtempSync(join(tmpdir(), 'worker-journal-'));
const journal = () => {
  try {
    return readFileSync(join(journalDir, 'journal.txt'), 'utf8').split('\n').filter(Boolean);
  } catch {
    return [];
  }
};
const workerPids = (output: string) => {
  const m = /(\d+) worker processes, pids ([\d, ]+)\)/.exec(output);
  return m ? m[2]!.split(', ').map(Number) : [];
};
const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};
async function until<T>(what: string, probe: () => T | undefined | Promise<T | undefined>, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

let app: AppProcess;
let pids: number[] = [];
beforeAll(async () => {
  app = await startApp(appDir, { env: { WORKER_FIXTURE_DIR: journalDir }, args: AMQP_ON_A_FREE_PORT });
  pids = workerPids(app.output());
});
afterAll(async () => {
  await app?.stop();
  rmSync(journalDir, { recursive: true, force: true });
});

test('two worker processes load the app and run its start hooks, each in its own process', async () => {
  expect(pids).toHaveLength(2);
  expect(new Set(pids).size).toBe(2);
  expect(pids).not.toContain(process.pid);
  for (const pid of pids) expect(alive(pid)).toBe(true);
  await until('both start hooks', () => pids.every((pid) => journal().includes(`start ${pid}`)));
});

test('HTTP invocations are spread over both processes, and their logs reach the host', async () => {
  const seen: number[] = [];
  for (let i = 0; i < 10; i++) {
    const res = await fetch(`${app.baseUrl}/api/pid`);
    expect(res.status).toBe(200);
    seen.push(((await res.json()) as { pid: number }).pid);
  }
  expect(new Set(seen)).toEqual(new Set(pids));
  for (const pid of pids) expect(app.output()).toContain(`handled in process ${pid}`);
});

test('an orchestration and its activities run in the worker processes', async () => {
  const res = await fetch(`${app.baseUrl}/api/orchestrators/whichProcesses`, { method: 'POST', body: JSON.stringify(8) });
  expect(res.status).toBe(202);
  const status = await untilEnded(((await res.json()) as { statusQueryGetUri: string }).statusQueryGetUri);
  expect(status.runtimeStatus).toBe('Completed');
  const ran = status.output as number[];
  expect(ran).toHaveLength(8);
  for (const pid of ran) expect(pids).toContain(pid);
});

test('a process that dies under a message fails that delivery; the message is delivered again and the process is started again', async () => {
  const res = await fetch(`${app.baseUrl}/api/jobs`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ id: 'j1', crashOnce: true }) });
  expect(res.status).toBe(202);
  const done = await until('job j1 to run after the crash', () => journal().find((l) => l.startsWith('job j1 ')));
  const [, , , deliveryCount] = done.split(' ');
  expect(Number(deliveryCount)).toBe(2);
  // What the Functions host logs when a language worker exits (azure-functions-host, RpcWorkerProcess).
  expect(app.output()).toMatch(/Language Worker Process exited\. Pid=\d+\. \(node exited with code 4 \(0x4\)/);
  // The one that died is replaced: a third start hook, in a new process.
  const starts = await until('a replacement process', () => {
    const s = journal().filter((l) => l.startsWith('start '));
    return s.length === 3 ? s : undefined;
  });
  const replacement = Number(starts[2]!.split(' ')[1]);
  expect(pids).not.toContain(replacement);
  expect(alive(replacement)).toBe(true);
});

test('a process that dies under an orchestrator episode does not fail the orchestration: the episode runs again', async () => {
  const res = await fetch(`${app.baseUrl}/api/orchestrators/survivesCrash`, { method: 'POST', body: JSON.stringify(null) });
  expect(res.status).toBe(202);
  const status = await untilEnded(((await res.json()) as { statusQueryGetUri: string }).statusQueryGetUri);
  expect(status).toMatchObject({ runtimeStatus: 'Completed', output: { pid: expect.any(Number) } });
  expect(app.output()).toMatch(/Language Worker Process exited\. Pid=\d+\. \(node exited with code 5 \(0x5\)/);
});

test('an HTTP request whose process dies gets a 500, and the next request is served', async () => {
  const res = await fetch(`${app.baseUrl}/api/crash`, { method: 'POST' });
  expect(res.status).toBe(500);
  const next = await fetch(`${app.baseUrl}/api/pid`);
  expect(next.status).toBe(200);
});

test('a host killed without a word leaves no worker process behind', async () => {
  const ownJournal = mkdtempSync(join(tmpdir(), 'worker-journal-'));
  const killed = await startApp(appDir, { env: { WORKER_FIXTURE_DIR: ownJournal }, args: AMQP_ON_A_FREE_PORT });
  const orphans = workerPids(killed.output());
  expect(orphans).toHaveLength(2);
  await killed.kill();
  await until('the worker processes to exit', () => orphans.every((pid) => !alive(pid)), 10_000);
  rmSync(killed.dataDir, { recursive: true, force: true });
  rmSync(ownJournal, { recursive: true, force: true });
});

test('stopping the host runs each live process’s terminate hook', async () => {
  // Two at the start, and one for each of the three processes that died.
  await until('the processes replacing the crashed ones', () => journal().filter((l) => l.startsWith('start ')).length >= 5 || undefined);
  const live = journal()
    .filter((l) => l.startsWith('start '))
    .map((l) => Number(l.split(' ')[1]))
    .filter(alive);
  await app.stop();
  const terminated = journal()
    .filter((l) => l.startsWith('terminate '))
    .map((l) => Number(l.split(' ')[1]));
  expect(new Set(terminated)).toEqual(new Set(live));
  expect(live).toHaveLength(2);
});
