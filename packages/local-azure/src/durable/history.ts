// Durable Task history events as the Durable Functions extension hands them to an out-of-process
// orchestrator (PascalCase JSON, as durable-functions' TaskOrchestrationExecutor reads them), and
// the actions an orchestrator returns (durable-functions' ActionType).

export enum EventType {
  ExecutionStarted = 0,
  ExecutionCompleted = 1,
  ExecutionFailed = 2,
  ExecutionTerminated = 3,
  TaskScheduled = 4,
  TaskCompleted = 5,
  TaskFailed = 6,
  SubOrchestrationInstanceCreated = 7,
  SubOrchestrationInstanceCompleted = 8,
  SubOrchestrationInstanceFailed = 9,
  TimerCreated = 10,
  TimerFired = 11,
  OrchestratorStarted = 12,
  OrchestratorCompleted = 13,
  EventSent = 14,
  EventRaised = 15,
  ContinueAsNew = 16,
  GenericEvent = 17,
  HistoryState = 18,
  ExecutionSuspended = 19,
  ExecutionResumed = 20,
}

export enum ActionType {
  CallActivity = 0,
  CallActivityWithRetry = 1,
  CallSubOrchestrator = 2,
  CallSubOrchestratorWithRetry = 3,
  ContinueAsNew = 4,
  CreateTimer = 5,
  WaitForExternalEvent = 6,
  CallEntity = 7,
  CallHttp = 8,
  SignalEntity = 9,
  WhenAny = 11,
  WhenAll = 12,
  LockEntities = 13,
  ReleaseEntities = 14,
}

export interface HistoryEvent {
  EventType: EventType;
  EventId: number;
  IsPlayed: boolean;
  Timestamp: string;
  Name?: string;
  Input?: string;
  Result?: string;
  TaskScheduledId?: number;
  TimerId?: number;
  FireAt?: string;
  Reason?: string;
  Details?: string;
  InstanceId?: string;
  OrchestrationStatus?: string;
  [field: string]: unknown;
}

export interface RetryOptionsDto {
  firstRetryIntervalInMilliseconds: number;
  maxNumberOfAttempts: number;
  backoffCoefficient?: number;
  maxRetryIntervalInMilliseconds?: number;
  retryTimeoutInMilliseconds?: number;
}

export interface ActionDto {
  actionType: ActionType;
  functionName?: string;
  input?: unknown;
  retryOptions?: RetryOptionsDto;
  instanceId?: string;
  /** A sub-orchestration's version, when the orchestrator gives one. */
  version?: string;
  fireAt?: string;
  isCanceled?: boolean;
  externalEventName?: string;
  compoundActions?: ActionDto[];
  /** CallEntity / SignalEntity: the operation (instanceId holds the entity's scheduler id). */
  operation?: string;
  /** LockEntities: the entities to lock (sorted, deduplicated) and the request's id. */
  lockSet?: { name: string; key: string }[];
  lockRequestId?: string;
  /** CallHttp: durable-functions' DurableHttpRequest. */
  httpRequest?: Record<string, unknown>;
}

/** What an orchestrator invocation returns (durable-functions' OrchestratorState). */
export interface OrchestratorStateDto {
  isDone: boolean;
  actions: ActionDto[][];
  output?: unknown;
  error?: string;
  customStatus?: unknown;
  schemaVersion: number;
}

/** Compound actions (Task.all / Task.any) flattened in order: the order ids are assigned in. */
export function flattenActions(actions: ActionDto[]): ActionDto[] {
  const out: ActionDto[] = [];
  for (const a of actions) {
    if (a.actionType === ActionType.WhenAll || a.actionType === ActionType.WhenAny) out.push(...flattenActions(a.compoundActions ?? []));
    else out.push(a);
  }
  return out;
}

export function event(type: EventType, at: Date, fields: Partial<HistoryEvent> = {}): HistoryEvent {
  return { EventType: type, EventId: -1, IsPlayed: false, Timestamp: at.toISOString(), ...fields };
}

/** JSON text of a value as the extension stores inputs and results (undefined → null). */
export function jsonText(value: unknown): string {
  return JSON.stringify(value === undefined ? null : value);
}
