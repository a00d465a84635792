// What an orchestrator's new actions become, as the extension records them: each scheduling action
// takes the next event id and writes its history event (TaskScheduled, TimerCreated,
// SubOrchestrationInstanceCreated, EventSent), and what it starts is collected as the episode's
// effects — work items, timer messages, children, entity messages — committed with the episode.
import { randomUUID } from 'node:crypto';
import type { EntityMessage, EntityRequest, EngineState, InstanceRow, RetryInfo, Slot } from './store';
import { entityOf, EntityScheduler, schedulerId } from './entities';
import { ActionType, EventType, event, jsonText, type ActionDto, type HistoryEvent } from './history';
import { HTTP_ACTIVITY } from './http-activity';
import { fireAtOf, libraryInputText, retryOptionsOf, retryTimedOut } from './replay-protocol';
import type { VersioningOptions } from './versioning';

export interface Effects {
  messages: { instanceId: string; executionId: string | null; payload: HistoryEvent; visibleAt: number }[];
  /** eventIndex: where its TaskScheduled event (which holds the input) is among the episode's new events. */
  work: { taskId: number; name: string; input: string; eventIndex: number }[];
  cancelTimers: number[];
  children: { instanceId: string; name: string; input: string; taskId: number; version?: string }[];
  /** Operation, lock and release messages to entities. */
  entityMessages: { target: string; message: EntityMessage }[];
}

export const noEffects = (): Effects => ({ messages: [], work: [], cancelTimers: [], children: [], entityMessages: [] });

export class ActionRecorder {
  constructor(
    private readonly entities: EntityScheduler,
    private readonly versioning: VersioningOptions,
  ) {}

  /** Records a new action: its event id, the history event, and the work it starts. */
  record(instance: InstanceRow, state: EngineState, action: ActionDto, at: Date, newEvents: HistoryEvent[], effects: Effects): Slot {
    const now = at.getTime();
    switch (action.actionType) {
      case ActionType.CallActivity:
      case ActionType.CallActivityWithRetry:
      case ActionType.CallSubOrchestrator:
      case ActionType.CallSubOrchestratorWithRetry: {
        const taskId = state.nextEventId++;
        const sub = action.actionType === ActionType.CallSubOrchestrator || action.actionType === ActionType.CallSubOrchestratorWithRetry;
        const info: RetryInfo = {
          kind: sub ? 'sub' : 'activity',
          name: action.functionName!,
          // Sub-orchestration inputs come as values; activity inputs as the library encodes them.
          input: sub ? jsonText(action.input) : libraryInputText(action.input),
          // DurableTask.Core names an unnamed child after the parent's execution id and the task's sequence number.
          ...(sub ? { instanceId: action.instanceId || `${instance.executionId}:${taskId}` } : {}),
          // A sub-orchestration started without a version gets the worker's default version.
          ...(sub && (action.version || this.versioning.defaultVersion) ? { version: action.version || this.versioning.defaultVersion } : {}),
          options: action.retryOptions ? retryOptionsOf(action.retryOptions) : { firstRetryIntervalInMilliseconds: 1, maxNumberOfAttempts: 1 },
          attempt: 1,
          firstAttemptAt: now,
        };
        if (action.actionType === ActionType.CallActivityWithRetry || action.actionType === ActionType.CallSubOrchestratorWithRetry) state.retryByTask[taskId] = info;
        if (sub) state.children[taskId] = info.instanceId!;
        this.schedule(instance, info, taskId, at, newEvents, effects);
        return { type: action.actionType, name: action.functionName, eventId: taskId };
      }
      case ActionType.CreateTimer: {
        const timerId = state.nextEventId++;
        const fireAt = fireAtOf(action);
        newEvents.push(event(EventType.TimerCreated, at, { EventId: timerId, FireAt: new Date(fireAt).toISOString() }));
        if (!action.isCanceled) {
          effects.messages.push({
            instanceId: instance.instanceId,
            executionId: instance.executionId,
            payload: event(EventType.TimerFired, new Date(fireAt), { TimerId: timerId, FireAt: new Date(fireAt).toISOString() }),
            visibleAt: Math.max(fireAt, now),
          });
        }
        return { type: action.actionType, eventId: timerId, ...(action.isCanceled ? { canceled: true } : {}) };
      }
      case ActionType.WaitForExternalEvent:
        return { type: action.actionType, name: action.externalEventName };
      case ActionType.ContinueAsNew:
        return { type: action.actionType };
      case ActionType.CallEntity:
      case ActionType.SignalEntity: {
        const target = this.#entityTarget(action.instanceId);
        const taskId = state.nextEventId++;
        // The extension's RequestMessage; its id names the EventRaised that answers a call.
        const request: EntityRequest = {
          id: randomUUID(),
          op: action.operation ?? '',
          ...(action.actionType === ActionType.SignalEntity ? { signal: true } : {}),
          ...(action.input !== undefined && action.input !== null ? { input: jsonText(action.input) } : {}),
          parent: instance.instanceId,
          parentExecution: instance.executionId,
        };
        newEvents.push(event(EventType.EventSent, at, { EventId: taskId, InstanceId: target, Name: 'op', Input: JSON.stringify(request) }));
        effects.entityMessages.push({ target, message: { name: 'op', input: request } });
        return { type: action.actionType, name: target, eventId: taskId };
      }
      case ActionType.LockEntities: {
        const set = action.lockSet ?? [];
        const targets = set.map((e) => this.#entityTarget(schedulerId(e)));
        if (!targets.length) throw new Error('The list of entities to lock must not be null or empty.');
        const taskId = state.nextEventId++;
        // Sent to the first entity; each one that grants its lock passes the request to the next.
        const request: EntityRequest = {
          id: action.lockRequestId ?? randomUUID(),
          parent: instance.instanceId,
          parentExecution: instance.executionId,
          lockset: set.map((e) => ({ name: e.name, key: e.key })),
          pos: 0,
        };
        newEvents.push(event(EventType.EventSent, at, { EventId: taskId, InstanceId: targets[0], Name: 'op', Input: JSON.stringify(request) }));
        effects.entityMessages.push({ target: targets[0]!, message: { name: 'op', input: request } });
        state.locks = { requestId: request.id, entities: targets };
        return { type: action.actionType, eventId: taskId };
      }
      case ActionType.ReleaseEntities: {
        // One release message per locked entity, each taking a sequence number (as durable-functions counts them).
        for (const target of state.locks?.entities ?? []) {
          const release = { id: state.locks!.requestId, parent: instance.instanceId };
          newEvents.push(event(EventType.EventSent, at, { EventId: state.nextEventId++, InstanceId: target, Name: 'release', Input: JSON.stringify(release) }));
          effects.entityMessages.push({ target, message: { name: 'release', input: release } });
        }
        delete state.locks;
        return { type: action.actionType };
      }
      case ActionType.CallHttp: {
        const taskId = state.nextEventId++;
        const input = JSON.stringify(action.httpRequest ?? {});
        newEvents.push(event(EventType.TaskScheduled, at, { EventId: taskId, Name: HTTP_ACTIVITY, Input: input }));
        effects.work.push({ taskId, name: HTTP_ACTIVITY, input, eventIndex: newEvents.length - 1 });
        return { type: action.actionType, name: HTTP_ACTIVITY, eventId: taskId };
      }
      default:
        throw new Error(`${ActionType[action.actionType] ?? `Action type ${action.actionType}`} is not supported by the embedded Durable engine.`);
    }
  }

  /** An entity's scheduler id, refused as the extension refuses a name with no entity function. */
  #entityTarget(instanceId: string | undefined): string {
    const entity = instanceId ? entityOf(instanceId) : undefined;
    if (!entity || !this.entities.has(entity.name)) throw new Error(EntityScheduler.missing(entity?.name ?? String(instanceId)));
    return instanceId!;
  }

  /** Schedules one attempt of an activity or sub-orchestration under a task id. */
  schedule(instance: InstanceRow, info: RetryInfo, taskId: number, at: Date, newEvents: HistoryEvent[], effects: Effects): void {
    const now = at.getTime();
    const timedOut = info.attempt > 1 && retryTimedOut(info, now);
    if (info.kind === 'activity') {
      newEvents.push(event(EventType.TaskScheduled, at, { EventId: taskId, Name: info.name, Input: info.input }));
      if (timedOut) {
        // The retry timeout has passed: the attempts left fail at once with the last error.
        effects.messages.push({
          instanceId: instance.instanceId,
          executionId: instance.executionId,
          payload: event(EventType.TaskFailed, at, { TaskScheduledId: taskId, Reason: info.lastReason ?? 'Retry timeout exceeded', Details: info.lastDetails ?? '' }),
          visibleAt: now,
        });
      } else {
        effects.work.push({ taskId, name: info.name, input: info.input, eventIndex: newEvents.length - 1 });
      }
    } else {
      newEvents.push(
        event(EventType.SubOrchestrationInstanceCreated, at, { EventId: taskId, Name: info.name, InstanceId: info.instanceId, Input: info.input, ...(info.version ? { Version: info.version } : {}) }),
      );
      if (timedOut) {
        effects.messages.push({
          instanceId: instance.instanceId,
          executionId: instance.executionId,
          payload: event(EventType.SubOrchestrationInstanceFailed, at, { TaskScheduledId: taskId, Reason: info.lastReason ?? 'Retry timeout exceeded', Details: info.lastDetails ?? '' }),
          visibleAt: now,
        });
      } else {
        effects.children.push({ instanceId: info.instanceId!, name: info.name, input: info.input, taskId, ...(info.version ? { version: info.version } : {}) });
      }
    }
  }
}
