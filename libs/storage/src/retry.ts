/** Exponential back-off settings shared by the storage backends. */
export interface RetryPolicy {
  /** Total tries including the first, >= 1. Default 5. */
  maxAttempts: number;
  /** Delay before the first retry, in ms. Default 100. */
  baseDelayMs: number;
  /** Upper bound of any one delay, in ms. Default 10,000. */
  maxDelayMs: number;
}

export const DEFAULT_RETRY_POLICY: RetryPolicy = { maxAttempts: 5, baseDelayMs: 100, maxDelayMs: 10_000 };

/**
 * Delay in ms before retry number `retry` (1 = first retry): `baseDelayMs * 2^(retry-1)` capped at
 * `maxDelayMs`, with "equal jitter" — uniformly in [half, full] of that value — so that many
 * clients throttled together do not retry in lock-step. `random` is in [0, 1).
 */
export function backoffDelayMs(
  retry: number,
  policy: RetryPolicy,
  random: () => number = Math.random,
): number {
  const exp = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** Math.max(0, retry - 1));
  return Math.round(exp / 2 + (exp / 2) * random());
}
