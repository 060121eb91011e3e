/**
 * Reconnect delays: capped exponential backoff with jitter. The jitter only shortens a delay (by
 * up to `jitter`·delay), so many nodes restarting together spread out, the cap is never exceeded,
 * and — with jitter ≤ 0.5 — each delay below the cap is longer than the one before.
 */

export interface BackoffOptions {
  /** First delay (ms). */
  initialDelay: number;
  /** Cap (ms). */
  maxDelay: number;
  /** 0…0.5: the share of each delay that is random. */
  jitter: number;
}

export const DEFAULT_BACKOFF: BackoffOptions = { initialDelay: 1000, maxDelay: 60_000, jitter: 0.25 };

/**
 * The delay before retry number `attempt` (0 = first retry).
 *
 * @example
 * backoffDelay(0, DEFAULT_BACKOFF); // 750…1000
 * backoffDelay(10, DEFAULT_BACKOFF); // 45000…60000
 */
export function backoffDelay(
  attempt: number,
  options: BackoffOptions = DEFAULT_BACKOFF,
  random: () => number = Math.random,
): number {
  const exponent = Math.min(Math.max(0, attempt), 52);
  const raw = Math.min(options.maxDelay, options.initialDelay * 2 ** exponent);
  const jitter = Math.min(Math.max(options.jitter, 0), 0.5);
  return Math.round(raw * (1 - jitter * random()));
}
