// The composition root of the ports: each port's adapter, chosen from configuration
// (src/adapters/*: UseEmbeddedHost=true → the local Azure in this process; otherwise Azure), with
// its decorators in the order they must sit — one per process, created on first use (and again
// after the worker stopped and released it: closePorts).
// functions/ and the other composition modules take their ports from here and nowhere else.
import { closeCosmosClients } from '../adapters/cosmos-clients';
import { cosmosDefinition, createDocumentContainer } from '../adapters/documents';
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

/**
 * A port whose adapter is created on first use, and again after the worker released it
 * (closePorts): what holds the port — the router built at load, the sagas, the event store — keeps
 * one reference while the clients underneath come and go. It also keeps load-time code from
 * opening clients before the host has handed over the connection settings.
 */
interface LateBound<T> {
  readonly port: T;
  /** Lets the current adapter go (the caller closes it); the next use creates another. */
  release(): T | undefined;
}

function lateBound<T extends object>(create: () => T): LateBound<T> {
  let current: T | undefined;
  const port = new Proxy({} as T, {
    get(_target, property) {
      // Not a thenable: awaiting or returning the port from an async function must not create an adapter.
      if (property === 'then') return undefined;
      current ??= create();
      const value = Reflect.get(current, property, current) as unknown;
      return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(current) : value;
    },
  });
  return {
    port,
    release() {
      const released = current;
      current = undefined;
      return released;
    },
  };
}

/** Messaging: every send traced and signed (MESSAGE_SIGNING_KEYS); injected faults (FAULT_INJECTION) under both. */
const sharedMessaging = lateBound<Messaging>(() => withTracing(withSigning(withFaultInjection(createMessaging()), signingKeys)));
const containers = new Map<string, LateBound<DocumentContainer>>();
const sharedPublisher = lateBound<EventPublisher>(() => createEventPublisher());
const sharedIdempotency = lateBound<IdempotencyStore>(() => createIdempotencyStore());

export function messaging(): Messaging {
  return sharedMessaging.port;
}

/** A document container: transient failures retried; injected faults sit where the store's own would surface, under the retries. */
export function documentContainer(name: string): DocumentContainer {
  let c = containers.get(name);
  if (!c) {
    // A name config/cosmos.yaml does not declare fails here, at the call that names it.
    if (!cosmosDefinition().cosmos.containers.some((d) => d.name === name)) throw new Error(`Container '${name}' is not declared in config/cosmos.yaml`);
    containers.set(name, (c = lateBound(() => withTransientRetries(withStoreFaults(createDocumentContainer(name))))));
  }
  return c.port;
}

export function eventPublisher(): EventPublisher {
  return sharedPublisher.port;
}

export function idempotencyStore(): IdempotencyStore {
  return sharedIdempotency.port;
}

/**
 * Ends every client the ports opened — when the worker stops (functions/app-lifecycle.ts): AMQP
 * links detached and connections closed rather than cut. The next use opens new ones.
 */
export async function closePorts(): Promise<void> {
  const opened: Promise<void>[] = [sharedMessaging.release()?.close() ?? Promise.resolve(), sharedPublisher.release()?.close?.() ?? Promise.resolve()];
  sharedIdempotency.release();
  for (const c of containers.values()) c.release();
  closeCosmosClients();
  const failed = (await Promise.allSettled(opened)).find((r) => r.status === 'rejected');
  if (failed) throw (failed as PromiseRejectedResult).reason;
}
