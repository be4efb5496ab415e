import type { Clock } from '../../lib/clock.js';
import { ConflictError } from '../../lib/errors.js';
import type { HealthCheckConfig, HealthStatus } from '../environments/environments.types.js';
import { evaluate, outcomeFromError, type CheckOutcome } from './health.fns.js';
import { MinHeap } from './min-heap.js';

/** What the scheduler knows of an environment. */
export interface HealthSubject {
  id: string;
  name: string;
  healthCheck: HealthCheckConfig;
  status: HealthStatus;
}

export interface HealthSchedulerOptions {
  /** Checks that may run at once. */
  workers: number;
  clock: Clock;
  /** Runs one check. Should give up when the signal aborts; the scheduler stops waiting anyway. */
  runCheck(subject: HealthSubject, signal: AbortSignal): Promise<CheckOutcome>;
  /** Called once per applied result, synchronously; must not wait on anything slow. */
  onResult(subject: HealthSubject, status: HealthStatus, previous: HealthStatus): void;
  /** Default latency above which a success is `degraded` (healthCheck.degradedAfter overrides it). */
  degradedThresholdMs: number;
  /** [0, 1), for the start-time jitter. */
  random?: () => number;
  /** onResult threw; the scheduler carries on. */
  onError?: (error: unknown, environmentId: string) => void;
}

export interface HealthSchedulerStats {
  /** Environments with an active check. */
  scheduled: number;
  running: number;
  /** Due checks waiting for a free worker. */
  queued: number;
  checksDone: number;
  /** How late checks started (start - due), over the last LATENESS_WINDOW starts. */
  latenessMs: { p50: number; p99: number; max: number };
}

interface Waiter {
  resolve(status: HealthStatus): void;
  reject(error: Error): void;
}

interface Running {
  /** Stops waiting for the check: its result, whenever it comes, is ignored. */
  cancel(): void;
  waiters: Waiter[];
}

class Entry {
  /** When the next periodic check is due (ms epoch): the heap key and the cadence's anchor. */
  heapKey = 0;
  heapIndex = -1;
  heapSeq = 0;
  /** Bumped when the check config changes, so the result of a check of the old config is dropped. */
  version = 0;
  queued = false;
  queueToken = 0;
  running: Running | null = null;
  /** runNow callers waiting for the next check to start. */
  waiters: Waiter[] = [];
  removed = false;

  constructor(public subject: HealthSubject) {}
}

interface QueueItem {
  entry: Entry;
  token: number;
  /** null for a manual run (runNow), which has no due time. */
  dueAt: number | null;
}

/** A FIFO with O(1) shift; invalidated items are skipped when they reach the front. */
class Fifo<T> {
  private items: (T | undefined)[] = [];
  private head = 0;

  push(item: T): void {
    this.items.push(item);
  }

  shift(): T | undefined {
    if (this.head >= this.items.length) return undefined;
    const item = this.items[this.head];
    this.items[this.head++] = undefined;
    if (this.head > 1024 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    return item;
  }

  clear(): void {
    this.items = [];
    this.head = 0;
  }
}

export const LATENESS_WINDOW = 1024;
const MAX_TIMER_MS = 2 ** 31 - 1;

const isSchedulable = (config: HealthCheckConfig) => config.enabled && config.type !== 'none';
const sameConfig = (a: HealthCheckConfig, b: HealthCheckConfig) => JSON.stringify(a) === JSON.stringify(b);

/**
 * Runs every environment's health check on its own cadence with a bounded pool of workers.
 * One timer serves all environments (a min-heap by due time); a due check waits in a FIFO
 * while every worker is busy; one environment never has two checks at once. Results go to
 * `onResult` synchronously and nothing here touches the database, so a slow database can
 * neither delay a check nor turn into false downtime.
 */
export class HealthScheduler {
  private readonly entries = new Map<string, Entry>();
  private readonly heap = new MinHeap<Entry>();
  /** Manual runs go ahead of periodic ones. */
  private readonly urgent = new Fifo<QueueItem>();
  private readonly ready = new Fifo<QueueItem>();
  private readonly random: () => number;
  private timer: NodeJS.Timeout | undefined;
  private timerAt = Infinity;
  private started = false;
  private runningCount = 0;
  private queuedCount = 0;
  private checksDone = 0;
  private readonly lateness: number[] = [];
  private latenessNext = 0;

  constructor(private readonly options: HealthSchedulerOptions) {
    if (!Number.isInteger(options.workers) || options.workers < 1) throw new RangeError('workers must be a positive integer');
    this.random = options.random ?? Math.random;
  }

  /**
   * Adds an environment or replaces its check config. A new environment's first check is due
   * after a random part of its interval, so a fleet added at once is not checked at once. A
   * changed config keeps the status the scheduler holds (the caller's copy may be stale) and
   * is rescheduled the same way; a disabled check (or type `none`) is removed.
   */
  upsert(subject: HealthSubject): void {
    const existing = this.entries.get(subject.id);
    if (!isSchedulable(subject.healthCheck)) {
      if (existing) this.remove(subject.id);
      return;
    }
    if (!existing) {
      const entry = new Entry({ ...subject });
      this.entries.set(subject.id, entry);
      entry.heapKey = this.now() + this.jitter(subject.healthCheck);
      this.heap.push(entry);
      this.arm();
      return;
    }
    const changed = !sameConfig(existing.subject.healthCheck, subject.healthCheck);
    existing.subject = { ...existing.subject, name: subject.name, healthCheck: subject.healthCheck };
    if (!changed) return;
    existing.version += 1;
    existing.heapKey = this.now() + this.jitter(subject.healthCheck);
    if (existing.running) return; // rescheduled when the running check (of the old config) ends
    if (existing.queued && existing.waiters.length > 0) return; // a manual run is about to use the new config
    this.unqueue(existing);
    this.heap.remove(existing);
    this.heap.push(existing);
    this.arm();
  }

  /** Stops an environment's checks at once; a result that arrives later is discarded. */
  remove(id: string): void {
    const entry = this.entries.get(id);
    if (!entry) return;
    this.entries.delete(id);
    entry.removed = true;
    this.heap.remove(entry);
    this.unqueue(entry);
    const stopped = new ConflictError(`health checks of environment ${id} stopped`);
    for (const waiter of entry.waiters.splice(0)) waiter.reject(stopped);
    if (entry.running) {
      for (const waiter of entry.running.waiters.splice(0)) waiter.reject(stopped);
      entry.running.cancel();
    }
  }

  /**
   * Checks now, ahead of periodic checks, and resolves with the resulting status. If a check of
   * this environment is running, the new one starts after it ends: never two at once. Before
   * start() the check waits for it.
   */
  runNow(id: string): Promise<HealthStatus> {
    const entry = this.entries.get(id);
    if (!entry) return Promise.reject(new ConflictError(`health checks are not enabled for environment ${id}`));
    return new Promise<HealthStatus>((resolve, reject) => {
      entry.waiters.push({ resolve, reject });
      if (entry.running) return; // queued when it ends
      if (entry.queued && entry.waiters.length > 1) return; // already moved ahead by an earlier runNow
      this.unqueue(entry);
      this.heap.remove(entry);
      this.enqueue(this.urgent, entry, null);
      this.dispatch();
    });
  }

  /** The status the scheduler holds, fresher than the database's copy. */
  status(id: string): HealthStatus | undefined {
    return this.entries.get(id)?.subject.status;
  }

  has(id: string): boolean {
    return this.entries.has(id);
  }

  start(): void {
    if (this.started) return;
    this.started = true;
    this.arm();
    this.dispatch();
  }

  /** Stops the timer and abandons running and queued checks; start() resumes on the same schedule. */
  stop(): void {
    this.started = false;
    clearTimeout(this.timer);
    this.timer = undefined;
    this.timerAt = Infinity;
    const stopped = new Error('health scheduler stopped');
    const now = this.now();
    for (const entry of this.entries.values()) {
      for (const waiter of entry.waiters.splice(0)) waiter.reject(stopped);
      if (entry.running) {
        for (const waiter of entry.running.waiters.splice(0)) waiter.reject(stopped);
        entry.running.cancel();
      }
      if (entry.queued) {
        entry.queued = false;
        entry.heapKey = Math.min(entry.heapKey, now);
      }
      if (!this.heap.has(entry)) this.heap.push(entry);
    }
    this.queuedCount = 0;
    this.urgent.clear();
    this.ready.clear();
  }

  stats(): HealthSchedulerStats {
    const sorted = [...this.lateness].sort((a, b) => a - b);
    const at = (p: number) => sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1))] ?? 0;
    return {
      scheduled: this.entries.size,
      running: this.runningCount,
      queued: this.queuedCount,
      checksDone: this.checksDone,
      latenessMs: { p50: at(0.5), p99: at(0.99), max: sorted[sorted.length - 1] ?? 0 },
    };
  }

  private now(): number {
    return this.options.clock.now().getTime();
  }

  private jitter(config: HealthCheckConfig): number {
    return Math.floor(this.random() * config.interval * 1000);
  }

  private enqueue(queue: Fifo<QueueItem>, entry: Entry, dueAt: number | null): void {
    entry.queued = true;
    entry.queueToken += 1;
    this.queuedCount += 1;
    queue.push({ entry, token: entry.queueToken, dueAt });
  }

  private unqueue(entry: Entry): void {
    if (!entry.queued) return;
    entry.queued = false;
    entry.queueToken += 1;
    this.queuedCount -= 1;
  }

  /** Arms the one timer for the earliest due check, if it is earlier than the armed one. */
  private arm(): void {
    if (!this.started) return;
    const top = this.heap.peek();
    if (!top || (this.timer && top.heapKey >= this.timerAt)) return;
    clearTimeout(this.timer);
    this.timerAt = top.heapKey;
    this.timer = setTimeout(() => this.onTimer(), Math.min(MAX_TIMER_MS, Math.max(0, top.heapKey - this.now())));
    this.timer.unref();
  }

  private onTimer(): void {
    this.timer = undefined;
    this.timerAt = Infinity;
    const now = this.now();
    for (let top = this.heap.peek(); top && top.heapKey <= now; top = this.heap.peek()) {
      this.heap.pop();
      this.enqueue(this.ready, top, top.heapKey);
    }
    this.dispatch();
    this.arm();
  }

  private dispatch(): void {
    if (!this.started) return;
    while (this.runningCount < this.options.workers) {
      const item = this.urgent.shift() ?? this.ready.shift();
      if (!item) return;
      const { entry } = item;
      if (entry.removed || !entry.queued || item.token !== entry.queueToken) continue;
      entry.queued = false;
      this.queuedCount -= 1;
      this.execute(entry, item.dueAt);
    }
  }

  private execute(entry: Entry, dueAt: number | null): void {
    const startedAt = this.now();
    if (dueAt !== null) this.recordLateness(startedAt - dueAt);
    this.runningCount += 1;
    const subject = entry.subject;
    const version = entry.version;
    const timeoutMs = Math.max(1, subject.healthCheck.timeout * 1000);
    const controller = new AbortController();
    let settled = false;

    const settle = (): boolean => {
      if (settled) return false;
      settled = true;
      clearTimeout(timer);
      this.runningCount -= 1;
      entry.running = null;
      return true;
    };
    const finish = (outcome: CheckOutcome) => {
      if (!settle()) return;
      this.checksDone += 1;
      this.complete(entry, version, outcome, running.waiters);
      this.dispatch();
    };
    const running: Running = {
      waiters: entry.waiters.splice(0),
      cancel: () => {
        controller.abort(new Error('check cancelled'));
        if (settle()) this.dispatch();
      },
    };
    entry.running = running;

    // A runCheck that ignores its signal must not hold a worker past the timeout.
    const timer = setTimeout(() => {
      controller.abort(new Error(`no answer within ${timeoutMs} ms`));
      finish({ ok: false, responseTimeMs: timeoutMs, message: `no answer within ${timeoutMs} ms` });
    }, timeoutMs);
    timer.unref();

    void Promise.resolve()
      .then(() => this.options.runCheck(subject, controller.signal))
      .then(finish, (error: unknown) => finish(outcomeFromError(error, this.now() - startedAt)))
      .catch((error: unknown) => this.options.onError?.(error, subject.id));
  }

  private complete(entry: Entry, version: number, outcome: CheckOutcome, waiters: Waiter[]): void {
    if (entry.removed) return;
    const current = entry.subject;
    if (version === entry.version) {
      const previous = current.status;
      const status = evaluate(previous, outcome, current.healthCheck, this.options.clock.now().toISOString(), this.options.degradedThresholdMs);
      entry.subject = { ...current, status };
      try {
        this.options.onResult(entry.subject, status, previous);
      } catch (error) {
        this.options.onError?.(error, current.id);
      }
      for (const waiter of waiters) waiter.resolve(status);
    } else {
      // The check ran with a config that has since changed: its callers get a check of the new one.
      entry.waiters.unshift(...waiters);
    }
    if (entry.waiters.length > 0) {
      this.enqueue(this.urgent, entry, null);
      return;
    }
    this.scheduleNext(entry, version !== entry.version);
  }

  /** Keeps the cadence: the next due time is the anchor plus whole intervals, after now. */
  private scheduleNext(entry: Entry, configChanged: boolean): void {
    const now = this.now();
    if (!configChanged && entry.heapKey <= now) {
      const interval = Math.max(1, entry.subject.healthCheck.interval * 1000);
      entry.heapKey += (Math.floor((now - entry.heapKey) / interval) + 1) * interval;
    }
    this.heap.push(entry);
    this.arm();
  }

  private recordLateness(ms: number): void {
    this.lateness[this.latenessNext] = Math.max(0, ms);
    this.latenessNext = (this.latenessNext + 1) % LATENESS_WINDOW;
  }
}
