// Transient store failures are retried where they happen: a document operation that Cosmos DB
// answers 429 (throttled), 449 (retry with) or 503 (unavailable) — none of which applied the
// operation — is tried again after a short, growing, jittered wait, a few times, before the error
// reaches the caller. Without it one busy moment of the store fails a whole saga step or function
// invocation, and a step that reads a dozen documents fails far more often than any one read.
// (The Cosmos SDK retries 429s itself too; this covers every adapter, the embedded one included.)
import { DocumentStoreError, type DocumentContainer } from '../../ports/documents';

const OPERATIONS = new Set(['read', 'create', 'upsert', 'replace', 'delete', 'batch', 'query', 'distinct']);
const RETRIABLE = new Set([429, 449, 503]);

export interface StoreRetryPolicy {
  retries: number;
  firstDelayMs: number;
}

export const STORE_RETRIES: StoreRetryPolicy = { retries: 3, firstDelayMs: 25 };

export function withTransientRetries(inner: DocumentContainer, policy: StoreRetryPolicy = STORE_RETRIES, sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms))): DocumentContainer {
  return new Proxy(inner, {
    get(target, property, receiver) {
      const value = Reflect.get(target, property, receiver) as unknown;
      if (typeof value !== 'function') return value;
      const method = (value as (...a: unknown[]) => Promise<unknown>).bind(target);
      if (typeof property !== 'string' || !OPERATIONS.has(property)) return method;
      return async (...args: unknown[]) => {
        for (let attempt = 0; ; attempt++) {
          try {
            return await method(...args);
          } catch (error) {
            if (!(error instanceof DocumentStoreError) || !RETRIABLE.has(error.code) || attempt >= policy.retries) throw error;
            const ceiling = policy.firstDelayMs * 2 ** attempt;
            await sleep(ceiling / 2 + (Math.random() * ceiling) / 2);
          }
        }
      };
    },
  });
}
