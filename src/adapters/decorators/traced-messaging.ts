// Wraps the messaging port so every send is a producer span and every message carries that
// span's W3C context (traceparent, and Diagnostic-Id for consumers that read only that): the
// function the message triggers next is that span's child, whichever host delivers it.
import type { Messaging } from '../../ports/messaging';
import type { OutgoingMessage } from '@backbone/azure-model/service-bus';
import { currentTraceparent, inSpan, SpanKind } from '../../observability/tracing';

function stamped(messages: OutgoingMessage[]): OutgoingMessage[] {
  const traceparent = currentTraceparent();
  if (!traceparent) return messages;
  return messages.map((m) => ({ ...m, applicationProperties: { ...m.applicationProperties, traceparent, 'Diagnostic-Id': traceparent } }));
}

/** The correlationId the messages share, if they share one. */
function correlationOf(messages: OutgoingMessage[]): string | undefined {
  const ids = new Set(messages.map((m) => m.correlationId));
  return ids.size === 1 ? [...ids][0] : undefined;
}

function produce<T>(operation: 'send' | 'schedule', entityPath: string, messages: OutgoingMessage[], run: (stampedMessages: OutgoingMessage[]) => Promise<T>): Promise<T> {
  const correlationId = correlationOf(messages);
  return inSpan(
    `${operation} ${entityPath}`,
    {
      kind: SpanKind.PRODUCER,
      ...(correlationId ? { correlationId } : {}),
      attributes: {
        'messaging.system': 'servicebus',
        'messaging.operation.name': operation,
        'messaging.destination.name': entityPath,
        'messaging.batch.message_count': messages.length,
        ...(messages.length === 1 && messages[0]!.messageId ? { 'messaging.message.id': messages[0]!.messageId } : {}),
        ...(messages.length === 1 && messages[0]!.subject ? { messageType: messages[0]!.subject } : {}),
      },
    },
    () => run(stamped(messages)),
  );
}

export function withTracing(inner: Messaging): Messaging {
  return new Proxy(inner, {
    get(target, property, receiver) {
      if (property === 'send') {
        return (entityPath: string, messages: OutgoingMessage[]) => produce('send', entityPath, messages, (m) => target.send(entityPath, m));
      }
      if (property === 'schedule') {
        return (entityPath: string, messages: OutgoingMessage[], at: Date) => produce('schedule', entityPath, messages, (m) => target.schedule(entityPath, m, at));
      }
      const value = Reflect.get(target, property, receiver) as unknown;
      return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
    },
  });
}
