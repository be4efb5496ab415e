import type { Static } from 'typebox';
import type { Clock } from '../../lib/clock.js';
import { ConflictError, NotFoundError, ValidationError, type FieldIssue } from '../../lib/errors.js';
import { newId } from '../../lib/ids.js';
import { EXCHANGES } from '../accounts/accounts.types.js';
import type { AuditService } from '../audit/audit.service.js';
import type { Actor } from '../auth/auth.types.js';
import type { EnvironmentsService } from '../environments/environments.service.js';
import { LOCAL_ENVIRONMENT_ID } from '../environments/environments.types.js';
import type { EmbeddedQueue, JobQueue } from './queue/embedded-queue.js';
import { effectiveConfig, jobConfigIssues, slotsOf } from './jobs.fns.js';
import type { JobListFilter, JobsRepo } from './jobs.repo.js';
import type { BacktestRunBody, OptimizeRunBody } from './jobs.schemas.js';
import type { JobStore } from './queue/job-store.js';
import { toPublicJob } from './queue/job-store.js';
import type { Job, JobOverrides, JobRecord, JobType } from './jobs.types.js';
import { FINISHED } from './jobs.types.js';
import { coinPnl, queryFills, type CoinPnl, type FillsQuery } from './results/fills-query.js';
import { backtestConfig, hasResults, rankedFront } from './results/result-config.js';
import type { BacktestSummary } from './results/backtest-results.js';

export type RunInput = Static<typeof BacktestRunBody> | Static<typeof OptimizeRunBody>;
/** A job (and pareto entry) whose result a new job or bot was made from. */
export interface ResultOrigin {
  fromJob: string;
  fromEntry?: string;
}

export interface JobsServiceDeps {
  repo: JobsRepo;
  store: JobStore;
  queue: JobQueue;
  environments: Pick<EnvironmentsService, 'getRecord'>;
  capacityOf(environmentId: string): number;
  audit: Pick<AuditService, 'record'>;
  clock: Clock;
}

const KNOWN_EXCHANGES = new Set<string>(EXCHANGES);

export function createJobsService(deps: JobsServiceDeps) {
  const { repo, store, queue, audit } = deps;

  async function mustFind(id: string, type?: JobType): Promise<JobRecord> {
    const job = await repo.get(id);
    if (!job || (type && job.type !== type)) throw new NotFoundError(type ? `${type} job` : 'job', id);
    return job;
  }

  /** A seed: the config of a finished backtest, or a pareto entry of a finished optimization. */
  async function seedConfig(seed: NonNullable<JobOverrides['seed']>): Promise<Record<string, unknown>> {
    const source = await repo.get(seed.jobId);
    if (!source) throw ValidationError.field('overrides.seed.jobId', `no job ${seed.jobId}`);
    if (!hasResults(source)) throw ValidationError.field('overrides.seed.jobId', `job ${seed.jobId} has no results (it is ${source.status})`);
    if (source.type === 'backtest') return backtestConfig(source);
    const front = await rankedFront(source);
    const entry = seed.entry ? front.find((e) => e.id === seed.entry) : front[0];
    if (!entry) throw ValidationError.field('overrides.seed.entry', seed.entry ? `no pareto entry ${seed.entry} in job ${seed.jobId}` : `job ${seed.jobId} has an empty front`);
    return entry.config;
  }

  async function checkedEnvironment(id: string): Promise<void> {
    const env = await deps.environments.getRecord(id).catch((error: unknown) => {
      throw error instanceof NotFoundError ? ValidationError.field('environmentId', `no environment ${id}`) : error;
    });
    if (env.status.health === 'host_key_mismatch' || env.status.health === 'unhealthy') {
      throw new ConflictError(`environment ${env.name} is ${env.status.health}; the job would not run there`, { fields: [{ field: 'environmentId', message: env.status.health }] });
    }
  }

  const service = {
    /** `origin`: the result this job's config came from, for the audit trail. */
    async run(type: JobType, input: RunInput, actor: Actor, origin?: ResultOrigin): Promise<Job> {
      const overrides = (input.overrides ?? {}) as JobOverrides;
      const issues: FieldIssue[] = jobConfigIssues(input.config, overrides);
      const effective = effectiveConfig(input.config, overrides);
      const exchanges = (effective.backtest as Record<string, unknown>).exchanges;
      if (Array.isArray(exchanges)) {
        exchanges.forEach((e, i) => {
          if (typeof e === 'string' && !KNOWN_EXCHANGES.has(e)) issues.push({ field: overrides.exchanges ? `overrides.exchanges.${i}` : `config.backtest.exchanges[${i}]`, message: `unknown exchange ${e}; one of ${EXCHANGES.join(', ')}` });
        });
      }
      if (issues.length) throw new ValidationError(issues.map((i) => `${i.field}: ${i.message}`).join('; '), issues);
      const environmentId = input.environmentId ?? LOCAL_ENVIRONMENT_ID;
      await checkedEnvironment(environmentId);
      const slots = slotsOf(type, effective);
      const capacity = deps.capacityOf(environmentId);
      if (slots > capacity) throw ValidationError.field(overrides.n_cpus !== undefined ? 'overrides.n_cpus' : 'config.optimize.n_cpus', `needs ${slots} CPU slots; environment ${environmentId} has ${capacity}`);
      const seed = type === 'optimize' && overrides.seed ? await seedConfig(overrides.seed) : undefined;
      const at = deps.clock.now().toISOString();
      const id = newId();
      const record: JobRecord = {
        id,
        type,
        name: input.name ?? `${type} ${at.slice(0, 16).replace('T', ' ')}`,
        params: { config: input.config, overrides, effective, ...(seed && { seedConfig: seed }) },
        environmentId,
        status: 'queued',
        priority: input.priority ?? 0,
        slots,
        progress: { fraction: null, stage: 'queued', etaSeconds: null },
        requeueOnInterrupt: input.requeueOnInterrupt ?? false,
        attempts: 0,
        runner: null,
        error: null,
        logPath: null,
        requestedBy: actor?.username ?? null,
        createdAt: at,
        startedAt: null,
        finishedAt: null,
        result: null,
        pid: null,
        processStart: null,
        workDir: null,
        resultDir: null,
      };
      await repo.insert(record);
      const from = origin ? ` from job ${origin.fromJob}${origin.fromEntry ? ` entry ${origin.fromEntry}` : ''}` : '';
      await audit.record({ type: 'action', level: 'info', action: `${type}_run`, message: `${type} ${record.name} queued on ${environmentId}${from}`, environmentId, details: { jobId: id, slots, priority: record.priority, ...origin }, actor });
      store.notify('job_created', record);
      await queue.enqueued(record);
      return toPublicJob(record);
    },

    async list(filter: JobListFilter): Promise<{ jobs: Job[]; total: number }> {
      const { items, total } = await repo.list(filter);
      return { jobs: items.map(toPublicJob), total };
    },

    async get(id: string, type?: JobType): Promise<Job> {
      return toPublicJob(await mustFind(id, type));
    },

    /** A queued job is cancelled at once; a running one gets SIGINT (then SIGKILL) and keeps partial results. */
    async cancel(id: string, actor: Actor, type?: JobType): Promise<Job> {
      const job = await mustFind(id, type);
      if (FINISHED.includes(job.status)) throw new ConflictError(`job ${job.name} already ${job.status}`);
      const cancelled = await store.transition(id, ['queued'], { status: 'cancelled', finishedAt: deps.clock.now().toISOString() });
      if (cancelled) await queue.dequeued?.(job);
      if (!cancelled && !(await queue.cancelRunning(job))) throw new ConflictError(`job ${job.name} is run by ${job.runner ?? 'another process'} and could not be reached`);
      await audit.record({ type: 'action', level: 'info', action: `${job.type}_cancel`, message: `${job.type} ${job.name} cancelled`, environmentId: job.environmentId, details: { jobId: id, was: job.status }, actor });
      return toPublicJob(await mustFind(id));
    },

    async setPriority(id: string, priority: number, actor: Actor): Promise<Job> {
      const job = await mustFind(id);
      const updated = await store.transition(id, ['queued'], { status: 'queued', priority });
      if (!updated) throw new ConflictError(`job ${job.name} is ${job.status}; only a queued job can be reordered`);
      await audit.record({ type: 'action', level: 'info', action: 'job_priority', message: `job ${job.name} priority ${job.priority} -> ${priority}`, details: { jobId: id }, actor });
      await queue.reprioritized(updated);
      return toPublicJob(updated);
    },

    /** The stored summary, plus a page of fills (sorted, filtered) read from the result file. */
    async backtestResult(id: string, fillsPage?: number, limit = 100, query: Omit<FillsQuery, 'page' | 'limit'> = {}) {
      const job = await mustFind(id, 'backtest');
      if (!job.result) throw new ConflictError(`backtest ${job.name} has no results (${job.status})`);
      const { config: _config, ...summary } = job.result as unknown as BacktestSummary;
      const fills = fillsPage !== undefined && job.resultDir ? { page: fillsPage, limit, ...(await queryFills(job.resultDir, { page: fillsPage, limit, ...query })) } : undefined;
      return { job: toPublicJob(job), ...summary, typed: summary.typed as unknown as Record<string, number | null>, equity: summary.equity as unknown as { points: Record<string, unknown>[]; sourceRows: number }, ...(fills && { fills }) };
    },

    /** PnL, fees and fills per coin of a backtest (one pass over fills.csv, then cached). */
    async backtestCoinPnl(id: string): Promise<CoinPnl[]> {
      const job = await mustFind(id, 'backtest');
      if (!job.result || !job.resultDir) throw new ConflictError(`backtest ${job.name} has no results (${job.status})`);
      return coinPnl(job.resultDir);
    },

    async optimizeResult(id: string) {
      const job = await mustFind(id, 'optimize');
      if (!job.result) throw new ConflictError(`optimization ${job.name} has no results (${job.status})`);
      const front = await rankedFront(job);
      return { job: toPublicJob(job), frontSize: front.length, front: front as unknown as Record<string, unknown>[] };
    },

    /** Where a job's result files are readable here (exports), or a 409 saying why not. */
    async resultDir(id: string): Promise<string> {
      const job = await mustFind(id);
      if (!job.resultDir) throw new ConflictError(`job ${job.name} has no result files (${job.status})`);
      return job.resultDir;
    },

    async record(id: string, type?: JobType): Promise<JobRecord> {
      return mustFind(id, type);
    },
  };
  return service;
}

export type JobsService = ReturnType<typeof createJobsService>;
export type { EmbeddedQueue };
