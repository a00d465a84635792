// Wraps the event store port: an append is a span, each event's metadata carries that span's
// traceparent — so the change-feed consumers, which see only the stored events, continue the
// trace of the command that caused them — and appended events are counted by type.
import type { EventStore } from '../eventstore/event-store';
import { count } from './metrics';
import { currentTraceparent, inSpan, SpanKind } from './tracing';

/** "order-42" → "order": the aggregate type, a dimension of bounded cardinality. */
export const streamTypeOf = (streamId: string) => /^[a-z]+/i.exec(streamId)?.[0] ?? 'unknown';

export function withEventTracing(inner: EventStore): EventStore {
  return {
    readStream: (streamId, options) => inner.readStream(streamId, options),
    readSnapshot: (streamId) => inner.readSnapshot(streamId),
    writeSnapshot: (snapshot) => inner.writeSnapshot(snapshot),
    streamIds: (prefix) => inner.streamIds(prefix),
    readStreamRange: (range, page) => inner.readStreamRange(range, page),
    append(streamId, events, options) {
      const streamType = streamTypeOf(streamId);
      const correlationId = events.find((e) => e.metadata?.correlationId)?.metadata?.correlationId;
      return inSpan(
        `append ${streamType}`,
        {
          kind: SpanKind.CLIENT,
          ...(correlationId ? { correlationId } : {}),
          attributes: {
            'db.system.name': 'azure.cosmosdb',
            'db.collection.name': 'events',
            streamId,
            'eventstore.expected_version': String(options.expectedVersion),
            'eventstore.event_types': events.map((e) => e.type).join(','),
          },
        },
        async (span) => {
          const traceparent = currentTraceparent();
          const stamped = traceparent ? events.map((e) => ({ ...e, metadata: { ...e.metadata, traceparent } })) : events;
          const result = await inner.append(streamId, stamped, options);
          span.setAttribute('eventstore.version', result.version);
          for (const e of result.events) count('eventstore.events.appended', { eventType: e.type, streamType });
          return result;
        },
      );
    },
  };
}
