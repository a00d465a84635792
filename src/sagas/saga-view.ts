// What GET /api/sagas/{orderId} answers, from the orchestration's status: the saga's own status
// (custom status while it runs, its output once it has ended), or Failed / Terminated when the
// orchestration itself failed or was terminated.
import type { SagaStatus } from './definition';

export interface OrchestrationStatusLike {
  instanceId: string;
  runtimeStatus: string;
  customStatus?: unknown;
  output?: unknown;
  createdTime: Date | string;
  lastUpdatedTime: Date | string;
}

export function sagaView(orderId: string, s: OrchestrationStatusLike) {
  const saga = (s.runtimeStatus === 'Completed' ? s.output : s.customStatus) as SagaStatus | null | undefined;
  let status: string;
  if (s.runtimeStatus === 'Failed' || s.runtimeStatus === 'Terminated') status = s.runtimeStatus;
  else status = saga?.status ?? 'Running';
  return {
    orderId,
    instanceId: s.instanceId,
    status,
    runtimeStatus: s.runtimeStatus,
    ...(saga?.version ? { version: saga.version } : {}),
    ...(saga?.currentStep ? { currentStep: saga.currentStep } : {}),
    completedSteps: saga?.completedSteps ?? [],
    compensations: saga?.compensations ?? [],
    ...(saga?.failedStep ? { failedStep: saga.failedStep } : {}),
    ...(saga?.lastError ? { lastError: saga.lastError } : s.runtimeStatus === 'Failed' ? { lastError: String(s.output) } : {}),
    timeline: saga?.timeline ?? [],
    startedAt: saga?.startedAt ?? new Date(s.createdTime).toISOString(),
    updatedAt: new Date(s.lastUpdatedTime).toISOString(),
    ...(saga?.finishedAt ? { finishedAt: saga.finishedAt } : {}),
  };
}
