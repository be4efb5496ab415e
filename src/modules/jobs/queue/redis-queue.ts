import { createRequire } from 'node:module';
import type * as BullTypes from 'bullmq';
import type * as IORedis from 'ioredis';
import type { Redis as RedisClient, RedisOptions } from 'ioredis';
import type { JobProgress, JobRecord } from '../jobs.types.js';
import type { JobOutcome, JobStarted } from '../run/job-executor.js';

/** The BullMQ queue every worker consumes. */
export const QUEUE_NAME = 'jobs';

/** What a worker reports through `job.updateProgress`. */
/**
 * What a worker says about a running job. `output` carries the log lines and the latest progress
 * gathered since the last report; `progress` and `log` are what workers before it sent.
 */
export type WorkerReport =
  | ({ kind: 'started'; worker: string } & JobStarted)
  | { kind: 'output'; lines: string[]; progress: JobProgress | null }
  | { kind: 'progress'; progress: JobProgress }
  | { kind: 'log'; lines: string[] };

/** What a worker returns: the outcome, its result files left in Redis under `artifactsKey`. */
export interface WorkerResult {
  outcome: Omit<JobOutcome, 'resultDir'>;
  worker: string;
  artifacts: number;
}

/** The job record a worker needs (no host paths of the server). */
export type QueuedJob = Pick<JobRecord, 'id' | 'type' | 'name' | 'params' | 'slots' | 'priority' | 'createdAt' | 'startedAt' | 'environmentId' | 'requeueOnInterrupt' | 'attempts'>;

export const artifactsKey = (prefix: string, jobId: string) => `${prefix}:artifacts:${jobId}`;
export const cancelChannel = (prefix: string) => `${prefix}:cancel`;
/** Set when a queued job is cancelled: a worker that took it meanwhile does not start it. */
export const cancelledKey = (prefix: string, jobId: string) => `${prefix}:cancelled:${jobId}`;

/** BullMQ runs 1 (first) .. 2^21; pbfleet's priority is -100 (last) .. 100 (first). */
export const bullPriority = (priority: number) => 101 - Math.max(-100, Math.min(100, priority));

// Loaded on first use: a server without redis.url never pays for them.
const requireCjs = createRequire(import.meta.url);
let bull: typeof BullTypes | undefined;
let ioredis: typeof IORedis | undefined;
export const loadBullmq = (): typeof BullTypes => (bull ??= requireCjs('bullmq') as typeof BullTypes);

/** BullMQ needs `maxRetriesPerRequest: null` on connections that block (workers, events). */
export function redisConnection(url: string, options: RedisOptions = {}): RedisClient {
  ioredis ??= requireCjs('ioredis') as typeof IORedis;
  const { Redis } = ioredis;
  return new Redis(url, { maxRetriesPerRequest: null, enableReadyCheck: true, lazyConnect: false, ...options });
}

export function toQueuedJob(job: JobRecord): QueuedJob {
  const { id, type, name, params, slots, priority, createdAt, startedAt, environmentId, requeueOnInterrupt, attempts } = job;
  return { id, type, name, params, slots, priority, createdAt, startedAt, environmentId, requeueOnInterrupt, attempts };
}
