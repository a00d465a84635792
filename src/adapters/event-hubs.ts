// Chooses the Event Hubs publisher from configuration: EventHubConnection=UseEmbeddedHost=true
// publishes to the embedded host's log; <Connection>__fullyQualifiedNamespace (managed identity)
// or an emulator connection string uses @azure/event-hubs.
import type { EventPublisher } from '../ports/event-publisher';
import { EMBEDDED_CONNECTION } from './messaging';

export const EVENT_HUB_CONNECTION = 'EventHubConnection';

export function createEventPublisher(env: NodeJS.ProcessEnv = process.env): EventPublisher {
  if (env[EVENT_HUB_CONNECTION]?.trim() === EMBEDDED_CONNECTION) {
    const { EmbeddedEventHubsPublisher } = require('./embedded/event-hubs') as typeof import('./embedded/event-hubs');
    return new EmbeddedEventHubsPublisher();
  }
  const { AzureEventHubsPublisher } = require('./azure/event-hubs') as typeof import('./azure/event-hubs');
  return new AzureEventHubsPublisher(EVENT_HUB_CONNECTION, env);
}
