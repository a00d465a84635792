// The saga orchestrator: walks a SagaDefinition step by step on Durable Functions. A step that
// declines (a business "no") or fails for good (retries exhausted, timed out) stops the forward
// path; then the compensations of the steps that completed run in reverse order — and, when the
// failed step's outcome is unknown (it timed out, or kept failing), its own compensation first,
// which the participants' ledgers make safe. A compensation that keeps failing is retried with
// backoff, then the saga stops in CompensationFailed with the reason: never reported as done.
// The custom status carries the current step, completed steps, compensations, the last error and
// a timeline, all stamped with the orchestration's replay-safe clock.
import * as df from 'durable-functions';
import type { OrchestrationContext, Task } from 'durable-functions';
import type { RetryPolicy, SagaDefinition, SagaStatus, SagaStep, StepInput, StepResult, TimelineEntry } from './definition';

export interface SagaInput {
  orderId: string;
  correlationId?: string;
  /** W3C trace context of the saga's start: every step's span is its child, so the order stays one trace. */
  traceparent?: string;
}

type StepOutcome = { kind: 'ok'; output: Record<string, unknown> } | { kind: 'declined'; reason: string } | { kind: 'failed'; reason: string } | { kind: 'timed-out'; reason: string };

function retryOptions(p: RetryPolicy): df.RetryOptions {
  const o = new df.RetryOptions(p.firstRetryIntervalMs, p.maxAttempts);
  o.backoffCoefficient = p.backoffCoefficient;
  o.maxRetryIntervalInMilliseconds = p.maxRetryIntervalMs;
  if (p.retryTimeoutMs !== undefined) o.retryTimeoutInMilliseconds = p.retryTimeoutMs;
  return o;
}

/** The first line of an activity failure as durable-functions reports it. */
function reasonOf(error: unknown): string {
  return String((error as Error)?.message ?? error)
    .split('\n')[0]!
    .trim();
}

export function sagaOrchestrator(def: SagaDefinition) {
  return function* orchestrate(context: OrchestrationContext): Generator<Task, SagaStatus, unknown> {
    const input = context.df.getInput<SagaInput>();
    // Replay calls this for every note of every step again: the text is made once per clock value.
    let clockTime = Number.NaN;
    let clockText = '';
    const now = () => {
      const t = context.df.currentUtcDateTime.getTime();
      if (t !== clockTime) {
        clockTime = t;
        clockText = context.df.currentUtcDateTime.toISOString();
      }
      return clockText;
    };
    // A change to these steps that would break in-flight sagas goes behind `context.df.version`
    // (raise defaultVersion in host.json, keep the old path): see docs/deployment.md, Zero-downtime deployment.
    const status: SagaStatus = {
      orderId: input.orderId,
      status: 'Running',
      ...(context.df.version ? { version: context.df.version } : {}),
      completedSteps: [],
      compensations: [],
      timeline: [],
      ...(input.correlationId ? { correlationId: input.correlationId } : {}),
      ...(input.traceparent ? { traceparent: input.traceparent } : {}),
      startedAt: now(),
      updatedAt: now(),
    };
    const data: Record<string, unknown> = {};
    const note = (entry: Omit<TimelineEntry, 'at'>) => {
      status.timeline.push({ ...entry, at: now() });
      status.updatedAt = now();
      context.df.setCustomStatus(status);
    };
    const stepInput = (step: string, failure?: string): StepInput => ({
      orderId: input.orderId,
      sagaId: context.df.instanceId,
      step,
      ...(input.correlationId ? { correlationId: input.correlationId } : {}),
      ...(input.traceparent ? { traceparent: input.traceparent } : {}),
      data,
      ...(failure ? { failure } : {}),
    });

    function* runStep(step: SagaStep): Generator<Task, StepOutcome, unknown> {
      const call = context.df.callActivityWithRetry(step.name, retryOptions(step.retry), stepInput(step.name));
      let result: StepResult;
      if (step.timeoutMs) {
        const timer = context.df.createTimer(new Date(context.df.currentUtcDateTime.getTime() + step.timeoutMs));
        const winner = yield context.df.Task.any([call, timer]);
        if (winner === timer) return { kind: 'timed-out', reason: `${step.name} did not finish within ${step.timeoutMs} ms` };
        timer.cancel();
        if (call.isFaulted) return { kind: 'failed', reason: reasonOf(call.result) };
        result = call.result as StepResult;
      } else {
        try {
          result = (yield call) as StepResult;
        } catch (error) {
          return { kind: 'failed', reason: reasonOf(error) };
        }
      }
      return result.ok ? { kind: 'ok', output: result.output ?? {} } : { kind: 'declined', reason: result.reason };
    }

    function* awaitApproval(step: SagaStep, timeoutSeconds: number): Generator<Task, string | undefined, unknown> {
      status.status = 'AwaitingApproval';
      note({ step: step.name, phase: 'approval', event: 'waiting', detail: `${def.approvalEvent} within ${timeoutSeconds} s` });
      const approval = context.df.waitForExternalEvent(def.approvalEvent);
      const timeout = context.df.createTimer(new Date(context.df.currentUtcDateTime.getTime() + timeoutSeconds * 1000));
      const winner = yield context.df.Task.any([approval, timeout]);
      status.status = 'Running';
      if (winner === timeout) {
        note({ step: step.name, phase: 'approval', event: 'timed-out' });
        return 'ApprovalTimedOut: no manual approval in time';
      }
      timeout.cancel();
      const decision = (approval.result ?? {}) as { approved?: boolean; by?: string; reason?: string };
      if (decision.approved !== true) {
        note({ step: step.name, phase: 'approval', event: 'rejected', detail: decision.reason ?? decision.by });
        return `ApprovalRejected${decision.reason ? `: ${decision.reason}` : ''}`;
      }
      note({ step: step.name, phase: 'approval', event: 'approved', detail: decision.by });
      return undefined;
    }

    const completed: SagaStep[] = [];
    let failure: { step: SagaStep; reason: string; uncertain: boolean } | undefined;
    for (const step of def.steps) {
      status.currentStep = step.name;
      note({ step: step.name, phase: 'step', event: 'started' });
      const outcome = yield* runStep(step);
      if (outcome.kind !== 'ok') {
        note({ step: step.name, phase: 'step', event: outcome.kind === 'declined' ? 'declined' : outcome.kind, detail: outcome.reason });
        failure = { step, reason: outcome.reason, uncertain: outcome.kind !== 'declined' };
        break;
      }
      Object.assign(data, outcome.output);
      if (step.approval && outcome.output.requiresApproval === true) {
        const rejected = yield* awaitApproval(step, Number(outcome.output.approvalTimeoutSeconds ?? 86_400));
        if (rejected) {
          // The approval step itself changed nothing: only the steps before it are undone.
          completed.push(step);
          failure = { step, reason: rejected, uncertain: false };
          break;
        }
      }
      completed.push(step);
      status.completedSteps.push(step.name);
      note({ step: step.name, phase: 'step', event: 'completed' });
    }

    if (failure) {
      status.status = 'Compensating';
      status.failedStep = failure.step.name;
      status.lastError = `${failure.step.name}: ${failure.reason}`;
      const toUndo = [...completed.filter((s) => s !== failure!.step)].reverse();
      // A step whose outcome is unknown may have taken effect: undo it first.
      if (failure.uncertain) toUndo.unshift(failure.step);
      status.currentStep = undefined;
      for (const step of toUndo) {
        if (!step.compensation) continue;
        note({ step: step.name, phase: 'compensation', event: 'started', detail: step.compensation });
        try {
          const result = (yield context.df.callActivityWithRetry(step.compensation, retryOptions(def.compensationRetry), stepInput(step.compensation, status.lastError))) as StepResult;
          if (!result.ok) throw new Error(result.reason);
          status.compensations.push({ step: step.name, compensation: step.compensation, status: 'done' });
          note({ step: step.name, phase: 'compensation', event: 'completed', detail: step.compensation });
        } catch (error) {
          status.compensations.push({ step: step.name, compensation: step.compensation, status: 'failed' });
          status.status = 'CompensationFailed';
          status.lastError = `${step.compensation} failed after ${def.compensationRetry.maxAttempts} attempts: ${reasonOf(error)} (while compensating ${status.lastError})`;
          note({ step: step.name, phase: 'compensation', event: 'failed', detail: reasonOf(error) });
          break;
        }
      }
      if (status.status === 'Compensating') status.status = 'Compensated';
    } else {
      status.status = 'Completed';
      status.currentStep = undefined;
    }
    status.finishedAt = now();
    status.updatedAt = now();
    context.df.setCustomStatus(status);
    yield context.df.callActivityWithRetry(def.outcomeActivity, retryOptions(def.compensationRetry), status);
    return status;
  };
}
