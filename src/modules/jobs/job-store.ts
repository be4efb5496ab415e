import type { Clock } from '../../lib/clock.js';
import type { Publisher } from '../hub/hub.js';
import { topics } from '../hub/topics.js';
import type { JobPatch, JobsRepo } from './jobs.repo.js';
import type { Job, JobProgress, JobRecord, JobStatus } from './jobs.types.js';
import type { JobOutcome } from './job-executor.js';

/** The public view: no pids or host paths. */
export function toPublicJob(record: JobRecord): Job {
  const { pid: _pid, processStart: _start, workDir: _work, resultDir: _result, ...job } = record;
  return job;
}

/** Small enough for every subscriber: the result summary stays behind its own route. */
export function jobEvent(record: JobRecord) {
  const { result: _result, params: _params, ...rest } = toPublicJob(record);
  return rest;
}

const PROGRESS_WRITE_MS = 1000;

/**
 * Job state writes, each told to hub subscribers (`jobs`, `job:<id>`). Progress arrives many
 * times a second: every update is published, the database gets at most one per second.
 */
export function createJobStore(deps: { repo: JobsRepo; publisher: Publisher; clock: Clock }) {
  const { repo, publisher } = deps;
  const lastWrite = new Map<string, number>();
  /** Progress writes in flight per job: the final write waits for them, so none lands after it. */
  const writing = new Map<string, Promise<unknown>>();
  const now = () => deps.clock.now().toISOString();

  const notify = (type: string, record: JobRecord) => {
    const event = jobEvent(record);
    publisher.publish(topics.jobs, type, event);
    publisher.publish(topics.job(record.id), type, event);
  };

  return {
    notify,
    get: (id: string) => repo.get(id),
    async update(id: string, patch: JobPatch): Promise<JobRecord | undefined> {
      const record = await repo.update(id, patch);
      if (record) notify('job_updated', record);
      return record;
    },
    /** Atomic move between statuses (a claim, a cancel of a queued job); false when it lost. */
    async transition(id: string, from: readonly JobStatus[], patch: JobPatch & { status: JobStatus }): Promise<JobRecord | undefined> {
      if (!(await repo.transition(id, from, patch))) return undefined;
      const record = await repo.get(id);
      if (record) notify('job_updated', record);
      return record;
    },
    progress(id: string, progress: JobProgress): void {
      publisher.publish(topics.job(id), 'job_progress', { id, progress });
      const at = Date.now();
      if (at - (lastWrite.get(id) ?? 0) < PROGRESS_WRITE_MS && progress.fraction !== 1) return;
      lastWrite.set(id, at);
      const write = (writing.get(id) ?? Promise.resolve()).then(() => repo.update(id, { progress })).catch(() => undefined);
      writing.set(id, write);
      void write.then(() => {
        if (writing.get(id) === write) writing.delete(id);
      });
      publisher.publish(topics.jobs, 'job_progress', { id, progress });
    },
    async finish(id: string, outcome: JobOutcome, requeue: boolean): Promise<JobRecord | undefined> {
      lastWrite.delete(id);
      await writing.get(id);
      const current = await repo.get(id);
      if (!current) return undefined;
      if (outcome.status === 'interrupted' && requeue && current.requeueOnInterrupt) {
        return this.update(id, { status: 'queued', error: outcome.error, pid: null, processStart: null, runner: null, startedAt: null, progress: { fraction: null, stage: 'queued (requeued after an interruption)', etaSeconds: null } });
      }
      const progress = outcome.status === 'completed' ? { ...current.progress, fraction: 1, stage: 'complete', etaSeconds: 0 } : current.progress;
      return this.update(id, { status: outcome.status, error: outcome.error, result: outcome.result, resultDir: outcome.resultDir, finishedAt: now(), pid: null, processStart: null, progress });
    },
  };
}

export type JobStore = ReturnType<typeof createJobStore>;
