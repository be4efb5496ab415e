import { mkdirSync, writeFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { dirname, join, normalize } from 'node:path';
import type { Job as BullJob, Queue, QueueEvents } from 'bullmq';
import type { Redis as RedisClient } from 'ioredis';
import type { FastifyBaseLogger } from 'fastify';
import type { Clock } from '../../../lib/clock.js';
import type { Publisher } from '../../hub/hub.js';
import { topics } from '../../hub/topics.js';
import { LOCAL_ENVIRONMENT_ID } from '../../environments/environments.types.js';
import type { EmbeddedQueue, JobQueue } from './embedded-queue.js';
import type { JobsRepo } from '../jobs.repo.js';
import type { JobRecord } from '../jobs.types.js';
import type { JobStore } from './job-store.js';
import { SMALL_FILE_BYTES } from '../results/result-files.js';
import { artifactsKey, bullPriority, cancelChannel, cancelledKey, loadBullmq, QUEUE_NAME, redisConnection, toQueuedJob, type WorkerReport, type WorkerResult } from './redis-queue.js';

export interface DistributedQueueDeps {
  url: string;
  prefix: string;
  repo: Pick<JobsRepo, 'get' | 'state' | 'withStatus' | 'queued'>;
  store: JobStore;
  /** Jobs pinned to an SSH environment still run from this server. */
  embedded: EmbeddedQueue;
  resultsRoot: string;
  publisher: Publisher;
  clock: Clock;
  log: FastifyBaseLogger;
}

const WATCHDOG_MS = 5000;
const isWorkerJob = (job: Pick<JobRecord, 'environmentId'>) => job.environmentId === LOCAL_ENVIRONMENT_ID;

/**
 * Distributed mode (`redis.url` set): jobs for `local` go to a BullMQ queue that any
 * `pbfleet worker` consumes; workers report progress through the queue and return outcomes,
 * with result files parked in Redis until this server writes them to its data dir. The
 * database stays the record: queueing and reads work while no worker is up.
 */
export class DistributedQueue implements JobQueue {
  readonly mode = 'distributed' as const;
  private queue!: Queue;
  private events!: QueueEvents;
  private redis!: RedisClient;
  private readonly settling = new Set<Promise<unknown>>();
  private watchdog: NodeJS.Timeout | null = null;

  constructor(private readonly deps: DistributedQueueDeps) {}

  async start(): Promise<void> {
    const { Queue, QueueEvents } = loadBullmq();
    const { url, prefix } = this.deps;
    this.redis = redisConnection(url);
    this.queue = new Queue(QUEUE_NAME, { connection: redisConnection(url), prefix });
    this.events = new QueueEvents(QUEUE_NAME, { connection: redisConnection(url), prefix });
    this.events.on('progress', ({ jobId, data }) => this.track(this.onReport(jobId, data as WorkerReport)));
    this.events.on('completed', ({ jobId, returnvalue }) => this.track(this.onCompleted(jobId, returnvalue as unknown as WorkerResult)));
    this.events.on('failed', ({ jobId, failedReason }) => this.track(this.onFailed(jobId, failedReason)));
    await this.events.waitUntilReady();
    await this.deps.embedded.start();
    await this.reconcile();
    this.watchdog = setInterval(() => this.track(this.findOrphans()), WATCHDOG_MS);
    this.watchdog.unref();
  }

  async enqueued(job: JobRecord): Promise<void> {
    if (!isWorkerJob(job)) return this.deps.embedded.enqueued(job);
    await this.add(job);
  }

  async reprioritized(job: JobRecord): Promise<void> {
    if (!isWorkerJob(job)) return this.deps.embedded.reprioritized(job);
    const bullJob = await this.queue.getJob(job.id);
    await bullJob?.changePriority({ priority: bullPriority(job.priority) });
  }

  async dequeued(job: JobRecord): Promise<void> {
    if (!isWorkerJob(job)) return;
    // A worker may have taken it already (it holds one job more than its slots): the mark stops it.
    await this.redis.set(cancelledKey(this.deps.prefix, job.id), '1', 'EX', 7 * 86_400);
    await (await this.queue.getJob(job.id))?.remove().catch(() => undefined);
  }

  async cancelRunning(job: JobRecord): Promise<boolean> {
    if (!isWorkerJob(job)) return this.deps.embedded.cancelRunning(job);
    // Every worker listens; the one running it stops it (SIGINT, then SIGKILL) and reports `cancelled`.
    const listeners = await this.redis.publish(cancelChannel(this.deps.prefix), job.id);
    return listeners > 0;
  }

  async stop(): Promise<void> {
    if (this.watchdog) clearInterval(this.watchdog);
    await this.deps.embedded.stop();
    await Promise.allSettled([...this.settling]);
    await Promise.allSettled([this.events?.close(), this.queue?.close()]);
    this.redis?.disconnect();
  }

  private async add(job: JobRecord): Promise<void> {
    await this.queue.add(job.type, toQueuedJob(job), { jobId: job.id, priority: bullPriority(job.priority), removeOnComplete: { count: 1000 }, removeOnFail: { count: 1000 } });
  }

  private track(work: Promise<unknown>): void {
    const settled = work.catch((err: unknown) => this.deps.log.error({ err }, 'distributed job event not recorded'));
    this.settling.add(settled);
    void settled.finally(() => this.settling.delete(settled));
  }

  private async onReport(jobId: string, report: WorkerReport): Promise<void> {
    if (!report || typeof report !== 'object') return;
    if (report.kind === 'output') {
      if (report.lines.length) this.deps.publisher.publish(topics.job(jobId), 'job_log', { id: jobId, lines: report.lines });
      if (report.progress) this.deps.store.progress(jobId, report.progress);
      return;
    }
    if (report.kind === 'progress') return this.deps.store.progress(jobId, report.progress);
    if (report.kind === 'log') return this.deps.publisher.publish(topics.job(jobId), 'job_log', { id: jobId, lines: report.lines });
    const record = await this.deps.repo.state(jobId);
    if (!record) return;
    await this.deps.store.transition(jobId, ['queued', 'running'], {
      status: 'running',
      runner: report.worker,
      startedAt: record.startedAt ?? this.deps.clock.now().toISOString(),
      attempts: record.attempts + 1,
      pid: report.pid,
      processStart: report.processStart,
      workDir: report.workDir,
      logPath: report.logPath,
      progress: { fraction: null, stage: 'starting', etaSeconds: null },
    });
  }

  private async onCompleted(jobId: string, result: WorkerResult): Promise<void> {
    const resultDir = result.artifacts > 0 ? await this.fetchArtifacts(jobId) : null;
    await this.deps.store.finish(jobId, { ...result.outcome, resultDir }, false);
  }

  private async onFailed(jobId: string, reason: string): Promise<void> {
    const record = await this.deps.repo.get(jobId);
    if (!record || !['queued', 'running'].includes(record.status)) return;
    // A worker that died mid-job leaves it stalled; BullMQ fails it (maxStalledCount 0).
    const interrupted = /stalled|lock/i.test(reason);
    if (interrupted && record.status === 'queued') {
      // Held by a worker that died before starting it: it never ran, so it is simply queued again.
      await (await this.queue.getJob(jobId))?.remove().catch(() => undefined);
      await this.add(record);
      return;
    }
    await this.deps.store.finish(jobId, { status: interrupted ? 'interrupted' : 'failed', error: interrupted ? `its worker stopped while running it (${reason})` : reason, result: null, resultDir: null }, true);
    const after = await this.deps.repo.get(jobId);
    if (after?.status === 'queued') {
      await (await this.queue.getJob(jobId))?.remove().catch(() => undefined);
      await this.add(after);
    }
  }

  /** The worker's result files, written under this server's data dir. */
  private async fetchArtifacts(jobId: string): Promise<string> {
    const key = artifactsKey(this.deps.prefix, jobId);
    const files = await this.redis.hgetallBuffer(key);
    const root = join(this.deps.resultsRoot, jobId);
    const made = new Set<string>();
    for (const [name, content] of Object.entries(files)) {
      const path = normalize(join(root, name));
      if (!path.startsWith(`${root}/`)) continue; // a hostile name cannot write outside the job's dir
      if (!made.has(dirname(path))) mkdirSync(dirname(path), { recursive: true });
      made.add(dirname(path));
      // Small files in one synchronous call (a short run's are a few KiB); big ones through the pool.
      if (content.length <= SMALL_FILE_BYTES) writeFileSync(path, content);
      else await writeFile(path, content);
    }
    await this.redis.del(key);
    return root;
  }

  /**
   * A worker that dies mid-job stops renewing its lock; BullMQ only notices that from another
   * worker. With none left, the server does: a running job without a lock was interrupted.
   */
  private async findOrphans(): Promise<void> {
    for (const record of (await this.deps.repo.withStatus('running')).filter(isWorkerJob)) {
      const bullJob = await this.queue.getJob(record.id);
      const state = bullJob ? await bullJob.getState() : 'missing';
      if (state !== 'active' && state !== 'missing') continue;
      const locked = await this.redis.exists(`${this.deps.prefix}:${QUEUE_NAME}:${record.id}:lock`);
      if (locked) continue;
      await bullJob?.remove().catch(() => undefined);
      await this.onFailed(record.id, 'job stalled: its worker stopped renewing the lock');
    }
  }

  /**
   * After a server restart: events missed while it was down are settled from the queue's own
   * state; queued jobs the queue lost are added again; nothing stays `running` for a job the
   * queue no longer knows.
   */
  private async reconcile(): Promise<void> {
    const open = [...(await this.deps.repo.withStatus('queued')), ...(await this.deps.repo.withStatus('running'))].filter(isWorkerJob);
    for (const record of open) {
      const bullJob: BullJob | undefined = await this.queue.getJob(record.id);
      const state = bullJob ? await bullJob.getState() : 'missing';
      if (state === 'completed' && bullJob) await this.onCompleted(record.id, bullJob.returnvalue as WorkerResult);
      else if (state === 'failed' && bullJob) await this.onFailed(record.id, bullJob.failedReason);
      else if (state === 'missing' && record.status === 'queued') await this.add(record);
      else if (state === 'missing') await this.deps.store.finish(record.id, { status: 'interrupted', error: 'the queue no longer knows this job', result: null, resultDir: null }, true);
    }
  }
}
