// The HTTP fuzz targets (test/support/fuzz/http-targets.ts) through the embedded host, a few
// dozen runs each: no body, path, query or header gets a 5xx, every 4xx carries the JSON error
// shape, and afterwards the host still serves with no invocation failed. `npm run fuzz` runs the
// same properties 10,000 times each.
import { numRuns } from '../support/arbitraries';
import { HTTP_TARGETS } from '../support/fuzz/http-targets';
import { runTarget } from '../support/fuzz/runner';
import { startHost, type RunningHost } from '../support/host';
import { repoRoot } from '../support/messaging-harness';

let running: RunningHost;
beforeAll(async () => {
  process.env.SAGA_AUTOSTART = 'false';
  running = await startHost(repoRoot);
});
afterAll(async () => {
  await running.stop();
  delete process.env.SAGA_AUTOSTART;
});

test.each(HTTP_TARGETS.map((t) => [t.name, t] as const))('%s: no request gets a 5xx', async (_name, target) => {
  const result = await runTarget(target, { runs: numRuns(25), host: running });
  if (result.failures > 0) {
    throw new Error(`${target.name} failed after ${result.runs} runs (seed ${result.seed}, path ${result.path}):\n${result.error}\ncounterexample: ${result.counterexample}`);
  }
  expect(result.runs).toBe(numRuns(25));
});
