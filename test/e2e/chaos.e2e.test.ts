// A small `npm run chaos`: order traffic while the host process is killed with SIGKILL and
// restarted, then every invariant checked — nothing accepted lost, no duplicate event, every
// saga terminal and consistent with its participants, every projection equal to a rebuild.
import { chaosPassed, runChaos } from '../../scripts/support/chaos-run';

test('two SIGKILLs under load lose nothing, duplicate nothing, and leave every saga and view consistent', async () => {
  const r = await runChaos({ orders: 40, concurrency: 6, kills: 2, killAfterMs: [700, 1_500], lateEditEvery: 8 });
  expect(r.kills).toBe(2);
  // One kill while orders arrive, one after: the saga phase is killed too.
  expect(r.killsByPhase.traffic).toBe(1);
  expect(r.killsByPhase.sagas + r.killsByPhase.settled).toBe(1);
  expect(r.phases.map((p) => p.name)).toEqual(expect.arrayContaining(['sagas end', 'projections catch up', 'order-commands drain', 'rebuild order-summary']));
  expect(r.phases.filter((p) => p.stalled)).toEqual([]);
  expect(r.lost).toEqual([]);
  expect(r.duplicateEvents).toEqual([]);
  expect(r.sagasNotTerminal).toEqual([]);
  expect(r.inconsistentParticipants).toEqual([]);
  expect(r.projections.map((p) => p.name).sort()).toEqual(['customer-orders', 'inventory-availability', 'order-summary', 'sales-report']);
  for (const p of r.projections) expect(p).toEqual({ name: p.name, documents: expect.any(Number), equal: true });
  // Every accepted message is accounted for: applied, or dead-lettered with its reason (late edits).
  expect(r.processed + Object.values(r.deadLettered).reduce((a, b) => a + b, 0)).toBe(r.accepted);
  expect(Object.keys(r.deadLettered).filter((reason) => reason !== 'BusinessRuleViolated')).toEqual([]);
  expect(r.accepted).toBeGreaterThanOrEqual(80);
  expect(chaosPassed(r)).toBe(true);
}, 240_000);
