import { readFileSync, statSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Job as BullJob, Worker } from 'bullmq';
import type { Runtime } from '../../environments/environments.types.js';
import { localRunner } from '../../hosts/host-runner.js';
import type { Publisher } from '../../hub/hub.js';
import { createLocalBotHost } from '../../instances/hosts/local-bot-host.js';
import { JobExecutor } from '../run/job-executor.js';
import { JobOutput } from '../run/job-output.js';
import { SMALL_FILE_BYTES } from '../results/result-files.js';
import type { JobProgress, JobRecord } from '../jobs.types.js';
import { artifactsKey, cancelChannel, cancelledKey, loadBullmq, QUEUE_NAME, redisConnection, type QueuedJob, type WorkerReport, type WorkerResult } from './redis-queue.js';

export interface JobWorkerOptions {
  url: string;
  prefix: string;
  name: string;
  /** CPU slots: an optimization takes its n_cpus of them. */
  slots: number;
  runtime: Runtime;
  stopTimeoutMs: number;
  /** How soon a dead worker's job is noticed (BullMQ lock duration). */
  lockMs: number;
  log: { info(obj: object, msg: string): void; error(obj: object, msg: string): void };
}

/** How long a worker gathers a job's log lines and progress before sending them. */
const OUTPUT_FLUSH_MS = 200;
/**
 * Jobs a worker takes beyond its slots: held until a slot frees, then started at once, without a
 * trip to Redis between one job's exit and the next one's start. A held job is not started if it
 * is cancelled meanwhile, and goes back to the queue if the worker dies (it never ran).
 */
const PREFETCH = 1;
const ARTIFACTS_BACKTEST = ['analysis.json', 'config.json', 'fills.csv', 'balance_and_equity.csv.gz', 'balance_and_equity.csv'];

/** Slots as permits: a job waits until as many are free as it needs. */
class Slots {
  private free: number;
  private readonly waiting: { need: number; resolve: () => void }[] = [];

  constructor(readonly total: number) {
    this.free = total;
  }

  async acquire(need: number): Promise<void> {
    if (this.waiting.length === 0 && this.free >= need) {
      this.free -= need;
      return;
    }
    await new Promise<void>((resolve) => this.waiting.push({ need, resolve }));
  }

  release(count: number): void {
    this.free += count;
    // In arrival order: the first waiter is never overtaken.
    while (this.waiting[0] && this.waiting[0].need <= this.free) {
      const next = this.waiting.shift() as { need: number; resolve: () => void };
      this.free -= next.need;
      next.resolve();
    }
  }
}

/** The result files a server needs, by path relative to the result dir. */
async function artifactFiles(type: JobRecord['type'], dir: string): Promise<Record<string, Buffer>> {
  const names = type === 'backtest' ? ARTIFACTS_BACKTEST : (await readdir(join(dir, 'pareto')).catch(() => [])).filter((n) => n.endsWith('.json')).map((n) => `pareto/${n}`);
  const files: Record<string, Buffer> = {};
  for (const name of names) {
    const path = join(dir, name);
    const size = statSync(path, { throwIfNoEntry: false })?.size;
    if (size === undefined) continue;
    // Small files in one synchronous call (a short run's are a few KiB); big ones through the pool.
    const content = size <= SMALL_FILE_BYTES ? readFileSync(path) : await readFile(path).catch(() => null);
    if (content) files[name] = content;
  }
  return files;
}

/**
 * `pbfleet worker`: takes jobs from the BullMQ queue and runs them on this machine with the
 * same executor as the server, reporting progress and log lines through the queue and
 * returning the outcome, with result files parked in Redis for the server to collect.
 */
export async function startJobWorker(options: JobWorkerOptions): Promise<{ close(): Promise<void>; worker: Worker }> {
  const { Worker } = loadBullmq();
  const active = new Map<string, BullJob>();
  // Log lines and progress leave through the job's progress channel, like everything else the
  // worker says, gathered for OUTPUT_FLUSH_MS (progress: the latest only): each report is a Redis
  // script run here and an event on the server.
  const pending = new Map<string, { lines: string[]; progress: JobProgress | null }>();
  let flushTimer: NodeJS.Timeout | null = null;
  const flushOutput = async (id: string): Promise<void> => {
    const report = pending.get(id);
    pending.delete(id);
    if (report) await active.get(id)?.updateProgress({ kind: 'output', ...report } satisfies WorkerReport).catch(() => undefined);
  };
  const pendingFor = (id: string) => {
    let report = pending.get(id);
    if (!report) pending.set(id, (report = { lines: [], progress: null }));
    flushTimer ??= setTimeout(() => {
      flushTimer = null;
      for (const jobId of [...pending.keys()]) void flushOutput(jobId);
    }, OUTPUT_FLUSH_MS);
    return report;
  };
  const publisher: Publisher = {
    publish: (_topic, type, payload) => {
      if (type !== 'job_log') return;
      const { id, lines } = payload as { id: string; lines: string[] };
      pendingFor(id).lines.push(...lines);
    },
  };
  const output = new JobOutput(publisher);
  const host = createLocalBotHost({ environmentId: 'local', runtime: async () => options.runtime, runner: localRunner('local', 60_000), sink: output });
  const executor = new JobExecutor({ hostFor: async () => host, output, resultsRoot: join(options.runtime.workDir, 'results'), stopTimeoutMs: options.stopTimeoutMs, probeIntervalMs: 500, unreachableLimitMs: 600_000 });
  const slots = new Slots(options.slots);
  const redis = redisConnection(options.url);

  // BullMQ runs at most `concurrency` jobs: those running, those whose process has ended (results
  // being read and sent; they hold no CPU) and PREFETCH more, held until a slot frees.
  let collecting = 0;
  const setConcurrency = () => {
    worker.concurrency = options.slots + collecting + PREFETCH;
  };

  const processor = async (bullJob: BullJob<QueuedJob>): Promise<WorkerResult> => {
    const data = bullJob.data;
    const need = Math.min(data.slots, options.slots);
    await slots.acquire(need);
    if (await redis.exists(cancelledKey(options.prefix, data.id))) {
      slots.release(need);
      options.log.info({ jobId: data.id }, 'job cancelled before it started');
      return { outcome: { status: 'cancelled', error: null, result: null }, worker: options.name, artifacts: 0 };
    }
    active.set(data.id, bullJob);
    let exited = false;
    const onExit = () => {
      if (exited) return;
      exited = true;
      slots.release(need);
      collecting += 1;
      setConcurrency();
    };
    try {
      const record: JobRecord = { ...data, status: 'running', progress: { fraction: null, stage: 'starting', etaSeconds: null }, runner: options.name, error: null, logPath: null, requestedBy: null, finishedAt: null, result: null, pid: null, processStart: null, workDir: null, resultDir: null };
      options.log.info({ jobId: data.id, type: data.type, slots: need }, 'job started');
      const outcome = await executor.run(record, {
        started: async (info) => {
          await bullJob.updateProgress({ kind: 'started', worker: options.name, ...info } satisfies WorkerReport);
        },
        progress: (progress) => {
          pendingFor(data.id).progress = progress;
        },
        exited: onExit,
      });
      await flushOutput(data.id);
      const files = outcome.resultDir ? await artifactFiles(data.type, outcome.resultDir) : {};
      const count = Object.keys(files).length;
      if (count) {
        const key = artifactsKey(options.prefix, data.id);
        await redis.hset(key, files);
        await redis.expire(key, 7 * 86_400);
      }
      const { resultDir: _dir, ...rest } = outcome;
      options.log.info({ jobId: data.id, status: outcome.status }, 'job finished');
      return { outcome: rest, worker: options.name, artifacts: count };
    } finally {
      active.delete(data.id);
      if (exited) {
        collecting -= 1;
        setConcurrency();
      } else slots.release(need);
    }
  };

  const worker = new Worker<QueuedJob, WorkerResult>(QUEUE_NAME, processor, {
    connection: redisConnection(options.url),
    prefix: options.prefix,
    concurrency: options.slots + PREFETCH,
    // A job whose worker died is failed at once (the server marks it interrupted, requeues it if asked).
    maxStalledCount: 0,
    lockDuration: options.lockMs,
    stalledInterval: options.lockMs,
    name: options.name,
  });
  worker.on('error', (err) => options.log.error({ err }, 'worker error'));

  const subscriber = redisConnection(options.url);
  await subscriber.subscribe(cancelChannel(options.prefix));
  subscriber.on('message', (_channel: string, jobId: string) => {
    if (active.has(jobId)) void executor.cancel(jobId);
  });
  await worker.waitUntilReady();

  return {
    worker,
    /** Stops taking jobs, cancels the running ones (they report `cancelled`), then disconnects. */
    async close() {
      const closing = worker.close();
      await Promise.all([...active.keys()].map((id) => executor.cancel(id)));
      await closing;
      if (flushTimer) clearTimeout(flushTimer);
      subscriber.disconnect();
      redis.disconnect();
      host.close();
    },
  };
}
