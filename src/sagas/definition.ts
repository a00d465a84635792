// A saga as data: the steps in order, each an activity with its compensation, retry policy and
// timeout. The orchestrator walks it; adding a step is one entry (and its activities).

export interface RetryPolicy {
  firstRetryIntervalMs: number;
  backoffCoefficient: number;
  maxRetryIntervalMs: number;
  /** Attempts in all, the first included. */
  maxAttempts: number;
  /** Stop retrying this long after the first attempt. */
  retryTimeoutMs?: number;
}

export interface SagaStep {
  /** The step's activity function. */
  name: string;
  /** The activity that undoes the step; absent for steps with no lasting effect. */
  compensation?: string;
  retry: RetryPolicy;
  /** The step fails (and is compensated) when it takes longer than this. */
  timeoutMs?: number;
  /** The step's result may ask for a manual approval before the saga goes on. */
  approval?: boolean;
}

export interface SagaDefinition {
  /** The orchestrator function's name. */
  orchestrator: string;
  steps: SagaStep[];
  /** How a failing compensation is retried before the saga stops in CompensationFailed. */
  compensationRetry: RetryPolicy;
  /** The external event an approval step waits for. */
  approvalEvent: string;
  /** The activity that records the saga's outcome for queries. */
  outcomeActivity: string;
}

export type SagaState = 'Running' | 'AwaitingApproval' | 'Compensating' | 'Completed' | 'Compensated' | 'CompensationFailed';
export const TERMINAL_SAGA_STATES: readonly SagaState[] = ['Completed', 'Compensated', 'CompensationFailed'];

export interface TimelineEntry {
  step: string;
  phase: 'step' | 'compensation' | 'approval';
  event: 'started' | 'completed' | 'declined' | 'failed' | 'timed-out' | 'approved' | 'rejected' | 'waiting';
  at: string;
  detail?: string;
}

/** The saga's custom status: what GET /api/sagas/{orderId} shows and the dashboard draws. */
export interface SagaStatus {
  orderId: string;
  status: SagaState;
  /** The orchestration version the saga was started with (host.json durableTask.defaultVersion): the code path it keeps to. */
  version?: string;
  currentStep?: string;
  completedSteps: string[];
  compensations: { step: string; compensation: string; status: 'done' | 'failed' }[];
  lastError?: string;
  failedStep?: string;
  timeline: TimelineEntry[];
  /** The business transaction the saga belongs to, and the W3C trace context its activities continue. */
  correlationId?: string;
  traceparent?: string;
  startedAt: string;
  updatedAt: string;
  finishedAt?: string;
}

/** Input of every step and compensation activity. */
export interface StepInput {
  orderId: string;
  sagaId: string;
  step: string;
  correlationId?: string;
  /** The trace the step's span joins (the saga start's span). */
  traceparent?: string;
  /** What earlier steps returned (the order's summary from validation, ids of effects). */
  data: Record<string, unknown>;
  /** Why the saga is compensating. */
  failure?: string;
}

export type StepResult = { ok: true; output?: Record<string, unknown> } | { ok: false; reason: string };

export const sagaInstanceId = (orderId: string) => `order-saga-${orderId}`;
export const orderIdOfSaga = (instanceId: string) => instanceId.replace(/^order-saga-/, '');
