// Refused requests are audited, but an unauthenticated flood must not turn into as many writes to
// the event store (anyone could run up the Cosmos DB bill). A token bucket per caller and
// operation records a burst, then one refusal per interval; the next record says how many were
// skipped. Every refusal is still counted in the security.refusals metric. Per process: with N
// instances the rate is at most N times this.

export interface RefusalDecision {
  record: boolean;
  /** Refusals of this key skipped since the last recorded one (only when record is true). */
  suppressed: number;
}

interface Bucket {
  tokens: number;
  updatedAt: number;
  suppressed: number;
}

export class RefusalLimiter {
  readonly #buckets = new Map<string, Bucket>();

  constructor(private readonly options: { burst: number; refillEveryMs: number; maxKeys: number; now?: () => number } = { burst: 10, refillEveryMs: 6_000, maxKeys: 10_000 }) {}

  take(key: string): RefusalDecision {
    const now = (this.options.now ?? Date.now)();
    let bucket = this.#buckets.get(key);
    if (!bucket) {
      // The oldest key goes first when the map is full: caller names come from configuration and
      // signed-in principals, so the map stays small unless something is very wrong.
      if (this.#buckets.size >= this.options.maxKeys) this.#buckets.delete(this.#buckets.keys().next().value!);
      bucket = { tokens: this.options.burst, updatedAt: now, suppressed: 0 };
      this.#buckets.set(key, bucket);
    } else {
      const refill = Math.floor((now - bucket.updatedAt) / this.options.refillEveryMs);
      if (refill > 0) {
        bucket.tokens = Math.min(this.options.burst, bucket.tokens + refill);
        bucket.updatedAt += refill * this.options.refillEveryMs;
      }
    }
    if (bucket.tokens <= 0) {
      bucket.suppressed++;
      return { record: false, suppressed: 0 };
    }
    bucket.tokens--;
    const suppressed = bucket.suppressed;
    bucket.suppressed = 0;
    return { record: true, suppressed };
  }
}
