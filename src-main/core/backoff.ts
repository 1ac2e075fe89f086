/**
 * How long to wait before the next try of something that keeps failing: the one backoff rule
 * of the code base (horde pops and deliveries, ratings sync and prefetch, model downloads).
 * Each caller names its own numbers in a {@link BackoffPolicy}.
 */
export interface BackoffPolicy {
  /** The wait after the first failure (attempt 0); each later attempt doubles it. */
  baseMs: number;
  /** No computed wait is longer. */
  capMs: number;
  /**
   * Doubling stops after this many steps, so a small base never grows past base·2^maxDoublings
   * even below the cap. Absent: it doubles until the cap.
   */
  maxDoublings?: number;
  /**
   * When set, a positive server `Retry-After` replaces the computed wait, capped at this (a server
   * asking for hours would park the caller unattended). Absent: `Retry-After` is not considered.
   */
  retryAfterCapMs?: number;
}

/**
 * The wait before retry number `attempt + 1`: `min(capMs, baseMs · 2^min(attempt, maxDoublings))`,
 * with a negative attempt counted as 0; or the server's `Retry-After` (capped) where the policy
 * honours one and it is positive.
 */
export function backoffMs(policy: BackoffPolicy, attempt: number, retryAfterMs?: number | null): number {
  if (policy.retryAfterCapMs !== undefined && retryAfterMs !== null && retryAfterMs !== undefined && retryAfterMs > 0) {
    return Math.min(retryAfterMs, policy.retryAfterCapMs);
  }
  const doublings = Math.min(Math.max(0, attempt), policy.maxDoublings ?? Number.POSITIVE_INFINITY);
  return Math.min(policy.capMs, policy.baseMs * 2 ** doublings);
}
