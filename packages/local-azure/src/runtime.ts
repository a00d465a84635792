// The embedded services of the host running in this process: for the host's own parts (the
// Service Bus SDK binding's settlement service), and — registered as @backbone/azure-model's
// LocalAzureRuntime — for an app's embedded adapters, which reach them without importing this
// package. A global symbol keeps one registry per process even if this module is loaded twice
// (jest module registries).
import { setLocalAzureRuntime } from '@backbone/azure-model/local-runtime';
import type { EmbeddedBroker } from './broker/broker';
import type { EmbeddedDocumentStore } from './docstore/store';
import type { EmbeddedEventHubs } from './eventhubs/event-log';
import type { Clock } from './clock';
import type { Db, GroupCommit } from './sqlite';

export interface EmbeddedRuntime {
  broker: EmbeddedBroker;
  documents: EmbeddedDocumentStore;
  eventHubs: EmbeddedEventHubs;

  db: Db;
  /** Durable writes of any embedded service go through the host's group commit. */
  commit: GroupCommit;
  clock: Clock;
  /** http://localhost:<port> once the HTTP listener is up. */
  baseUrl: string;
}

const KEY = Symbol.for('@backbone/local-azure.embedded-runtime');
type Holder = { [KEY]?: EmbeddedRuntime };

export function setEmbeddedRuntime(runtime: EmbeddedRuntime | undefined): void {
  (globalThis as Holder)[KEY] = runtime;
  setLocalAzureRuntime(
    runtime && {
      serviceBus: runtime.broker,
      cosmos: runtime.documents,
      eventHubs: runtime.eventHubs,
      get baseUrl() {
        return runtime.baseUrl;
      },
    },
  );
}

export function getEmbeddedRuntime(): EmbeddedRuntime {
  const runtime = (globalThis as Holder)[KEY];
  if (!runtime) {
    throw new Error('A connection is set to "UseEmbeddedHost=true" but no embedded host is running in this process. ' + 'Start the app with `npm start`, or point the connection setting at Azure.');
  }
  return runtime;
}
