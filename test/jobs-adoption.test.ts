import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Job } from '../src/modules/jobs/jobs.types.js';
import { until } from './helpers/environments.js';
import { alive, groupOf, killAllWith, processesWith } from './helpers/instances.js';
import { makePassivbotCheckout, standinConfig, type PassivbotCheckout } from './helpers/passivbot.js';
import { killAll } from './helpers/process.js';
import { restartableServer } from './helpers/restartable-server.js';

/**
 * pbfleet killed with SIGKILL while backtests and an optimization run: the jobs are detached
 * and keep running; the next pbfleet re-adopts the ones still running and records their normal
 * end, settles the ones that ended meanwhile by what they left (results, or none), and queues
 * again an interrupted job that asked for it. Nothing is left `running`.
 */

const PROCESS_TEST_MS = 60_000;
const FINISHED = ['completed', 'failed', 'cancelled', 'interrupted'];

describe('pbfleet restart with running jobs', () => {
  const pbfleet = restartableServer('job-adoption', 'supervisor:\n  probeInterval: 300ms\njobs:\n  slots: 6\n  cancelTimeout: 3s\n');
  const { call, start, kill } = pbfleet;
  let checkout: PassivbotCheckout;
  const run = (type: 'backtest' | 'optimize', name: string, standin: Record<string, unknown>, extra: Record<string, unknown> = {}) =>
    call<Job>('POST', `/${type}/run`, { config: standinConfig({ standin }), name, ...extra });
  const job = (id: string) => call<Job>('GET', `/jobs/${id}`);
  const finished = (id: string, ms = 30_000) =>
    until(async () => {
      const current = await job(id);
      return FINISHED.includes(current.status) ? current : undefined;
    }, `job ${id} to finish`, ms);
  /** The job's Passivbot process: its command line names the job's config (under jobs/<id>/). */
  const pidOf = (id: string) => until(() => processesWith(`/jobs/${id}/`)[0], `the process of job ${id}`);

  beforeAll(async () => {
    await pbfleet.setup();
    checkout = await makePassivbotCheckout();
  });

  afterAll(async () => {
    await killAll();
    killAllWith(checkout.dir);
    pbfleet.remove();
  });

  /** The jobs of the one kill -9 cycle the tests below look at. */
  const jobs = {} as Record<'backtest' | 'optimize' | 'quick' | 'killed' | 'requeued', Job>;

  it(
    'jobs outlive kill -9; one killed meanwhile ends interrupted, one that asked is queued again and completes; nothing stays running',
    async () => {
      await start();
      await call('PUT', '/settings/paths', { passivbotDir: checkout.dir, pythonPath: checkout.python, passivbotKind: 'v7' });

      // Still running at the restart: re-adopted.
      jobs.backtest = await run('backtest', 'survives', { slow_s: 10, n_fills: 300 });
      jobs.optimize = await run('optimize', 'survives too', { slow_s: 1 }, { overrides: { iters: 140, population_size: 10 } });
      // Ends by itself while pbfleet is down, leaving its results.
      jobs.quick = await run('backtest', 'ends while down', { slow_s: 2, n_fills: 50 });
      // Killed while pbfleet is down: no results.
      jobs.killed = await run('backtest', 'killed while down', { slow_s: 10 });
      jobs.requeued = await run('backtest', 'killed, requeued', { slow_s: 4, n_fills: 70 }, { requeueOnInterrupt: true });
      const all = Object.values(jobs);

      const pids = new Map<string, number>();
      for (const j of all) pids.set(j.id, await pidOf(j.id));
      const pid = (j: Job) => pids.get(j.id) as number;
      await until(async () => (await job(jobs.backtest.id)).progress.fraction !== null && (await job(jobs.optimize.id)).progress.stage === 'evaluating', 'progress of the long jobs');
      for (const j of all) expect((await job(j.id)).status, j.name).toBe('running');

      await kill();
      // The jobs outlive pbfleet.
      for (const j of all) expect(alive(pid(j)), j.name).toBe(true);
      for (const j of [jobs.killed, jobs.requeued]) process.kill(-groupOf(pid(j)), 'SIGKILL');
      await until(() => [jobs.quick, jobs.killed, jobs.requeued].every((j) => !alive(pid(j))), 'the quick job to end and the killed ones to die', 15_000);
      expect(alive(pid(jobs.backtest)), 'still running at the restart').toBe(true);
      expect(alive(pid(jobs.optimize)), 'still running at the restart').toBe(true);

      await start();
      const interrupted = await finished(jobs.killed.id);
      expect(interrupted).toMatchObject({ status: 'interrupted', result: null, attempts: 1 });
      expect(interrupted.error).toMatch(/while pbfleet was not running/);

      const again = await finished(jobs.requeued.id);
      expect(again.status, again.error ?? '').toBe('completed');
      expect(again.attempts).toBe(2);
      expect((await call<{ fillsCount: number }>('GET', `/backtest/results/${jobs.requeued.id}`)).fillsCount).toBe(70);

      // The adopted ones were waited for, not started again, and nothing is left running.
      for (const j of all) await finished(j.id);
      expect((await job(jobs.backtest.id)).attempts).toBe(1);
      expect((await job(jobs.optimize.id)).attempts).toBe(1);
      const list = (await call<{ jobs: Job[] }>('GET', '/jobs?limit=100')).jobs;
      expect(list.filter((j) => !FINISHED.includes(j.status)).map((j) => `${j.name}: ${j.status}`)).toEqual([]);
      for (const j of all) expect(processesWith(`/jobs/${j.id}/`), j.name).toEqual([]);
    },
    PROCESS_TEST_MS,
  );

  it('a backtest and an optimization re-adopted while running complete normally, with their results', async () => {
    const survived = await job(jobs.backtest.id);
    expect(survived.status, survived.error ?? '').toBe('completed');
    expect(survived.error).toBeNull();
    expect(survived.progress).toMatchObject({ fraction: 1, stage: 'complete' });
    const result = await call<{ metrics: Record<string, unknown>; fillsCount: number; fills: { total: number; rows: unknown[] } }>('GET', `/backtest/results/${jobs.backtest.id}?fills=1&limit=100`);
    expect(Object.keys(result.metrics)).toEqual(expect.arrayContaining(['adg_usd']));
    expect(result.fillsCount).toBe(300);
    expect(result.fills.rows).toHaveLength(100);

    const optimized = await job(jobs.optimize.id);
    expect(optimized.status, optimized.error ?? '').toBe('completed');
    expect(optimized.progress).toMatchObject({ fraction: 1, stage: 'complete' });
    const front = await call<{ frontSize: number; front: { config: { backtest: { base_dir: string } } }[] }>('GET', `/optimize/results/${jobs.optimize.id}`);
    expect(front.frontSize).toBeGreaterThan(0);
    expect(front.front[0]?.config.backtest.base_dir).toContain(`/jobs/${jobs.optimize.id}/`);
  });

  it('a backtest that ended while pbfleet was down is settled by its results: completed', async () => {
    const ended = await job(jobs.quick.id);
    expect(ended.status, ended.error ?? '').toBe('completed');
    expect(ended.error).toBeNull();
    expect((await call<{ fillsCount: number }>('GET', `/backtest/results/${jobs.quick.id}`)).fillsCount).toBe(50);
  });
});
