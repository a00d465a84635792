// Recorded saga histories: what the e2e saga runs left in the task hub (every history event of
// every saga that ended), checked in under test/fixtures/saga-histories/, and replayed against
// the orchestrator as it is now. A change to the orchestrator that in-flight sagas could not
// replay — a step added, removed or moved, an activity renamed, a timer where there was none —
// makes the replay schedule something else than the history recorded, or end elsewhere, and the
// replay test fails. (Such a change goes behind context.df.version: docs/deployment.md,
// Zero-downtime deployment.) `RECORD_SAGA_HISTORIES=1 npx jest dist/test/e2e/order-saga` records
// them again.
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { EventType, type HistoryEvent } from '@backbone/local-azure/durable/history';
import type { RunningHost } from './host';
import { repoRoot } from './messaging-harness';

export const SAGA_HISTORIES = join(repoRoot, 'test', 'fixtures', 'saga-histories');

export interface RecordedSaga {
  instanceId: string;
  name: string;
  /** The instance's input and output, as JSON text. */
  input: string | null;
  output: string | null;
  runtimeStatus: string;
  history: HistoryEvent[];
}

/** Writes every saga that ended in this host's task hub, one file each. */
export function recordSagaHistories(running: RunningHost, orchestrator: string, dir = SAGA_HISTORIES): number {
  mkdirSync(dir, { recursive: true });
  const store = running.host.durable.store;
  let n = 0;
  for (const i of store.query({ runtimeStatus: ['Completed', 'Failed'], top: 1000 })) {
    if (i.name !== orchestrator) continue;
    const recorded: RecordedSaga = { instanceId: i.instanceId, name: i.name, input: i.input, output: i.output, runtimeStatus: i.status, history: store.history(i.instanceId) };
    // One event a line: a re-recording shows in a diff as the events that changed.
    const { history, ...rest } = recorded;
    writeFileSync(join(dir, `${i.instanceId}.json`), `${JSON.stringify(rest).slice(0, -1)},"history":[\n${history.map((e) => JSON.stringify(e)).join(',\n')}\n]}\n`);
    n++;
  }
  return n;
}

export function recordedSagas(dir = SAGA_HISTORIES): RecordedSaga[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .sort()
    .map((f) => JSON.parse(readFileSync(join(dir, f), 'utf8')) as RecordedSaga);
}

/** The activity calls the history scheduled, in order: a retry (the same name again after its attempt failed) is the same call. */
export function scheduledActivities(history: HistoryEvent[]): string[] {
  const names: string[] = [];
  const failed = new Set<number>();
  let last: { name: string; id: number } | undefined;
  for (const e of history) {
    if (e.EventType === EventType.TaskFailed) failed.add(e.TaskScheduledId!);
    if (e.EventType !== EventType.TaskScheduled) continue;
    const retry = last !== undefined && last.name === e.Name && failed.has(last.id);
    if (!retry) names.push(e.Name!);
    last = { name: e.Name!, id: e.EventId };
  }
  return names;
}
