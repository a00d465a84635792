// Chooses the messaging adapter from configuration, never from code paths: a connection set to
// "UseEmbeddedHost=true" uses the embedded broker of the running host; an identity-based
// connection (<Connection>__fullyQualifiedNamespace) or a connection string (the Service Bus
// emulator) uses Azure Service Bus.
import type { Messaging } from '../ports/messaging';

export const EMBEDDED_CONNECTION = 'UseEmbeddedHost=true';
export const SERVICE_BUS_CONNECTION = 'ServiceBusConnection';

export function createMessaging(connection = SERVICE_BUS_CONNECTION, env: NodeJS.ProcessEnv = process.env): Messaging {
  const value = env[connection];
  if (value?.trim() === EMBEDDED_CONNECTION) {
    // Required lazily: the embedded host is not deployed to Azure (.funcignore).
    const { EmbeddedMessaging } = require('./embedded/messaging') as typeof import('./embedded/messaging');
    return new EmbeddedMessaging();
  }
  if (env[`${connection}__fullyQualifiedNamespace`] || value) {
    const { AzureServiceBusMessaging } = require('./azure/service-bus') as typeof import('./azure/service-bus');
    return new AzureServiceBusMessaging({ connection, env });
  }
  throw new Error(
    `No Service Bus connection configured: set ${connection}__fullyQualifiedNamespace (Azure, managed identity), ` +
      `${connection} to an emulator connection string, or ${connection}=${EMBEDDED_CONNECTION} (npm start).`,
  );
}
