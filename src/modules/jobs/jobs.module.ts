import { posix } from 'node:path';
import { ConflictError } from '../../lib/errors.js';
import type { AuditService } from '../audit/audit.service.js';
import { API_PREFIX, type Api, type Core } from '../core.js';
import type { EnvironmentsService } from '../environments/environments.service.js';
import { LOCAL_ENVIRONMENT_ID } from '../environments/environments.types.js';
import type { BotHost, LogSink } from '../instances/hosts/bot-host.js';
import type { InstancesService } from '../instances/instances.service.js';
import { DistributedQueue } from './queue/distributed-queue.js';
import type { Backlog } from '../hub/hub.module.js';
import { EmbeddedQueue, type JobQueue } from './queue/embedded-queue.js';
import { createFromResultService } from './from-result.js';
import { JobExecutor } from './run/job-executor.js';
import { createJobLogs } from './run/job-logs.js';
import { JobOutput } from './run/job-output.js';
import { createJobStore } from './queue/job-store.js';
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
  /** A subscriber of `job:<id>:logs` gets the job's last lines first. */
  addBacklog: (backlog: Backlog) => void;
}

/**
 * Backtests and optimizations: a queue in the database, run by this process on any environment.
 * With redis.url, jobs for `local` go to `pbfleet worker`s through BullMQ; SSH environments stay here.
 */
export function createJobsModule(deps: JobsModuleDeps) {
  const { config, clock, log, hub, lifecycle, hostFor } = deps;
  const repo = createJobsRepo(deps.db);
  // Job output goes out twice: `job_log` on `job:<id>` (the SSE stream) and numbered log batches
  // on `job:<id>:logs` (the log viewer); `logLines` is only reached once the module is built.
  const jobLogs = createJobLogs(hub, (id) => logLines(id));
  const store = createJobStore({ repo, publisher: jobLogs.publisher, clock });
  const output = new JobOutput(jobLogs.publisher);
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
    ? new DistributedQueue({ url: config.redis.url, prefix: config.redis.prefix, repo, store, embedded: embeddedQueue, resultsRoot: `${config.dataDir}/jobs`, publisher: jobLogs.publisher, clock, log })
    : embeddedQueue;
  const jobs = createJobsService({ repo, store, queue: jobQueue, environments: deps.environments, capacityOf, audit: deps.audit, clock });
  const fromResult = createFromResultService({ jobs, instances: deps.instances });

  /** Every line of a job's log file ([] before it has one, or when its host has none). */
  const logLines = async (id: string): Promise<string[]> => {
    const job = await jobs.record(id).catch(() => null);
    if (!job?.logPath) return [];
    const host = await hostFor(job.environmentId);
    const text = (await host.readFile(job.logPath).catch(() => Buffer.alloc(0))).toString('utf8');
    return text.split(/\r?\n/).filter(Boolean);
  };

  /** A job's last `count` log lines: from memory while it runs, else from its log file. */
  const logTail = async (id: string, count: number): Promise<string[]> => {
    if (count === 0) return [];
    const live = output.backlog(id);
    if (live) return live.slice(-count);
    await jobs.record(id);
    return (await logLines(id)).slice(-count);
  };
  deps.addBacklog((client, topic) => jobLogs.sendBacklog((...args) => hub.send(...args), client, topic, (err) => log.warn({ err, topic }, 'job log backlog not sent')));

  /** Passivbot's own template config (`configs/template.json` of the checkout an environment uses). */
  const template = async (environmentId: string): Promise<{ environmentId: string; path: string; config: Record<string, unknown> }> => {
    await deps.environments.getRecord(environmentId);
    const host = await hostFor(environmentId);
    const runtime = await host.runtime();
    if (!runtime.passivbotDir) throw new ConflictError(`no Passivbot checkout is configured for environment ${environmentId}`);
    const path = posix.join(runtime.passivbotDir, 'configs', 'template.json');
    const bytes = await host.readFile(path).catch((err: unknown) => {
      throw new ConflictError(`Passivbot's template ${path} could not be read on ${environmentId}: ${err instanceof Error ? err.message : String(err)}`);
    });
    let config: unknown;
    try {
      config = JSON.parse(bytes.toString('utf8'));
    } catch {
      throw new ConflictError(`Passivbot's template ${path} on ${environmentId} is not JSON`);
    }
    if (typeof config !== 'object' || config === null || Array.isArray(config)) throw new ConflictError(`Passivbot's template ${path} on ${environmentId} is not a JSON object`);
    return { environmentId, path, config: config as Record<string, unknown> };
  };

  /** CPU slots per environment with what runs and waits there; `local` in distributed mode has the workers' slots (unknown here). */
  const capacity = async () => {
    const [running, queued] = await Promise.all([repo.withStatus('running'), repo.queued()]);
    const ids = new Set([LOCAL_ENVIRONMENT_ID, ...Object.keys(config.jobs.environmentSlots), ...running.map((j) => j.environmentId), ...queued.map((j) => j.environmentId)]);
    const environments = [...ids].sort().map((environmentId) => {
      const here = running.filter((j) => j.environmentId === environmentId);
      const workers = distributed && environmentId === LOCAL_ENVIRONMENT_ID;
      return {
        environmentId,
        slots: workers ? null : capacityOf(environmentId),
        usedSlots: here.reduce((sum, j) => sum + (workers ? j.slots : Math.min(j.slots, capacityOf(environmentId))), 0),
        running: here.length,
        queued: queued.filter((j) => j.environmentId === environmentId).length,
      };
    });
    return { mode: jobQueue.mode, defaultSlots: config.jobs.slots, environments };
  };

  lifecycle.on('recover', () => jobQueue.start());
  lifecycle.on('drain', () => jobQueue.stop());

  return {
    service: jobs,
    jobQueue,
    routes: async (api: Api) => {
      await api.register(jobsRoutes, { prefix: API_PREFIX, jobs, fromResult, hub, logTail, template, capacity });
    },
  };
}
