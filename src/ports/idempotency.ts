// The idempotent receiver's memory: keys of messages whose effect has been applied, kept for a
// TTL, so a redelivered message (same messageId) — even after a restart — has its effect once.

export interface IdempotencyStore {
  /** Whether the key was recorded and has not expired. */
  has(key: string): Promise<boolean>;
  /** Records the key; resolves once it is durable. */
  record(key: string, ttlSeconds: number): Promise<void>;
}

export const IDEMPOTENCY_TTL_SECONDS = 7 * 24 * 3600;
