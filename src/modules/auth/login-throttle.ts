/**
 * Counts failed logins per key (an IP, a username) in a sliding window. Past the limit the
 * key is refused until its oldest failure leaves the window. Memory is bounded: old keys are
 * pruned, and past `maxKeys` the least recently failed keys are dropped first.
 */
export class LoginThrottle {
  private readonly failures = new Map<string, number[]>();

  constructor(
    private readonly maxFailures: number,
    private readonly windowMs: number,
    private readonly maxKeys = 100_000,
  ) {}

  /** Seconds until `key` may try again, or 0 when it may try now. */
  retryAfter(key: string, now: number): number {
    const times = this.live(key, now);
    if (times.length < this.maxFailures) return 0;
    const oldest = times[times.length - this.maxFailures] ?? now;
    return Math.max(1, Math.ceil((oldest + this.windowMs - now) / 1000));
  }

  recordFailure(key: string, now: number): void {
    const times = this.live(key, now);
    times.push(now);
    // Re-insert so Map order is least-recently-failed first.
    this.failures.delete(key);
    this.failures.set(key, times.slice(-this.maxFailures));
    if (this.failures.size > this.maxKeys) {
      const oldest = this.failures.keys().next().value;
      if (oldest !== undefined) this.failures.delete(oldest);
    }
  }

  reset(key: string): void {
    this.failures.delete(key);
  }

  prune(now: number): void {
    for (const key of this.failures.keys()) this.live(key, now);
  }

  get trackedKeys(): number {
    return this.failures.size;
  }

  private live(key: string, now: number): number[] {
    const times = this.failures.get(key);
    if (!times) return [];
    const kept = times.filter((t) => t > now - this.windowMs);
    if (kept.length === 0) this.failures.delete(key);
    else if (kept.length !== times.length) this.failures.set(key, kept);
    return kept;
  }
}
