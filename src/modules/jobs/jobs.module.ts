import type { AuditService } from '../audit/audit.service.js';
import { API_PREFIX, type Api, type Core } from '../core.js';
import type { EnvironmentsService } from '../environments/environments.service.js';
import { LOCAL_ENVIRONMENT_ID } from '../environments/environments.types.js';
import type { BotHost, LogSink } from '../instances/hosts/bot-host.js';
import type { InstancesService } from '../instances/instances.service.js';
import { DistributedQueue } from './distributed-queue.js';
import { EmbeddedQueue, type JobQueue } from './embedded-queue.js';
import { createFromResultService } from './from-result.js';
import { JobExecutor } from './job-executor.js';
import { JobOutput } from './job-output.js';
import { createJobStore } from './job-store.js';
import { createJobsRepo } from './jobs.repo.js';
import { jobsRoutes } from './jobs.routes.js';
import { createJobsService } from './jobs.service.js';

export interface JobsModuleDeps extends Pick<Core, 'config' | 'db' | 'clock' | 'log' | 'hub' | 'lifecycle'> {
  audit: Pick<AuditService, 'record'>;
  environments: Pick<EnvironmentsService, 'getRecord'>;
  instances: Pick<InstancesService, 'create'>;
  /** Jobs run on the same hosts as bots, and their output is read by the same followers. */
  hostFor: (environmentId: string) => Promise<BotHost>;
  addLogSink: (sink: LogSink) => void;
}

/**
 * Backtests and optimizations: a queue in the database, run by this process on any environment.
 * With redis.url, jobs for `local` go to `pbfleet worker`s through BullMQ; SSH environments stay here.
 */
export function createJobsModule(deps: JobsModuleDeps) {
  const { config, clock, log, hub, lifecycle, hostFor } = deps;
  const repo = createJobsRepo(deps.db);
  const store = createJobStore({ repo, publisher: hub, clock });
  const output = new JobOutput(hub);
  deps.addLogSink(output);
  const distributed = Boolean(config.redis.url);
  // Workers bring their own slots (a job larger than a worker runs there alone).
  const capacityOf = (environmentId: string) => (distributed && environmentId === LOCAL_ENVIRONMENT_ID ? 1024 : (config.jobs.environmentSlots[environmentId] ?? config.jobs.slots));
  const executor = new JobExecutor({
    hostFor,
    output,
    resultsRoot: `${config.dataDir}/jobs`,
    stopTimeoutMs: config.jobs.cancelTimeoutMs,
    probeIntervalMs: Math.min(1000, config.supervisor.probeIntervalMs),
    unreachableLimitMs: 600_000,
  });
  const embeddedQueue = new EmbeddedQueue({ repo, store, executor, capacityOf, clock, log, ...(distributed && { handles: (id: string) => id !== LOCAL_ENVIRONMENT_ID }) });
  const jobQueue: JobQueue = distributed
    ? new DistributedQueue({ url: config.redis.url, prefix: config.redis.prefix, repo, store, embedded: embeddedQueue, resultsRoot: `${config.dataDir}/jobs`, publisher: hub, clock, log })
    : embeddedQueue;
  const jobs = createJobsService({ repo, store, queue: jobQueue, environments: deps.environments, capacityOf, audit: deps.audit, clock });
  const fromResult = createFromResultService({ jobs, instances: deps.instances });

  /** A job's last `count` log lines: from memory while it runs, else from its log file. */
  const logTail = async (id: string, count: number): Promise<string[]> => {
    const live = output.backlog(id);
    if (live) return count === 0 ? [] : live.slice(-count);
    const job = await jobs.record(id);
    if (!job.logPath || count === 0) return [];
    const host = await hostFor(job.environmentId);
    const text = (await host.readFile(job.logPath).catch(() => Buffer.alloc(0))).toString('utf8');
    return text.split(/\r?\n/).filter(Boolean).slice(-count);
  };

  lifecycle.on('recover', () => jobQueue.start());
  lifecycle.on('drain', () => jobQueue.stop());

  return {
    service: jobs,
    jobQueue,
    routes: async (api: Api) => {
      await api.register(jobsRoutes, { prefix: API_PREFIX, jobs, fromResult, hub, logTail });
    },
  };
}
