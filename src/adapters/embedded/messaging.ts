// The messaging port on the Service Bus of the local Azure running in this process (found through
// @backbone/azure-model's registry, not by importing the host). The namespace is looked up on
// every call, so a module-level instance survives a host restart within a process.
import { getLocalAzureRuntime, type LocalServiceBus } from '@backbone/azure-model/local-runtime';
import { resubmitCopy } from '../resubmit';
import type { DeadLetterOptions, EntityDescription, Messaging, ReceiveOptions, ResubmitPreparer } from '../../ports/messaging';
import type { OutgoingMessage, PropertyValue, ReceivedMessage, SessionLock } from '@backbone/azure-model/service-bus';

export class EmbeddedMessaging implements Messaging {
  readonly kind = 'embedded' as const;

  /** A namespace may be given directly (contract tests); otherwise the running host's is used. */
  constructor(private readonly fixedBroker?: LocalServiceBus) {}

  get #broker(): LocalServiceBus {
    return this.fixedBroker ?? getLocalAzureRuntime().serviceBus;
  }

  send(entityPath: string, messages: OutgoingMessage[]): Promise<void> {
    return this.#broker.send(entityPath, messages);
  }
  schedule(entityPath: string, messages: OutgoingMessage[], enqueueAt: Date): Promise<number[]> {
    return this.#broker.schedule(entityPath, messages, enqueueAt.getTime());
  }
  cancelScheduled(entityPath: string, sequenceNumbers: number[]): Promise<void> {
    return this.#broker.cancelScheduled(entityPath, sequenceNumbers);
  }
  receive(entityPath: string, options: ReceiveOptions = {}): Promise<ReceivedMessage[]> {
    return this.#broker.receive(entityPath, options);
  }
  async peek(entityPath: string, options?: { fromSequenceNumber?: number; maxMessageCount?: number }): Promise<ReceivedMessage[]> {
    return this.#broker.peek(entityPath, options);
  }
  complete(message: ReceivedMessage): Promise<void> {
    return this.#broker.complete(message.lockToken ?? '');
  }
  abandon(message: ReceivedMessage, propertiesToModify?: Record<string, PropertyValue>): Promise<void> {
    return this.#broker.abandon(message.lockToken ?? '', propertiesToModify);
  }
  deadLetter(message: ReceivedMessage, options?: DeadLetterOptions): Promise<void> {
    return this.#broker.deadLetter(message.lockToken ?? '', options);
  }
  defer(message: ReceivedMessage, propertiesToModify?: Record<string, PropertyValue>): Promise<void> {
    return this.#broker.defer(message.lockToken ?? '', propertiesToModify);
  }
  receiveDeferred(entityPath: string, sequenceNumbers: number[]): Promise<ReceivedMessage[]> {
    return this.#broker.receiveDeferred(entityPath, sequenceNumbers);
  }
  renewLock(message: ReceivedMessage): Promise<Date> {
    return this.#broker.renewLock(message.lockToken ?? '');
  }
  acceptSession(entityPath: string, options?: { sessionId?: string; maxWaitMs?: number }): Promise<SessionLock | null> {
    return this.#broker.acceptSession(entityPath, options);
  }
  receiveFromSession(session: SessionLock, options?: ReceiveOptions): Promise<ReceivedMessage[]> {
    return this.#broker.receiveFromSession(session, options);
  }
  renewSessionLock(session: SessionLock): Promise<Date> {
    return this.#broker.renewSessionLock(session);
  }
  getSessionState(session: SessionLock): Promise<Buffer | null> {
    return this.#broker.getSessionState(session);
  }
  setSessionState(session: SessionLock, state: Buffer | null): Promise<void> {
    return this.#broker.setSessionState(session, state);
  }
  releaseSession(session: SessionLock): Promise<void> {
    return this.#broker.releaseSession(session);
  }
  async listEntities(): Promise<EntityDescription[]> {
    return this.#broker.listEntities();
  }
  async runtimeProperties(entityPath: string) {
    return this.#broker.runtimeProperties(entityPath);
  }
  resubmit(sourcePath: string, sequenceNumber: number, targetPath?: string, prepare?: ResubmitPreparer) {
    return this.#broker.resubmit(sourcePath, sequenceNumber, targetPath, (original) => {
      const copy = resubmitCopy(original);
      return prepare ? { ...prepare(copy, original), messageId: copy.messageId } : copy;
    });
  }
  remove(sourcePath: string, sequenceNumbers: number[]): Promise<number> {
    return this.#broker.remove(sourcePath, sequenceNumbers);
  }
  async probe(): Promise<void> {
    const first = (await this.#broker.listEntities())[0];
    if (first) await this.#broker.runtimeProperties(first.path);
  }
  async close(): Promise<void> {
    // The broker belongs to the host; nothing to release here.
  }
}
