// Service Bus SDK-type bindings (`sdkBinding: true`, @azure/functions-extensions-servicebus):
// instead of a string body, the host passes "model binding data" — the AMQP-encoded message and
// its lock token — from which the extension builds ServiceBusReceivedMessage objects, and the
// function settles messages itself (complete, abandon, dead-letter with a reason, defer) through
// the host's gRPC Settlement service. This module plays both host parts on the embedded broker.
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import rhea from 'rhea';
import { getEmbeddedRuntime } from '../runtime';
import type { PropertyValue, ReceivedMessage, SessionLock } from '@backbone/azure-model/service-bus';
import type { RpcTypedData } from '../worker/rpc';

const SOURCE = 'AzureServiceBusReceivedMessage';
const LOCK_TOKEN_MARKER = Buffer.from('x-opt-lock-token');
const GRPC_MAX_MESSAGE_LENGTH = 2_147_483_647;

/** A UUID in .NET Guid.ToByteArray order (first three groups little-endian), as the host sends lock tokens. */
export function lockTokenBytes(uuid: string): Buffer {
  const hex = uuid.replaceAll('-', '');
  const bytes = Buffer.from(hex, 'hex');
  if (bytes.length !== 16) throw new Error(`Lock token ${uuid} is not a UUID`);
  return Buffer.concat([bytes.subarray(0, 4).reverse(), bytes.subarray(4, 6).reverse(), bytes.subarray(6, 8).reverse(), bytes.subarray(8)]);
}

function toAmqpValue(value: PropertyValue): unknown {
  if (value instanceof Date) return rhea.types.wrap_timestamp(value.getTime());
  if (typeof value === 'number' && Number.isInteger(value)) return rhea.types.wrap_long(value);
  return value;
}

/** The broker message as an AMQP message, the way Service Bus puts it on the wire. */
export function encodeAmqpMessage(m: ReceivedMessage): Buffer {
  const applicationProperties: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(m.applicationProperties)) applicationProperties[k] = toAmqpValue(v);
  const annotations: Record<string, unknown> = {
    'x-opt-enqueued-time': m.enqueuedTimeUtc,
    'x-opt-sequence-number': rhea.types.wrap_long(m.sequenceNumber),
  };
  if (m.lockedUntilUtc) annotations['x-opt-locked-until'] = m.lockedUntilUtc;
  if (m.partitionKey) annotations['x-opt-partition-key'] = m.partitionKey;
  if (m.scheduledEnqueueTimeUtc) annotations['x-opt-scheduled-enqueue-time'] = m.scheduledEnqueueTimeUtc;
  if (m.deadLetterSource) annotations['x-opt-deadletter-source'] = m.deadLetterSource;
  const message: Record<string, unknown> = {
    durable: true,
    delivery_count: m.deliveryCount,
    message_id: m.messageId,
    body: rhea.message.data_section(m.body),
    application_properties: applicationProperties,
    message_annotations: annotations,
  };
  if (m.timeToLiveMs !== undefined) message.ttl = m.timeToLiveMs;
  const optional: [string, string | undefined][] = [
    ['correlation_id', m.correlationId],
    ['content_type', m.contentType],
    ['subject', m.subject],
    ['to', m.to],
    ['reply_to', m.replyTo],
    ['group_id', m.sessionId],
    ['reply_to_group_id', m.replyToSessionId],
  ];
  for (const [k, v] of optional) if (v !== undefined) message[k] = v;
  return rhea.message.encode(message as unknown as rhea.Message);
}

/** Lock token bytes, the marker the extension's decoder looks for, then the AMQP message. */
export function modelBindingContent(m: ReceivedMessage): Buffer {
  return Buffer.concat([lockTokenBytes(m.lockToken!), LOCK_TOKEN_MARKER, encodeAmqpMessage(m)]);
}

interface ModelBindingData {
  version: string;
  source: string;
  contentType: string;
  content: Buffer;
}

function modelBindingData(m: ReceivedMessage): ModelBindingData {
  return { version: '1.0', source: SOURCE, contentType: 'application/octet-stream', content: modelBindingContent(m) };
}

export function sdkTriggerInput(messages: ReceivedMessage[], many: boolean): RpcTypedData {
  return many ? { collectionModelBindingData: { modelBindingData: messages.map(modelBindingData) } } : { modelBindingData: modelBindingData(messages[0]!) };
}

/** propertiesToModify arrives as an AMQP-encoded map (empty when absent). */
export function decodePropertiesToModify(bytes: Uint8Array | undefined): Record<string, PropertyValue> | undefined {
  if (!bytes || bytes.length === 0) return undefined;
  // rhea's reader is public at run time but missing from its typings.
  const { Reader } = rhea.types as unknown as { Reader: new (b: Buffer) => { read(): unknown } };
  const decoded = new Reader(Buffer.from(bytes)).read();
  const value = rhea.types.unwrap_map_simple(decoded as Parameters<typeof rhea.types.unwrap_map_simple>[0]) as Record<string, unknown>;
  const out: Record<string, PropertyValue> = {};
  for (const [k, v] of Object.entries(value ?? {})) out[k] = (v instanceof Date || v === null || ['string', 'number', 'boolean'].includes(typeof v) ? v : String(v)) as PropertyValue;
  return out;
}

/**
 * The host's Settlement service. One per process, like the worker's channel to its host: it
 * settles on whichever embedded host is running, and remembers what the function settled so
 * the listener does not settle it again.
 */
export class SettlementService {
  static #instance?: Promise<SettlementService>;
  static #users = 0;
  /** The extension's client keeps the first address it read, so a restarted service reuses the port. */
  static #lastPort = 0;
  readonly #settled = new Set<string>();
  readonly #sessions = new Map<string, SessionLock>();

  private constructor(
    readonly port: number,
    private readonly server: grpc.Server,
  ) {}

  static start(): Promise<SettlementService> {
    SettlementService.#users++;
    this.#instance ??= SettlementService.#listen();
    return this.#instance;
  }

  /** Called by each host that started it; the last one out shuts the server down. */
  async release(): Promise<void> {
    if (--SettlementService.#users > 0) return;
    SettlementService.#instance = undefined;
    await new Promise<void>((resolve) => this.server.tryShutdown(() => resolve()));
  }

  static #protoPath(): string {
    const root = dirname(require.resolve('@azure/functions-extensions-servicebus/package.json'));
    for (const candidate of [join(root, 'dist', 'proto', 'settlement.proto'), join(root, 'src', 'proto', 'settlement.proto')]) {
      if (existsSync(candidate)) return candidate;
    }
    throw new Error('settlement.proto not found in @azure/functions-extensions-servicebus');
  }

  static async #listen(): Promise<SettlementService> {
    const definition = protoLoader.loadSync(SettlementService.#protoPath(), { keepCase: false, longs: String, enums: String, defaults: true, oneofs: true });
    const loaded = grpc.loadPackageDefinition(definition) as unknown as { Settlement: { service: grpc.ServiceDefinition } };
    const server = new grpc.Server({ 'grpc.max_receive_message_length': GRPC_MAX_MESSAGE_LENGTH, 'grpc.max_send_message_length': GRPC_MAX_MESSAGE_LENGTH });
    let service: SettlementService | undefined;
    const call = (fn: (req: Record<string, unknown>) => Promise<unknown>) => (c: grpc.ServerUnaryCall<Record<string, unknown>, unknown>, done: grpc.sendUnaryData<unknown>) => {
      fn(c.request).then(
        (reply) => done(null, reply ?? {}),
        (error: Error & { code?: string }) => done({ code: grpc.status.FAILED_PRECONDITION, details: `${error.code ?? 'Error'}: ${error.message}` }),
      );
    };
    const broker = () => getEmbeddedRuntime().broker;
    const text = (v: unknown) => (v && typeof v === 'object' && 'value' in v ? String((v as { value: unknown }).value) : undefined);
    const settled = (token: unknown) => service!.#settled.add(String(token));
    server.addService(loaded.Settlement.service, {
      complete: call(async (r) => {
        await broker().complete(String(r.locktoken));
        settled(r.locktoken);
      }),
      abandon: call(async (r) => {
        await broker().abandon(String(r.locktoken), decodePropertiesToModify(r.propertiesToModify as Uint8Array));
        settled(r.locktoken);
      }),
      deadletter: call(async (r) => {
        await broker().deadLetter(String(r.locktoken), {
          deadLetterReason: text(r.deadletterReason),
          deadLetterErrorDescription: text(r.deadletterErrorDescription),
          propertiesToModify: decodePropertiesToModify(r.propertiesToModify as Uint8Array),
        });
        settled(r.locktoken);
      }),
      defer: call(async (r) => {
        await broker().defer(String(r.locktoken), decodePropertiesToModify(r.propertiesToModify as Uint8Array));
        settled(r.locktoken);
      }),
      renewMessageLock: call(async (r) => {
        await broker().renewLock(String(r.locktoken));
      }),
      getSessionState: call(async (r) => {
        const state = await broker().getSessionState(service!.#session(String(r.sessionId)));
        return { sessionState: state ?? Buffer.alloc(0) };
      }),
      setSessionState: call(async (r) => {
        await broker().setSessionState(service!.#session(String(r.sessionId)), Buffer.from((r.sessionState as Uint8Array) ?? []));
      }),
      releaseSession: call(async (r) => {
        const session = service!.#session(String(r.sessionId));
        await broker().releaseSession(session);
      }),
      renewSessionLock: call(async (r) => {
        const until = await broker().renewSessionLock(service!.#session(String(r.sessionId)));
        return { lockedUntil: { seconds: Math.floor(until.getTime() / 1000), nanos: (until.getTime() % 1000) * 1e6 } };
      }),
    });
    const port = await new Promise<number>((resolve, reject) =>
      server.bindAsync(`127.0.0.1:${SettlementService.#lastPort}`, grpc.ServerCredentials.createInsecure(), (error, p) => (error ? reject(error) : resolve(p))),
    );
    SettlementService.#lastPort = port;
    service = new SettlementService(port, server);
    return service;
  }

  /** The command-line arguments the Node.js worker is started with, which the extension reads. */
  workerArguments(): string[] {
    return ['--host', '127.0.0.1', '--port', String(this.port), '--functions-grpc-max-message-length', String(GRPC_MAX_MESSAGE_LENGTH)];
  }

  /** Whether the function settled this message itself (consumes the record). */
  takeSettled(lockToken: string): boolean {
    return this.#settled.delete(lockToken);
  }

  trackSession(session: SessionLock): void {
    this.#sessions.set(session.sessionId, session);
  }

  untrackSession(session: SessionLock): void {
    if (this.#sessions.get(session.sessionId) === session) this.#sessions.delete(session.sessionId);
  }

  #session(sessionId: string): SessionLock {
    const session = this.#sessions.get(sessionId);
    if (!session) throw Object.assign(new Error(`No session '${sessionId}' is held by this host`), { code: 'SessionLockLost' });
    return session;
  }
}
