// The embedded Durable engine: runs orchestrationTrigger and activityTrigger functions of the app
// through the real durable-functions replay, as the Durable Functions extension does for an
// out-of-process worker.
//
// An orchestration advances in episodes. Each episode takes ONE new message of the instance
// (execution started, task completed or failed, timer fired, event raised, sub-orchestration done,
// or a control operation), appends it to the history, invokes the orchestrator function with the
// whole history (durable-functions replays it and returns every action the code has scheduled so
// far), checks the actions against those recorded (nondeterminism), and records what is new:
// activity work items, timers (messages visible when they fire), sub-orchestrations, completion.
// The episode's outcome is committed in one transaction before any of it is carried out, so a
// crash at any point resumes from the last committed episode; activities are at-least-once.
//
// Event ids follow the extension: every scheduled activity, timer and sub-orchestration takes the
// next id in the order the orchestrator schedules them. callActivityWithRetry is retried by the
// engine as DurableTask.Core's RetryInterceptor does — after each failed attempt (the last one
// too) a retry timer, then the next attempt — which is the history durable-functions' RetryableTask
// expects.
import type { Clock, Timer } from '../clock';
import type { GroupCommit } from '../sqlite';
import type { FunctionExecutor } from '../host/executor';
import type { HostLogger } from '../host/logger';
import type { RpcInvocationResponse } from '../worker/rpc';
import type { RegisteredFunction } from '../worker/worker-state';
import { ActionType, EventType, event, flattenActions, jsonText, type ActionDto, type HistoryEvent, type OrchestratorStateDto } from './history';
import { NO_VERSIONING, versionMismatch, type VersioningOptions } from './versioning';
import { isWorkerProcessExit } from '../worker/worker-protocol';
import { actionName, libraryInputText, nondeterminismMessage, orchestratorState, parseJson, retryDelayMs, retryTimedOut, SCHEMA_VERSION } from './replay-protocol';
export { nondeterminismMessage, retryDelayMs, SCHEMA_VERSION } from './replay-protocol';
import { entityOf, EntityScheduler } from './entities';
import { ActionRecorder, noEffects, type Effects } from './actions';
import { ActivityRunner } from './activity-runner';
import { cloneState, DurableStore, newEngineState, TERMINAL, type CachedInstance, type EngineState, type InstanceRow, type MessageRow, type RuntimeStatus } from './store';

/**
 * The newest schema it also speaks, as the extension's upperSchemaVersionNew (which the library
 * prefers): V3 (the library splits long timers and drives callHttp's 202 polling — never needed
 * here, the HTTP activity polls itself) and V4 (entity locks, `context.df.lock`).
 */
export const SCHEMA_VERSION_NEW = 3;
const OUT_OF_PROC_LABEL = '\n\n$OutOfProcData$:';

export interface InstanceEnded {
  instanceId: string;
  name: string;
  status: RuntimeStatus;
  /** The output's JSON text. */
  output: string | null;
}

export class DurableOperationError extends Error {
  override name = 'DurableOperationError';
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

export interface DurableEngineOptions {
  store: DurableStore;
  commit: GroupCommit;
  clock: Clock;
  executor: FunctionExecutor;
  logger: HostLogger;
  maxConcurrentOrchestrators: number;
  maxConcurrentActivities: number;
  /** host.json orchestration versioning; none configured by default. */
  versioning?: VersioningOptions;
  afterInvocation: (fn: RegisteredFunction, response: RpcInvocationResponse, invocationId: string) => Promise<void>;
}

interface Registered {
  fn: RegisteredFunction;
  triggerName: string;
}

/** The dispatcher reads the messages table itself at least this often (and whenever a timer is due). */
const RESCAN_MS = 1_000;
const RESCAN_LIMIT = 10_000;

/** How long a rejected orchestration work item waits before a worker looks at it again. */
export const REJECTED_RETRY_MS = 30_000;

export class DurableEngine {
  readonly #orchestrators = new Map<string, Registered>();
  readonly #busy = new Set<string>();
  readonly #activeWork = new Set<number>();
  readonly #running = new Set<Promise<void>>();
  #stopped = false;
  #wakeOrchestrations?: () => void;
  #wakeActivities?: () => void;
  #timer?: { at: number; timer: Timer };
  /**
   * Instances that may have a message to process now, oldest hint first: told by the store of
   * every message added, so the dispatcher need not query the messages table on every wake-up.
   * The table stays the truth: it is scanned at start, when a timer is due and every second.
   */
  readonly #ready = new Set<string>();
  /** Instances that got a message while an episode of theirs ran: looked at again after it. */
  readonly #again = new Set<string>();
  #rescanAt = 0;
  #loops: Promise<void>[] = [];
  readonly #observers = new Set<(e: { instanceId: string; name: string; historyLength: number; invokeMs: number }) => void>();
  readonly #endObservers = new Set<(e: InstanceEnded) => void>();

  readonly #versioning: VersioningOptions;
  readonly #entities: EntityScheduler;
  readonly #actions: ActionRecorder;
  readonly #activityRunner: ActivityRunner;
  /** Stops the HTTP activity's polling when the host stops. */
  readonly #stopping = new AbortController();

  constructor(private readonly o: DurableEngineOptions) {
    this.#versioning = o.versioning ?? NO_VERSIONING;
    this.#entities = new EntityScheduler({ ...o, wake: () => this.#wake() });
    this.#actions = new ActionRecorder(this.#entities, this.#versioning);
    this.#activityRunner = new ActivityRunner({ ...o, stopping: this.#stopping.signal, wake: () => this.#wake() });
  }

  /** The entity functions and their state (signals and reads of the HTTP API and the durable client). */
  get entities(): EntityScheduler {
    return this.#entities;
  }

  addEntity(fn: RegisteredFunction, triggerName: string): void {
    this.#entities.add(fn, triggerName);
  }

  get store(): DurableStore {
    return this.o.store;
  }

  addOrchestrator(fn: RegisteredFunction, triggerName: string): void {
    this.#orchestrators.set(fn.metadata.name.toLowerCase(), { fn, triggerName });
  }

  addActivity(fn: RegisteredFunction, triggerName: string): void {
    this.#activityRunner.add(fn, triggerName);
  }

  /** Hears of every orchestrator invocation (history length, time spent replaying): for benchmarks. */
  observe(listener: (e: { instanceId: string; name: string; historyLength: number; invokeMs: number }) => void): () => void {
    this.#observers.add(listener);
    return () => this.#observers.delete(listener);
  }

  /**
   * Hands the orchestrator of an instance, again, what each of its episodes handed it (the history
   * up to that episode's new message; an episode that also scheduled a retry before invoking had
   * that event too), one invocation after the other, and returns each one's history length and
   * duration: what replay costs without the engine (no SQL, no commits). Nothing is written. For
   * benchmarks.
   */
  async replayEpisodes(instanceId: string): Promise<{ historyLength: number; ms: number }[]> {
    const instance = this.o.store.getInstance(instanceId);
    if (!instance) throw new DurableOperationError(404, `No instance with ID '${instanceId}' found.`);
    const history = this.o.store.history(instanceId);
    const invocations: { historyLength: number; ms: number }[] = [];
    for (let k = 0; k < history.length; k++) {
      if (history[k]!.EventType !== EventType.OrchestratorStarted || k + 1 >= history.length) continue;
      const json = history.slice(0, k + 2).map((e, i) => JSON.stringify(i < k ? { ...e, IsPlayed: true } : e));
      const started = performance.now();
      const { error } = await this.#invokeOrchestrator(instance, json.join(','), k > 0);
      if (error) throw new Error(`Replaying ${instanceId} up to event ${k + 1}: ${error}`);
      invocations.push({ historyLength: k + 2, ms: performance.now() - started });
    }
    return invocations;
  }

  /** Hears of every instance that ends (completed, failed or terminated), once its end is committed: for benchmarks. */
  observeEnded(listener: (e: InstanceEnded) => void): () => void {
    this.#endObservers.add(listener);
    return () => this.#endObservers.delete(listener);
  }

  #ended(instance: InstanceRow, status: RuntimeStatus, output: string | null): void {
    if (!this.#endObservers.size) return;
    const e: InstanceEnded = { instanceId: instance.instanceId, name: instance.name, status, output };
    this.o.commit.afterCommit(() => {
      for (const o of this.#endObservers) o(e);
    });
  }

  get hasFunctions(): boolean {
    return this.#orchestrators.size > 0 || this.#activityRunner.size > 0 || this.#entities.size > 0;
  }

  start(): void {
    if (!this.hasFunctions) return;
    this.#loops = [this.#orchestrationLoop(), this.#activityLoop()];
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    this.#stopping.abort();
    this.#timer?.timer.cancel();
    this.#wakeOrchestrations?.();
    this.#wakeActivities?.();
    await Promise.allSettled(this.#loops);
    await Promise.allSettled([...this.#running]);
  }

  #wake(): void {
    this.#wakeOrchestrations?.();
    this.#wakeActivities?.();
  }

  #track(p: Promise<void>): void {
    this.#running.add(p);
    void p.finally(() => this.#running.delete(p));
  }

  async #sleep(set: (wake: () => void) => void): Promise<void> {
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, 1_000); // a safety net; wake-ups come from commits and timers
      timer.unref();
      set(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  /** Arms the clock timer for `at` (a message becoming visible then), unless one is armed earlier. */
  #armTimer(at: number | undefined, replace = false): void {
    if (at === undefined || (!replace && this.#timer && this.#timer.at <= at)) {
      if (replace) {
        this.#timer?.timer.cancel();
        this.#timer = undefined;
      }
      return;
    }
    this.#timer?.timer.cancel();
    this.#timer = {
      at,
      timer: this.o.clock.setTimer(at, () => {
        this.#timer = undefined;
        this.#rescanAt = 0;
        this.#wakeOrchestrations?.();
      }),
    };
  }

  /** Takes in the store's news of added messages (and, when due, what the messages table says). */
  #collectReady(now: number): void {
    // The safety net runs on real time: an injected clock may stand still.
    const real = performance.now();
    if (real >= this.#rescanAt) {
      this.#rescanAt = real + RESCAN_MS;
      this.o.store.takeAdded();
      for (const id of this.o.store.readyInstances(now, RESCAN_LIMIT)) this.#ready.add(id);
      this.#armTimer(this.o.store.nextVisibleAt(now), true);
      return;
    }
    for (const m of this.o.store.takeAdded()) {
      if (m.visibleAt > now) this.#armTimer(m.visibleAt);
      else if (this.#busy.has(m.instanceId)) this.#again.add(m.instanceId);
      else this.#ready.add(m.instanceId);
    }
  }

  async #orchestrationLoop(): Promise<void> {
    while (!this.#stopped) {
      this.#collectReady(this.o.clock.now());
      for (const id of this.#ready) {
        if (this.#busy.size >= this.o.maxConcurrentOrchestrators) break;
        this.#ready.delete(id);
        if (this.#busy.has(id)) {
          this.#again.add(id);
          continue;
        }
        this.#busy.add(id);
        this.#track(
          this.#episode(id)
            .catch((error: Error) => {
              this.o.logger.log('error', 'Host.Triggers.DurableTask', `Instance ${id}: ${error.stack ?? error.message}`);
              return true;
            })
            .then((processed) => {
              this.#busy.delete(id);
              // It may have more messages waiting (it had one at least): looked at again.
              if (processed || this.#again.delete(id)) this.#ready.add(id);
              this.#wakeOrchestrations?.();
            }),
        );
      }
      await this.#sleep((w) => (this.#wakeOrchestrations = w));
    }
  }

  async #activityLoop(): Promise<void> {
    while (!this.#stopped) {
      const free = this.o.maxConcurrentActivities - this.#activeWork.size;
      if (free > 0) {
        for (const item of this.o.store.work(free + this.#activeWork.size)) {
          if (this.#activeWork.size >= this.o.maxConcurrentActivities) break;
          if (this.#activeWork.has(item.id)) continue;
          this.#activeWork.add(item.id);
          this.#track(
            this.#activityRunner.run(item).finally(() => {
              this.#activeWork.delete(item.id);
              this.#wakeActivities?.();
            }),
          );
        }
      }
      await this.#sleep((w) => (this.#wakeActivities = w));
    }
  }

  #log(level: 'information' | 'warning' | 'error' | 'debug', message: string): void {
    this.o.logger.log(level, 'Host.Triggers.DurableTask', message);
  }

  // ---------------------------------------------------------------- orchestrations

  /** Processes the instance's next visible message, if it has one (false when it had none). */
  async #episode(instanceId: string): Promise<boolean> {
    if (entityOf(instanceId)) return this.#entities.episode(instanceId);
    const now = this.o.clock.now();
    const instance = this.o.store.getInstance(instanceId);
    const message = this.o.store.nextMessage(instanceId, now, instance?.status === 'Suspended');
    if (!message) return false;
    await this.#process(instanceId, instance, message, now);
    return true;
  }

  async #process(instanceId: string, instance: InstanceRow | undefined, message: MessageRow, now: number): Promise<void> {
    const { store } = this.o;
    const discard = () => this.o.commit.run(() => store.deleteMessage(message.id));
    if (!instance || TERMINAL.has(instance.status) || (message.executionId !== null && message.executionId !== instance.executionId)) {
      // Messages for an instance that has finished (or for an earlier execution) are dropped, as in Azure.
      await discard();
      return;
    }
    switch (message.kind) {
      case 'entity':
        // Entity messages are an entity's (routed before this); one addressed to an orchestration id is dropped.
        return discard();
      case 'terminate':
        return this.#finish(instance, message, 'Terminated', jsonText((message.payload as { reason?: string }).reason ?? ''), [
          event(EventType.ExecutionTerminated, new Date(now), { Input: (message.payload as { reason?: string }).reason ?? '' }),
        ]);
      case 'suspend':
      case 'resume': {
        const reason = (message.payload as { reason?: string }).reason ?? '';
        const suspend = message.kind === 'suspend';
        if (suspend === (instance.status === 'Suspended')) return discard();
        await this.o.commit.run(() => {
          store.appendHistory(instance.instanceId, store.historyLength(instance.instanceId), [
            event(suspend ? EventType.ExecutionSuspended : EventType.ExecutionResumed, new Date(now), { Reason: reason }),
          ]);
          store.putInstance({ ...instance, status: suspend ? 'Suspended' : 'Running', updatedAt: now }, instance);
          store.deleteMessage(message.id);
          this.o.commit.afterCommit(() => this.#wake());
        });
        return;
      }
      case 'event': {
        const mismatch = versionMismatch(instance.version, this.#versioning);
        if (mismatch) return this.#versionRejected(instance, message, mismatch);
        return this.#runOrchestrator(store.loadInstance(instanceId)!, message);
      }
    }
  }

  /**
   * An instance this worker's versioning does not accept. Reject: its messages wait, untouched,
   * for a worker that does (a newer deployment); Fail: it fails, and its parent hears of it.
   */
  async #versionRejected(instance: InstanceRow, message: MessageRow, reason: string): Promise<void> {
    if (this.#versioning.failureStrategy === 'Fail') {
      const output = jsonText(`Orchestrator function '${instance.name}' failed: ${reason}`);
      this.#log('error', `Instance ${instance.instanceId} (${instance.name}) failed: ${reason}`);
      return this.#finish(instance, message, 'Failed', output, [event(EventType.ExecutionCompleted, new Date(this.o.clock.now()), { OrchestrationStatus: 'Failed', Result: output })]);
    }
    const now = this.o.clock.now();
    this.#log('warning', `Instance ${instance.instanceId} (${instance.name}) rejected, retried in ${REJECTED_RETRY_MS / 1000} s: ${reason}`);
    await this.o.commit.run(() => this.o.store.deferMessages(instance.instanceId, now, now + REJECTED_RETRY_MS));
    // Its messages are visible again later: the dispatcher re-reads the table to arm a timer for them.
    this.#rescanAt = 0;
  }

  /** Ends an instance (terminated, or failed outside the orchestrator) and tells its parent. */
  async #finish(instance: InstanceRow, message: MessageRow | undefined, status: RuntimeStatus, output: string, events: HistoryEvent[]): Promise<void> {
    const { store, clock } = this.o;
    const now = clock.now();
    await this.o.commit.run(() => {
      const current = store.getInstance(instance.instanceId);
      if (!current || current.executionId !== instance.executionId) return;
      store.appendHistory(instance.instanceId, store.historyLength(instance.instanceId), events);
      this.#releaseLocks(current, current.state, now);
      store.putInstance({ ...current, status, output, updatedAt: now }, current);
      store.deleteMessages(instance.instanceId);
      if (message) store.deleteMessage(message.id);
      this.#notifyParent(current, status === 'Completed', output, now);
      this.#ended(current, status, output);
      this.o.commit.afterCommit(() => this.#wake());
    });
  }

  #notifyParent(instance: InstanceRow, succeeded: boolean, output: string, now: number): void {
    const parent = instance.parent;
    if (!parent) return;
    const at = new Date(now);
    const payload = succeeded
      ? event(EventType.SubOrchestrationInstanceCompleted, at, { TaskScheduledId: parent.taskId, Result: output })
      : event(EventType.SubOrchestrationInstanceFailed, at, {
          TaskScheduledId: parent.taskId,
          Reason: `Orchestrator function '${instance.name}' failed: ${String(parseJson(output))}`,
          Details: output,
        });
    this.o.store.addMessage(parent.instanceId, parent.executionId, 'event', payload, now);
  }

  /** `historyJson` is the history array's inside: the played events' JSON text, kept between episodes, then the new ones'. */
  /** The orchestrator's state, with its output and custom status as JSON text (absent when it has none). */
  async #invokeOrchestrator(
    instance: InstanceRow,
    historyJson: string,
    isReplaying: boolean,
  ): Promise<{ state?: OrchestratorStateDto; error?: string; outputJson?: string; customStatusJson?: string }> {
    const registered = this.#orchestrators.get(instance.name.toLowerCase());
    if (!registered) return { error: `The function '${instance.name}' doesn't exist, is disabled, or is not an orchestrator function.` };
    const binding = {
      input: parseJson(instance.input),
      instanceId: instance.instanceId,
      isReplaying,
      parentInstanceId: instance.parent?.instanceId,
      upperSchemaVersion: SCHEMA_VERSION,
      upperSchemaVersionNew: SCHEMA_VERSION_NEW,
      longRunningTimerIntervalDuration: '3.00:00:00',
      maximumShortTimerDuration: '6.00:00:00',
      defaultHttpAsyncRequestSleepTimeMillseconds: 30000,
    };
    try {
      const outcome = await this.o.executor.execute(registered.fn, {
        reason: '(null)',
        // The state is read from the handler's result: the library need not serialize every action again.
        resultOnly: true,
        // The history is spliced in as text rather than serialized again on every episode.
        request: () => ({ inputData: [{ name: registered.triggerName, data: { json: `{"history":[${historyJson}],${JSON.stringify(binding).slice(1)}` } }], triggerMetadata: {} }),
      });
      const state = orchestratorState(outcome.result);
      if (!state) return { error: `Orchestrator function '${instance.name}' returned no orchestration state.` };
      // Serialized here, so that what the worker's serialization would refuse fails the invocation.
      return { state, outputJson: jsonText(state.output), ...(state.customStatus !== undefined ? { customStatusJson: jsonText(state.customStatus) } : {}) };
    } catch (error) {
      // The worker process died under the episode: nothing the orchestrator did, so the episode is
      // not recorded and its message is processed again (by a process that lives).
      if (isWorkerProcessExit(error)) throw error;
      // durable-functions reports a failed orchestration as an error whose message carries the state.
      const message = (error as Error)?.message ?? String(error);
      const at = message.indexOf(OUT_OF_PROC_LABEL);
      if (at >= 0) {
        const state = JSON.parse(message.slice(at + OUT_OF_PROC_LABEL.length)) as OrchestratorStateDto;
        return { state, error: state.error ?? message.slice(0, at) };
      }
      return { error: message };
    }
  }

  async #runOrchestrator(loaded: CachedInstance, message: MessageRow): Promise<void> {
    const { store, clock } = this.o;
    const { instance } = loaded;
    const now = clock.now();
    const at = new Date(now);
    const state: EngineState = cloneState(instance.state);
    const effects: Effects = noEffects();
    const incoming = { ...(message.payload as HistoryEvent), IsPlayed: false };
    const newEvents: HistoryEvent[] = [event(EventType.OrchestratorStarted, at), incoming];

    // Retries, as DurableTask.Core's RetryInterceptor drives them.
    if (incoming.EventType === EventType.TaskCompleted || incoming.EventType === EventType.SubOrchestrationInstanceCompleted) {
      delete state.retryByTask[incoming.TaskScheduledId!];
    } else if (incoming.EventType === EventType.TaskFailed || incoming.EventType === EventType.SubOrchestrationInstanceFailed) {
      const info = state.retryByTask[incoming.TaskScheduledId!];
      if (info) {
        delete state.retryByTask[incoming.TaskScheduledId!];
        info.lastReason = incoming.Reason;
        info.lastDetails = incoming.Details;
        const timerId = state.nextEventId++;
        // After the last attempt DurableTask.Core still creates a timer, with no delay ("dummy timer
        // for back-compat"), which durable-functions waits for before it reports the failure.
        const last = info.attempt >= info.options.maxNumberOfAttempts;
        const fireAt = last || retryTimedOut(info, now) ? now : now + retryDelayMs(info);
        newEvents.push(event(EventType.TimerCreated, at, { EventId: timerId, FireAt: new Date(fireAt).toISOString() }));
        effects.messages.push({
          instanceId: instance.instanceId,
          executionId: instance.executionId,
          payload: event(EventType.TimerFired, new Date(fireAt), { TimerId: timerId, FireAt: new Date(fireAt).toISOString() }),
          visibleAt: fireAt,
        });
        state.retryByTimer[timerId] = info;
      }
    } else if (incoming.EventType === EventType.TimerFired) {
      const info = state.retryByTimer[incoming.TimerId!];
      if (info) {
        delete state.retryByTimer[incoming.TimerId!];
        if (info.attempt < info.options.maxNumberOfAttempts) {
          info.attempt++;
          const taskId = state.nextEventId++;
          state.retryByTask[taskId] = info;
          this.#actions.schedule(instance, info, taskId, at, newEvents, effects);
        }
      }
    }

    // The events as recorded; the orchestrator is handed the new ones so, unplayed.
    const texts = newEvents.map((e) => JSON.stringify(e));
    const newJson = texts.join(',');
    const historyJson = loaded.historyJson ? `${loaded.historyJson},${newJson}` : newJson;
    const invokeStarted = performance.now();
    const { state: result, error, outputJson, customStatusJson } = await this.#invokeOrchestrator(instance, historyJson, loaded.history.length > 0);
    if (this.#observers.size) {
      const e = { instanceId: instance.instanceId, name: instance.name, historyLength: loaded.history.length + newEvents.length, invokeMs: performance.now() - invokeStarted };
      for (const o of this.#observers) o(e);
    }
    let failure = error;
    const actions = flattenActions(result?.actions?.[0] ?? []);

    // Nondeterminism: what was scheduled before must be scheduled again, in the same order.
    if (!failure) {
      for (let i = 0; i < Math.min(state.slots.length, actions.length); i++) {
        const slot = state.slots[i]!;
        const action = actions[i]!;
        const sameType =
          slot.type === action.actionType ||
          (slot.type === ActionType.CallActivity && action.actionType === ActionType.CallActivityWithRetry) ||
          (slot.type === ActionType.CallActivityWithRetry && action.actionType === ActionType.CallActivity);
        if (!sameType || (slot.name ?? undefined) !== (actionName(action) ?? undefined)) {
          failure = nondeterminismMessage(i, slot, action);
          break;
        }
      }
    }
    let continueAsNew: ActionDto | undefined;
    if (!failure) {
      // Timers canceled since they were scheduled never fire.
      actions.slice(0, state.slots.length).forEach((a, i) => {
        const slot = state.slots[i]!;
        if (a.actionType === ActionType.CreateTimer && a.isCanceled && slot.eventId !== undefined && !slot.canceled) {
          slot.canceled = true;
          effects.cancelTimers.push(slot.eventId);
        }
      });
      try {
        for (const action of actions.slice(state.slots.length)) {
          const slot = this.#actions.record(instance, state, action, at, newEvents, effects);
          state.slots.push(slot);
          if (action.actionType === ActionType.ContinueAsNew) continueAsNew = action;
        }
      } catch (e) {
        failure = (e as Error).message;
      }
    }
    newEvents.push(event(EventType.OrchestratorCompleted, at));

    let status: RuntimeStatus = 'Running';
    let output = instance.output;
    if (failure) {
      status = 'Failed';
      output = jsonText(`Orchestrator function '${instance.name}' failed: ${failure}`);
      newEvents.push(event(EventType.ExecutionCompleted, at, { OrchestrationStatus: 'Failed', Result: output }));
    } else if (result?.isDone && !continueAsNew) {
      status = 'Completed';
      output = outputJson ?? jsonText(result.output);
      newEvents.push(event(EventType.ExecutionCompleted, at, { OrchestrationStatus: 'Completed', Result: output }));
    }
    const customStatus = result?.customStatus === undefined ? instance.customStatus : (customStatusJson ?? jsonText(result.customStatus));
    for (let i = texts.length; i < newEvents.length; i++) texts.push(JSON.stringify(newEvents[i]));

    await this.o.commit.run(() => {
      // The cached row while nothing else has written the instance since the episode began.
      const current = store.getInstance(instance.instanceId);
      // Purged, terminated or restarted meanwhile: this episode's outcome no longer applies.
      if (!current || current.executionId !== instance.executionId || TERMINAL.has(current.status)) {
        store.deleteMessage(message.id);
        return;
      }
      store.deleteMessage(message.id);
      if (continueAsNew && !failure) {
        // A new execution: fresh history and bookkeeping, the new input; pending work of the old one is dropped.
        const executionId = store.newExecutionId();
        this.#releaseLocks(current, state, now);
        store.clearHistory(instance.instanceId);
        // A terminate (or suspend) that came during this episode applies to the next execution, as
        // in Azure; deleting it lost it, and an eternal orchestration ran on (seen in CI, rarely).
        store.deleteExecutionMessages(instance.instanceId);
        const input = libraryInputText(continueAsNew.input);
        store.putInstance({ ...current, executionId, status: 'Running', input, customStatus, updatedAt: now, state: newEngineState() });
        store.addMessage(instance.instanceId, executionId, 'event', this.#startedEvent(instance.name, instance.instanceId, executionId, input, at, current.parent, current.version), now);
        this.o.commit.afterCommit(() => this.#wake());
        return;
      }
      // What the next episode replays: the history the orchestrator saw, with what this one recorded after it.
      const cached = store.loadInstance(instance.instanceId);
      store.appendHistory(instance.instanceId, cached!.history.length, newEvents, texts);
      const row: InstanceRow = { ...current, status, output, customStatus, updatedAt: now, state };
      store.putInstance(row, current);
      for (const m of effects.messages) store.addMessage(m.instanceId, m.executionId, 'event', m.payload, m.visibleAt);
      for (const w of effects.work) store.addWork(instance.instanceId, instance.executionId, w.taskId, w.name, w.input, now, cached!.history.length + w.eventIndex);
      for (const t of effects.cancelTimers) store.cancelTimer(instance.instanceId, instance.executionId, t);
      for (const c of effects.children) this.#createChild(instance, c, now);
      for (const m of effects.entityMessages) this.#entities.send(m.target, m.message, now);
      if (TERMINAL.has(status)) {
        this.#releaseLocks(current, state, now);
        store.deleteMessages(instance.instanceId);
        this.#notifyParent(current, status === 'Completed', output ?? 'null', now);
        this.#ended(current, status, output);
      }
      const next = DurableStore.extend(cached, newEvents, texts);
      // Registered last: an exception above undoes this operation, and then nothing is remembered.
      this.o.commit.afterCommit(() => {
        store.remember(row, next.history, next.historyJson);
        this.#wake();
      });
    });
    if (failure) this.#log('error', `Instance ${instance.instanceId} (${instance.name}) failed: ${failure}`);
  }

  /** An orchestration that ends (or continues as new) inside a critical section lets its entities go, as the extension does. */
  #releaseLocks(instance: InstanceRow, state: EngineState, now: number): void {
    if (!state.locks) return;
    for (const target of state.locks.entities) this.#entities.send(target, { name: 'release', input: { id: state.locks.requestId, parent: instance.instanceId } }, now);
    delete state.locks;
  }

  #startedEvent(name: string, instanceId: string, executionId: string, input: string, at: Date, parent?: { instanceId: string; executionId: string; taskId: number }, version?: string): HistoryEvent {
    return event(EventType.ExecutionStarted, at, {
      Name: name,
      // durable-functions reads context.df.version from here.
      ...(version ? { Version: version } : {}),
      Input: input,
      OrchestrationInstance: { InstanceId: instanceId, ExecutionId: executionId },
      ...(parent ? { ParentInstance: { OrchestrationInstance: { InstanceId: parent.instanceId, ExecutionId: parent.executionId }, TaskScheduleId: parent.taskId } } : {}),
    });
  }

  /** Creates (or restarts) a child instance inside the parent's episode transaction. */
  #createChild(parent: InstanceRow, child: { instanceId: string; name: string; input: string; taskId: number; version?: string }, now: number): void {
    const { store } = this.o;
    const existing = store.getInstance(child.instanceId);
    if (existing && !TERMINAL.has(existing.status)) {
      store.addMessage(
        parent.instanceId,
        parent.executionId,
        'event',
        event(EventType.SubOrchestrationInstanceFailed, new Date(now), {
          TaskScheduledId: child.taskId,
          Reason: `An orchestration instance with the ID '${child.instanceId}' is already ${existing.status}.`,
          Details: '',
        }),
        now,
      );
      return;
    }
    if (existing) store.deleteInstance(child.instanceId);
    this.#create(child.name, child.instanceId, child.input, now, child.version, { instanceId: parent.instanceId, executionId: parent.executionId, taskId: child.taskId });
  }

  #create(name: string, instanceId: string, input: string, now: number, version: string | undefined, parent?: { instanceId: string; executionId: string; taskId: number }): void {
    const { store } = this.o;
    const executionId = store.newExecutionId();
    store.putInstance({
      instanceId,
      name,
      executionId,
      status: 'Pending',
      input,
      output: null,
      customStatus: null,
      createdAt: now,
      updatedAt: now,
      ...(parent ? { parent } : {}),
      ...(version ? { version } : {}),
      state: newEngineState(),
    });
    store.addMessage(instanceId, executionId, 'event', this.#startedEvent(name, instanceId, executionId, input, new Date(now), parent, version), now);
  }

  // ---------------------------------------------------------------- client operations

  /** Starts an instance (with the given version, else the default one); an unfinished instance of that id refuses it. */
  async startNew(name: string, instanceId: string, inputText: string, version?: string): Promise<void> {
    if (!this.#orchestrators.has(name.toLowerCase())) {
      throw new DurableOperationError(
        400,
        `The function '${name}' doesn't exist, is disabled, or is not an orchestrator function. Additional info: No orchestrator functions are currently registered!`,
      );
    }
    const registered = this.#orchestrators.get(name.toLowerCase())!.fn.metadata.name;
    await this.o.commit.run(() => {
      const existing = this.o.store.getInstance(instanceId);
      // The storage layer refuses it; the extension's HTTP API answers 500 with that message.
      if (existing && !TERMINAL.has(existing.status)) throw new DurableOperationError(500, `An Orchestration instance with the status ${existing.status} already exists.`);
      if (existing) this.o.store.deleteInstance(instanceId);
      this.#create(registered, instanceId, inputText === '' ? 'null' : inputText, this.o.clock.now(), version || this.#versioning.defaultVersion);
      this.o.commit.afterCommit(() => this.#wake());
    });
  }

  async raiseEvent(instanceId: string, name: string, inputText: string): Promise<void> {
    await this.o.commit.run(() => {
      const instance = this.o.store.getInstance(instanceId);
      if (!instance) throw new DurableOperationError(404, `No instance with ID '${instanceId}' found.`);
      if (TERMINAL.has(instance.status)) throw new DurableOperationError(410, `The instance '${instanceId}' is ${instance.status}; it no longer takes events.`);
      this.o.store.addMessage(
        instanceId,
        instance.executionId,
        'event',
        event(EventType.EventRaised, new Date(this.o.clock.now()), { Name: name, Input: inputText === '' ? 'null' : inputText }),
        this.o.clock.now(),
      );
      this.o.commit.afterCommit(() => this.#wake());
    });
  }

  async control(instanceId: string, kind: 'terminate' | 'suspend' | 'resume', reason: string): Promise<void> {
    await this.o.commit.run(() => {
      const instance = this.o.store.getInstance(instanceId);
      if (!instance) throw new DurableOperationError(404, `No instance with ID '${instanceId}' found.`);
      if (TERMINAL.has(instance.status)) throw new DurableOperationError(410, `The instance '${instanceId}' is ${instance.status}.`);
      this.o.store.addMessage(instanceId, null, kind, { reason }, this.o.clock.now());
      this.o.commit.afterCommit(() => this.#wake());
    });
  }

  async purge(instanceIds: string[]): Promise<number> {
    return this.o.commit.run(() => {
      let n = 0;
      for (const id of instanceIds) {
        if (!this.o.store.getInstance(id)) continue;
        this.o.store.deleteInstance(id);
        n++;
      }
      return n;
    });
  }
}
