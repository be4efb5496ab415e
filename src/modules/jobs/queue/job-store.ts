import type { Clock } from '../../../lib/clock.js';
import type { Publisher } from '../../hub/hub.js';
import { topics } from '../../hub/topics.js';
import type { JobPatch, JobsRepo } from '../jobs.repo.js';
import type { Job, JobProgress, JobRecord, JobState, JobStatus } from '../jobs.types.js';
import type { JobOutcome } from '../run/job-executor.js';

/** The public view: no pids or host paths. */
export function toPublicJob(record: JobRecord): Job {
  const { pid: _pid, processStart: _start, workDir: _work, resultDir: _result, ...job } = record;
  return job;
}

/** Small enough for every subscriber: no params, and the result summary stays behind its own route. */
export function jobEvent(record: JobState | JobRecord) {
  const { pid: _pid, processStart: _start, workDir: _work, resultDir: _dir, params: _params, result: _result, ...event } = record as JobState & Partial<JobRecord>;
  return event;
}

const PROGRESS_WRITE_MS = 1000;

/**
 * Job state writes, each told to hub subscribers (`jobs`, `job:<id>`). Progress arrives many
 * times a second: every update is published at once, and the database gets the latest one at
 * most once a second (a job shorter than that gets none until its final write).
 */
export function createJobStore(deps: { repo: JobsRepo; publisher: Publisher; clock: Clock }) {
  const { repo, publisher } = deps;
  /** Progress not yet written, per job, and the timer that writes it. */
  const unwritten = new Map<string, { progress: JobProgress; timer: NodeJS.Timeout }>();
  /** Progress writes in flight per job: the final write waits for them, so none lands after it. */
  const writing = new Map<string, Promise<unknown>>();
  const now = () => deps.clock.now().toISOString();

  const notify = (type: string, record: JobState) => {
    const event = jobEvent(record);
    publisher.publish(topics.jobs, type, event);
    publisher.publish(topics.job(record.id), type, event);
  };

  const writeProgress = (id: string) => {
    const pending = unwritten.get(id);
    if (!pending) return;
    unwritten.delete(id);
    const write = (writing.get(id) ?? Promise.resolve()).then(() => repo.progress(id, pending.progress)).catch(() => undefined);
    writing.set(id, write);
    void write.then(() => {
      if (writing.get(id) === write) writing.delete(id);
    });
    publisher.publish(topics.jobs, 'job_progress', { id, progress: pending.progress });
  };

  return {
    notify,
    get: (id: string) => repo.get(id),
    async update(id: string, patch: JobPatch): Promise<JobState | undefined> {
      const record = await repo.update(id, patch);
      if (record) notify('job_updated', record);
      return record;
    },
    /** Atomic move between statuses (a claim, a cancel of a queued job); undefined when it lost. */
    async transition(id: string, from: readonly JobStatus[], patch: JobPatch & { status: JobStatus }): Promise<JobRecord | undefined> {
      const record = await repo.transition(id, from, patch);
      if (record) notify('job_updated', record);
      return record;
    },
    /** Published to `job:<id>` now; written (and told to `jobs`) within a second, the latest value. */
    progress(id: string, progress: JobProgress): void {
      publisher.publish(topics.job(id), 'job_progress', { id, progress });
      const pending = unwritten.get(id);
      if (pending) pending.progress = progress;
      else unwritten.set(id, { progress, timer: setTimeout(() => writeProgress(id), PROGRESS_WRITE_MS).unref() });
    },
    async finish(id: string, outcome: JobOutcome, requeue: boolean): Promise<JobState | undefined> {
      const pending = unwritten.get(id);
      if (pending) clearTimeout(pending.timer);
      unwritten.delete(id);
      await writing.get(id);
      const current = await repo.state(id);
      if (!current) return undefined;
      if (outcome.status === 'interrupted' && requeue && current.requeueOnInterrupt) {
        return this.update(id, { status: 'queued', error: outcome.error, pid: null, processStart: null, runner: null, startedAt: null, progress: { fraction: null, stage: 'queued (requeued after an interruption)', etaSeconds: null } });
      }
      const last = pending?.progress ?? current.progress;
      const progress = outcome.status === 'completed' ? { ...last, fraction: 1, stage: 'complete', etaSeconds: 0 } : last;
      return this.update(id, { status: outcome.status, error: outcome.error, result: outcome.result, resultDir: outcome.resultDir, finishedAt: now(), pid: null, processStart: null, progress });
    },
  };
}

export type JobStore = ReturnType<typeof createJobStore>;
