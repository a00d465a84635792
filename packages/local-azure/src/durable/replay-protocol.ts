// What the engine reads from durable-functions' replay and hands back to it: the orchestrator's
// state as the handler returned it, actions and their names (for the nondeterminism check),
// retry policies as DurableTask.Core applies them, and inputs as the extension passes them on.
import type { RpcTypedData } from '../worker/rpc';
import { ActionType, jsonText, type ActionDto, type OrchestratorStateDto, type RetryOptionsDto } from './history';
import { HTTP_ACTIVITY } from './http-activity';
import type { RetryInfo, Slot } from './store';

/** The replay schema this engine speaks (durable-functions ReplaySchema.V2: compound actions), as the extension's upperSchemaVersion. */
export const SCHEMA_VERSION = 1;

export function typedValue(data: RpcTypedData | null | undefined): unknown {
  if (!data) return undefined;
  if (data.json != null) return JSON.parse(data.json) as unknown;
  if (data.string != null) return data.string;
  if (data.int != null) return Number(data.int);
  if (data.double != null) return data.double;
  if (data.bytes != null) return Buffer.from(data.bytes).toString('base64');
  return undefined;
}

/**
 * The orchestrator's state, taken from the object the handler returned rather than parsed from the
 * JSON the worker would send. The engine reads what JSON would give: inputs, output and custom
 * status are only ever serialized again (the same text), and the two fields JSON changes — a
 * timer's Date and numbers that are not finite — are read through `fireAtOf` and `retryOptionsOf`.
 */
export function orchestratorState(result: unknown): OrchestratorStateDto | undefined {
  const r = result as Partial<OrchestratorStateDto> | null | undefined;
  if (!r || typeof r !== 'object' || !Array.isArray(r.actions)) return undefined;
  return {
    isDone: r.isDone === true,
    actions: r.actions.map((group) => (Array.isArray(group) ? group : [])),
    ...(r.output !== undefined ? { output: r.output } : {}),
    ...(r.customStatus !== undefined ? { customStatus: r.customStatus } : {}),
    ...(r.error !== undefined ? { error: r.error } : {}),
    schemaVersion: r.schemaVersion ?? SCHEMA_VERSION,
  };
}

/** A timer's fire time (a Date from the handler, its ISO text from JSON), in epoch ms. */
export const fireAtOf = (a: ActionDto): number => ((a.fireAt as unknown) instanceof Date ? (a.fireAt as unknown as Date).getTime() : Date.parse(a.fireAt!));

const RETRY_FIELDS = ['firstRetryIntervalInMilliseconds', 'maxNumberOfAttempts', 'backoffCoefficient', 'maxRetryIntervalInMilliseconds', 'retryTimeoutInMilliseconds'] as const;

/** An action's retry options as plain data, as JSON would give them (a number that is not finite becomes null). */
export function retryOptionsOf(o: RetryOptionsDto): RetryOptionsDto {
  const out: Record<string, unknown> = {};
  for (const k of RETRY_FIELDS) {
    const v = o[k];
    if (v !== undefined) out[k] = typeof v === 'number' && !Number.isFinite(v) ? null : v;
  }
  return out as unknown as RetryOptionsDto;
}

export const parseJson = (text: string | null | undefined): unknown => (text === null || text === undefined || text === '' ? null : JSON.parse(text));

/** The name an action schedules, for the nondeterminism check. */
export function actionName(a: ActionDto): string | undefined {
  switch (a.actionType) {
    case ActionType.CallActivity:
    case ActionType.CallActivityWithRetry:
    case ActionType.CallSubOrchestrator:
    case ActionType.CallSubOrchestratorWithRetry:
      return a.functionName;
    case ActionType.WaitForExternalEvent:
      return a.externalEventName;
    case ActionType.CallEntity:
    case ActionType.SignalEntity:
      return a.instanceId;
    case ActionType.CallHttp:
      return HTTP_ACTIVITY;
    default:
      return undefined;
  }
}

const TYPE_WORDS: Partial<Record<ActionType, string>> = {
  [ActionType.CallActivity]: 'an activity task',
  [ActionType.CallActivityWithRetry]: 'an activity task',
  [ActionType.CallSubOrchestrator]: 'a sub-orchestration',
  [ActionType.CallSubOrchestratorWithRetry]: 'a sub-orchestration',
  [ActionType.CreateTimer]: 'a timer',
  [ActionType.WaitForExternalEvent]: 'a wait for an external event',
  [ActionType.ContinueAsNew]: 'a continue-as-new',
  [ActionType.CallEntity]: 'an entity call',
  [ActionType.SignalEntity]: 'an entity signal',
  [ActionType.LockEntities]: 'an entity lock',
  [ActionType.ReleaseEntities]: 'an entity lock release',
  [ActionType.CallHttp]: 'an HTTP call',
};

export function nondeterminismMessage(index: number, recorded: Slot, now: ActionDto): string {
  const was = `${TYPE_WORDS[recorded.type] ?? `action type ${recorded.type}`}${recorded.name ? ` named '${recorded.name}'` : ''}`;
  const is = `${TYPE_WORDS[now.actionType] ?? `action type ${now.actionType}`}${actionName(now) ? ` named '${actionName(now)}'` : ''}`;
  return (
    `Non-Deterministic workflow detected: A previous execution of this orchestration scheduled ${was}` +
    `${recorded.eventId !== undefined ? ` with sequence ID ${recorded.eventId}` : ''} as action ${index}, but the current replay execution scheduled ${is} instead. ` +
    'Was a change made to the orchestrator code after this instance had already started running?'
  );
}

/** DurableTask.Core's retry delay: first interval × coefficient^(failed attempts − 1), capped. */
export function retryDelayMs(info: RetryInfo): number {
  const o = info.options;
  const delay = o.firstRetryIntervalInMilliseconds * (o.backoffCoefficient ?? 1) ** (info.attempt - 1);
  // The extension's default maximum retry interval is 6 days.
  return Math.min(delay, o.maxRetryIntervalInMilliseconds && o.maxRetryIntervalInMilliseconds > 0 ? o.maxRetryIntervalInMilliseconds : 6 * 86_400_000);
}

export function retryTimedOut(info: RetryInfo, now: number): boolean {
  const t = info.options.retryTimeoutInMilliseconds;
  return t !== undefined && t > 0 && t < Number.MAX_SAFE_INTEGER && now - info.firstAttemptAt >= t;
}

/**
 * The JSON text of an activity's or a continue-as-new's input as the orchestrator returned it.
 * durable-functions JSON-encodes a string input itself (Utils.processInput: `"Tokyo"` arrives as
 * the text "\"Tokyo\"") and leaves other values as they are; the Durable extension takes that layer
 * off before the activity or the new execution sees the input (Azure's function-chaining sample
 * answers "Hello Tokyo", not "Hello \"Tokyo\""). Sub-orchestration inputs are not encoded by the
 * library and go through jsonText.
 */
export function libraryInputText(input: unknown): string {
  if (typeof input === 'string') {
    try {
      JSON.parse(input);
      return input;
    } catch {
      return jsonText(input);
    }
  }
  return jsonText(input);
}
