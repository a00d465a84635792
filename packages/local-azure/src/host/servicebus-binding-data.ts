// What the Service Bus extension (v5) gives an out-of-process Node.js worker for a trigger,
// reproduced from its binding strategy and the host's TypedData conversion:
// - DeliveryCount as the .NET SDK shows it (wire count + 1), sent as JSON;
// - EnqueuedTimeUtc/ExpiresAtUtc as zone-less DateTime strings (a known host quirk), and
//   EnqueuedTime/ExpiresAt with +00:00;
// - null values omitted; the action/client objects serialized as JSON;
// - for a single message whose body is a JSON object, its top-level properties copied into the
//   metadata (overwriting keys such as MessageId) — the host's ApplyBindingData does that;
// - batch keys with an "Array" suffix, string arrays without null/empty entries.
import type { ReceivedMessage } from '@backbone/azure-model/service-bus';
import type { RpcTypedData } from '../worker/rpc';

const MAX_DATETIME = '9999-12-31T23:59:59.9999999';

/** Newtonsoft's ISO form for a DateTime of Kind Unspecified: trailing zeros of the fraction trimmed, no zone. */
export function netDateTime(date: Date | undefined): string {
  if (!date) return MAX_DATETIME;
  const iso = date.toISOString(); // 2026-01-01T10:00:00.120Z
  const [main, fraction] = iso.slice(0, -1).split('.') as [string, string];
  const trimmed = fraction.replace(/0+$/, '');
  return trimmed ? `${main}.${trimmed}` : main;
}

/** DateTimeOffset as Newtonsoft writes it for UTC values. */
export function netDateTimeOffset(date: Date | undefined): string {
  return `${netDateTime(date)}+00:00`;
}

/** DateTimeOffset.ToString("o"), as used in the host's "Trigger Details" log line. */
export function roundTripFormat(date: Date | undefined): string | undefined {
  if (!date) return undefined;
  return `${date.toISOString().slice(0, 23)}0000+00:00`;
}

function json(value: unknown): RpcTypedData {
  return { json: JSON.stringify(value) };
}

function str(value: string | undefined | null): RpcTypedData | undefined {
  return value === undefined || value === null ? undefined : { string: value };
}

function appProps(m: ReceivedMessage): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(m.applicationProperties)) out[k] = v instanceof Date ? v.toISOString() : v;
  return out;
}

function clientJson(namespace: string): RpcTypedData {
  return json({ FullyQualifiedNamespace: namespace, IsClosed: false, TransportType: 0, Identifier: `${namespace}-embedded` });
}

function actionKeys(namespace: string): Record<string, RpcTypedData> {
  return {
    MessageReceiver: json({}),
    MessageSession: json({}),
    MessageActions: json({}),
    SessionActions: json({}),
    ReceiveActions: json({}),
    Client: clientJson(namespace),
  };
}

/** The "(string)JValue" conversion the host applies to body properties it copies into metadata. */
function jValueString(value: unknown): RpcTypedData | undefined {
  if (value === null || value === undefined || Array.isArray(value)) return undefined;
  if (typeof value === 'object') return json(value);
  if (typeof value === 'boolean') return { string: value ? 'True' : 'False' };
  return { string: String(value) };
}

export function singleMessageMetadata(m: ReceivedMessage, namespace: string): Record<string, RpcTypedData> {
  const entries: [string, RpcTypedData | undefined][] = [
    ['DeliveryCount', json(m.deliveryCount + 1)],
    ['DeadLetterSource', str(m.deadLetterSource)],
    ['LockToken', str(m.lockToken)],
    ['ExpiresAtUtc', json(netDateTime(m.expiresAtUtc))],
    ['ExpiresAt', json(netDateTimeOffset(m.expiresAtUtc))],
    ['EnqueuedTimeUtc', json(netDateTime(m.enqueuedTimeUtc))],
    ['EnqueuedTime', json(netDateTimeOffset(m.enqueuedTimeUtc))],
    ['MessageId', str(m.messageId)],
    ['ContentType', str(m.contentType)],
    ['ReplyTo', str(m.replyTo)],
    ['SequenceNumber', json(m.sequenceNumber)],
    ['To', str(m.to)],
    ['Subject', str(m.subject)],
    ['Label', str(m.subject)],
    ['CorrelationId', str(m.correlationId)],
    ['ApplicationProperties', json(appProps(m))],
    ['UserProperties', json(appProps(m))],
    ['SessionId', str(m.sessionId)],
    ['ReplyToSessionId', str(m.replyToSessionId)],
    ['PartitionKey', str(m.partitionKey)],
  ];
  const metadata: Record<string, RpcTypedData> = {};
  for (const [k, v] of entries) if (v) metadata[k] = v;
  Object.assign(metadata, actionKeys(namespace));

  const text = m.body.toString('utf8').trim();
  if (text.startsWith('{') && text.endsWith('}')) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      parsed = undefined;
    }
    if (parsed && typeof parsed === 'object' && !Array.isArray(parsed)) {
      for (const [key, value] of Object.entries(parsed as Record<string, unknown>)) {
        const data = jValueString(value);
        if (!data) continue;
        // Binding data keys are case-insensitive: a body property replaces the system value.
        const existing = Object.keys(metadata).find((k) => k.toLowerCase() === key.toLowerCase());
        if (existing) delete metadata[existing];
        metadata[key] = data;
      }
    }
  }
  return metadata;
}

export function batchMetadata(messages: ReceivedMessage[], namespace: string): Record<string, RpcTypedData> {
  const strings = (pick: (m: ReceivedMessage) => string | undefined): RpcTypedData => ({
    collectionString: { string: messages.map(pick).filter((s): s is string => s !== undefined && s !== '') },
  });
  return {
    DeliveryCountArray: json(messages.map((m) => m.deliveryCount + 1)),
    DeadLetterSourceArray: strings((m) => m.deadLetterSource),
    LockTokenArray: strings((m) => m.lockToken),
    ExpiresAtUtcArray: json(messages.map((m) => netDateTime(m.expiresAtUtc))),
    ExpiresAtArray: json(messages.map((m) => netDateTimeOffset(m.expiresAtUtc))),
    EnqueuedTimeUtcArray: json(messages.map((m) => netDateTime(m.enqueuedTimeUtc))),
    EnqueuedTimeArray: json(messages.map((m) => netDateTimeOffset(m.enqueuedTimeUtc))),
    MessageIdArray: strings((m) => m.messageId),
    ContentTypeArray: strings((m) => m.contentType),
    ReplyToArray: strings((m) => m.replyTo),
    SequenceNumberArray: { collectionSint64: { sint64: messages.map((m) => m.sequenceNumber) } },
    ToArray: strings((m) => m.to),
    SubjectArray: strings((m) => m.subject),
    LabelArray: strings((m) => m.subject),
    CorrelationIdArray: strings((m) => m.correlationId),
    ApplicationPropertiesArray: json(messages.map(appProps)),
    UserPropertiesArray: json(messages.map(appProps)),
    SessionIdArray: strings((m) => m.sessionId),
    ReplyToSessionIdArray: strings((m) => m.replyToSessionId),
    PartitionKeyArray: strings((m) => m.partitionKey),
    // The extension fills this one with the partition keys (a bug kept for fidelity).
    TransactionPartitionKeyArray: strings((m) => m.partitionKey),
    ...actionKeys(namespace),
  };
}

export class BindingError extends Error {
  override name = 'FunctionInvocationException';
}

/** The trigger parameter: a string by default, bytes for dataType binary; arrays for cardinality many. */
export function triggerInput(messages: ReceivedMessage[], many: boolean, dataType: string | undefined): RpcTypedData {
  const text = (m: ReceivedMessage) => m.body.toString('utf8');
  if (!many) {
    const m = messages[0]!;
    return dataType === 'binary' ? { bytes: m.body } : { string: text(m) };
  }
  if (dataType === 'binary') return { collectionBytes: { bytes: messages.map((m) => m.body) } };
  if (dataType === 'string') return { collectionString: { string: messages.map(text).filter((s) => s !== '') } };
  // cardinality many without dataType binds object[]: every body must be JSON.
  const values = messages.map((m) => {
    try {
      return JSON.parse(text(m)) as unknown;
    } catch {
      throw new BindingError(
        `Exception binding parameter: Binding parameters to complex objects (such as 'Object') uses Json.NET serialization. The message body of ${m.messageId} is not valid JSON.`,
      );
    }
  });
  return json(values);
}

/** The trace context a message carries: its traceparent, else its Diagnostic-Id (older SDKs set only that). */
export function parentTraceparentOf(m: ReceivedMessage | undefined): string | undefined {
  const props = m?.applicationProperties ?? {};
  return [props.traceparent, props['Diagnostic-Id']].find((v): v is string => typeof v === 'string' && /^[0-9a-f]{2}-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$/.test(v));
}
