import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Environment } from '../src/modules/environments/environments.types.js';
import type { Job } from '../src/modules/jobs/jobs.types.js';
import { createTestApp, type TestApp } from './helpers/app.js';
import { testDatabases } from './helpers/databases.js';
import { apiClient, LOOPBACK_ALLOWED, sshEnvironmentBody, until, type ErrorBody } from './helpers/environments.js';
import { closedPort } from './helpers/http-targets.js';
import { alive, FAST_SUPERVISOR, killAllWith, processesWith } from './helpers/instances.js';
import { makePassivbotCheckout, standinConfig, type PassivbotCheckout } from './helpers/passivbot.js';
import { sshdAvailable, useSshd } from './helpers/sshd.js';

/**
 * Backtests and optimizations on a server over SSH (the test sshd on 127.0.0.1): the job's
 * files by SFTP, Passivbot started detached, its exit read from the wrapper's exit file, and
 * its results copied into this server's data dir, so they stay readable whatever the host does.
 */

const sqlite = testDatabases[0] as (typeof testDatabases)[number];
const FINISHED = ['completed', 'failed', 'cancelled', 'interrupted'];

interface BacktestResult {
  metrics: Record<string, unknown>;
  fillsCount: number;
  fills?: { page: number; total: number; rows: Record<string, unknown>[]; columns: string[] };
}

/**
 * Pids of Passivbot itself for one job dir: not the wrapper shell that records its exit code, nor
 * the short-lived probe shells that name the dir too (they may be gone by the time they are read).
 */
function passivbotPids(jobDir: string): number[] {
  return processesWith(jobDir).filter((pid) => {
    try {
      const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
      return argv[0] !== 'sh' && argv.some((a) => a.endsWith('backtest.py') || a.endsWith('optimize.py'));
    } catch {
      return false;
    }
  });
}

describe.runIf(sshdAvailable)('jobs over SSH', () => {
  const sshd = useSshd();
  let t: TestApp;
  let api: ReturnType<typeof apiClient>;
  let checkout: PassivbotCheckout;
  let workDir: string;
  let env: Environment;

  beforeAll(async () => {
    checkout = await makePassivbotCheckout();
    workDir = mkdtempSync(join(tmpdir(), 'pbfleet-remote-jobs-'));
    t = await createTestApp(sqlite, { overrides: { ...FAST_SUPERVISOR, ...LOOPBACK_ALLOWED, jobs: { slots: 3, cancelTimeout: '3s' } } });
    api = apiClient(t);
    env = await api.create(sshEnvironmentBody(sshd(), 'remote-jobs', { runtime: { passivbotDir: checkout.dir, pythonPath: checkout.python, kind: 'v7', workDir } }));
  });

  afterEach(async () => {
    await sshd().start();
  });

  afterAll(async () => {
    await t?.close();
    killAllWith(checkout.dir);
    rmSync(workDir, { recursive: true, force: true });
  });

  const config = (standin: Record<string, unknown> = {}) => standinConfig({ standin });
  const run = async (type: 'backtest' | 'optimize', body: Record<string, unknown>): Promise<Job> => {
    const res = await api.post(`/${type}/run`, { environmentId: env.id, ...body }, 'operator');
    if (res.statusCode !== 202) throw new Error(`${type} run: ${res.statusCode} ${res.body}`);
    return res.json<Job>();
  };
  const job = async (id: string) => (await api.get(`/jobs/${id}`)).json<Job>();
  const finished = (id: string, ms = 30_000) =>
    until(async () => {
      const current = await job(id);
      return FINISHED.includes(current.status) ? current : undefined;
    }, `job ${id} to finish`, ms);
  /** The stored record: pid and the job's directory on the host. */
  const started = (id: string) =>
    until(async () => {
      const record = await t.services.jobs.record(id);
      return record.status === 'running' && record.pid && record.workDir ? (record as typeof record & { pid: number; workDir: string }) : undefined;
    }, `job ${id} to start`, 15_000);

  it('runs a backtest on the host and copies its results here: metrics, fills pages and the export', async () => {
    const queued = await run('backtest', { config: config({ n_fills: 250, equity_points: 300 }), name: 'remote backtest' });
    expect(queued).toMatchObject({ environmentId: env.id, status: 'queued', slots: 1 });
    const done = await finished(queued.id);
    expect(done.status, done.error ?? '').toBe('completed');
    expect(done.progress).toMatchObject({ fraction: 1, stage: 'complete' });
    expect(done.logPath).toBe(join(workDir, 'jobs', queued.id, 'job.log'));

    // Ran on the host, in its own dir there...
    expect(readdirSync(join(workDir, 'jobs', queued.id, 'backtests'))).toEqual(['binance']);
    // ...and read from the copy in this server's data dir.
    const record = await t.services.jobs.record(queued.id);
    expect(record.resultDir).toBe(join(t.config.dataDir, 'jobs', queued.id));
    expect(readdirSync(record.resultDir as string).sort()).toEqual(['analysis.json', 'balance_and_equity.csv.gz', 'config.json', 'fills.csv']);

    const res = await api.get(`/backtest/results/${queued.id}?fills=3&limit=100`);
    expect(res.statusCode, res.body).toBe(200);
    const result = res.json<BacktestResult>();
    expect(Object.keys(result.metrics)).toEqual(expect.arrayContaining(['adg_usd', 'drawdown_worst_usd']));
    expect(result.fillsCount).toBe(250);
    expect(result.fills).toMatchObject({ page: 3, total: 250 });
    expect(result.fills?.rows).toHaveLength(50);
    const csv = await t.app.inject({ method: 'GET', url: `/api/v1/backtest/results/${queued.id}/fills/export?format=csv`, headers: t.auth('viewer') });
    expect(csv.statusCode).toBe(200);
    expect(csv.body.trim().split('\n')).toHaveLength(251);

    // The log is read from the host after the job ended.
    const log = await t.app.inject({ method: 'GET', url: `/api/v1/jobs/${queued.id}/log?tail=5`, headers: t.auth('viewer'), payloadAsStream: true });
    expect(log.statusCode).toBe(200);
    log.stream().destroy();
  });

  it('runs an optimization on the host and ranks the copied pareto front', async () => {
    const queued = await run('optimize', { config: config(), overrides: { iters: 40, population_size: 10, n_cpus: 2 } });
    expect(queued.slots).toBe(2);
    const done = await finished(queued.id);
    expect(done.status, done.error ?? '').toBe('completed');
    const res = await api.get(`/optimize/results/${queued.id}`);
    expect(res.statusCode, res.body).toBe(200);
    const result = res.json<{ frontSize: number; front: { id: string; rank: number; config: Record<string, unknown> }[] }>();
    expect(result.frontSize).toBeGreaterThan(0);
    expect(result.front.map((e) => e.rank)).toEqual(result.front.map((_, i) => i + 1));
    expect(result.front[0]?.config).toHaveProperty('bot');
    const copied = readdirSync(join(t.config.dataDir, 'jobs', queued.id, 'pareto'));
    expect(copied).toHaveLength(result.frontSize);
  });

  it('two optimizations at once on one host each get their own front', async () => {
    // Both write under the checkout's shared optimize_results/; each must find its own run there.
    const first = await run('optimize', { config: config({ slow_s: 1 }), name: 'first', overrides: { iters: 80, population_size: 10 } });
    await until(async () => (await job(first.id)).progress.stage === 'evaluating', 'the first optimization to evaluate', 15_000);
    // A later second: its result dir's name sorts after the first one's.
    await new Promise((resolve) => setTimeout(resolve, 1100));
    const second = await run('optimize', { config: config(), name: 'second', overrides: { iters: 20, population_size: 10 } });
    // The case at hand: the second's results appear while the first still runs.
    await until(async () => (await job(second.id)).progress.stage !== 'starting' && (await job(second.id)).progress.stage !== 'queued', 'the second optimization to write', 15_000);
    expect((await job(first.id)).status).toBe('running');
    for (const j of [first, second]) {
      const done = await finished(j.id);
      expect(done.status, `${j.name}: ${done.error ?? ''}`).toBe('completed');
      const { front } = (await api.get(`/optimize/results/${j.id}`)).json<{ front: { config: { backtest: { base_dir: string } } }[] }>();
      expect(front.length).toBeGreaterThan(0);
      // Each pareto entry is the full config the job ran with, whose base_dir is the job's own.
      expect([...new Set(front.map((e) => e.config.backtest.base_dir))].join(', '), `${j.name}'s front`).toBe(join(workDir, 'jobs', j.id, 'backtests'));
    }
  });

  it('keeps a job running while its host is away, and finishes it normally when the host is back', async () => {
    const queued = await run('backtest', { config: config({ slow_s: 3, n_fills: 120 }) });
    const record = await started(queued.id);
    await until(async () => (await job(queued.id)).progress.fraction !== null, 'progress from the host');

    await sshd().stop();
    await new Promise((resolve) => setTimeout(resolve, 1500));
    // Unreachable is not ended: the job and its process carry on.
    expect((await job(queued.id)).status).toBe('running');
    expect(alive(record.pid)).toBe(true);
    await sshd().start();

    const done = await finished(queued.id, 30_000);
    expect(done.status, done.error ?? '').toBe('completed');
    expect(done.error).toBeNull();
    const result = (await api.get(`/backtest/results/${queued.id}?fills=1&limit=500`)).json<BacktestResult>();
    expect(result.fillsCount).toBe(120);
    expect(result.fills?.rows).toHaveLength(120);
  });

  it('does not stay running when the process died while the host was away: it fails with the reason', async () => {
    const queued = await run('backtest', { config: config({ slow_s: 60 }) });
    const record = await started(queued.id);
    await until(() => passivbotPids(record.workDir).length > 0, 'the Passivbot process');

    await sshd().stop();
    // Passivbot is killed (the OOM killer, say) while nobody can look.
    for (const pid of passivbotPids(record.workDir)) process.kill(pid, 'SIGKILL');
    await until(() => !alive(record.pid), 'the job process to end');
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect((await job(queued.id)).status).toBe('running');
    await sshd().start();

    const done = await finished(queued.id, 20_000);
    expect(done.status).toBe('failed');
    expect(done.error).toMatch(/killed by signal 9/);
    expect(done.finishedAt).not.toBeNull();
    // Its CPU slot is free again: a job queued now starts.
    const next = await run('backtest', { config: config() });
    expect((await finished(next.id)).status).toBe('completed');
  });

  it('a cancel while the host is away is refused with 409 and cancels nothing; the job ends normally', async () => {
    const queued = await run('backtest', { config: config({ slow_s: 3 }) });
    const record = await started(queued.id);
    await sshd().stop();
    const res = await api.del(`/backtest/jobs/${queued.id}`, 'operator');
    expect(res.statusCode, res.body).toBe(409);
    expect(res.json<ErrorBody>().error.code).toBe('CONFLICT');
    expect(alive(record.pid)).toBe(true);
    await sshd().start();
    const done = await finished(queued.id);
    expect(done.status, done.error ?? '').toBe('completed');
  });

  it('refuses a job for an unhealthy environment with 409 naming environmentId, and queues nothing', async () => {
    const away = await api.create(sshEnvironmentBody(sshd(), 'remote-jobs-away', { target: { host: '127.0.0.1', port: await closedPort() }, runtime: { passivbotDir: checkout.dir, pythonPath: checkout.python, kind: 'v7', workDir } }));
    expect((await t.health.runNow(away.id)).health).toBe('unhealthy');
    // The refusal reads the stored status, which the recorder writes within a second.
    await t.recorder.flush();
    const before = (await api.get('/jobs?limit=500')).json<{ pagination: { total: number } }>().pagination.total;
    for (const type of ['backtest', 'optimize'] as const) {
      const res = await api.post(`/${type}/run`, { config: config(), environmentId: away.id }, 'operator');
      expect(res.statusCode, res.body).toBe(409);
      const { error } = res.json<ErrorBody>();
      expect(error.code).toBe('CONFLICT');
      expect(error.message).toMatch(/remote-jobs-away is unhealthy/);
      expect(error.details?.fields?.map((f) => f.field)).toEqual(['environmentId']);
    }
    expect((await api.get('/jobs?limit=500')).json<{ pagination: { total: number } }>().pagination.total).toBe(before);
  });

  it('fails a job at once, with the reason, when its host cannot be reached at the start', async () => {
    // Never checked (health unknown): accepted, and it must not hang in running.
    const unchecked = await api.create(sshEnvironmentBody(sshd(), 'remote-jobs-unchecked', { target: { host: '127.0.0.1', port: await closedPort() }, runtime: { passivbotDir: checkout.dir, pythonPath: checkout.python, kind: 'v7', workDir } }));
    const queued = await run('backtest', { config: config(), environmentId: unchecked.id });
    const done = await finished(queued.id, 20_000);
    expect(done.status).toBe('failed');
    expect(done.error).toMatch(/^could not run: .*(refused|ECONNREFUSED)/i);
    expect(existsSync(join(t.config.dataDir, 'jobs', queued.id))).toBe(false);
  });
});
