/** What to write to the audit log about refused attempts for one throttled key. */
export interface RefusalEntry {
  key: string;
  /** Refusals this entry is about. */
  count: number;
  /** True for the first refusal of a window, written at once; false for the counted rest. */
  first: boolean;
  since: number;
  until: number;
  ip: string | null;
  /** Usernames tried, a few at most (an IP key sees many). */
  usernames: string[];
}

interface Window {
  startedAt: number;
  lastAt: number;
  pending: number;
  ip: string | null;
  usernames: Set<string>;
}

const MAX_USERNAMES = 5;

/**
 * Turns refusals of a throttled key into a bounded number of audit entries: the first refusal
 * of a window is written at once, the later ones are only counted and written as one entry
 * ("N attempts refused") when the window ends, at a periodic flush, or at shutdown. So nobody
 * without a login can write more than two entries per key and window, however fast they try.
 * Memory is bounded: past `maxKeys` the oldest window is evicted and its count moves into one
 * untracked total, written as one entry at the next flush.
 */
export class RefusalLog {
  private readonly windows = new Map<string, Window>();
  private overflow: Omit<Window, 'usernames' | 'ip'> | undefined;

  constructor(
    private readonly windowMs: number,
    private readonly maxKeys = 10_000,
  ) {}

  /**
   * Counts one refusal; returns what to write now: the previous window's count when it ended,
   * and this refusal when it opens a new window. Usually nothing.
   */
  refuse(key: string, at: { now: number; ip: string | null; username: string }): RefusalEntry[] {
    const out: RefusalEntry[] = [];
    const current = this.windows.get(key);
    if (current && at.now - current.startedAt < this.windowMs) {
      current.pending += 1;
      current.lastAt = at.now;
      if (current.usernames.size < MAX_USERNAMES) current.usernames.add(at.username);
      return out;
    }
    if (current) {
      const ended = this.close(key, current);
      if (ended) out.push(ended);
    }
    this.windows.set(key, { startedAt: at.now, lastAt: at.now, pending: 0, ip: at.ip, usernames: new Set([at.username]) });
    if (this.windows.size > this.maxKeys) this.evictOldest();
    out.push({ key, count: 1, first: true, since: at.now, until: at.now, ip: at.ip, usernames: [at.username] });
    return out;
  }

  /** Closes the windows that ended by `now` (all of them when `all`); returns their counts. */
  flush(now: number, all = false): RefusalEntry[] {
    const out: RefusalEntry[] = [];
    for (const [key, window] of this.windows) {
      if (!all && now - window.startedAt < this.windowMs) continue;
      const ended = this.close(key, window);
      if (ended) out.push(ended);
    }
    if (this.overflow) {
      const { startedAt, lastAt, pending } = this.overflow;
      this.overflow = undefined;
      out.push({ key: 'untracked', count: pending, first: false, since: startedAt, until: lastAt, ip: null, usernames: [] });
    }
    return out;
  }

  get trackedKeys(): number {
    return this.windows.size;
  }

  private close(key: string, window: Window): RefusalEntry | undefined {
    this.windows.delete(key);
    if (window.pending === 0) return undefined;
    return { key, count: window.pending, first: false, since: window.startedAt, until: window.lastAt, ip: window.ip, usernames: [...window.usernames] };
  }

  private evictOldest(): void {
    const [key, window] = this.windows.entries().next().value as [string, Window];
    this.windows.delete(key);
    if (window.pending === 0) return;
    const o = (this.overflow ??= { startedAt: window.startedAt, lastAt: window.lastAt, pending: 0 });
    o.pending += window.pending;
    o.startedAt = Math.min(o.startedAt, window.startedAt);
    o.lastAt = Math.max(o.lastAt, window.lastAt);
  }
}
