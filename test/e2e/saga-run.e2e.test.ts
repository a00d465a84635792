// A smaller version of `npm run saga:run`: sagas with transient failures and permanent declines
// all end in a terminal state, and every participant agrees with each outcome.
import { runSagas } from '../../scripts/support/saga-run';

test('40 sagas with 5% transient failures and 10% declines: every one ends, every participant agrees', async () => {
  const r = await runSagas({ sagas: 40, transientRate: 0.05, declineRate: 0.1, timeoutMs: 90_000 });
  expect(r.unfinished).toEqual([]);
  expect(r.problems).toEqual([]);
  expect(r.consistent).toBe(40);
  expect(Object.keys(r.outcomes).every((s) => ['Completed', 'Compensated', 'CompensationFailed'].includes(s))).toBe(true);
  expect(r.outcomes.Completed).toBeGreaterThan(0);
}, 120_000);
