// Runs serviceBusTrigger functions on the embedded broker with the Service Bus extension's
// processor semantics: up to maxConcurrentCalls messages at once (maxConcurrentSessions
// sessions for session triggers, messages of one session in order), the lock renewed while the
// function runs (up to maxAutoLockRenewalDuration), complete on success and abandon on failure
// when autoCompleteMessages is on, batches up to maxMessageBatchSize for cardinality many.
import { setMaxListeners } from 'node:events';
import type { EmbeddedBroker } from '../broker/broker';
import type { ReceivedMessage, SessionLock } from '@backbone/azure-model/service-bus';
import type { RpcInvocationResponse } from '../worker/rpc';
import type { RegisteredFunction } from '../worker/worker-state';
import type { FunctionExecutor } from './executor';
import type { ServiceBusHostOptions } from './host-config';
import type { HostLogger } from './logger';
import { sdkTriggerInput, type SettlementService } from './servicebus-sdk-binding';
import { batchMetadata, roundTripFormat, singleMessageMetadata, parentTraceparentOf, triggerInput } from './servicebus-binding-data';

export interface ServiceBusTriggerSpec {
  fn: RegisteredFunction;
  /** sdkBinding: the function gets ServiceBusReceivedMessage objects and settles them itself. */
  sdkBinding: boolean;
  triggerName: string;
  entityPath: string;
  sessions: boolean;
  many: boolean;
  dataType: string | undefined;
  autoComplete: boolean;
  maxBatchSize: number;
}

export interface ServiceBusListenerOptions {
  broker: EmbeddedBroker;
  executor: FunctionExecutor;
  logger: HostLogger;
  hostOptions: ServiceBusHostOptions;
  namespace: string;
  /** Present when some function uses SDK-type bindings. */
  settlement?: SettlementService;
  afterInvocation: (fn: RegisteredFunction, response: RpcInvocationResponse, invocationId: string) => Promise<void>;
}

const RECEIVE_WAIT_MS = 30_000;

export class ServiceBusListener {
  readonly #abort = new AbortController();
  readonly #loops: Promise<void>[] = [];
  #inflight = 0;

  constructor(private readonly options: ServiceBusListenerOptions) {
    // Every pump waits on this one signal.
    setMaxListeners(0, this.#abort.signal);
  }

  /** Messages being processed right now (for drain on shutdown and for tests). */
  get inflight(): number {
    return this.#inflight;
  }

  start(spec: ServiceBusTriggerSpec): void {
    const o = this.options.hostOptions;
    const loops = spec.sessions ? o.maxConcurrentSessions : spec.many ? 1 : o.maxConcurrentCalls;
    for (let i = 0; i < loops; i++) {
      this.#loops.push(spec.sessions ? this.#sessionLoop(spec) : this.#loop(spec));
    }
  }

  async stop(): Promise<void> {
    this.#abort.abort();
    await Promise.allSettled(this.#loops);
  }

  get #stopped(): boolean {
    return this.#abort.signal.aborted;
  }

  #warn(spec: ServiceBusTriggerSpec, message: string): void {
    this.options.logger.log('warning', `Host.Triggers.ServiceBus`, `${spec.fn.metadata.name}: ${message}`);
  }

  async #loop(spec: ServiceBusTriggerSpec): Promise<void> {
    const { broker } = this.options;
    while (!this.#stopped) {
      let messages: ReceivedMessage[];
      try {
        messages = await broker.receive(spec.entityPath, {
          maxMessages: spec.many ? spec.maxBatchSize : 1,
          maxWaitMs: RECEIVE_WAIT_MS,
          signal: this.#abort.signal,
        });
      } catch (error) {
        if (this.#stopped) return;
        this.#warn(spec, `receive failed: ${(error as Error).message}`);
        await new Promise((r) => setTimeout(r, 1000));
        continue;
      }
      if (messages.length === 0) continue;
      await this.#process(spec, messages, undefined);
    }
  }

  async #sessionLoop(spec: ServiceBusTriggerSpec): Promise<void> {
    const { broker, hostOptions } = this.options;
    while (!this.#stopped) {
      let session: SessionLock | null;
      try {
        session = await broker.acceptSession(spec.entityPath, { maxWaitMs: RECEIVE_WAIT_MS, signal: this.#abort.signal });
      } catch (error) {
        if (this.#stopped) return;
        this.#warn(spec, `accepting a session failed: ${(error as Error).message}`);
        await new Promise((r) => setTimeout(r, 1000));
        continue;
      }
      if (!session) continue;
      try {
        // Messages of one session go through one at a time (maxConcurrentCallsPerSession = 1),
        // which is what keeps them in order.
        while (!this.#stopped) {
          const messages = await broker.receiveFromSession(session, {
            maxMessages: spec.many ? spec.maxBatchSize : 1,
            maxWaitMs: hostOptions.sessionIdleTimeoutMs,
            signal: this.#abort.signal,
          });
          if (messages.length === 0) break;
          await this.#process(spec, messages, session);
        }
      } catch (error) {
        if (!this.#stopped) this.#warn(spec, `session ${session.sessionId}: ${(error as Error).message}`);
      } finally {
        await broker.releaseSession(session).catch(() => undefined);
      }
    }
  }

  /** Keeps the message (or session) lock alive while the function runs. */
  #renewLocks(spec: ServiceBusTriggerSpec, messages: ReceivedMessage[], session: SessionLock | undefined): () => void {
    const { broker, hostOptions } = this.options;
    // Batches are not renewed, as in the extension.
    if (spec.many && !session) return () => undefined;
    const first = messages[0]!;
    const lockMs = (session?.lockedUntilUtc ?? first.lockedUntilUtc ?? new Date()).getTime() - Date.now();
    const every = Math.max(1000, Math.floor(lockMs / 2));
    const until = Date.now() + hostOptions.maxAutoLockRenewalDurationMs;
    const timer = setInterval(() => {
      if (Date.now() > until) return clearInterval(timer);
      const renew = session ? broker.renewSessionLock(session) : broker.renewLock(first.lockToken!);
      renew.catch((error: Error) => this.#warn(spec, `lock renewal failed: ${error.message}`));
    }, every);
    timer.unref();
    return () => clearInterval(timer);
  }

  async #process(spec: ServiceBusTriggerSpec, messages: ReceivedMessage[], session: SessionLock | undefined): Promise<void> {
    const { broker, executor, namespace, settlement } = this.options;
    this.#inflight += messages.length;
    if (session && spec.sdkBinding) settlement?.trackSession(session);
    const stopRenewing = this.#renewLocks(spec, messages, session);
    let succeeded = false;
    try {
      const first = messages[0]!;
      const triggerDetails = spec.many
        ? {
            MessageIdArray: messages.map((m) => m.messageId).join(','),
            SequenceNumberArray: messages.map((m) => m.sequenceNumber).join(','),
            DeliveryCountArray: messages.map((m) => m.deliveryCount + 1).join(','),
            EnqueuedTimeUtcArray: messages.map((m) => roundTripFormat(m.enqueuedTimeUtc)).join(','),
            LockedUntilArray: messages.map((m) => roundTripFormat(m.lockedUntilUtc)).join(','),
            SessionId: first.sessionId,
          }
        : {
            MessageId: first.messageId,
            SequenceNumber: first.sequenceNumber,
            DeliveryCount: first.deliveryCount + 1,
            EnqueuedTimeUtc: roundTripFormat(first.enqueuedTimeUtc),
            LockedUntilUtc: roundTripFormat(first.lockedUntilUtc),
            SessionId: first.sessionId,
          };
      let invocationId = '';
      const outcome = await executor.execute(spec.fn, {
        triggerDetails,
        trace: { parent: parentTraceparentOf(first), kind: 'consumer', attributes: { 'messaging.system': 'servicebus', 'messaging.destination.name': spec.entityPath } },
        request: ({ invocationId: id }) => {
          invocationId = id;
          return {
            inputData: [
              {
                name: spec.triggerName,
                data: spec.sdkBinding ? sdkTriggerInput(messages, spec.many) : triggerInput(messages, spec.many, spec.dataType),
              },
            ],
            triggerMetadata: spec.many ? batchMetadata(messages, namespace) : singleMessageMetadata(first, namespace),
          };
        },
      });
      await this.options.afterInvocation(spec.fn, outcome.response, invocationId);
      succeeded = true;
    } catch {
      // Logged by the executor; the settlement below is what matters.
    } finally {
      stopRenewing();
    }
    try {
      // What the function settled itself (SDK bindings) is left alone. A failed invocation's
      // unsettled messages are abandoned whatever autoCompleteMessages says; with
      // autoCompleteMessages=false a successful one is the function's to settle — unsettled, its
      // lock runs out and it comes back, as in Azure.
      const unsettled = messages.filter((m) => !settlement?.takeSettled(m.lockToken!));
      if (succeeded && spec.autoComplete) {
        await Promise.all(unsettled.map((m) => broker.complete(m.lockToken!)));
      } else if (!succeeded) {
        await Promise.all(unsettled.map((m) => broker.abandon(m.lockToken!)));
      }
    } catch (error) {
      this.#warn(spec, `settling ${messages.map((m) => m.messageId).join(',')} failed: ${(error as Error).message}`);
    } finally {
      this.#inflight -= messages.length;
      if (session && spec.sdkBinding) settlement?.untrackSession(session);
    }
  }
}
