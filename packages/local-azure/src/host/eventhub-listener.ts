// eventHubTrigger functions on the embedded Event Hubs, as the Event Hubs extension (6.x) runs
// them for an out-of-process Node.js worker:
//  - one processor per partition and consumer group; events in order within a partition;
//  - cardinality one (the default) invokes per event; many passes up to maxEventBatchSize;
//  - bodies: one → the UTF-8 string (the library JSON-parses it when it can); many → each body
//    deserialized as JSON (a non-JSON body fails the invocation — a known extension limitation),
//    or strings / Buffers with dataType string / binary;
//  - trigger metadata with the extension's names and the host's quirks (zone-less
//    EnqueuedTimeUtc, null and empty partition keys dropped from PartitionKeyArray);
//  - the checkpoint (last event of the batch) is written after the invocation whether it
//    succeeded or threw, every batchCheckpointFrequency batches; a retry policy re-runs the
//    batch first; a batch running when the host stops is not checkpointed;
//  - without a checkpoint, initialOffsetOptions decides where reading starts.
import { setMaxListeners } from 'node:events';
import type { EmbeddedEventHubs, HubEvent } from '../eventhubs/event-log';
import type { RpcBindingInfo, RpcInvocationResponse, RpcTypedData } from '../worker/rpc';
import type { RegisteredFunction } from '../worker/worker-state';
import { abortableDelay, type FunctionExecutor } from './executor';
import type { EventHubsHostOptions } from './host-config';
import type { HostLogger } from './logger';
import { netDateTime, netDateTimeOffset } from './servicebus-binding-data';
import { resolveSettingExpression } from './settings';

export interface EventHubTriggerSpec {
  fn: RegisteredFunction;
  triggerName: string;
  hub: string;
  consumerGroup: string;
  many: boolean;
  dataType?: 'string' | 'binary';
  namespace: string;
}

export interface EventHubListenerOptions {
  eventHubs: EmbeddedEventHubs;
  executor: FunctionExecutor;
  logger: HostLogger;
  env: NodeJS.ProcessEnv;
  hostOptions: EventHubsHostOptions;
  afterInvocation: (fn: RegisteredFunction, response: RpcInvocationResponse, invocationId: string) => Promise<void>;
}

const json = (v: unknown): RpcTypedData => ({ json: JSON.stringify(v) });

function systemProperties(e: HubEvent): Record<string, unknown> {
  return {
    'x-opt-sequence-number': e.sequenceNumber,
    'x-opt-offset': e.offset,
    'x-opt-enqueued-time': netDateTimeOffset(e.enqueuedTime),
    ...(e.partitionKey !== undefined ? { 'x-opt-partition-key': e.partitionKey } : {}),
    ...(e.messageId ? { 'message-id': e.messageId } : {}),
    ...(e.correlationId ? { 'correlation-id': e.correlationId } : {}),
    ...(e.contentType ? { 'content-type': e.contentType } : {}),
    SequenceNumber: e.sequenceNumber,
    Offset: e.offset,
    PartitionKey: e.partitionKey ?? null,
    EnqueuedTimeUtc: netDateTime(e.enqueuedTime),
  };
}

export function eventHubTriggerMetadata(events: HubEvent[], spec: EventHubTriggerSpec, partition: number): Record<string, RpcTypedData> {
  const partitionContext = json({
    FullyQualifiedNamespace: spec.namespace,
    EventHubName: spec.hub,
    ConsumerGroup: spec.consumerGroup,
    PartitionId: String(partition),
    IsCheckpointingAfterInvocation: true,
  });
  if (!spec.many) {
    const e = events[0]!;
    return {
      PartitionContext: partitionContext,
      ...(e.partitionKey ? { PartitionKey: { string: e.partitionKey } } : {}),
      Offset: json(e.offset),
      SequenceNumber: json(e.sequenceNumber),
      EnqueuedTimeUtc: json(netDateTime(e.enqueuedTime)),
      Properties: json(e.properties),
      SystemProperties: json(systemProperties(e)),
    };
  }
  return {
    PartitionContext: partitionContext,
    PartitionKeyArray: { collectionString: { string: events.map((e) => e.partitionKey).filter((k): k is string => Boolean(k)) } },
    OffsetArray: { collectionString: { string: events.map((e) => String(e.offset)) } },
    SequenceNumberArray: { collectionSint64: { sint64: events.map((e) => e.sequenceNumber) } },
    EnqueuedTimeUtcArray: json(events.map((e) => netDateTime(e.enqueuedTime))),
    PropertiesArray: json(events.map((e) => e.properties)),
    SystemPropertiesArray: json(events.map(systemProperties)),
  };
}

/** The trigger parameter: what the extension binds for the cardinality and dataType. */
export function eventHubTriggerData(events: HubEvent[], spec: EventHubTriggerSpec): RpcTypedData {
  if (!spec.many) return spec.dataType === 'binary' ? { bytes: events[0]!.body } : { string: events[0]!.body.toString('utf8') };
  if (spec.dataType === 'binary') return { collectionBytes: { bytes: events.map((e) => e.body) } };
  if (spec.dataType === 'string') return { collectionString: { string: events.map((e) => e.body.toString('utf8')).filter((s) => s !== '') } };
  // object[]: each body through Json.NET; a body that is not JSON fails the binding.
  const values = events.map((e, i) => {
    try {
      return JSON.parse(e.body.toString('utf8')) as unknown;
    } catch {
      throw new Error(
        `Exception binding parameter '${spec.triggerName}'. Binding parameters to complex objects (such as 'Object') uses Json.NET serialization. The JSON parser failed on event ${i} (sequence number ${e.sequenceNumber}).`,
      );
    }
  });
  return json(values);
}

export class EventHubListener {
  readonly #entries: EventHubTriggerSpec[] = [];
  readonly #running: Promise<void>[] = [];
  readonly #abort = new AbortController();

  constructor(private readonly options: EventHubListenerOptions) {
    // One waiting processor per partition and function listens for the stop.
    setMaxListeners(0, this.#abort.signal);
  }

  spec(fn: RegisteredFunction, triggerName: string, trigger: RpcBindingInfo): EventHubTriggerSpec {
    const { env, eventHubs } = this.options;
    const where = `function '${fn.metadata.name}'`;
    const connection = typeof trigger.connection === 'string' ? trigger.connection : '';
    if (!connection || (!env[connection] && !env[`${connection}__fullyQualifiedNamespace`])) {
      throw new Error(`${where}: Event Hubs connection '${connection || '(none)'}' does not exist. Make sure that it is a defined App Setting.`);
    }
    const hub = resolveSettingExpression(String(trigger.eventHubName ?? ''), env);
    eventHubs.hub(hub);
    const consumerGroup = resolveSettingExpression(String(trigger.consumerGroup ?? '$Default'), env);
    if (!eventHubs.hasConsumerGroup(hub, consumerGroup)) throw new Error(`${where}: consumer group '${consumerGroup}' is not declared for ${hub} in config/eventhubs.yaml`);
    const dataType = trigger.dataType === 'string' || trigger.dataType === 'binary' ? trigger.dataType : undefined;
    return {
      fn,
      triggerName,
      hub,
      consumerGroup,
      many: String(trigger.cardinality ?? 'one').toLowerCase() === 'many',
      ...(dataType ? { dataType } : {}),
      namespace: env[`${connection}__fullyQualifiedNamespace`] || 'embedded.servicebus.localhost',
    };
  }

  add(spec: EventHubTriggerSpec): void {
    this.#entries.push(spec);
  }

  start(): void {
    for (const spec of this.#entries) {
      for (let p = 0; p < this.options.eventHubs.hub(spec.hub).partitionCount; p++) this.#running.push(this.#run(spec, p));
    }
  }

  async stop(): Promise<void> {
    this.#abort.abort();
    await Promise.allSettled(this.#running);
  }

  async #run(spec: EventHubTriggerSpec, partition: number): Promise<void> {
    const { eventHubs, hostOptions } = this.options;
    const signal = this.#abort.signal;
    const checkpoint = eventHubs.checkpoint(spec.hub, spec.consumerGroup, partition);
    let position = checkpoint ? checkpoint.sequenceNumber : eventHubs.startPosition(spec.hub, partition, hostOptions.initialOffset);
    let batches = 0;
    let wake: (() => void) | undefined;
    const off = eventHubs.onPublish(spec.hub, () => wake?.());
    try {
      while (!signal.aborted) {
        const events = eventHubs.read(spec.hub, partition, position, spec.many ? hostOptions.maxEventBatchSize : 1);
        if (events.length === 0) {
          // Events are pushed to a processor as they arrive; a publish wakes it.
          await new Promise<void>((resolve) => {
            wake = resolve;
            void abortableDelay(1_000, signal).then(resolve);
          });
          wake = undefined;
          continue;
        }
        await this.#deliver(spec, partition, events, signal);
        if (signal.aborted) break; // not checkpointed: delivered again after a restart
        const last = events.at(-1)!;
        position = last.sequenceNumber;
        if (++batches >= hostOptions.batchCheckpointFrequency) {
          batches = 0;
          await eventHubs.updateCheckpoint(spec.hub, spec.consumerGroup, partition, last);
        }
      }
    } finally {
      off();
    }
  }

  async #deliver(spec: EventHubTriggerSpec, partition: number, events: HubEvent[], signal: AbortSignal): Promise<void> {
    let invocationId = '';
    try {
      const outcome = await this.options.executor.execute(spec.fn, {
        reason: `(null)`,
        signal,
        trace: { kind: 'consumer', attributes: { 'messaging.system': 'eventhubs', 'messaging.destination.name': spec.hub, 'messaging.batch.message_count': events.length } },
        triggerDetails: {
          PartitionId: partition,
          Offset: `${events[0]!.offset}-${events.at(-1)!.offset}`,
          EnqueueTimeUtc: `${events[0]!.enqueuedTime.toISOString()}-${events.at(-1)!.enqueuedTime.toISOString()}`,
          SequenceNumber: `${events[0]!.sequenceNumber}-${events.at(-1)!.sequenceNumber}`,
          Count: events.length,
        },
        request: ({ invocationId: id }) => {
          invocationId = id;
          return { inputData: [{ name: spec.triggerName, data: eventHubTriggerData(events, spec) }], triggerMetadata: eventHubTriggerMetadata(events, spec, partition) };
        },
      });
      await this.options.afterInvocation(spec.fn, outcome.response, invocationId);
    } catch {
      // Logged by the executor. Event Hubs has no poison-event model: the batch is checkpointed anyway.
    }
  }
}
