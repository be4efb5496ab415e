import type { FastifyBaseLogger } from 'fastify';
import type { Clock } from '../../../lib/clock.js';
import type { JobsRepo } from '../jobs.repo.js';
import type { JobRecord } from '../jobs.types.js';
import type { JobExecutor, JobOutcome } from '../run/job-executor.js';
import type { JobStore } from './job-store.js';

/** How the service hands work to whatever runs it (this process, or workers through Redis). */
export interface JobQueue {
  readonly mode: 'embedded' | 'distributed';
  /** After a restart: re-adopts or settles jobs left running, then starts dispatching. */
  start(): Promise<void>;
  enqueued(job: JobRecord): Promise<void>;
  /** Asks the runner of a running job to stop it; the outcome arrives as `cancelled`. */
  cancelRunning(job: JobRecord): Promise<boolean>;
  /** A queued job was cancelled: drop it wherever it waits. */
  dequeued?(job: JobRecord): Promise<void>;
  reprioritized(job: JobRecord): Promise<void>;
  stop(): Promise<void>;
}

export interface EmbeddedQueueDeps {
  repo: Pick<JobsRepo, 'queuedEnvironments' | 'queueHead' | 'withStatus'>;
  store: JobStore;
  executor: JobExecutor;
  /** CPU slots of an environment. */
  capacityOf(environmentId: string): number;
  clock: Clock;
  log: FastifyBaseLogger;
  /** Environments this queue runs (distributed mode leaves `local` to the workers). */
  handles?: (environmentId: string) => boolean;
}

/**
 * The default queue: jobs persist in the database; this process runs them. Per environment,
 * jobs start by priority then age while their slots fit; the head of an environment's queue
 * is never overtaken (a big optimization is not starved by a stream of small backtests).
 */
export class EmbeddedQueue implements JobQueue {
  readonly mode = 'embedded' as const;
  private readonly used = new Map<string, number>();
  private readonly inFlight = new Map<string, Promise<void>>();
  private dispatching: Promise<void> | null = null;
  private again = false;
  /** Environments whose queue changed (a job queued or reordered, a slot freed) since the last pass. */
  private readonly due = new Set<string>();
  /** Look at every environment with queued jobs (at start). */
  private everywhere = false;
  private stopped = false;

  constructor(private readonly deps: EmbeddedQueueDeps) {}

  async start(): Promise<void> {
    for (const job of await this.deps.repo.withStatus('running')) {
      if (job.runner !== 'server') continue;
      const need = Math.min(job.slots, this.deps.capacityOf(job.environmentId));
      this.take(job.environmentId, need);
      let released = false;
      const release = () => {
        if (released) return;
        released = true;
        this.used.set(job.environmentId, Math.max(0, (this.used.get(job.environmentId) ?? 0) - need));
        this.kick(job.environmentId);
      };
      this.track(job, this.deps.executor.resume(job, { progress: (p) => this.deps.store.progress(job.id, p), exited: release }), release);
    }
    this.kick();
  }

  async enqueued(job: JobRecord): Promise<void> {
    // A new job can only start in its own environment; when that one is full, a pass would
    // find nothing to do (a burst of submissions then costs no dispatch queries).
    if ((this.used.get(job.environmentId) ?? 0) >= this.deps.capacityOf(job.environmentId)) return;
    this.kick(job.environmentId);
  }

  async reprioritized(job: JobRecord): Promise<void> {
    this.kick(job.environmentId);
  }

  cancelRunning(job: JobRecord): Promise<boolean> {
    return this.deps.executor.cancel(job.id);
  }

  async stop(): Promise<void> {
    // Jobs keep running (they are detached); the next start re-adopts them.
    this.stopped = true;
    await this.dispatching;
  }

  /**
   * Coalesced: a burst of enqueues causes one pass, plus one more if work arrived meanwhile. A
   * pass looks at the environments named since the last one; without a name, at all of them.
   */
  kick(environmentId?: string): void {
    if (this.stopped) return;
    if (environmentId === undefined) this.everywhere = true;
    else this.due.add(environmentId);
    this.pass();
  }

  private pass(): void {
    if (this.dispatching) {
      this.again = true;
      return;
    }
    this.dispatching = this.dispatch()
      .catch((err: unknown) => {
        // What this pass was to look at may be lost: the next one looks everywhere.
        this.everywhere = true;
        this.deps.log.error({ err }, 'job dispatch failed');
      })
      .finally(() => {
        this.dispatching = null;
        if (this.again && !this.stopped) {
          this.again = false;
          this.pass();
        }
      });
  }

  private take(environmentId: string, slots: number): void {
    this.used.set(environmentId, (this.used.get(environmentId) ?? 0) + slots);
  }

  /**
   * Per environment with free slots, only its queue head is read (light columns, as many rows
   * as slots are free): a long queue costs nothing per pass.
   */
  private async dispatch(): Promise<void> {
    const named = [...this.due];
    const everywhere = this.everywhere;
    this.due.clear();
    this.everywhere = false;
    for (const env of everywhere ? await this.deps.repo.queuedEnvironments() : named) {
      if (this.deps.handles && !this.deps.handles(env)) continue;
      const capacity = this.deps.capacityOf(env);
      const free = capacity - (this.used.get(env) ?? 0);
      if (free <= 0) continue;
      for (const job of await this.deps.repo.queueHead(env, free)) {
        if (this.stopped) return;
        // A job larger than the whole environment still runs, alone (validation keeps that rare).
        const need = Math.min(job.slots, capacity);
        if ((this.used.get(env) ?? 0) + need > capacity) break; // the head is never overtaken
        const claimed = await this.deps.store.transition(job.id, ['queued'], { status: 'running', runner: 'server', startedAt: this.deps.clock.now().toISOString(), attempts: job.attempts + 1, progress: { fraction: null, stage: 'starting', etaSeconds: null } });
        if (!claimed) continue;
        this.take(env, need);
        let released = false;
        const release = () => {
          if (released) return;
          released = true;
          this.used.set(env, Math.max(0, (this.used.get(env) ?? 0) - need));
          this.kick(env);
        };
        this.track(
          claimed,
          this.deps.executor.run(claimed, {
            started: async (info) => {
              await this.deps.store.update(claimed.id, { pid: info.pid, processStart: info.processStart, workDir: info.workDir, logPath: info.logPath });
            },
            progress: (p) => this.deps.store.progress(claimed.id, p),
            // The CPU is free once the process ends; collecting results does not hold the slot.
            exited: release,
          }),
          release,
        );
      }
    }
  }

  private track(job: JobRecord, run: Promise<JobOutcome>, release: () => void): void {
    const done = run
      .then((outcome) => this.deps.store.finish(job.id, outcome, true))
      .catch((err: unknown) => this.deps.log.error({ err, jobId: job.id }, 'job outcome not recorded'))
      .then(() => {
        this.inFlight.delete(job.id);
        release();
      });
    this.inFlight.set(job.id, done);
  }

  /** Jobs this process runs right now (for shutdown and tests). */
  get running(): number {
    return this.inFlight.size;
  }
}
