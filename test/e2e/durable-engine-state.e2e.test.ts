// The engine reads an orchestrator's state from what the handler returned rather than from the
// JSON the worker would send: what that serialization refuses still fails the orchestration,
// with the serializer's message, and nothing the refused episode decided is carried out.
import { join } from 'node:path';
import { postJson, rawHistory, startHost, waitFor, type RunningHost } from '../support/host';
import { repoRoot } from '../support/messaging-harness';

const appDir = join(repoRoot, 'test', 'fixtures', 'host-app');
let running: RunningHost;

beforeAll(async () => {
  running = await startHost(appDir, { sweepIntervalMs: 0 });
});
afterAll(() => running?.stop());

test('a custom status JSON cannot carry fails the orchestration, and the activity it scheduled with it never runs', async () => {
  const start = await postJson(running.url('/api/orchestrators/unserializableStatusOrchestrator/big-status'), '');
  expect(start.status).toBe(202);
  const status = await waitFor(async () => {
    const s = (await (await fetch(running.url('/api/durable/big-status/status'))).json()) as { runtimeStatus: string; output: unknown; history?: { EventType: string; Name?: string }[] };
    return s.runtimeStatus !== 'Running' && s.runtimeStatus !== 'Pending' && s;
  }, 'big-status to end');
  expect(status.runtimeStatus).toBe('Failed');
  expect(String(status.output)).toMatch(/^Orchestrator function 'unserializableStatusOrchestrator' failed: .*BigInt/);
  // The first activity ran; the one scheduled in the refused episode was never recorded, nor run.
  expect(rawHistory(running, 'big-status').filter((e) => e.EventType === 'TaskScheduled')).toHaveLength(1);
  const records = (globalThis as unknown as { __fixture: { activityRuns: Record<string, number> } }).__fixture.activityRuns;
  expect(records['big-status:before']).toBe(1);
  expect(records['big-status:after']).toBeUndefined();
});
