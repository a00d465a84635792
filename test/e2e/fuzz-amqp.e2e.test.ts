// The AMQP fuzz target (test/support/fuzz/amqp-targets.ts) with a few hundred inputs: mutated
// AMQP conversations and random bytes on raw sockets to the local Azure's AMQP listener. Every
// connection ends within its bound, nothing is thrown out of the listener, and afterwards a real
// @azure/service-bus client still round-trips a message with no connection left open. `npm run
// fuzz -- --target amqp-frames` runs the same property 10,000 times.
import { numRuns } from '../support/arbitraries';
import { AMQP_TARGETS } from '../support/fuzz/amqp-targets';
import { runTarget } from '../support/fuzz/runner';

test.each(AMQP_TARGETS.map((t) => [t.name, t] as const))(
  '%s: every connection ends, and the listener still serves',
  async (_name, target) => {
    const result = await runTarget(target, { runs: numRuns(300) });
    if (result.failures > 0) {
      throw new Error(`${target.name} failed after ${result.runs} runs (seed ${result.seed}, path ${result.path}):\n${result.error}\ncounterexample: ${result.counterexample}`);
    }
    expect(result.runs).toBe(numRuns(300));
    // The inputs reached every stage: refused headers, framing errors, and conversations answered to the end.
    const outcomes = Object.keys(result.outcomes ?? {}).join('\n');
    expect(outcomes).toMatch(/protocol header only/);
    expect(outcomes).toMatch(/close amqp:connection:framing-error/);
    expect(outcomes).toMatch(/answered, closed after the client ended/);
  },
  120_000,
);
