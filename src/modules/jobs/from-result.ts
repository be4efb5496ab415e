import type { Static } from 'typebox';
import { ConflictError, ValidationError } from '../../lib/errors.js';
import type { Actor } from '../auth/auth.types.js';
import type { InstancesService } from '../instances/instances.service.js';
import type { Instance } from '../instances/instances.types.js';
import type { EntryBacktestBody, OptimizeInstanceBody } from './jobs.schemas.js';
import type { JobsService } from './jobs.service.js';
import type { Job, JobRecord, JobType } from './jobs.types.js';
import type { ParetoEntry } from './results/pareto.js';
import { backtestConfig, hasResults, rankedFront, withoutJobPaths } from './results/result-config.js';

export interface FromResultDeps {
  jobs: Pick<JobsService, 'run' | 'record'>;
  instances: Pick<InstancesService, 'create'>;
}

/** Names stay within a job name's 100 characters, whatever the optimization's name. */
const entryName = (optimization: string, rank: number) => `${optimization.slice(0, 90)} #${rank}`;

/**
 * New work from a finished job's result: a backtest of a pareto entry, or a (stopped) bot from a
 * backtest's or an entry's config. Both go through the usual paths (jobs.run, instances.create),
 * so every check and audit entry of those applies.
 */
export function createFromResultService({ jobs, instances }: FromResultDeps) {
  async function withResults(id: string, type: JobType): Promise<JobRecord> {
    const job = await jobs.record(id, type);
    if (!hasResults(job)) throw new ConflictError(`${type === 'backtest' ? 'backtest' : 'optimization'} ${job.name} has no results (it is ${job.status})`);
    return job;
  }

  /** The named entry, or the best-ranked one. */
  async function paretoEntry(job: JobRecord, id: string | undefined): Promise<ParetoEntry> {
    const front = await rankedFront(job);
    if (id === undefined) {
      if (!front[0]) throw new ConflictError(`optimization ${job.name} has an empty pareto front`);
      return front[0];
    }
    const entry = front.find((e) => e.id === id);
    if (!entry) throw ValidationError.field('entry', `no pareto entry ${id} in optimization ${job.name}`);
    return entry;
  }

  return {
    async backtestEntry(optimizationId: string, input: Static<typeof EntryBacktestBody>, actor: Actor): Promise<Job> {
      const job = await withResults(optimizationId, 'optimize');
      const { entry: entryId, ...run } = input;
      const entry = await paretoEntry(job, entryId);
      const config = withoutJobPaths(entry.config, job);
      return jobs.run('backtest', { ...run, config, name: run.name ?? entryName(job.name, entry.rank) }, actor, { fromJob: job.id, fromEntry: entry.id });
    },

    async instanceFromResult(type: JobType, jobId: string, input: Static<typeof OptimizeInstanceBody>, actor: Actor): Promise<Instance> {
      const job = await withResults(jobId, type);
      const { entry: entryId, ...fields } = input;
      const entry = type === 'optimize' ? await paretoEntry(job, entryId) : undefined;
      const config = withoutJobPaths(entry ? entry.config : backtestConfig(job), job);
      return instances.create({ ...fields, config }, actor, { fromJob: job.id, ...(entry && { fromEntry: entry.id }) });
    },
  };
}

export type FromResultService = ReturnType<typeof createFromResultService>;
