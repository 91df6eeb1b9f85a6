/** A token bucket per key: up to `perHour` at once, refilled continuously at `perHour` an hour. */
export class HourlyBudget {
  private readonly buckets = new Map<string, { tokens: number; at: number }>();

  constructor(
    private readonly perHour: number,
    private readonly now: () => number = Date.now,
  ) {}

  /** Spends `count` tokens and returns 0, or spends none and returns the seconds until `count` will be there. */
  spend(key: string, count: number): number {
    const now = this.now();
    const perMs = this.perHour / 3_600_000;
    const last = this.buckets.get(key);
    const tokens = last ? Math.min(this.perHour, last.tokens + (now - last.at) * perMs) : this.perHour;
    if (tokens < count) {
      this.buckets.set(key, { tokens, at: now });
      return Math.max(1, Math.ceil((count - tokens) / perMs / 1000));
    }
    this.buckets.set(key, { tokens: tokens - count, at: now });
    return 0;
  }
}
