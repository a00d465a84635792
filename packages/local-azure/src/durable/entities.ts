// Durable entities on the embedded engine, as the Durable Functions extension runs them for an
// out-of-process worker (its TaskEntityShim and EntityTriggerAttributeBindingProvider):
// - an entity is addressed by its scheduler id '@name@key' (name in lower case) and its messages
//   wait in the task hub's message table under that id: operation requests ('op', a call or a
//   signal), lock requests ('op' with a lockset) and lock releases ('release');
// - an episode takes the entity's messages in order and runs the operations among them as ONE
//   batch: the entity function is handed { self, exists, state, batch: [{ name, input, isSignal }] }
//   and returns { entityExists, entityState, results, signals } (durable-functions' Entity);
// - a call is answered with an EventRaised named after its request id, holding the extension's
//   ResponseMessage { result, exceptionType }; signals an operation sends go to their targets;
// - locks: a lock request locks the entity for its orchestration and goes on to the next entity
//   of the lock set (they are sorted, so two critical sections cannot deadlock); the last one
//   answers the orchestration. While locked, the entity only takes messages from the holder;
//   the others wait, in order, until the holder releases it.
// Everything an episode decides (new state, answers, signals, the messages it took) is committed
// in one transaction, so an entity's state survives a kill as an orchestration's does.
import { isWorkerProcessExit } from '../worker/worker-protocol';
import { randomUUID } from 'node:crypto';
import type { Clock } from '../clock';
import type { GroupCommit } from '../sqlite';
import type { FunctionExecutor } from '../host/executor';
import type { HostLogger } from '../host/logger';
import type { RpcInvocationResponse } from '../worker/rpc';
import type { RegisteredFunction } from '../worker/worker-state';
import { EventType, event, type HistoryEvent } from './history';
import { TERMINAL, type DurableStore, type EntityMessage, type EntityRequest, type EntityRow } from './store';

/** The most messages one entity episode takes (the extension's default maxEntityOperationBatchSize is larger; this keeps a transaction small). */
const BATCH = 100;

export interface EntityId {
  name: string;
  key: string;
}

export const schedulerId = (e: EntityId): string => `@${e.name.toLowerCase()}@${e.key}`;

/** The entity of a scheduler id ('@name@key'), or undefined when it is not one. */
export function entityOf(instanceId: string): EntityId | undefined {
  if (!instanceId.startsWith('@')) return undefined;
  const at = instanceId.indexOf('@', 1);
  return at > 1 ? { name: instanceId.slice(1, at), key: instanceId.slice(at + 1) } : undefined;
}

/** What durable-functions' Entity returns for a batch (the extension's OutOfProcResult). */
interface BatchResult {
  entityExists: boolean;
  entityState?: string | null;
  results: { isError: boolean; result?: string; duration?: number }[];
  signals: { target: EntityId; name: string; input?: string }[];
}

/** The answer to a call, as the extension's ResponseMessage serializes. */
export const responseEvent = (requestId: string, at: Date, response: { result?: string | null; exceptionType?: string }): HistoryEvent =>
  event(EventType.EventRaised, at, { Name: requestId, Input: JSON.stringify({ result: response.result ?? null, ...(response.exceptionType ? { exceptionType: response.exceptionType } : {}) }) });

export interface EntitySchedulerOptions {
  store: DurableStore;
  commit: GroupCommit;
  clock: Clock;
  executor: FunctionExecutor;
  logger: HostLogger;
  afterInvocation: (fn: RegisteredFunction, response: RpcInvocationResponse, invocationId: string) => Promise<void>;
  wake: () => void;
}

export class EntityScheduler {
  readonly #functions = new Map<string, { fn: RegisteredFunction; triggerName: string }>();

  constructor(private readonly o: EntitySchedulerOptions) {}

  add(fn: RegisteredFunction, triggerName: string): void {
    this.#functions.set(fn.metadata.name.toLowerCase(), { fn, triggerName });
  }

  get size(): number {
    return this.#functions.size;
  }

  has(name: string): boolean {
    return this.#functions.has(name.toLowerCase());
  }

  /** The extension's message when an entity name has no entity function. */
  static missing(name: string): string {
    return `The function '${name}' doesn't exist, is disabled, or is not an entity function.`;
  }

  /** Queues a message for an entity (inside the caller's transaction). */
  send(target: string, message: EntityMessage, now: number): void {
    this.o.store.addMessage(target, null, 'entity', message, now);
  }

  /** A signal from a client (the HTTP API or durable-functions' DurableClient). */
  async signal(entity: EntityId, operation: string, inputText: string | undefined): Promise<void> {
    const now = this.o.clock.now();
    await this.o.commit.run(() => {
      this.send(schedulerId(entity), { name: 'op', input: { id: randomUUID(), op: operation, signal: true, ...(inputText !== undefined ? { input: inputText } : {}) } }, now);
      this.o.commit.afterCommit(() => this.o.wake());
    });
  }

  read(entity: EntityId): EntityRow | undefined {
    return this.o.store.getEntity(schedulerId(entity));
  }

  /** Processes the entity's waiting messages; false when none of them could be taken now. */
  async episode(instanceId: string): Promise<boolean> {
    const { store, clock } = this.o;
    const now = clock.now();
    const id = entityOf(instanceId)!;
    const row: EntityRow = store.getEntity(instanceId) ?? { instanceId, name: id.name, key: id.key, exists: false, state: null, lockedBy: null, lockRequest: null, updatedAt: now };
    const taken: number[] = [];
    const batch: EntityRequest[] = [];
    let lockRequest: EntityRequest | undefined;
    for (const { id: messageId, message } of store.entityMessages(instanceId, now, BATCH)) {
      const request = message.input;
      if (message.name === 'release') {
        if (row.lockedBy === null || row.lockedBy === request.parent) {
          // Released before the batch runs: the batch so far came from the holder, what follows may not.
          if (batch.length) break;
          row.lockedBy = null;
          row.lockRequest = null;
        }
        taken.push(messageId);
        continue;
      }
      // While locked, only the holder's messages are taken; the others wait, in order.
      if (row.lockedBy !== null && request.parent !== row.lockedBy) continue;
      taken.push(messageId);
      if (request.lockset && !this.#waitingForLock(request)) {
        // Its orchestration ended (terminated, failed) before the lock reached this entity: the
        // releases it sent may have passed the request on the way, so granting it would lock the
        // entity for good. Dropped instead.
        this.o.logger.log('warning', 'Host.Triggers.DurableTask', `Entity ${instanceId}: lock request of '${request.parent}' dropped: that orchestration is no longer waiting for it`);
        continue;
      }
      if (request.lockset) {
        // The lock request is always the last thing of a batch (as in the extension).
        lockRequest = request;
        break;
      }
      batch.push(request);
    }
    if (!taken.length) return false;

    const at = new Date(now);
    const answers: { to: EntityRequest; event: HistoryEvent }[] = [];
    const signals: { target: string; message: EntityMessage }[] = [];
    if (batch.length) {
      const result = await this.#run(row, batch);
      row.exists = result.entityExists;
      row.state = result.entityExists ? (result.entityState ?? null) : null;
      batch.forEach((request, i) => {
        const r = result.results[i] ?? { isError: true, result: 'The entity function returned no result for this operation.' };
        if (r.isError) this.o.logger.log('warning', 'Host.Triggers.DurableTask', `Entity ${instanceId}: operation '${request.op}' failed: ${r.result ?? ''}`);
        if (!request.signal && request.parent) answers.push({ to: request, event: responseEvent(request.id, at, { result: r.result ?? null, ...(r.isError ? { exceptionType: 'Error' } : {}) }) });
      });
      for (const s of result.signals) {
        signals.push({ target: schedulerId(s.target), message: { name: 'op', input: { id: randomUUID(), op: s.name, signal: true, parent: instanceId, ...(s.input ? { input: s.input } : {}) } } });
      }
    }
    await this.o.commit.run(() => {
      for (const messageId of taken) store.deleteMessage(messageId);
      for (const a of answers) store.addMessage(a.to.parent!, a.to.parentExecution ?? null, 'event', a.event, now);
      for (const s of signals) this.send(s.target, s.message, now);
      if (lockRequest) {
        row.lockedBy = lockRequest.parent ?? null;
        row.lockRequest = lockRequest.id;
        const pos = (lockRequest.pos ?? 0) + 1;
        const next = lockRequest.lockset![pos];
        if (next) this.send(schedulerId(next), { name: 'op', input: { ...lockRequest, pos } }, now);
        else store.addMessage(lockRequest.parent!, lockRequest.parentExecution ?? null, 'event', responseEvent(lockRequest.id, at, { result: 'Lock Acquisition Completed' }), now);
      }
      store.putEntity({ ...row, updatedAt: now });
      this.o.commit.afterCommit(() => this.o.wake());
    });
    return true;
  }

  /** Whether the orchestration that sent a lock request still runs that execution and still wants those locks. */
  #waitingForLock(request: EntityRequest): boolean {
    const parent = request.parent ? this.o.store.getInstance(request.parent) : undefined;
    return Boolean(parent && !TERMINAL.has(parent.status) && parent.executionId === request.parentExecution && parent.state.locks?.requestId === request.id);
  }

  /** One invocation of the entity function for the whole batch; a failed invocation fails every operation of it. */
  async #run(row: EntityRow, batch: EntityRequest[]): Promise<BatchResult> {
    const registered = this.#functions.get(row.name);
    const failAll = (message: string): BatchResult => ({ entityExists: row.exists, entityState: row.state, results: batch.map(() => ({ isError: true, result: message })), signals: [] });
    if (!registered) return failAll(EntityScheduler.missing(row.name));
    const context = {
      self: { name: row.name, key: row.key },
      exists: row.exists,
      state: row.state,
      batch: batch.map((r) => ({ name: r.op ?? '', input: r.input ?? null, isSignal: r.signal === true })),
    };
    try {
      let invocationId = '';
      const outcome = await this.o.executor.execute(registered.fn, {
        reason: '(null)',
        resultOnly: true,
        request: ({ invocationId: iid }) => {
          invocationId = iid;
          return { inputData: [{ name: registered.triggerName, data: { json: JSON.stringify(context) } }], triggerMetadata: {} };
        },
      });
      await this.o.afterInvocation(registered.fn, outcome.response, invocationId);
      const result = outcome.result as Partial<BatchResult> | undefined;
      if (!result || typeof result !== 'object' || !Array.isArray(result.results)) return failAll('Out of proc entities must return a valid JSON schema.');
      return { entityExists: result.entityExists === true, entityState: result.entityState ?? null, results: result.results, signals: Array.isArray(result.signals) ? result.signals : [] };
    } catch (error) {
      // A worker process that died under the batch failed no operation: the batch runs again.
      if (isWorkerProcessExit(error)) throw error;
      return failAll((error as Error)?.message ?? String(error));
    }
  }
}
