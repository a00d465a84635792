// Service Bus' request/response operations on `<entity>/$management` (as @azure/service-bus sends
// them: application property `operation`, an AMQP map as body; the answer correlated by message
// id, with `statusCode` / `statusDescription` / `error-condition`): renew lock, peek, schedule and
// cancel scheduled messages, receive deferred messages by sequence number, and settle them
// (update-disposition); a session's lock renewal and state.
import { message as amqpMessage, string_to_uuid, types, uuid_to_string, type Message } from 'rhea';
import { BrokerError, type OutgoingMessage, type ReceivedMessage, type SessionLock } from '@backbone/azure-model/service-bus';
import type { EmbeddedBroker } from '../broker/broker';

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
    case 'InvalidOperation':
      return { statusCode: 400, statusDescription: description, errorCondition: 'amqp:invalid-field' };
    case 'GeneralError':
      return { statusCode: 400, statusDescription: description, errorCondition: 'amqp:not-allowed' };
    default:
      return { statusCode: 500, statusDescription: description, errorCondition: 'amqp:internal-error' };
  }
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
        const received = await broker.receiveDeferred(path, list(body['sequence-numbers']).map(longOf));
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
      default:
        return { statusCode: 501, statusDescription: `The operation '${operation}' is not served by the local Azure yet.`, errorCondition: 'amqp:not-implemented' };
    }
  } catch (error) {
    return failure(error);
  }
}
