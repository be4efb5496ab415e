/**
 * Counts attempts per key (an IP, a username) in a sliding window. An attempt is counted when it
 * is reserved, before the password is checked, so that concurrent attempts can never get more
 * than `maxAttempts` checks per key and window; a successful attempt gives its reservation back
 * (`release`) or clears the key (`reset`). Past the limit a key is refused until its oldest
 * attempt leaves the window. State is in memory, per process. Memory is bounded: old keys are
 * pruned, and past `maxKeys` the least recently used keys are dropped first.
 */
export class LoginThrottle {
  private readonly attempts = new Map<string, number[]>();

  constructor(
    private readonly maxAttempts: number,
    private readonly windowMs: number,
    private readonly maxKeys = 100_000,
  ) {}

  /** Seconds until `key` may try again, or 0 when it may try now. */
  retryAfter(key: string, now: number): number {
    const times = this.live(key, now);
    if (times.length < this.maxAttempts) return 0;
    const oldest = times[times.length - this.maxAttempts] ?? now;
    return Math.max(1, Math.ceil((oldest + this.windowMs - now) / 1000));
  }

  /**
   * Counts one attempt for every key, or for none when any of them is at its limit. Synchronous
   * on purpose: the check and the count cannot be split by another request. Returns 0 when the
   * attempt is reserved, else the seconds to wait.
   */
  tryReserve(keys: readonly string[], now: number): number {
    const wait = Math.max(0, ...keys.map((key) => this.retryAfter(key, now)));
    if (wait > 0) return wait;
    for (const key of keys) this.record(key, now);
    return 0;
  }

  /** Gives back one attempt reserved at `at` (it succeeded, or was never checked). */
  release(key: string, at: number): void {
    const times = this.attempts.get(key);
    if (!times) return;
    const index = times.lastIndexOf(at);
    if (index >= 0) times.splice(index, 1);
    if (times.length === 0) this.attempts.delete(key);
  }

  reset(key: string): void {
    this.attempts.delete(key);
  }

  prune(now: number): void {
    for (const key of this.attempts.keys()) this.live(key, now);
  }

  get trackedKeys(): number {
    return this.attempts.size;
  }

  private record(key: string, now: number): void {
    const times = this.live(key, now);
    times.push(now);
    // Re-insert so Map order is least-recently-used first.
    this.attempts.delete(key);
    this.attempts.set(key, times.slice(-this.maxAttempts));
    if (this.attempts.size > this.maxKeys) {
      const oldest = this.attempts.keys().next().value;
      if (oldest !== undefined) this.attempts.delete(oldest);
    }
  }

  private live(key: string, now: number): number[] {
    const times = this.attempts.get(key);
    if (!times) return [];
    const kept = times.filter((t) => t > now - this.windowMs);
    if (kept.length === 0) this.attempts.delete(key);
    else if (kept.length !== times.length) this.attempts.set(key, kept);
    return kept;
  }
}
