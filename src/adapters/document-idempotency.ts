// The ESB's idempotent receiver on a Cosmos DB container (partition key /id, TTL on with no
// default): one item per key, expiring by its own `ttl`. Written on the document port, so the
// local Azure's store keeps the keys exactly as Cosmos DB does.
import { createHash } from 'node:crypto';
import type { DocumentContainer } from '../ports/documents';
import type { IdempotencyStore } from '../ports/idempotency';

/** Keys may hold characters Cosmos ids refuse (/, \\, ?, #): the id is a hash, the key kept beside it. */
function itemId(key: string): string {
  return createHash('sha256').update(key).digest('hex');
}

export class DocumentIdempotencyStore implements IdempotencyStore {
  constructor(private readonly container: DocumentContainer) {}

  async has(key: string): Promise<boolean> {
    const id = itemId(key);
    return (await this.container.read(id, id)) !== undefined;
  }

  async record(key: string, ttlSeconds: number): Promise<void> {
    const id = itemId(key);
    await this.container.upsert({ id, key, ttl: ttlSeconds, recordedAt: new Date().toISOString() });
  }
}
