// Service Bus' request/response operations on `<entity>/$management` (as @azure/service-bus sends
// them: application property `operation`, an AMQP map as body; the answer correlated by message
// id, with `statusCode` / `statusDescription` / `error-condition`): renew lock, peek, schedule and
// cancel scheduled messages, receive deferred messages by sequence number, and settle them
// (update-disposition); a session's lock renewal and state; a subscription's rules (add, remove,
// enumerate — as ServiceBusRuleManager calls them in the SDKs) over the broker's rule model.
import { message as amqpMessage, string_to_uuid, types, uuid_to_string, type Message } from 'rhea';
import { BrokerError, type OutgoingMessage, type ReceivedMessage, type SessionLock } from '@backbone/azure-model/service-bus';
import type { CorrelationFilterDefinition } from '@backbone/azure-model/topology';
import type { EmbeddedBroker } from '../broker/broker';
import type { RuleSpec, SubscriptionRule } from '../broker/entities';

export interface ManagementReply {
  statusCode: number;
  statusDescription: string;
  errorCondition?: string;
  body?: unknown;
}

type Codec = { toAmqp(m: ReceivedMessage): Message; toOutgoing(m: Message): OutgoingMessage; session(sessionId: string): SessionLock | undefined };

/** A long as rhea decodes it: a number, or its 8 bytes big-endian. */
function longOf(v: unknown): number {
  if (typeof v === 'number') return v;
  if (typeof v === 'bigint') return Number(v);
  if (Buffer.isBuffer(v)) return Number(v.readBigInt64BE(0));
  if (v && typeof v === 'object' && 'value' in v) return longOf((v as { value: unknown }).value);
  throw new BrokerError('InvalidOperation', `not a sequence number: ${String(v)}`);
}

const lockTokenOf = (v: unknown): string => (Buffer.isBuffer(v) ? uuid_to_string(v) : String(v));
const list = (v: unknown): unknown[] => (Array.isArray(v) ? v : v === undefined || v === null ? [] : [v]);

/** The status a broker failure answers with, and its condition. */
export function failure(error: unknown): ManagementReply {
  const description = (error as Error)?.message ?? String(error);
  const code = error instanceof BrokerError ? error.code : undefined;
  switch (code) {
    case 'MessagingEntityNotFound':
      return { statusCode: 404, statusDescription: description, errorCondition: 'amqp:not-found' };
    case 'MessageLockLost':
      return { statusCode: 410, statusDescription: description, errorCondition: 'com.microsoft:message-lock-lost' };
    case 'MessageNotFound':
      return { statusCode: 404, statusDescription: description, errorCondition: 'com.microsoft:message-not-found' };
    case 'SessionLockLost':
      return { statusCode: 410, statusDescription: description, errorCondition: 'com.microsoft:session-lock-lost' };
    case 'MessagingEntityAlreadyExists':
      return { statusCode: 409, statusDescription: description, errorCondition: 'com.microsoft:entity-already-exists' };
    case 'InvalidOperation':
      return { statusCode: 400, statusDescription: description, errorCondition: 'amqp:invalid-field' };
    case 'GeneralError':
      return { statusCode: 400, statusDescription: description, errorCondition: 'amqp:not-allowed' };
    default:
      return { statusCode: 500, statusDescription: description, errorCondition: 'amqp:internal-error' };
  }
}

// The described types Service Bus states a rule in (enumerate-rules): their descriptor codes, as
// Microsoft's "AMQP request-response operations" document and the SDKs' codecs read them.
const RULE_DESCRIPTION = 0x0000013700000004n;
const EMPTY_RULE_ACTION = 0x0000013700000005n;
const SQL_RULE_ACTION = 0x0000013700000006n;
const SQL_FILTER = 0x000000_1370000006n;
const TRUE_FILTER = 0x000000_1370000007n;
const FALSE_FILTER = 0x000000_1370000008n;
const CORRELATION_FILTER = 0x000000_1370000009n;
/** The SQL compatibility level Service Bus states with a filter or an action. */
const SQL_COMPATIBILITY_LEVEL = 20;

function described(code: bigint, fields: unknown[]): unknown {
  const descriptor = Buffer.alloc(8);
  descriptor.writeBigUInt64BE(code);
  return types.described(types.wrap_ulong(descriptor), types.wrap_list(fields));
}

/** A property value as .NET reads it back: whole numbers as int (long beyond 32 bits), not the uint rhea would write. */
function typedValue(v: unknown): unknown {
  if (typeof v !== 'number' || !Number.isInteger(v)) return v;
  return v >= -0x8000_0000 && v <= 0x7fff_ffff ? types.wrap_int(v) : types.wrap_long(v);
}

/** A rule as enumerate-rules states it: rule-description(filter, action, name, created-at). */
function ruleDescription(rule: SubscriptionRule): unknown {
  const d = rule.definition;
  let filter: unknown;
  if (d.filterType === 'CorrelationFilter') {
    const c = d.correlationFilter ?? {};
    const props = Object.fromEntries(Object.entries(c.properties ?? {}).map(([k, v]) => [k, typedValue(v)]));
    filter = described(
      CORRELATION_FILTER,
      [c.correlationId, c.messageId, c.to, c.replyTo, c.label, c.sessionId, c.replyToSessionId, c.contentType, types.wrap_map(props)].map((v) => v ?? null),
    );
  } else {
    const code = d.filterShorthand === 'TrueFilter' ? TRUE_FILTER : d.filterShorthand === 'FalseFilter' ? FALSE_FILTER : SQL_FILTER;
    filter = described(code, [d.sqlFilter?.sqlExpression ?? '1=1', types.wrap_int(SQL_COMPATIBILITY_LEVEL)]);
  }
  const action = d.action ? described(SQL_RULE_ACTION, [d.action.sqlExpression, types.wrap_int(SQL_COMPATIBILITY_LEVEL)]) : described(EMPTY_RULE_ACTION, []);
  return described(RULE_DESCRIPTION, [filter, action, rule.name, types.wrap_timestamp(rule.createdAt)]);
}

const text = (v: unknown): string | undefined => (v === undefined || v === null ? undefined : String(v));

/** The rule an add-rule request describes: a map with sql-filter or correlation-filter, and sql-rule-action. */
function ruleSpec(name: string, description: Record<string, unknown>): RuleSpec {
  const sql = description['sql-filter'] as Record<string, unknown> | null | undefined;
  const correlation = description['correlation-filter'] as Record<string, unknown> | null | undefined;
  const action = description['sql-rule-action'] as Record<string, unknown> | null | undefined;
  let spec: RuleSpec;
  if (sql) spec = { name, filterType: 'SqlFilter', sqlFilter: { sqlExpression: String(sql.expression ?? '') } };
  else if (correlation) {
    const filter: CorrelationFilterDefinition = {};
    const fields: [keyof Omit<CorrelationFilterDefinition, 'properties'>, string][] = [
      ['correlationId', 'correlation-id'],
      ['messageId', 'message-id'],
      ['to', 'to'],
      ['replyTo', 'reply-to'],
      ['label', 'label'],
      ['sessionId', 'session-id'],
      ['replyToSessionId', 'reply-to-session-id'],
      ['contentType', 'content-type'],
    ];
    for (const [key, field] of fields) {
      const value = text(correlation[field]);
      if (value !== undefined) filter[key] = value;
    }
    const props = correlation.properties as Record<string, string | number | boolean> | null | undefined;
    if (props && Object.keys(props).length) filter.properties = { ...props };
    spec = { name, filterType: 'CorrelationFilter', correlationFilter: filter };
  } else throw new BrokerError('InvalidOperation', `Rule '${name}' has neither a sql-filter nor a correlation-filter.`);
  const actionExpression = text(action?.expression);
  if (actionExpression !== undefined) spec.action = { sqlExpression: actionExpression };
  return spec;
}

/** The topic and subscription a rule operation's entity names (rules belong to subscriptions only). */
function subscriptionOf(path: string): { topic: string; subscription: string } {
  const m = /^(.+)\/subscriptions\/([^/]+)$/i.exec(path);
  if (!m) throw new BrokerError('InvalidOperation', `'${path}' is not a subscription; rules belong to subscriptions.`);
  return { topic: m[1]!, subscription: m[2]! };
}

/** Carries out one management request on the entity at `path` (a queue, or topic/subscriptions/name). */
export async function manage(broker: EmbeddedBroker, path: string, operation: string, body: Record<string, unknown>, codec: Codec): Promise<ManagementReply> {
  try {
    switch (operation) {
      case 'com.microsoft:renew-lock': {
        const expirations = [];
        for (const token of list(body['lock-tokens'])) expirations.push(await broker.renewLock(lockTokenOf(token)));
        return {
          statusCode: 200,
          statusDescription: 'OK',
          body: {
            expirations: types.wrap_array(
              expirations.map((d) => d.getTime()),
              0x83,
              undefined,
            ),
          },
        };
      }
      case 'com.microsoft:peek-message': {
        const from = longOf(body['from-sequence-number'] ?? 0);
        const count = Number(body['message-count'] ?? 1);
        const peeked = broker.peek(path, { fromSequenceNumber: from, maxMessageCount: count });
        if (!peeked.length) return { statusCode: 204, statusDescription: 'No messages' };
        return { statusCode: 200, statusDescription: 'OK', body: { messages: peeked.map((m) => types.wrap_map({ message: amqpMessage.encode(codec.toAmqp(m)) })) } };
      }
      case 'com.microsoft:schedule-message': {
        const entries = list(body.messages) as Record<string, unknown>[];
        const sequenceNumbers: number[] = [];
        for (const entry of entries) {
          const m = codec.toOutgoing(amqpMessage.decode(Buffer.from(entry.message as Buffer)) as unknown as Message);
          if (m.scheduledEnqueueTimeUtc === undefined) throw new BrokerError('InvalidOperation', 'A scheduled message needs x-opt-scheduled-enqueue-time.');
          sequenceNumbers.push(...(await broker.schedule(path, [m], m.scheduledEnqueueTimeUtc)));
        }
        return { statusCode: 200, statusDescription: 'OK', body: { 'sequence-numbers': types.wrap_array(sequenceNumbers, 0x81, undefined) } };
      }
      case 'com.microsoft:cancel-scheduled-message': {
        await broker.cancelScheduled(path, list(body['sequence-numbers']).map(longOf));
        return { statusCode: 200, statusDescription: 'OK' };
      }
      case 'com.microsoft:receive-by-sequence-number': {
        const requested = list(body['sequence-numbers']).map(longOf);
        const received = await broker.receiveDeferred(path, requested);
        // Service Bus answers all or nothing: a number that names no deferred message (never
        // deferred, settled, or locked by another) fails the request with MessageNotFound, and
        // what was found stays deferred, unlocked (.NET would otherwise index an empty answer).
        if (received.length < new Set(requested).size) {
          for (const m of received) await broker.release(m.lockToken!);
          const found = new Set(received.map((m) => m.sequenceNumber));
          throw new BrokerError('MessageNotFound', `Failed to lock one or more specified messages. The messages ${requested.filter((n) => !found.has(n)).join(', ')} are not deferred in '${path}'.`);
        }
        const receiveAndDelete = Number(body['receiver-settle-mode'] ?? 1) === 0;
        const messages = [];
        for (const m of received) {
          if (receiveAndDelete) await broker.complete(m.lockToken!);
          // The lock token as an AMQP uuid: .NET takes it only as one (a binary leaves the message "peeked", unsettleable).
          messages.push(types.wrap_map({ 'lock-token': types.wrap_uuid(string_to_uuid(m.lockToken!)), message: amqpMessage.encode(codec.toAmqp(m)) }));
        }
        return { statusCode: 200, statusDescription: 'OK', body: { messages } };
      }
      case 'com.microsoft:update-disposition': {
        const status = String(body['disposition-status'] ?? '');
        const props = (body['properties-to-modify'] ?? undefined) as Record<string, string | number | boolean> | undefined;
        for (const token of list(body['lock-tokens']).map(lockTokenOf)) {
          if (status === 'completed') await broker.complete(token);
          else if (status === 'abandoned') await broker.abandon(token, props);
          else if (status === 'defered') await broker.defer(token, props);
          else if (status === 'suspended') {
            await broker.deadLetter(token, {
              ...(body['deadletter-reason'] !== undefined ? { deadLetterReason: String(body['deadletter-reason']) } : {}),
              ...(body['deadletter-description'] !== undefined ? { deadLetterErrorDescription: String(body['deadletter-description']) } : {}),
              ...(props ? { propertiesToModify: props } : {}),
            });
          } else throw new BrokerError('InvalidOperation', `Unknown disposition-status '${status}'.`);
        }
        return { statusCode: 200, statusDescription: 'OK' };
      }
      case 'com.microsoft:renew-session-lock':
      case 'com.microsoft:get-session-state':
      case 'com.microsoft:set-session-state': {
        const sessionId = String(body['session-id'] ?? '');
        const session = codec.session(sessionId);
        if (!session) throw new BrokerError('SessionLockLost', `The session lock on '${sessionId}' is not held by this connection.`);
        if (operation === 'com.microsoft:renew-session-lock') {
          const until = await broker.renewSessionLock(session);
          session.lockedUntilUtc = until;
          return { statusCode: 200, statusDescription: 'OK', body: { expiration: until } };
        }
        if (operation === 'com.microsoft:get-session-state') {
          const state = await broker.getSessionState(session);
          return { statusCode: 200, statusDescription: 'OK', body: { 'session-state': state === null ? null : types.wrap_binary(state) } };
        }
        const state = body['session-state'];
        await broker.setSessionState(session, state === null || state === undefined ? null : Buffer.from(state as Buffer));
        return { statusCode: 200, statusDescription: 'OK' };
      }
      case 'com.microsoft:add-rule': {
        const name = String(body['rule-name'] ?? '');
        if (!name) throw new BrokerError('InvalidOperation', 'add-rule needs a rule-name.');
        await broker.changeEntity({ op: 'create', kind: 'rule', ...subscriptionOf(path), definition: ruleSpec(name, (body['rule-description'] ?? {}) as Record<string, unknown>) });
        return { statusCode: 200, statusDescription: 'OK' };
      }
      case 'com.microsoft:remove-rule': {
        await broker.changeEntity({ op: 'delete', kind: 'rule', ...subscriptionOf(path), name: String(body['rule-name'] ?? '') });
        return { statusCode: 200, statusDescription: 'OK' };
      }
      case 'com.microsoft:enumerate-rules': {
        const { topic, subscription } = subscriptionOf(path);
        const sub = broker.entities.get(`${topic}/subscriptions/${subscription}`);
        if (sub?.kind !== 'subscription') throw new BrokerError('MessagingEntityNotFound', `The messaging entity '${path}' could not be found.`);
        const skip = Number(body.skip ?? 0);
        const top = Number(body.top ?? Number.MAX_SAFE_INTEGER);
        const rules = sub.rules.slice(skip, skip + top);
        if (!rules.length) return { statusCode: 204, statusDescription: 'No rules' };
        return { statusCode: 200, statusDescription: 'OK', body: { rules: rules.map((r) => types.wrap_map({ 'rule-description': ruleDescription(r) })) } };
      }
      default:
        return { statusCode: 501, statusDescription: `The operation '${operation}' is not served by the local Azure yet.`, errorCondition: 'amqp:not-implemented' };
    }
  } catch (error) {
    return failure(error);
  }
}
