import type { JobProgress, JobType } from './run/progress.fns.js';

export type { JobProgress, JobType };
export const JOB_TYPES = ['backtest', 'optimize'] as const;
export const JOB_STATUSES = ['queued', 'running', 'completed', 'failed', 'cancelled', 'interrupted'] as const;
export type JobStatus = (typeof JOB_STATUSES)[number];
export const FINISHED: readonly JobStatus[] = ['completed', 'failed', 'cancelled', 'interrupted'];

/** What the caller asked to change relative to the config (all optional). */
export type JobOverrides = {
  start_date?: string;
  end_date?: string;
  exchanges?: string[];
  symbols?: string[];
  starting_balance?: number;
  iters?: number;
  n_cpus?: number;
  population_size?: number;
  bounds?: Record<string, unknown>;
  scoring?: unknown[];
  limits?: unknown;
  seed?: { jobId: string; entry?: string };
};

export interface JobParams {
  /** The Passivbot config as given. */
  config: Record<string, unknown>;
  overrides: JobOverrides;
  /** The config the run uses: the config with the overrides applied. */
  effective: Record<string, unknown>;
  /** A config the optimizer starts from (a previous result or pareto entry). */
  seedConfig?: Record<string, unknown>;
}

export interface Job {
  id: string;
  type: JobType;
  name: string;
  params: JobParams;
  environmentId: string;
  status: JobStatus;
  priority: number;
  slots: number;
  progress: JobProgress;
  requeueOnInterrupt: boolean;
  attempts: number;
  runner: string | null;
  error: string | null;
  logPath: string | null;
  requestedBy: string | null;
  createdAt: string;
  startedAt: string | null;
  finishedAt: string | null;
  /** Summary of the results (metrics and equity curve, or the pareto front), once completed. */
  result: Record<string, unknown> | null;
}

/** The job as stored, with what the executor needs to find its process and files again. */
export interface JobRecord extends Job {
  pid: number | null;
  processStart: string | null;
  /** The job's directory on the host that runs it. */
  workDir: string | null;
  /** Where its results are readable by this server (a local copy for remote runs). */
  resultDir: string | null;
}

/** A job without its params and result: what state changes and hub events need. */
export type JobState = Omit<JobRecord, 'params' | 'result'>;
