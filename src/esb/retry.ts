// Retries of transient failures are re-enqueued copies with a scheduled enqueue time — the
// function never sleeps. Delays grow exponentially with "equal jitter": attempt n waits between
// half and all of min(max, initial · 2^(n-1)), so retries of many messages spread out.

export interface BackoffPolicy {
  initialIntervalMs: number;
  maxIntervalMs: number;
}

export const DEFAULT_BACKOFF: BackoffPolicy = { initialIntervalMs: 1_000, maxIntervalMs: 5 * 60_000 };

export function backoffCeilingMs(attempt: number, policy: BackoffPolicy): number {
  return Math.min(policy.maxIntervalMs, policy.initialIntervalMs * 2 ** Math.max(0, attempt - 1));
}

/** The delay before retry `attempt` (1 = the first retry); random() in [0, 1). */
export function retryDelayMs(attempt: number, policy: BackoffPolicy, random: () => number = Math.random): number {
  const ceiling = backoffCeilingMs(attempt, policy);
  return Math.round(ceiling / 2 + (ceiling / 2) * random());
}

/** Properties a retried copy carries, so the next attempt knows where it stands. */
export const RETRY_PROPERTIES = {
  attempt: 'x-retry-attempt',
  firstFailure: 'x-first-failure-time',
  lastError: 'x-last-error',
} as const;
