// How long a saga, each of its steps and each compensation took, read off its timeline (stamped
// with the orchestration's replay-safe clock, so the figures are the same on every replay and
// include retry waits and approval time).
import type { SagaStatus, TimelineEntry } from './definition';

export interface Timing {
  name: string;
  outcome: string;
  ms: number;
}

export interface SagaDurations {
  saga?: { outcome: string; ms: number };
  steps: Timing[];
  compensations: Timing[];
}

const ENDS = new Set<TimelineEntry['event']>(['completed', 'declined', 'failed', 'timed-out']);

/** Pairs each `started` entry of a phase with the next end of the same step. */
function spans(timeline: TimelineEntry[], phase: 'step' | 'compensation', nameOf: (started: TimelineEntry) => string): Timing[] {
  const open = new Map<string, { name: string; at: number }>();
  const out: Timing[] = [];
  for (const e of timeline) {
    if (e.phase !== phase) continue;
    if (e.event === 'started') open.set(e.step, { name: nameOf(e), at: Date.parse(e.at) });
    else if (ENDS.has(e.event) && open.has(e.step)) {
      const started = open.get(e.step)!;
      out.push({ name: started.name, outcome: e.event, ms: Date.parse(e.at) - started.at });
      open.delete(e.step);
    }
  }
  return out;
}

export function sagaDurations(status: SagaStatus): SagaDurations {
  const end = status.finishedAt ? Date.parse(status.finishedAt) : NaN;
  const start = Date.parse(status.startedAt);
  return {
    ...(Number.isFinite(end) && Number.isFinite(start) ? { saga: { outcome: status.status, ms: end - start } } : {}),
    steps: spans(status.timeline, 'step', (e) => e.step),
    // A compensation's `started` entry names it in detail (its `step` is the step it undoes).
    compensations: spans(status.timeline, 'compensation', (e) => e.detail ?? e.step),
  };
}
