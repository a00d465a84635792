// Given / when / then specifications for the saga, without a host: given what each participant
// answers (a result, a decline, an error, an approval decision), when an order's saga runs, then
// the steps and compensations it called, in order, and the status it ends in.
//
// The orchestrator is the app's own (sagaOrchestrator over ORDER_FULFILMENT_SAGA), registered
// with durable-functions as the app registers it, and driven through durable-functions' replay by
// the local Azure's Durable engine (in memory, on a manual clock that runs fast) — the engine the
// fidelity suite holds to the extension's behaviour for retries, timers and external events. The
// activities are stand-ins that answer what the specification gives.
import * as df from 'durable-functions';
import { ManualClock } from '@backbone/local-azure/clock';
import { DurableEngine } from '@backbone/local-azure/durable/engine';
import { DurableStore } from '@backbone/local-azure/durable/store';
import { FunctionExecutor } from '@backbone/local-azure/host/executor';
import { HostLogger } from '@backbone/local-azure/host/logger';
import { GroupCommit, openDatabase } from '@backbone/local-azure/sqlite';
import { workerState } from '@backbone/local-azure/worker/worker-state';
import type { SagaDefinition, SagaStatus, StepInput, StepResult } from '../../src/sagas/definition';
import { sagaOrchestrator, type SagaInput } from '../../src/sagas/orchestrator';

/** What a participant answers: a result, or `throw` (a transient error; `times` of them, then the result, when given). */
export type Answer = StepResult | { throw: string; times?: number; then?: StepResult };

export interface SagaRun {
  status: SagaStatus;
  /** Every activity invocation, in order (retries included). */
  calls: string[];
}

const OK: StepResult = { ok: true };

/** Registers the saga and stand-in activities once per test file; each run says what they answer. */
export function sagaSpec(def: SagaDefinition) {
  let answers: Record<string, Answer> = {};
  let calls: string[] = [];
  const attempts = new Map<string, number>();
  const activityNames = new Set([...def.steps.flatMap((s) => [s.name, ...(s.compensation ? [s.compensation] : [])]), def.outcomeActivity]);
  df.app.orchestration(def.orchestrator, sagaOrchestrator(def));
  for (const name of activityNames) {
    df.app.activity(name, {
      handler: (input: StepInput | SagaStatus) => {
        calls.push(name);
        if (name === def.outcomeActivity) return OK;
        const answer = answers[name] ?? OK;
        if ('throw' in answer) {
          const n = (attempts.get(name) ?? 0) + 1;
          attempts.set(name, n);
          if (answer.times === undefined || n <= answer.times) throw new Error(`${answer.throw} (${(input as StepInput).step} attempt ${n})`);
          return answer.then ?? OK;
        }
        return answer;
      },
    });
  }

  async function run(given: Record<string, Answer>, events: { name: string; data: unknown }[] = []): Promise<SagaRun> {
    answers = given;
    calls = [];
    attempts.clear();
    const db = openDatabase(':memory:');
    const commit = new GroupCommit(db);
    const clock = new ManualClock(Date.UTC(2026, 0, 15, 10));
    const logger = new HostLogger({ default: 'none' });
    const engine = new DurableEngine({
      store: new DurableStore(db),
      commit,
      clock,
      executor: new FunctionExecutor(logger),
      logger,
      maxConcurrentOrchestrators: 4,
      maxConcurrentActivities: 4,
      afterInvocation: async () => undefined,
    });
    for (const fn of workerState.functions.values()) {
      const [trigger, binding] = Object.entries(fn.metadata.bindings).find(([, b]) => b.direction === 'in' && b.type?.endsWith('Trigger'))!;
      if (binding.type === 'orchestrationTrigger') engine.addOrchestrator(fn, trigger);
      else if (binding.type === 'activityTrigger') engine.addActivity(fn, trigger);
    }
    const ended = new Promise<string | null>((resolve) => engine.observeEnded((e) => resolve(e.output)));
    engine.start();
    // Durable timers (retry backoff, timeouts, the approval deadline) pass in milliseconds.
    const lapse = setInterval(() => clock.advance(2_000), 2);
    try {
      const input: SagaInput = { orderId: 'o-1' };
      await engine.startNew(def.orchestrator, 'order-saga-o-1', JSON.stringify(input));
      for (const e of events) await engine.raiseEvent('order-saga-o-1', e.name, JSON.stringify(e.data));
      const output = await ended;
      return { status: JSON.parse(output ?? 'null') as SagaStatus, calls };
    } finally {
      clearInterval(lapse);
      await engine.stop();
      commit.close();
      db.close();
    }
  }

  return {
    given(answers: Record<string, Answer>) {
      let events: { name: string; data: unknown }[] = [];
      const spec = {
        /** External events raised to the saga (in order), e.g. the manual approval. */
        withEvents(...raised: { name: string; data: unknown }[]) {
          events = raised;
          return spec;
        },
        /** The saga's end: its status and every activity it called, in order. */
        async then(expected: { status: Partial<SagaStatus>; calls: string[] }): Promise<SagaRun> {
          const result = await run(answers, events);
          expect(result.calls).toEqual(expected.calls);
          expect(result.status).toMatchObject(expected.status);
          return result;
        },
      };
      return spec;
    },
  };
}
