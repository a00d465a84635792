// The idempotency store on Cosmos DB: one item per key in the `idempotency` container
// (partition key /id, TTL enabled with no default), each item expiring by its own `ttl`.
import { createHash } from 'node:crypto';
import type { Container } from '@azure/cosmos';
import type { IdempotencyStore } from '../../esb/idempotency';

/** Keys may hold characters Cosmos ids refuse (/, \, ?, #): the id is a hash, the key kept beside it. */
function itemId(key: string): string {
  return createHash('sha256').update(key).digest('hex');
}

export class CosmosIdempotencyStore implements IdempotencyStore {
  constructor(private readonly container: Container) {}

  async has(key: string): Promise<boolean> {
    const id = itemId(key);
    try {
      const { resource } = await this.container.item(id, id).read<{ key: string }>();
      return resource !== undefined;
    } catch (error) {
      if ((error as { code?: number }).code === 404) return false;
      throw error;
    }
  }

  async record(key: string, ttlSeconds: number): Promise<void> {
    const id = itemId(key);
    await this.container.items.upsert({ id, key, ttl: ttlSeconds, recordedAt: new Date().toISOString() });
  }
}
