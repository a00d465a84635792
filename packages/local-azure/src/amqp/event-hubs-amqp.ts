// Event Hubs on the wire: the dialect @azure/event-hubs and Azure.Messaging.EventHubs speak over
// AMQP 1.0 (read in their source and in Microsoft's Event Hubs AMQP guides), served by the local
// Azure's AMQP listener (listener.ts: CBS, routing) in front of the embedded partitioned log.
// rhea does the framing; this file is the Event Hubs semantics:
// - `$management` (bare, as the SDKs address it): READ of com.microsoft:eventhub (name, created_at,
//   partition_count, partition_ids) and com.microsoft:partition (begin/last enqueued sequence
//   number, last enqueued offset and time, is_partition_empty), answered with status-code /
//   status-description / error-condition;
// - sender links to `<hub>` (partition key → Azure's hash, else round robin) and
//   `<hub>/Partitions/<id>`: single events and batches (format 0x80013700), accepted once the log
//   has them on disk; refused with amqp:not-found, amqp:link:message-size-exceeded (the SDKs'
//   MessageTooLargeError) or the log's error;
// - receiver links on `<hub>/ConsumerGroups/<group>/Partitions/<id>` from the position in the
//   selector filter, with the annotations the SDKs read (x-opt-sequence-number as a long,
//   x-opt-offset as a string, x-opt-enqueued-time as a timestamp, x-opt-partition-key); new events
//   are pushed as they are committed, as far as the client's credit goes; owner level (epoch):
//   a receiver with an equal or higher epoch takes the partition from the others (amqp:link:stolen,
//   what the SDKs read as ReceiverDisconnectedError), a lower one or one without is refused.
import { message as amqpMessage, types, type Connection, type EventContext, type Message, type Receiver, type Sender } from 'rhea';
import type { HubDefinition } from '@backbone/azure-model/eventhubs';
import { EventHubError, MAX_EVENT_BYTES, type EmbeddedEventHubs, type EventToPublish, type HubEvent, type PublishOptions } from '../eventhubs/event-log';
import type { HostLogger } from '../host/logger';
import { attachWritten, sendSettled, type AmqpAccess, type AmqpService } from './listener';

const BATCH_FORMAT = 0x80013700;
const SELECTOR_FILTER = 'apache.org:selector-filter:string';
const EPOCH = 'com.microsoft:epoch';
/** What @azure/event-hubs and Azure.Messaging.EventHubs desire for "track last enqueued event properties" (the brief's '-retrieval' spelling is accepted too). */
const RUNTIME_METRIC = /^com\.microsoft:enable-receiver-runtime-metric(-retrieval)?$/;
const STOLEN = 'amqp:link:stolen';
/** Event Hubs' quota of readers without an owner level per partition and consumer group. */
const MAX_NON_EPOCH_READERS = 5;
/** How many events one read of the log takes when the client's credit allows more. */
const READ_PAGE = 100;

type AmqpError = { condition: string; description: string };

/** The entity path of a link address: .NET sends the whole URI (amqps://host/hub/…), JavaScript the path. */
export function entityPathOf(address: string): string {
  return address.replace(/^amqps?:\/\/[^/]+\//i, '').replace(/^\//, '');
}

/** What an address names on an event hub. */
export type HubAddress =
  { kind: 'management'; hub?: string } | { kind: 'send'; hub: string; partition?: string } | { kind: 'receive'; hub: string; group: string; partition: string } | { kind: 'other'; hub: string };

export function parseHubAddress(address: string): HubAddress {
  const path = entityPathOf(address);
  if (path.toLowerCase() === '$management') return { kind: 'management' };
  const parts = path.split('/');
  const hub = parts[0]!;
  if (parts.length === 1) return { kind: 'send', hub };
  if (parts.length === 2 && parts[1]!.toLowerCase() === '$management') return { kind: 'management', hub };
  if (parts.length === 3 && parts[1]!.toLowerCase() === 'partitions') return { kind: 'send', hub, partition: parts[2]! };
  if (parts.length === 5 && parts[1]!.toLowerCase() === 'consumergroups' && parts[3]!.toLowerCase() === 'partitions') return { kind: 'receive', hub, group: parts[2]!, partition: parts[4]! };
  return { kind: 'other', hub };
}

/** A position as the selector filter states it: after (or from) an offset, a sequence number or an enqueued time. */
export type FilterPosition = { on: 'offset' | 'sequence' | 'enqueued'; inclusive: boolean; value: string };

/**
 * The SDKs' selector: `amqp.annotation.x-opt-offset > '…'` (or `>=`; '-1' is the start, '@latest'
 * the end), `x-opt-sequence-number`, `x-opt-enqueued-time` (ms since the epoch). The value is
 * quoted by @azure/event-hubs and bare by Azure.Messaging.EventHubs for numbers (`> -1`).
 */
export function parseSelector(selector: string): FilterPosition | undefined {
  const m = /^\s*amqp\.annotation\.(x-opt-offset|x-opt-sequence-number|x-opt-enqueued-time)\s*(>=|>)\s*(?:'([^']*)'|(-?\d+))\s*$/i.exec(selector);
  if (!m) return undefined;
  const on = m[1]!.toLowerCase() === 'x-opt-offset' ? 'offset' : m[1]!.toLowerCase() === 'x-opt-sequence-number' ? 'sequence' : 'enqueued';
  return { on, inclusive: m[2] === '>=', value: m[3] ?? m[4]! };
}

function toEvent(m: Message): EventToPublish {
  const body = m.body as unknown;
  const bytes =
    body && typeof body === 'object' && (body as { typecode?: number }).typecode === 0x75
      ? Buffer.from((body as { content: Buffer }).content)
      : Buffer.isBuffer(body)
        ? body
        : Buffer.from(typeof body === 'string' ? body : JSON.stringify(body ?? null));
  const out: EventToPublish = { body: bytes };
  // The log keeps scalar properties (what the SDKs' EventData.properties mostly carry); a timestamp keeps its instant as milliseconds.
  const props: Record<string, string | number | boolean> = {};
  for (const [k, v] of Object.entries((m.application_properties ?? {}) as Record<string, unknown>)) {
    if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') props[k] = v;
    else if (v instanceof Date) props[k] = v.getTime();
  }
  if (Object.keys(props).length) out.properties = props;
  if (m.message_id !== undefined && m.message_id !== null) out.messageId = String(m.message_id);
  if (m.content_type !== undefined && m.content_type !== null) out.contentType = String(m.content_type);
  if (m.correlation_id !== undefined && m.correlation_id !== null) out.correlationId = String(m.correlation_id);
  return out;
}

function partitionKeyOf(m: Message | undefined): string | undefined {
  const key = (m?.message_annotations as Record<string, unknown> | undefined)?.['x-opt-partition-key'];
  return typeof key === 'string' ? key : undefined;
}

/** The AMQP error a failure of the log is, as Event Hubs words its conditions. */
function amqpError(error: unknown): AmqpError {
  const description = (error as Error)?.message ?? String(error);
  const code = error instanceof EventHubError ? error.code : undefined;
  switch (code) {
    case 'MessagingEntityNotFound':
      return { condition: 'amqp:not-found', description };
    case 'MessageTooLarge':
      return { condition: 'amqp:link:message-size-exceeded', description };
    case 'ArgumentError':
      return { condition: 'com.microsoft:argument-error', description };
    default:
      return { condition: 'amqp:internal-error', description };
  }
}

interface PartitionReader {
  sender: Sender;
  hub: string;
  partition: number;
  epoch?: number;
  /** The sequence number of the last event delivered (or to read after). */
  after: number;
  runtimeMetric: boolean;
  stop(): void;
}

interface ManagementReply {
  statusCode: number;
  statusDescription: string;
  errorCondition?: string;
  body?: unknown;
}

export class EventHubsAmqp implements AmqpService {
  /** The readers of each hub + consumer group + partition: owner level is enforced among them. */
  readonly #readers = new Map<string, Set<PartitionReader>>();
  /** The log keeps no creation time: a hub's is when this endpoint began serving it. */
  readonly #createdAt: Date;

  constructor(
    private readonly hubs: EmbeddedEventHubs,
    private readonly access: AmqpAccess,
    private readonly logger: HostLogger,
  ) {
    this.#createdAt = new Date(access.now());
  }

  /** The hub a name means (Event Hubs names are case-insensitive). */
  #hub(name: string | undefined): HubDefinition | undefined {
    if (name === undefined) return undefined;
    const lower = name.toLowerCase();
    return this.hubs.hubs.find((h) => h.name.toLowerCase() === lower);
  }

  /** The bare `$management`, and whatever is on a known hub or is shaped as only Event Hubs addresses are (unknown hubs: Event Hubs' not-found). */
  owns(address: string): boolean {
    const parsed = parseHubAddress(address);
    if (parsed.kind === 'management' && parsed.hub === undefined) return true;
    if (parsed.kind === 'receive' || (parsed.kind === 'send' && parsed.partition !== undefined)) return true;
    return this.#hub(parsed.hub) !== undefined;
  }

  #notFound(name: string): AmqpError {
    return { condition: 'amqp:not-found', description: `The messaging entity '${name}' could not be found. To know more visit https://aka.ms/sbResourceMgrExceptions.` };
  }

  /** The partition a link or request names, or why it names none. */
  #partition(hub: HubDefinition, id: string | undefined): number | AmqpError {
    if (id === undefined || !/^\d+$/.test(id) || Number(id) >= hub.partitionCount) {
      return {
        condition: 'com.microsoft:argument-out-of-range',
        description: `The specified partition '${id ?? ''}' is invalid for the event hub '${hub.name}' (partitions 0 to ${hub.partitionCount - 1}).`,
      };
    }
    return Number(id);
  }

  #authorized(connection: Connection, address: string): boolean {
    return this.access.authorized(connection, entityPathOf(address));
  }

  /** The client's receiver: management replies, or a partition's events. */
  senderOpened(context: EventContext, address: string): void {
    const sender = context.sender!;
    const parsed = parseHubAddress(address);
    if (parsed.kind === 'management') return;
    const hub = this.#hub(parsed.hub);
    if (!hub) return void sender.close(this.#notFound(parsed.hub));
    if (parsed.kind !== 'receive') return void sender.close({ condition: 'amqp:not-allowed', description: `'${address}' is not a consumer group partition to receive from.` });
    if (!this.#authorized(context.connection, address)) {
      return void sender.close({ condition: 'amqp:unauthorized-access', description: `Unauthorized access. 'Listen' claim(s) are required to perform this operation on ${address}.` });
    }
    const group = parsed.group.toLowerCase() === '$default' ? '$Default' : hub.consumerGroups.find((g) => g.toLowerCase() === parsed.group.toLowerCase());
    if (group === undefined) return void sender.close(this.#notFound(`${hub.name}/ConsumerGroups/${parsed.group}`));
    const partition = this.#partition(hub, parsed.partition);
    if (typeof partition !== 'number') return void sender.close(partition);

    const filter = (sender.source as { filter?: Record<string, unknown> } | undefined)?.filter;
    const selector = filter?.[SELECTOR_FILTER];
    let after = -1;
    if (selector !== undefined && selector !== null) {
      const text = typeof selector === 'object' && 'value' in (selector as object) ? (selector as { value: unknown }).value : selector;
      const position = parseSelector(String(text));
      const start = position ? this.#start(hub.name, partition, position) : undefined;
      if (start === undefined) return void sender.close({ condition: 'amqp:invalid-field', description: `The selector '${String(text)}' is not an Event Hubs event position.` });
      after = start;
    }

    const rawEpoch = (sender.properties as Record<string, unknown> | undefined)?.[EPOCH];
    const epoch = rawEpoch === undefined || rawEpoch === null ? undefined : Number(rawEpoch);
    const key = `${hub.name}\u0000${group.toLowerCase()}\u0000${partition}`;
    const refusal = this.#claim(key, epoch, address);
    if (refusal) return void sender.close(refusal);

    const desired = ([] as unknown[]).concat((sender as unknown as { desired_capabilities?: unknown }).desired_capabilities ?? []).map(String);
    const local = (sender as unknown as { local: { attach: Record<string, unknown> } }).local.attach;
    // Events go pre-settled: a reader's position is its own (checkpoints), not the service's.
    local.snd_settle_mode = 1;
    const runtimeMetric = desired.filter((c) => RUNTIME_METRIC.test(c));
    if (runtimeMetric.length) local.offered_capabilities = runtimeMetric;
    sender.set_source({ address, ...(filter ? { filter } : {}) } as Parameters<Sender['set_source']>[0]);

    const reader: PartitionReader = { sender, hub: hub.name, partition, after, runtimeMetric: runtimeMetric.length > 0, stop: () => undefined };
    if (epoch !== undefined) reader.epoch = epoch;
    const wake = () => this.#deliver(reader);
    const unsubscribe = this.hubs.onPublish(hub.name, wake);
    const readers = this.#readers.get(key) ?? new Set<PartitionReader>();
    this.#readers.set(key, readers);
    readers.add(reader);
    reader.stop = () => {
      unsubscribe();
      readers.delete(reader);
      if (!readers.size && this.#readers.get(key) === readers) this.#readers.delete(key);
    };
    sender.on('sendable', wake);
    // A drain: what the log holds now goes, the rest of the credit is given back.
    sender.on('sender_draining', () => {
      wake();
      sender.set_drained(true);
    });
    sender.once('sender_close', () => reader.stop());
    wake();
  }

  /**
   * Owner level: a reader with an epoch takes the partition from those with a lower or equal one
   * and from those without; one lower than the highest, or one without while an epoch reader
   * holds it, is refused; readers without an epoch share it, up to Event Hubs' quota.
   */
  #claim(key: string, epoch: number | undefined, address: string): AmqpError | undefined {
    const readers = [...(this.#readers.get(key) ?? [])];
    for (const r of readers) if (!this.#live(r)) r.stop();
    const live = readers.filter((r) => this.#live(r));
    const highest = live.reduce<number | undefined>((max, r) => (r.epoch !== undefined && (max === undefined || r.epoch > max) ? r.epoch : max), undefined);
    if (epoch === undefined) {
      if (highest !== undefined) {
        return {
          condition: STOLEN,
          description: `At least one receiver for the endpoint is created with epoch of '${highest}', and so non-epoch receiver is not allowed. Either reconnect with a higher epoch, or make sure all epoch receivers are closed or disconnected.`,
        };
      }
      if (live.length >= MAX_NON_EPOCH_READERS) {
        return { condition: 'amqp:resource-limit-exceeded', description: `Exceeded the maximum number of allowed receivers per partition in a consumer group which is ${MAX_NON_EPOCH_READERS}.` };
      }
      return undefined;
    }
    if (highest !== undefined && epoch < highest) {
      return { condition: STOLEN, description: `Receiver '${address}' with epoch '${epoch}' cannot be created because a receiver with a higher epoch '${highest}' already exists.` };
    }
    for (const r of live) {
      r.stop();
      r.sender.close({
        condition: STOLEN,
        description: `New receiver with higher epoch of '${epoch}' is created hence current receiver with epoch '${r.epoch ?? 'none'}' is getting disconnected. If you are recreating the receiver, make sure a higher epoch is used.`,
      });
    }
    return undefined;
  }

  #live(r: PartitionReader): boolean {
    return !this.access.closing.aborted && r.sender.is_open();
  }

  /** The sequence number to read after for a filter's position (undefined: not a position). */
  #start(hub: string, partition: number, position: FilterPosition): number | undefined {
    const last = this.hubs.startPosition(hub, partition, { type: 'fromEnd' });
    const value = /^-?\d+$/.test(position.value) ? Number(position.value) : undefined;
    if (position.on === 'offset') {
      if (position.value === '@latest') return last;
      if (value === undefined) return undefined;
      const offset = value;
      if (offset < 0) return -1;
      // No index by offset: the first event at (or past) it, page by page.
      for (let after = -1; ;) {
        const page = this.hubs.read(hub, partition, after, 500);
        if (!page.length) return last;
        const hit = page.find((e) => (position.inclusive ? e.offset >= offset : e.offset > offset));
        if (hit) return hit.sequenceNumber - 1;
        after = page.at(-1)!.sequenceNumber;
      }
    }
    if (value === undefined) return undefined;
    if (position.on === 'sequence') return position.inclusive ? value - 1 : value;
    return this.hubs.startPosition(hub, partition, { type: 'fromEnqueuedTime', enqueuedTimeUtc: value });
  }

  /** Delivers what the log holds past the reader's position, as far as its credit goes. */
  #deliver(reader: PartitionReader): void {
    const sender = reader.sender as Sender & { credit: number };
    // A reader whose link or connection went (a dropped socket detaches nothing) stops at its next wake.
    if (!this.#live(reader)) return reader.stop();
    // Not before this side's attach is on the wire (the credit may come first): again on the next turn.
    if (!attachWritten(sender)) return void setImmediate(() => this.#deliver(reader));
    try {
      while (sender.sendable()) {
        const page = this.hubs.read(reader.hub, reader.partition, reader.after, Math.min(sender.credit, READ_PAGE));
        if (!page.length) return;
        const last = reader.runtimeMetric ? this.#lastEnqueued(reader.hub, reader.partition) : undefined;
        for (const e of page) {
          if (!sender.sendable()) return;
          sender.send(this.#toAmqp(e, last));
          reader.after = e.sequenceNumber;
        }
      }
    } catch (error) {
      this.logger.log('debug', 'Host.AMQP', `Event Hubs delivery on ${reader.hub}/${reader.partition} stopped: ${(error as Error).message}`);
      reader.stop();
      sender.close(amqpError(error));
    }
  }

  #lastEnqueued(hub: string, partition: number): HubEvent | undefined {
    const last = this.hubs.startPosition(hub, partition, { type: 'fromEnd' });
    return last < 0 ? undefined : this.hubs.read(hub, partition, last - 1, 1)[0];
  }

  #toAmqp(e: HubEvent, last: HubEvent | undefined): Message {
    const annotations: Record<string, unknown> = {
      'x-opt-sequence-number': types.wrap_long(e.sequenceNumber),
      'x-opt-offset': String(e.offset),
      'x-opt-enqueued-time': e.enqueuedTime,
    };
    if (e.partitionKey !== undefined) annotations['x-opt-partition-key'] = e.partitionKey;
    const out: Message = { body: amqpMessage.data_section(e.body), message_annotations: annotations, application_properties: { ...e.properties } };
    if (e.messageId !== undefined) out.message_id = e.messageId;
    if (e.contentType !== undefined) out.content_type = e.contentType;
    if (e.correlationId !== undefined) out.correlation_id = e.correlationId;
    if (last) {
      out.delivery_annotations = {
        last_enqueued_sequence_number: types.wrap_long(last.sequenceNumber),
        last_enqueued_offset: String(last.offset),
        last_enqueued_time_utc: last.enqueuedTime,
        runtime_info_retrieval_time_utc: new Date(this.access.now()),
      };
    }
    return out;
  }

  /** The client's sender: events for a hub or one of its partitions, or management requests. */
  receiverOpened(context: EventContext, address: string): void {
    const receiver = context.receiver as Receiver;
    const parsed = parseHubAddress(address);
    if (parsed.kind === 'management') return;
    const hub = this.#hub(parsed.hub);
    if (!hub) return void receiver.close(this.#notFound(parsed.hub));
    if (parsed.kind !== 'send') return void receiver.close({ condition: 'amqp:not-allowed', description: `'${address}' is not an event hub or partition to send to.` });
    if (parsed.partition !== undefined) {
      const partition = this.#partition(hub, parsed.partition);
      if (typeof partition !== 'number') return void receiver.close(partition);
    }
    if (!this.#authorized(context.connection, address)) {
      return void receiver.close({ condition: 'amqp:unauthorized-access', description: `Unauthorized access. 'Send' claim(s) are required to perform this operation on ${address}.` });
    }
    receiver.set_target({ address });
    // What a client sizes its batches by (Event Hubs Standard: 1 MB).
    (receiver as unknown as { local: { attach: { max_message_size?: unknown } } }).local.attach.max_message_size = MAX_EVENT_BYTES;
  }

  async message(context: EventContext, address: string): Promise<void> {
    const parsed = parseHubAddress(address);
    if (parsed.kind === 'management') return this.#management(context);
    const delivery = context.delivery!;
    try {
      const hub = this.#hub(parsed.hub);
      if (!hub || parsed.kind !== 'send') throw new EventHubError('MessagingEntityNotFound', this.#notFound(parsed.hub).description);
      let events: EventToPublish[];
      let partitionKey: string | undefined;
      let size: number;
      const format = (delivery as unknown as { format?: number }).format;
      if (format === BATCH_FORMAT) {
        // rhea hands a message of another format over undecoded: the batch envelope, whose data
        // sections hold one encoded event each (several sections come as one with `multiple`).
        const raw = context.message as unknown as Buffer;
        size = raw.length;
        const envelope = amqpMessage.decode(raw) as unknown as Message;
        const section = envelope.body as { content: Buffer | Buffer[]; multiple?: boolean } | undefined;
        const encoded = !section ? [] : section.multiple ? (section.content as Buffer[]) : [section.content as Buffer];
        const messages = encoded.map((bytes) => amqpMessage.decode(Buffer.from(bytes)) as unknown as Message);
        partitionKey = partitionKeyOf(envelope) ?? partitionKeyOf(messages[0]);
        events = messages.map(toEvent);
      } else {
        size = amqpMessage.encode(context.message!).length;
        partitionKey = partitionKeyOf(context.message);
        events = [toEvent(context.message!)];
      }
      if (size > MAX_EVENT_BYTES)
        throw new EventHubError(
          'MessageTooLarge',
          `The received message (delivery-id:${String((delivery as unknown as { id?: number }).id ?? '')}, size:${size} bytes) exceeds the limit (${MAX_EVENT_BYTES} bytes) currently allowed on the link.`,
        );
      const options: PublishOptions = {};
      if (parsed.partition !== undefined) options.partitionId = parsed.partition;
      if (partitionKey !== undefined) options.partitionKey = partitionKey;
      await this.hubs.publish(hub.name, events, options);
      delivery.accept();
    } catch (error) {
      delivery.reject(amqpError(error));
    }
  }

  /** A $management request: answered on the client's reply link, correlated with its message id. */
  #management(context: EventContext): void {
    const request = context.message!;
    context.delivery!.accept();
    const reply = this.#read(context.connection, (request.application_properties ?? {}) as Record<string, unknown>);
    const replyTo = request.reply_to;
    const link =
      context.connection.find_sender((s: Sender) => s.target?.address === replyTo) ??
      context.connection.find_sender((s: Sender) => entityPathOf(s.source?.address ?? '').toLowerCase() === '$management');
    if (!link) return;
    sendSettled(link, {
      body: reply.body ?? null,
      correlation_id: request.message_id,
      ...(replyTo ? { to: replyTo } : {}),
      application_properties: {
        'status-code': types.wrap_int(reply.statusCode),
        'status-description': reply.statusDescription,
        // A symbol: Azure.Messaging.EventHubs reads it as one (else it goes by the status code alone).
        ...(reply.errorCondition ? { 'error-condition': types.wrap_symbol(reply.errorCondition) } : {}),
      },
    });
  }

  #read(connection: Connection, props: Record<string, unknown>): ManagementReply {
    const operation = String(props.operation ?? '');
    const type = String(props.type ?? '');
    const name = String(props.name ?? '');
    if (operation !== 'READ') return { statusCode: 501, statusDescription: `The operation '${operation}' is not an Event Hubs management operation.`, errorCondition: 'amqp:not-implemented' };
    const hub = this.#hub(name);
    // @azure/event-hubs puts a token for <hub>/$management (granting the hub) before the request;
    // Azure.Messaging.EventHubs authorizes no management link and sends the token with each request.
    const token = props.security_token;
    const entity = hub?.name ?? name;
    if (!this.access.authorized(connection, entity) && !(typeof token === 'string' && this.access.tokenGrants(token, entity)))
      return { statusCode: 401, statusDescription: `Unauthorized access. 'Manage' or 'Listen' claim(s) are required to read ${name}.`, errorCondition: 'amqp:unauthorized-access' };
    if (!hub) return { statusCode: 404, statusDescription: this.#notFound(name).description, errorCondition: 'amqp:not-found' };
    if (type === 'com.microsoft:eventhub') {
      const ids = Array.from({ length: hub.partitionCount }, (_, i) => String(i));
      return {
        statusCode: 200,
        statusDescription: 'OK',
        body: { name: hub.name, type, created_at: this.#createdAt, partition_count: types.wrap_int(hub.partitionCount), partition_ids: types.wrap_array(ids, 0xa1, undefined) },
      };
    }
    if (type === 'com.microsoft:partition') {
      const partition = this.#partition(hub, props.partition === undefined || props.partition === null ? undefined : String(props.partition));
      if (typeof partition !== 'number') return { statusCode: 400, statusDescription: partition.description, errorCondition: partition.condition };
      const last = this.#lastEnqueued(hub.name, partition);
      const first = this.hubs.read(hub.name, partition, -1, 1)[0];
      return {
        statusCode: 200,
        statusDescription: 'OK',
        body: {
          name: hub.name,
          type,
          partition: String(partition),
          begin_sequence_number: types.wrap_long(first?.sequenceNumber ?? (last ? last.sequenceNumber + 1 : 0)),
          last_enqueued_sequence_number: types.wrap_long(last?.sequenceNumber ?? -1),
          last_enqueued_offset: String(last?.offset ?? -1),
          last_enqueued_time_utc: last?.enqueuedTime ?? new Date(0),
          is_partition_empty: last === undefined,
        },
      };
    }
    return { statusCode: 400, statusDescription: `The type '${type}' is not com.microsoft:eventhub or com.microsoft:partition.`, errorCondition: 'amqp:invalid-field' };
  }

  close(): void {
    for (const readers of [...this.#readers.values()]) for (const r of [...readers]) r.stop();
  }
}
