// In-memory stand-ins for the ports, for unit tests of code that talks to them.
import assert from 'node:assert/strict';
import type { IdempotencyStore } from '../../src/ports/idempotency';
import type { MessageSender } from '../../src/ports/messaging';
import type { OutgoingMessage } from '@backbone/azure-model/service-bus';

/** Records what is sent and scheduled; `failWith` makes sends to an entity fail with an error. */
export class RecordingSender implements MessageSender {
  sent: { entity: string; message: OutgoingMessage }[] = [];
  scheduled: { entity: string; message: OutgoingMessage; at: Date }[] = [];
  failures = new Map<string, () => Error>();

  failWith(entity: string, error: () => Error): void {
    this.failures.set(entity, error);
  }

  async send(entity: string, messages: OutgoingMessage[]): Promise<void> {
    const failure = this.failures.get(entity);
    if (failure) throw failure();
    for (const message of messages) this.sent.push({ entity, message });
  }

  async schedule(entity: string, messages: OutgoingMessage[], at: Date): Promise<number[]> {
    for (const message of messages) this.scheduled.push({ entity, message, at });
    return messages.map((_, i) => this.scheduled.length - messages.length + i + 1);
  }

  async cancelScheduled(): Promise<void> {
    assert.fail('cancelScheduled is not expected here');
  }
}

export class InMemoryIdempotencyStore implements IdempotencyStore {
  readonly keys = new Map<string, number>();
  constructor(private readonly now: () => number = Date.now) {}
  async has(key: string): Promise<boolean> {
    return (this.keys.get(key) ?? 0) > this.now();
  }
  async record(key: string, ttlSeconds: number): Promise<void> {
    this.keys.set(key, this.now() + ttlSeconds * 1000);
  }
}
