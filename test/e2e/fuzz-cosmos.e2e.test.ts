// The Cosmos DB fuzz target (test/support/fuzz/cosmos-targets.ts) with a few hundred inputs: the
// SDKs' requests mutated and random bytes, against the local Azure's Cosmos DB REST endpoint.
// Every request is answered below 500 with Cosmos DB's error body when refused, nothing is thrown
// out of the server, and afterwards a real @azure/cosmos client still writes and reads. `npm run
// fuzz -- --target cosmos-rest` runs the same property 10,000 times.
import { numRuns } from '../support/arbitraries';
import { COSMOS_TARGETS } from '../support/fuzz/cosmos-targets';
import { runTarget } from '../support/fuzz/runner';

test.each(COSMOS_TARGETS.map((t) => [t.name, t] as const))(
  '%s: every request answered as Cosmos DB answers, and the endpoint still serves',
  async (_name, target) => {
    const result = await runTarget(target, { runs: numRuns(300) });
    if (result.failures > 0) {
      throw new Error(`${target.name} failed after ${result.runs} runs (seed ${result.seed}, path ${result.path}):\n${result.error}\ncounterexample: ${result.counterexample}`);
    }
    expect(result.runs).toBe(numRuns(300));
    // The inputs reached the handlers, not only the front door: successes and refusals of several kinds.
    const outcomes = Object.keys(result.outcomes ?? {});
    expect(outcomes).toEqual(expect.arrayContaining(['200', '400 BadRequest', '401 Unauthorized', '404 NotFound']));
    expect(outcomes.some((o) => o.startsWith('raw: '))).toBe(true);
  },
  120_000,
);
