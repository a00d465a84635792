// A small `npm run load`: orders through the ESB ingress, the router, the command handler, the
// event store, the change feed, the views and the fulfilment saga; the stage table is read off
// each order's trace. Asserts completeness and the report's shape, never timings.
import { runLoad } from '../../scripts/support/load-run';

test('every accepted order goes through every stage, with nothing refused or dead-lettered', async () => {
  const r = await runLoad({ orders: 24, concurrency: 8, sagas: true, drainTimeoutMs: 60_000 });
  expect(r.accepted).toBe(48);
  expect(r.finished).toBe(24);
  expect(r.failures).toEqual({ refused: {}, deadLetters: {}, unfinished: 0 });
  expect(r.sagaOutcomes).toEqual({ Completed: 24 });
  for (const stage of ['ingress', 'inboundWait', 'route', 'commandsWait', 'commandAppend', 'changeFeedToView', 'changeFeedToSagaStart', 'saga', 'acceptedToView', 'acceptedToSagaEnd']) {
    expect({ stage, count: r.stages[stage]?.count }).toEqual({ stage, count: 24 });
    // Each hop starts after the one before it ended (ms clocks: a hop may start in the same ms).
    expect(r.stages[stage]!.p50!).toBeGreaterThanOrEqual(-1);
  }
  expect(r.stages.acceptedToSagaEnd!.p50!).toBeGreaterThan(r.stages.saga!.p50!);
  expect(r.ordersPerSecond).toBeGreaterThan(0);
}, 120_000);

test('with 5% transient faults in functions, sends, the store and the participants, every order still completes', async () => {
  const injected = new Set<string>();
  const r = await runLoad({
    orders: 24,
    concurrency: 8,
    sagas: true,
    faults: 0.05,
    drainTimeoutMs: 60_000,
    hostLog: (l) => {
      if (/\w+: service temporarily unavailable \(injected\)/.test(l.message)) injected.add('participant');
    },
  });
  // Faults of every kind were injected (at 5%, a run this size has dozens; store faults are
  // retried where they happen, so they are counted rather than logged) …
  for (const kind of ['function', 'send', 'store']) injected.add(r.injectedFaults[kind] ? kind : `no ${kind} fault`);
  expect([...injected].sort()).toEqual(['function', 'participant', 'send', 'store']);
  // … and nothing needed a person.
  expect(r.finished).toBe(24);
  expect(r.failures).toEqual({ refused: {}, deadLetters: {}, unfinished: 0 });
  expect(r.sagaOutcomes).toEqual({ Completed: 24 });
}, 120_000);
