// How the app meets the local Azure when both run in one process, without either importing the
// other: the local Azure registers its services under a global symbol as these interfaces, and
// the app's embedded adapters (src/adapters/embedded) find them there. The local Azure's classes
// implement these interfaces and the app's adapters are written against them, so the compiler
// checks both sides. The same goes for the hooks an app may hand the local Azure: what only the
// app knows (its own auth rules, the development keys it needs) without the host importing it.
import type { IncomingHttpHeaders } from 'node:http';
import type { DocumentContainer } from './documents';
import type { DeadLetterOptions, EntityDescription, EntityRuntimeProperties, OutgoingMessage, PropertyValue, ReceivedMessage, ReceiveOptions, SessionLock } from './service-bus';

/**
 * The embedded Service Bus namespace, called in process (settlement by lock token). What answers
 * at once in the host's process answers with a promise in a worker process (its calls cross to
 * the host), hence the `| Promise`.
 */
export interface LocalServiceBus {
  send(path: string, messages: OutgoingMessage[]): Promise<void>;
  schedule(path: string, messages: OutgoingMessage[], scheduledEnqueueTimeUtc: number): Promise<number[]>;
  cancelScheduled(path: string, sequenceNumbers: number[]): Promise<void>;
  receive(path: string, options?: ReceiveOptions): Promise<ReceivedMessage[]>;
  peek(path: string, options?: { fromSequenceNumber?: number; maxMessageCount?: number }): ReceivedMessage[] | Promise<ReceivedMessage[]>;
  complete(lockToken: string): Promise<void>;
  abandon(lockToken: string, propertiesToModify?: Record<string, PropertyValue>): Promise<void>;
  deadLetter(lockToken: string, options?: DeadLetterOptions): Promise<void>;
  defer(lockToken: string, propertiesToModify?: Record<string, PropertyValue>): Promise<void>;
  receiveDeferred(path: string, sequenceNumbers: number[]): Promise<ReceivedMessage[]>;
  renewLock(lockToken: string): Promise<Date>;
  acceptSession(path: string, options?: ReceiveOptions & { sessionId?: string }): Promise<SessionLock | null>;
  receiveFromSession(session: SessionLock, options?: ReceiveOptions): Promise<ReceivedMessage[]>;
  renewSessionLock(session: SessionLock): Promise<Date>;
  getSessionState(session: SessionLock): Promise<Buffer | null>;
  setSessionState(session: SessionLock, state: Buffer | null): Promise<void>;
  releaseSession(session: SessionLock): Promise<void>;
  listEntities(): EntityDescription[] | Promise<EntityDescription[]>;
  runtimeProperties(path: string): EntityRuntimeProperties | Promise<EntityRuntimeProperties>;
  /**
   * Takes one message from where it sits (a dead-letter queue, or any queue or subscription with
   * a target) and sends what `build` makes of it, in one transaction; `build` may throw to
   * refuse, leaving the message where it was.
   */
  resubmit(sourcePath: string, sequenceNumber: number, targetPath: string | undefined, build: (original: ReceivedMessage) => OutgoingMessage): Promise<{ sequenceNumber: number; messageId: string }>;
  remove(sourcePath: string, sequenceNumbers: number[]): Promise<number>;
}

export interface LocalEvent {
  body: Buffer;
  contentType?: string;
  messageId?: string;
  correlationId?: string;
  properties?: Record<string, unknown>;
}

export interface LocalEventHubs {
  publish(hub: string, events: LocalEvent[], options?: { partitionKey?: string; partitionId?: string }): Promise<unknown>;
}

export interface LocalCosmos {
  container(name: string): DocumentContainer;
}

export interface LocalAzureRuntime {
  serviceBus: LocalServiceBus;
  cosmos: LocalCosmos;
  eventHubs: LocalEventHubs;
  /** http://localhost:<port> once the HTTP listener is up. */
  baseUrl: string;
}

const KEY = Symbol.for('@backbone/local-azure.runtime');
type Holder = { [KEY]?: LocalAzureRuntime };

export function setLocalAzureRuntime(runtime: LocalAzureRuntime | undefined): void {
  (globalThis as Holder)[KEY] = runtime;
}

export function getLocalAzureRuntime(): LocalAzureRuntime {
  const runtime = (globalThis as Holder)[KEY];
  if (!runtime) {
    throw new Error('A connection is set to "UseEmbeddedHost=true" but no local Azure is running in this process. ' + 'Start the app with `npm start`, or point the connection setting at Azure.');
  }
  return runtime;
}

/** A request the local Azure answers itself, as the platform would, without invoking the app. */
export interface HostRefusal {
  status: number;
  code: string;
  message: string;
  headers?: Record<string, string>;
}

export interface LogLine {
  level: 'information' | 'warning' | 'error';
  message: string;
}

/**
 * What an app may hand the local Azure (package.json "localAzure": { "hooks": "<module>" }, or
 * the `hooks` option): each is optional.
 */
export interface LocalAzureHooks {
  /**
   * Before the app is loaded: settings it needs in its environment (development keys Key Vault
   * holds in Azure); `dataDir` is where the host keeps its data (undefined for an in-memory run).
   * Returns lines for the start-up log, whether the app's HTTP auth is on (then the host's own
   * APIs — the Durable webhooks — need their system key, as in Azure), and how to undo it.
   */
  prepare?(context: { dataDir: string | undefined; env: NodeJS.ProcessEnv }): { log?: LogLine[]; httpAuth?: boolean; restore?: () => void };
  /** Refuses a request before its body is read, as the platform's authentication does in Azure. */
  refuseBeforeBody?(headers: IncomingHttpHeaders, env: NodeJS.ProcessEnv): HostRefusal | undefined;
  /** Who may read the dashboard's data (its static page stays public). */
  authorizeDashboard?(headers: IncomingHttpHeaders, env: NodeJS.ProcessEnv): HostRefusal | undefined;
}
