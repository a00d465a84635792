// The unit-level fuzz targets (test/support/fuzz/unit-targets.ts) with a few hundred runs each:
// every decoder returns a value or throws a typed error, whatever the input. `npm run fuzz`
// runs the same properties 10,000 times and more.
import { numRuns } from '../support/arbitraries';
import { runTarget } from '../support/fuzz/runner';
import { UNIT_TARGETS } from '../support/fuzz/unit-targets';

test.each(UNIT_TARGETS.map((t) => [t.name, t] as const))('%s: no input crashes it', async (_name, target) => {
  const result = await runTarget(target, { runs: numRuns(150) });
  if (result.failures > 0) {
    throw new Error(`${target.name} failed after ${result.runs} runs (seed ${result.seed}, path ${result.path}):\n${result.error}\ncounterexample: ${result.counterexample}`);
  }
  expect(result.runs).toBe(numRuns(150));
});
