import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Job } from '../src/modules/jobs/jobs.types.js';
import { loadBullmq, QUEUE_NAME, redisConnection } from '../src/modules/jobs/queue/redis-queue.js';
import { createTestApp, type TestApp } from './helpers/app.js';
import { testDatabases } from './helpers/databases.js';
import { apiClient, hubSpy, until } from './helpers/environments.js';
import { killAllWith } from './helpers/instances.js';
import { makePassivbotCheckout, standinConfig, type PassivbotCheckout } from './helpers/passivbot.js';
import { childEnv, CliProcess, killAll } from './helpers/process.js';

/**
 * Distributed mode with the machine's real Redis: the server queues into BullMQ, `pbfleet
 * worker` in a separate process runs the jobs with the same executor, progress comes back
 * through the queue and results land in the server's database and data dir.
 */

const redisUrl = process.env.PBFLEET_TEST_REDIS_URL;
if (!redisUrl && process.env.PBFLEET_REQUIRE_REDIS === '1') throw new Error('PBFLEET_REQUIRE_REDIS=1 but PBFLEET_TEST_REDIS_URL is not set: the Redis suites are mandatory here');
if (!redisUrl) console.warn('Redis suites skipped: set PBFLEET_TEST_REDIS_URL=redis://127.0.0.1:6379 to run them');

const sqlite = testDatabases[0] as (typeof testDatabases)[number];

describe.runIf(Boolean(redisUrl))('jobs through Redis and pbfleet worker', () => {
  const prefix = `pbfleet-test-${randomBytes(4).toString('hex')}`;
  let t: TestApp;
  let api: ReturnType<typeof apiClient>;
  let checkout: PassivbotCheckout;
  let workDir: string;
  let worker: CliProcess | undefined;

  const startWorker = (name = 'w1', slots = 2) => {
    worker = new CliProcess(['worker', '--passivbot-dir', checkout.dir, '--python', checkout.python, '--slots', String(slots), '--name', name, '--lock-ms', '2000', '--work-dir', join(workDir, name)], {
      cwd: workDir,
      env: childEnv({ PBFLEET_REDIS_URL: redisUrl as string, PBFLEET_REDIS_PREFIX: prefix, PBFLEET_DATA_DIR: workDir, PBFLEET_LOG_LEVEL: 'warn' }),
    });
    return until(() => worker?.stdout.includes('worker ready') || !worker?.running, 'the worker to be ready').then(() => {
      if (!worker?.running) throw new Error(`worker exited: ${worker?.stderr}`);
    });
  };
  const job = async (id: string) => (await api.get(`/jobs/${id}`)).json<Job>();
  /** The job's state in BullMQ (`waiting`, `prioritized`, `active`, ...). */
  const bullState = async (id: string) => {
    const { Queue } = loadBullmq();
    const connection = redisConnection(redisUrl as string);
    const queue = new Queue(QUEUE_NAME, { connection, prefix });
    try {
      return await (await queue.getJob(id))?.getState();
    } finally {
      await queue.close();
      connection.disconnect();
    }
  };
  const finished = (id: string, ms = 30_000) =>
    until(async () => {
      const current = await job(id);
      return ['completed', 'failed', 'cancelled', 'interrupted'].includes(current.status) ? current : undefined;
    }, `job ${id} to finish`, ms);
  const run = async (type: 'backtest' | 'optimize', body: Record<string, unknown>) => {
    const res = await api.post(`/${type}/run`, body, 'operator');
    if (res.statusCode !== 202) throw new Error(`${res.statusCode} ${res.body}`);
    return res.json<Job>();
  };

  beforeAll(async () => {
    checkout = await makePassivbotCheckout();
    workDir = mkdtempSync(join(tmpdir(), 'pbfleet-worker-'));
    t = await createTestApp(sqlite, { overrides: { redis: { url: redisUrl, prefix } } });
    api = apiClient(t);
  });

  afterEach(() => {
    worker?.signal('SIGKILL');
  });

  afterAll(async () => {
    await t?.close();
    await killAll();
    killAllWith(checkout.dir);
    rmSync(workDir, { recursive: true, force: true });
  });

  it('queues while no worker is up (reads keep working), then a worker runs it and results land on the server', async () => {
    const queued = await run('backtest', { config: standinConfig({ standin: { n_fills: 700 } }), name: 'via redis' });
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect((await job(queued.id)).status).toBe('queued');
    expect((await api.get('/jobs?status=queued')).json<{ jobs: Job[] }>().jobs.map((j) => j.id)).toContain(queued.id);

    const spy = hubSpy(t, [`job:${queued.id}`]);
    await startWorker();
    const done = await finished(queued.id);
    expect(done.status, done.error ?? '').toBe('completed');
    expect(done.runner).toBe('w1');
    expect(spy.of('job_progress').length).toBeGreaterThan(0);
    expect(spy.of('job_log').length).toBeGreaterThan(0);
    spy.detach();
    const result = (await api.get(`/backtest/results/${queued.id}?fills=1&limit=50`)).json<{ fillsCount: number; fills: { rows: unknown[]; total: number } }>();
    expect(result.fillsCount).toBe(700);
    expect(result.fills.rows).toHaveLength(50);
    expect(result.fills.total).toBe(700);
  });

  it('runs an optimization on the worker and cancels a running one, keeping its partial front', async () => {
    await startWorker();
    const quick = await run('optimize', { config: standinConfig(), overrides: { iters: 40, n_cpus: 2 } });
    expect((await finished(quick.id)).status).toBe('completed');
    expect((await api.get(`/optimize/results/${quick.id}`)).json<{ frontSize: number }>().frontSize).toBeGreaterThan(0);

    const long = await run('optimize', { config: standinConfig({ standin: { slow_s: 0.4 } }), overrides: { iters: 100_000, n_cpus: 2 } });
    await until(async () => (await job(long.id)).progress.stage === 'evaluating', 'the optimization to evaluate', 20_000);
    await new Promise((resolve) => setTimeout(resolve, 1000));
    expect((await api.del(`/optimize/jobs/${long.id}`, 'operator')).statusCode).toBe(200);
    const cancelled = await finished(long.id);
    expect(cancelled.status).toBe('cancelled');
    expect(cancelled.result).toMatchObject({ frontSize: expect.any(Number) });
  });

  it('a worker killed mid-job leaves it interrupted, and requeued when asked, never running forever', async () => {
    await startWorker('w2');
    const doomed = await run('backtest', { config: standinConfig({ standin: { slow_s: 20 } }) });
    const again = await run('backtest', { config: standinConfig({ standin: { slow_s: 20 } }), requeueOnInterrupt: true });
    await until(async () => (await job(doomed.id)).status === 'running' && (await job(again.id)).status === 'running', 'both running');
    worker?.signal('SIGKILL');
    killAllWith(join(workDir, 'w2'));
    const interrupted = await finished(doomed.id, 30_000);
    expect(interrupted.status).toBe('interrupted');
    expect(interrupted.error).toMatch(/worker stopped/);
    await until(async () => (await job(again.id)).status === 'queued', 'the requeued job', 30_000);
  });

  it('a job the worker holds for its next free slot is not started once cancelled, and goes back to the queue if the worker dies', async () => {
    const jobDir = (name: string, id: string) => join(workDir, name, 'jobs', id);
    // The job the previous test requeued would come first.
    for (const left of (await api.get('/jobs?status=queued')).json<{ jobs: Job[] }>().jobs) expect((await api.del(`/${left.type}/jobs/${left.id}`, 'operator')).statusCode).toBe(200);
    await startWorker('w3', 1);
    const busy = await run('backtest', { config: standinConfig({ standin: { slow_s: 20 } }) });
    const held = await run('backtest', { config: standinConfig() });
    await until(async () => (await job(busy.id)).status === 'running', 'the busy job to run');
    // The worker takes the next one at once and holds it for its slot.
    await until(async () => (await bullState(held.id)) === 'active', 'the worker to hold the next job');
    expect((await api.del(`/backtest/jobs/${held.id}`, 'operator')).statusCode).toBe(200);
    expect((await api.del(`/backtest/jobs/${busy.id}`, 'operator')).statusCode).toBe(200);
    expect((await finished(busy.id)).status).toBe('cancelled');
    await new Promise((resolve) => setTimeout(resolve, 1000)); // the freed slot would have started it
    expect(await job(held.id)).toMatchObject({ status: 'cancelled', runner: null, startedAt: null });
    expect(existsSync(jobDir('w3', held.id))).toBe(false);

    const busy2 = await run('backtest', { config: standinConfig({ standin: { slow_s: 20 } }) });
    const held2 = await run('backtest', { config: standinConfig() });
    await until(async () => (await job(busy2.id)).status === 'running', 'the second busy job to run');
    await until(async () => (await bullState(held2.id)) === 'active', 'the worker to hold the next job');
    worker?.signal('SIGKILL');
    killAllWith(join(workDir, 'w3'));
    expect((await finished(busy2.id)).status).toBe('interrupted');
    expect((await job(held2.id)).status).toBe('queued');
    await startWorker('w4', 1);
    const done = await finished(held2.id);
    expect(done).toMatchObject({ status: 'completed', runner: 'w4', attempts: 1 });
    expect(existsSync(jobDir('w3', held2.id))).toBe(false);
  });
});
