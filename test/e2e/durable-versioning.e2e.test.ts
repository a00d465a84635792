// Orchestration versioning on the embedded Durable engine, as a rolling deployment sees it: one
// task hub, hosts started one after another with different host.json defaultVersion values
// (set the way App Service sets them, AzureFunctionsJobHost__extensions__durableTask__*).
// In-flight instances finish on the code path of the version they were created with; a worker
// of an older version rejects newer instances (they wait for a newer worker) or fails them.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ManualClock } from '@backbone/local-azure/clock';
import { REJECTED_RETRY_MS } from '@backbone/local-azure/durable/engine';
import { postJson, rawHistory, startHost, waitFor, type RunningHost } from '../support/host';
import { repoRoot } from '../support/messaging-harness';

const appDir = join(repoRoot, 'test', 'fixtures', 'host-app');

interface Status {
  runtimeStatus: string;
  output: Record<string, unknown> | string | null;
  history?: { EventType: string; Name?: string }[];
}

let dir: string;
let running: RunningHost | undefined;
const clock = new ManualClock(Date.UTC(2026, 10, 1));

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'df-versioning-'));
});
afterEach(async () => {
  await running?.stop();
  running = undefined;
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A host on the shared task hub with these extensions.durableTask settings. */
async function deploy(durableTask: Record<string, string>): Promise<RunningHost> {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const [k, v] of Object.entries(durableTask)) env[`AzureFunctionsJobHost__extensions__durableTask__${k}`] = v;
  running = await startHost(appDir, { database: join(dir, 'hub.sqlite'), clock, sweepIntervalMs: 0, env });
  return running;
}

const start = async (id: string, version?: string) => {
  const res = await postJson(running!.url(`/api/orchestrators/versionedOrchestrator/${id}${version ? `?version=${version}` : ''}`), '');
  expect(res.status).toBe(202);
};
const status = async (id: string): Promise<Status> => ({
  ...((await (await fetch(running!.url(`/api/durable/${id}/status`))).json()) as Status),
  history: rawHistory(running!, id) as Status['history'],
});
const approve = async (id: string, by: string) => {
  const res = await fetch(running!.url(`/api/durable/${id}/raise`), { method: 'POST', body: JSON.stringify({ by }) });
  expect(res.status).toBe(202);
};
const waiting = (id: string) =>
  waitFor(async () => {
    const s = await status(id);
    return s.runtimeStatus === 'Running' && (s.history ?? []).some((e) => e.EventType === 'ExecutionStarted') && s;
  }, `${id} to wait for its approval`);
const settled = (id: string) =>
  waitFor(async () => {
    const s = await status(id);
    return ['Completed', 'Failed', 'Terminated'].includes(s.runtimeStatus) && s;
  }, `${id} to finish`);

test('in-flight instances finish on the path of the version that started them; new ones take the new path', async () => {
  await deploy({}); // before versioning was configured: instances have no version
  await start('legacy');
  await waiting('legacy');
  await running!.stop();

  await deploy({ defaultVersion: '1.0' });
  await start('old');
  await waiting('old');
  await running!.stop();

  await deploy({ defaultVersion: '2.0' }); // the new deployment
  await start('new');
  await start('explicit-old', '1.0'); // a client may still start the old version on purpose
  for (const id of ['legacy', 'old', 'new', 'explicit-old']) await approve(id, 'ops');

  expect(await settled('legacy')).toMatchObject({ runtimeStatus: 'Completed', output: { version: null, path: 'v1 path' } });
  expect(await settled('old')).toMatchObject({ runtimeStatus: 'Completed', output: { version: '1.0', path: 'v1 path' } });
  expect(await settled('explicit-old')).toMatchObject({ runtimeStatus: 'Completed', output: { version: '1.0', path: 'v1 path' } });
  // Sub-orchestrations get the worker's default version unless the orchestrator names one.
  expect(await settled('new')).toMatchObject({ runtimeStatus: 'Completed', output: { version: '2.0', path: 'v2 path', child: '2.0', pinned: '1.0', approval: { by: 'ops' } } });
});

test('an older worker rejects a newer instance: it is left untouched until a worker of its version takes it', async () => {
  await deploy({ defaultVersion: '2.0' });
  await start('pending-v2');
  await waiting('pending-v2');
  await running!.stop();

  // The previous deployment (1.0, CurrentOrOlder, Reject) is still running somewhere.
  const old = await deploy({ defaultVersion: '1.0' });
  await approve('pending-v2', 'rolled-back worker');
  await waitFor(() => old.logs.some((l) => l.message.includes('Instance pending-v2 (versionedOrchestrator) rejected')), 'the rejection to be logged');
  const held = await status('pending-v2');
  expect(held.runtimeStatus).toBe('Running');
  expect((held.history ?? []).map((e) => e.EventType)).not.toContain('EventRaised');
  await running!.stop();

  await deploy({ defaultVersion: '2.0' });
  clock.advance(REJECTED_RETRY_MS + 1);
  expect(await settled('pending-v2')).toMatchObject({ runtimeStatus: 'Completed', output: { version: '2.0', path: 'v2 path', approval: { by: 'rolled-back worker' } } });
});

test('versionFailureStrategy Fail fails a newer instance instead; Strict refuses older ones too', async () => {
  await deploy({ defaultVersion: '1.0', versionFailureStrategy: 'Fail' });
  await start('too-new', '3.0');
  const failed = await settled('too-new');
  expect(failed.runtimeStatus).toBe('Failed');
  expect(String(failed.output)).toContain("The orchestration version '3.0' is newer than the worker's version '1.0'");
  await running!.stop();

  const strict = await deploy({ defaultVersion: '2.0', versionMatchStrategy: 'Strict' });
  await start('older-under-strict', '1.0');
  await waitFor(() => strict.logs.some((l) => l.message.includes('Instance older-under-strict (versionedOrchestrator) rejected')), 'the strict rejection');
  expect((await status('older-under-strict')).runtimeStatus).toBe('Pending');
});

test('host.json rejects versioning settings the extension does not know', async () => {
  await expect(deploy({ versionMatchStrategy: 'Newest' })).rejects.toThrow(/versionMatchStrategy must be one of None, Strict, CurrentOrOlder/);
});
