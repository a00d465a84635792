// Saga, step and compensation durations read off a saga's timeline (replay-safe timestamps).
import type { SagaStatus, TimelineEntry } from '../../src/sagas/definition';
import { sagaDurations } from '../../src/sagas/durations';

const at = (s: number) => new Date(Date.UTC(2026, 0, 1, 0, 0, s)).toISOString();
const status = (timeline: TimelineEntry[], extra: Partial<SagaStatus> = {}): SagaStatus => ({
  orderId: 'o-1',
  status: 'Compensated',
  completedSteps: [],
  compensations: [],
  timeline,
  startedAt: at(0),
  updatedAt: at(30),
  finishedAt: at(30),
  ...extra,
});

test('given a saga whose third step declined after two completed, then its compensations ran — when timed — each step, compensation and the saga have their duration and outcome', () => {
  const d = sagaDurations(
    status([
      { step: 'a', phase: 'step', event: 'started', at: at(0) },
      { step: 'a', phase: 'step', event: 'completed', at: at(2) },
      { step: 'b', phase: 'step', event: 'started', at: at(2) },
      { step: 'b', phase: 'approval', event: 'waiting', at: at(3) },
      { step: 'b', phase: 'approval', event: 'approved', at: at(9) },
      { step: 'b', phase: 'step', event: 'completed', at: at(10) },
      { step: 'c', phase: 'step', event: 'started', at: at(10) },
      { step: 'c', phase: 'step', event: 'declined', at: at(11), detail: 'NoStock' },
      { step: 'b', phase: 'compensation', event: 'started', at: at(11), detail: 'undoB' },
      { step: 'b', phase: 'compensation', event: 'completed', at: at(14), detail: 'undoB' },
      { step: 'a', phase: 'compensation', event: 'started', at: at(14), detail: 'undoA' },
      { step: 'a', phase: 'compensation', event: 'failed', at: at(30), detail: 'refund service rejects' },
    ]),
  );
  expect(d.saga).toEqual({ outcome: 'Compensated', ms: 30_000 });
  expect(d.steps).toEqual([
    { name: 'a', outcome: 'completed', ms: 2_000 },
    { name: 'b', outcome: 'completed', ms: 8_000 },
    { name: 'c', outcome: 'declined', ms: 1_000 },
  ]);
  // A failed compensation's entry carries the error in detail; the name comes from its start.
  expect(d.compensations).toEqual([
    { name: 'undoB', outcome: 'completed', ms: 3_000 },
    { name: 'undoA', outcome: 'failed', ms: 16_000 },
  ]);
});

test('given a saga still running — when timed — no saga duration, and a started step without an end is not counted', () => {
  const d = sagaDurations(status([{ step: 'a', phase: 'step', event: 'started', at: at(0) }], { status: 'Running', finishedAt: undefined }));
  expect(d).toEqual({ steps: [], compensations: [] });
});
