import type { Publisher } from '../../hub/hub.js';
import { topics } from '../../hub/topics.js';
import type { LogSink } from '../../instances/hosts/bot-host.js';
import { createProgressTracker, type JobProgress, type JobType } from './progress.fns.js';

const ERROR_LINE = /Traceback|Error|error|failed|Exception/;
/** Lines kept per running job for a late log viewer. */
export const JOB_BACKLOG_LINES = 500;

interface Tracked {
  track: (line: string) => JobProgress | null;
  remainder: string;
  lastError: string | null;
  backlog: string[];
  onProgress: (progress: JobProgress) => void;
}

/**
 * Reads jobs' output as it is written (the same followers as bot logs): each line goes through
 * the progress tracker; the last error-looking line is kept to explain a failure.
 */
export class JobOutput implements LogSink {
  private readonly jobs = new Map<string, Tracked>();

  constructor(private readonly publisher: Publisher) {}

  open(jobId: string, type: JobType, options: { iters?: number; exchanges?: number }, onProgress: (progress: JobProgress) => void): void {
    this.jobs.set(jobId, { track: createProgressTracker(type, options), remainder: '', lastError: null, backlog: [], onProgress });
  }

  close(jobId: string): string | null {
    const job = this.jobs.get(jobId);
    if (job?.remainder) this.line(job, job.remainder);
    this.jobs.delete(jobId);
    return job?.lastError ?? null;
  }

  lastError(jobId: string): string | null {
    return this.jobs.get(jobId)?.lastError ?? null;
  }

  /** The last lines of a running job, or null when it is not running here. */
  backlog(jobId: string): string[] | null {
    return this.jobs.get(jobId)?.backlog.slice() ?? null;
  }

  data(jobId: string, chunk: Buffer): void {
    const job = this.jobs.get(jobId);
    if (!job) return;
    const text = job.remainder + chunk.toString('utf8');
    const lines = text.split(/\r?\n|\r/);
    job.remainder = lines.pop() ?? '';
    for (const line of lines) this.line(job, line);
    if (lines.length === 0) return;
    job.backlog.push(...lines);
    if (job.backlog.length > JOB_BACKLOG_LINES * 2) job.backlog.splice(0, job.backlog.length - JOB_BACKLOG_LINES);
    this.publisher.publish(topics.job(jobId), 'job_log', { id: jobId, lines });
  }

  reset(jobId: string): void {
    const job = this.jobs.get(jobId);
    if (job) job.remainder = '';
  }

  private line(job: Tracked, line: string): void {
    if (ERROR_LINE.test(line)) job.lastError = line.trim().slice(0, 500);
    const progress = job.track(line);
    if (progress) job.onProgress(progress);
  }
}
