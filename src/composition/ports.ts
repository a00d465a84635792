// The composition root of the ports: each port's adapter, chosen from configuration
// (src/adapters/*: UseEmbeddedHost=true → the local Azure in this process; otherwise Azure), with
// its decorators in the order they must sit — one instance per process, created on first use.
// functions/ and the other composition modules take their ports from here and nowhere else.
import { createDocumentContainer } from '../adapters/documents';
import { createEventPublisher } from '../adapters/event-hubs';
import { createIdempotencyStore } from '../adapters/idempotency';
import { createMessaging } from '../adapters/messaging';
import { withStoreFaults } from '../adapters/decorators/faulty-documents';
import { withFaultInjection } from '../adapters/decorators/faulty-messaging';
import { withTransientRetries } from '../adapters/decorators/retrying-documents';
import { withSigning } from '../adapters/decorators/signed-messaging';
import { withTracing } from '../adapters/decorators/traced-messaging';
import type { DocumentContainer } from '../ports/documents';
import type { EventPublisher } from '../ports/event-publisher';
import type { IdempotencyStore } from '../ports/idempotency';
import type { Messaging } from '../ports/messaging';
import { signingKeys } from '../security/key-settings';

let sharedMessaging: Messaging | undefined;
const containers = new Map<string, DocumentContainer>();
let sharedPublisher: EventPublisher | undefined;
let sharedIdempotency: IdempotencyStore | undefined;

/** Messaging: every send traced and signed (MESSAGE_SIGNING_KEYS); injected faults (FAULT_INJECTION) under both. */
export function messaging(): Messaging {
  sharedMessaging ??= withTracing(withSigning(withFaultInjection(createMessaging()), signingKeys));
  return sharedMessaging;
}

/** A document container: transient failures retried; injected faults sit where the store's own would surface, under the retries. */
export function documentContainer(name: string): DocumentContainer {
  let c = containers.get(name);
  if (!c) containers.set(name, (c = withTransientRetries(withStoreFaults(createDocumentContainer(name)))));
  return c;
}

export function eventPublisher(): EventPublisher {
  sharedPublisher ??= createEventPublisher();
  return sharedPublisher;
}

export function idempotencyStore(): IdempotencyStore {
  sharedIdempotency ??= createIdempotencyStore();
  return sharedIdempotency;
}
