import type { Clock } from '../../lib/clock.js';
import type { AuditInput } from '../audit/audit.service.js';
import type { HealthStatus } from '../environments/environments.types.js';
import type { Publisher } from '../hub/hub.js';
import { topics } from '../hub/topics.js';
import { addHours, HOUR_MS, healthChange, hourStart } from './health.fns.js';
import type { HealthRepo, HealthSample, StatusUpdate } from './health.repo.js';

/** What the recorder logs through (a Fastify/pino logger fits). */
export interface RecorderLog {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

export interface HealthRecorderOptions {
  repo: Pick<HealthRepo, 'writeBatch' | 'rollupHour' | 'purge' | 'lastRolledHour' | 'oldestSampleTs'>;
  publisher: Publisher;
  audit: { record(input: AuditInput): Promise<unknown> };
  clock: Clock;
  log: RecorderLog;
  sampleRetentionMs: number;
  hourlyRetentionDays: number;
  /** How often buffered results are written (default 1 s). */
  flushIntervalMs?: number;
  /** How often rollups and the retention purge run (default 1 min). */
  maintenanceIntervalMs?: number;
  /** Samples held while the database is behind; the oldest go first (default 100,000). */
  maxBufferedSamples?: number;
  /** Health-change audit entries held while the database is behind (default 10,000). */
  maxBufferedAudits?: number;
  /**
   * Samples written per flush (default 5,000). A backlog drains over several flushes: SQLite
   * writes block the event loop, and one huge transaction would skew the timing of checks.
   */
  maxBatchSamples?: number;
}

export interface HealthRecorderStats {
  bufferedSamples: number;
  bufferedStatuses: number;
  bufferedAudits: number;
  droppedSamples: number;
  droppedAudits: number;
  failedFlushes: number;
  lastFlushAt: string | null;
}

/** A FIFO of samples that drops its oldest past a bound. */
class SampleBuffer {
  private items: HealthSample[] = [];
  private head = 0;

  constructor(private readonly max: number) {}

  get size(): number {
    return this.items.length - this.head;
  }

  /** Appends, returning how many old samples were dropped to make room. */
  push(samples: readonly HealthSample[]): number {
    for (const sample of samples) this.items.push(sample);
    const excess = this.size - this.max;
    if (excess <= 0) return 0;
    this.head += excess;
    if (this.head > 4096 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    return excess;
  }

  /** Removes and returns the oldest `max` samples (all by default). */
  take(max = Infinity): HealthSample[] {
    if (max >= this.size) {
      const all = this.items.slice(this.head);
      this.items = [];
      this.head = 0;
      return all;
    }
    const some = this.items.slice(this.head, this.head + max);
    this.head += max;
    return some;
  }
}

const LOG_EVERY_N_FAILURES = 60;

/**
 * Between the scheduler and the database. Results are published on the hub at once and kept
 * in memory; a loop writes them in one transaction every second. Checks therefore never wait
 * on the database: when it is slow or down, statuses keep flowing to clients, the buffer keeps
 * the latest status of each environment and a bounded number of samples, and writing resumes
 * where it stopped. The same lane runs hourly rollups and the retention purge.
 */
export class HealthRecorder {
  private readonly samples: SampleBuffer;
  private statuses = new Map<string, StatusUpdate>();
  private audits: AuditInput[] = [];
  private readonly timers: NodeJS.Timeout[] = [];
  private lane: Promise<unknown> = Promise.resolve();
  /** Hours already rolled up (undefined until read from the database). */
  private rolledThrough: string | undefined;
  /** Rolled-up hours that received samples since: rolled up again. */
  private readonly dirtyHours = new Set<string>();
  private droppedSamples = 0;
  private droppedAudits = 0;
  private droppedSinceWarning = 0;
  private failedFlushes = 0;
  private consecutiveFailures = 0;
  private lastFlushAt: string | null = null;

  constructor(private readonly options: HealthRecorderOptions) {
    this.samples = new SampleBuffer(options.maxBufferedSamples ?? 100_000);
  }

  /** Takes one result: publishes it now, writes it later. Never blocks, never throws on storage. */
  record(environment: { id: string; name: string }, status: HealthStatus, previous: HealthStatus): void {
    const payload = { environmentId: environment.id, status };
    this.options.publisher.publish(topics.environments, 'health', payload);
    this.options.publisher.publish(topics.environment(environment.id), 'health', payload);

    const dropped = this.samples.push([
      {
        environmentId: environment.id,
        ts: status.lastCheck ?? this.options.clock.now().toISOString(),
        health: status.health,
        responseTime: status.responseTime,
        message: status.message || null,
      },
    ]);
    this.droppedSamples += dropped;
    this.droppedSinceWarning += dropped;
    this.statuses.set(environment.id, { id: environment.id, status });

    const change = healthChange(environment, previous, status);
    if (change) {
      this.audits.push(change);
      const max = this.options.maxBufferedAudits ?? 10_000;
      if (this.audits.length > max) this.droppedAudits += this.audits.splice(0, this.audits.length - max).length;
    }
  }

  start(): void {
    if (this.timers.length > 0) return;
    this.every(this.options.flushIntervalMs ?? 1000, () => this.flush());
    this.every(this.options.maintenanceIntervalMs ?? 60_000, () => this.maintain());
  }

  /**
   * Stops the loops and writes what is buffered, waiting at most timeoutMs for the database
   * (a hung database must not hold up shutdown).
   */
  async stop(timeoutMs = 10_000): Promise<void> {
    for (const timer of this.timers.splice(0)) clearInterval(timer);
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), timeoutMs)));
    const drain = async () => {
      while (this.samples.size > 0 || this.statuses.size > 0 || this.audits.length > 0) if (!(await this.flush())) return false;
      return true;
    };
    const written = await Promise.race([drain(), deadline]);
    clearTimeout(timer);
    if (!written) {
      this.options.log.error({ samples: this.samples.size, statuses: this.statuses.size, audits: this.audits.length }, 'health results could not be written before shutdown');
    }
  }

  /**
   * Writes the buffered statuses and audit entries and up to maxBatchSamples samples (the
   * oldest); true when that batch was written. Runs after any flush or maintenance in progress.
   */
  flush(): Promise<boolean> {
    return this.serial(() => this.flushNow());
  }

  /** Rolls up completed hours not rolled up yet (and those that got late samples), then purges. */
  maintain(): Promise<void> {
    return this.serial(() => this.maintainNow());
  }

  stats(): HealthRecorderStats {
    return {
      bufferedSamples: this.samples.size,
      bufferedStatuses: this.statuses.size,
      bufferedAudits: this.audits.length,
      droppedSamples: this.droppedSamples,
      droppedAudits: this.droppedAudits,
      failedFlushes: this.failedFlushes,
      lastFlushAt: this.lastFlushAt,
    };
  }

  private every(ms: number, task: () => Promise<unknown>): void {
    let busy = false;
    const timer = setInterval(() => {
      if (busy) return;
      busy = true;
      task()
        .catch((err: unknown) => this.options.log.error({ err }, 'health recorder task failed'))
        .finally(() => {
          busy = false;
        });
    }, ms);
    timer.unref();
    this.timers.push(timer);
  }

  private serial<T>(task: () => Promise<T>): Promise<T> {
    const run = this.lane.then(task, task);
    this.lane = run.catch(() => undefined);
    return run;
  }

  private async flushNow(): Promise<boolean> {
    if (this.droppedSinceWarning > 0) {
      this.options.log.warn({ dropped: this.droppedSinceWarning, total: this.droppedSamples }, 'health samples dropped: the database is not keeping up');
      this.droppedSinceWarning = 0;
    }
    if (this.samples.size > 0 || this.statuses.size > 0) {
      const samples = this.samples.take(this.options.maxBatchSamples ?? 5000);
      const statuses = this.statuses;
      this.statuses = new Map();
      try {
        await this.options.repo.writeBatch({ samples, statuses: [...statuses.values()] });
      } catch (err) {
        this.restore(samples, statuses);
        this.failed(err);
        return false;
      }
      this.markDirty(samples);
    }
    while (this.audits.length > 0) {
      try {
        await this.options.audit.record(this.audits[0] as AuditInput);
      } catch (err) {
        this.failed(err);
        return false;
      }
      this.audits.shift();
    }
    if (this.consecutiveFailures > 0) this.options.log.info({ failures: this.consecutiveFailures }, 'health results are being written again');
    this.consecutiveFailures = 0;
    this.lastFlushAt = this.options.clock.now().toISOString();
    return true;
  }

  /** Puts a batch that failed back in front of what arrived meanwhile; newer statuses win. */
  private restore(samples: HealthSample[], statuses: Map<string, StatusUpdate>): void {
    const newer = this.samples.take();
    const dropped = this.samples.push(samples.concat(newer));
    this.droppedSamples += dropped;
    this.droppedSinceWarning += dropped;
    for (const [id, update] of statuses) if (!this.statuses.has(id)) this.statuses.set(id, update);
  }

  private failed(err: unknown): void {
    this.failedFlushes += 1;
    this.consecutiveFailures += 1;
    // Every LOG_EVERY_N_FAILURES failures (a minute at the default interval) is enough while the database stays down.
    if (this.consecutiveFailures % LOG_EVERY_N_FAILURES === 1) {
      this.options.log.error({ err, failures: this.consecutiveFailures, buffered: this.samples.size }, 'health results could not be written; retrying');
    }
  }

  private markDirty(samples: readonly HealthSample[]): void {
    if (this.rolledThrough === undefined) return;
    for (const sample of samples) {
      const hour = hourStart(sample.ts);
      if (hour <= this.rolledThrough) this.dirtyHours.add(hour);
    }
  }

  private async maintainNow(): Promise<void> {
    const now = this.options.clock.now();
    const lastCompleted = addHours(hourStart(now), -1);
    // Hours whose samples are gone cannot be rolled up.
    const oldestKept = hourStart(new Date(now.getTime() - this.options.sampleRetentionMs));
    if (this.rolledThrough === undefined) {
      const last = await this.options.repo.lastRolledHour();
      const oldest = last ? null : await this.options.repo.oldestSampleTs();
      this.rolledThrough = last ?? (oldest ? addHours(hourStart(oldest), -1) : lastCompleted);
    }
    const hours = new Set([...this.dirtyHours].filter((h) => h >= oldestKept && h <= lastCompleted));
    this.dirtyHours.clear();
    const first = this.rolledThrough < oldestKept ? oldestKept : addHours(this.rolledThrough, 1);
    for (let hour = first; hour <= lastCompleted; hour = addHours(hour, 1)) hours.add(hour);
    for (const hour of [...hours].sort()) {
      try {
        await this.options.repo.rollupHour(hour);
      } catch (err) {
        // Tried again next time.
        for (const h of hours) if (h <= (this.rolledThrough ?? '')) this.dirtyHours.add(h);
        throw err;
      }
      if (hour > (this.rolledThrough ?? '')) this.rolledThrough = hour;
    }
    const purged = await this.options.repo.purge(
      new Date(now.getTime() - this.options.sampleRetentionMs).toISOString(),
      new Date(now.getTime() - this.options.hourlyRetentionDays * 24 * HOUR_MS).toISOString(),
    );
    if (purged.samples > 0 || purged.hourly > 0) this.options.log.info(purged, 'health history past retention deleted');
  }
}
