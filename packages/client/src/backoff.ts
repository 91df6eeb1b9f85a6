/**
 * How long a loop that retries waits after failures in a row: exponential, capped, and with
 * jitter, so that clients failing together (a Pod restarting) do not come back together. Each
 * loop gives its own bounds: a call's retries, the live feed's reconnections, the engine's pushes.
 */
export interface Backoff {
  /** The wait after the first failure, before jitter. */
  firstMs: number;
  /** The longest wait, before jitter. */
  maxMs: number;
}

/**
 * The wait after `failures` failures in a row (0: the first): firstMs · 2^failures up to maxMs,
 * then a random 50 to 100 % of that ("equal jitter": never less than half, so a cap still slows).
 */
export function backoffDelay(
  { firstMs, maxMs }: Backoff,
  failures: number,
  random: () => number = Math.random,
): number {
  return Math.min(maxMs, firstMs * 2 ** failures) * (0.5 + random() / 2);
}
