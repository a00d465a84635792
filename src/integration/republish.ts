// Publishes the integration events of the event store again — after a replay, or for a new
// consumer that needs the history — through the producer adapter, with the same partition keys
// (stream ids) and eventIds as the change feed uses, so consumers de-duplicate as usual.
import type { EventStore } from '../eventstore/event-store';
import { forEachLimit } from '../shared/concurrency';
import { INTEGRATION_EVENTS_HUB, toIntegrationEvents } from './integration-events';
import type { EventPublisher } from '../ports/event-publisher';

export interface RepublishResult {
  streams: number;
  events: number;
  total: number;
  durationMs: number;
}

export async function republishIntegrationEvents(
  store: EventStore,
  publisher: EventPublisher,
  options: { streamPrefixes?: string[]; onProgress?: (p: { phase: string; done: number; total: number }) => void } = {},
): Promise<RepublishResult> {
  const started = performance.now();
  const prefixes = options.streamPrefixes ?? ['order-', 'inventory-'];
  const streams: string[] = [];
  for (const prefix of prefixes) streams.push(...(await store.streamIds(prefix)));
  let done = 0;
  let events = 0;
  options.onProgress?.({ phase: 'publishing', done, total: streams.length });
  // Streams in parallel; within one stream, in order.
  await forEachLimit(streams, 4, async (streamId) => {
    const messages = toIntegrationEvents(await store.readStream(streamId));
    if (messages.length) await publisher.publish(INTEGRATION_EVENTS_HUB, messages);
    events += messages.length;
    options.onProgress?.({ phase: 'publishing', done: ++done, total: streams.length });
  });
  return { streams: streams.length, events, total: streams.length, durationMs: Math.round(performance.now() - started) };
}
