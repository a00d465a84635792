// Activities as the extension runs them: each work item is one invocation of the activity
// function (or of the built-in HTTP activity behind callHttp), its result or failure committed as
// the TaskCompleted / TaskFailed message the orchestration replays, worded as the extension words it.
import type { Clock } from '../clock';
import type { FunctionExecutor } from '../host/executor';
import type { RpcInvocationResponse } from '../worker/rpc';
import type { RegisteredFunction } from '../worker/worker-state';
import type { GroupCommit } from '../sqlite';
import { EventType, event, jsonText, type HistoryEvent } from './history';
import { HTTP_ACTIVITY, runHttpActivity, type DurableHttpRequest } from './http-activity';
import { typedValue } from './replay-protocol';
import type { DurableStore, WorkItem } from './store';

export interface ActivityRunnerOptions {
  store: DurableStore;
  commit: GroupCommit;
  clock: Clock;
  executor: FunctionExecutor;
  afterInvocation: (fn: RegisteredFunction, response: RpcInvocationResponse, invocationId: string) => Promise<void>;
  /** Aborted when the host stops: the HTTP activity stops polling and its work item stays for the next start. */
  stopping: AbortSignal;
  wake: () => void;
}

export class ActivityRunner {
  readonly #functions = new Map<string, { fn: RegisteredFunction; triggerName: string }>();

  constructor(private readonly o: ActivityRunnerOptions) {}

  add(fn: RegisteredFunction, triggerName: string): void {
    this.#functions.set(fn.metadata.name.toLowerCase(), { fn, triggerName });
  }

  get size(): number {
    return this.#functions.size;
  }

  /** Runs one work item and commits its outcome (TaskCompleted / TaskFailed) as a message to its instance. */
  async run(item: WorkItem): Promise<void> {
    const activity = this.#functions.get(item.name.toLowerCase());
    let message: HistoryEvent;
    const at = () => new Date(this.o.clock.now());
    if (item.name === HTTP_ACTIVITY) {
      try {
        const response = await runHttpActivity(JSON.parse(this.o.store.workInput(item)) as DurableHttpRequest, { signal: this.o.stopping });
        message = event(EventType.TaskCompleted, at(), { TaskScheduledId: item.taskId, Result: JSON.stringify(response) });
      } catch (error) {
        if (this.o.stopping.aborted) return; // the work item stays, and runs again at the next start
        const e = error as Error;
        message = event(EventType.TaskFailed, at(), { TaskScheduledId: item.taskId, Reason: e.message, Details: JSON.stringify({ Message: e.message, ClassName: e.name }) });
      }
    } else if (!activity) {
      message = event(EventType.TaskFailed, at(), {
        TaskScheduledId: item.taskId,
        Reason: `The function '${item.name}' doesn't exist, is disabled, or is not an activity function.`,
        Details: '',
      });
    } else {
      try {
        let invocationId = '';
        const outcome = await this.o.executor.execute(activity.fn, {
          reason: `(null)`,
          request: ({ invocationId: id }) => {
            invocationId = id;
            return { inputData: [{ name: activity.triggerName, data: { json: this.o.store.workInput(item) } }], triggerMetadata: {} };
          },
        });
        await this.o.afterInvocation(activity.fn, outcome.response, invocationId);
        message = event(EventType.TaskCompleted, at(), { TaskScheduledId: item.taskId, Result: jsonText(typedValue(outcome.response.returnValue)) });
      } catch (error) {
        const e = error as Error;
        message = event(EventType.TaskFailed, at(), {
          TaskScheduledId: item.taskId,
          // As the extension words it (the space it keeps before the message included).
          Reason: `Activity function '${item.name}' failed:  ${e?.message ?? String(error)}`,
          Details: JSON.stringify({ Message: e?.message, ClassName: e?.name ?? 'Error', StackTraceString: e?.stack }),
        });
      }
    }
    await this.o.commit.run(() => {
      this.o.store.deleteWork(item.id);
      this.o.store.addMessage(item.instanceId, item.executionId, 'event', message, this.o.clock.now());
      this.o.commit.afterCommit(() => this.o.wake());
    });
  }
}
