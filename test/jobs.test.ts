import { dirname, join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { HubMessage } from '../src/modules/hub/hub.js';
import type { Instance } from '../src/modules/instances/instances.types.js';
import type { Job } from '../src/modules/jobs/jobs.types.js';
import { createTestApp, type TestApp } from './helpers/app.js';
import { testDatabases } from './helpers/databases.js';
import { apiClient, auditEntries, hubSpy, until, type ErrorBody } from './helpers/environments.js';
import { killAllWith } from './helpers/instances.js';
import { makePassivbotCheckout, standinConfig, type PassivbotCheckout } from './helpers/passivbot.js';

/**
 * Backtests and optimizations on this machine with the stand-in Passivbot: queued, run within
 * the environment's CPU slots, followed by progress, cancelled, and their results parsed.
 */

// Real processes on a machine shared with the other suites: a step can take seconds under load.
describe.each(testDatabases)('jobs on $name', { timeout: 120_000 }, (database) => {
  let t: TestApp;
  let api: ReturnType<typeof apiClient>;
  let checkout: PassivbotCheckout;

  beforeAll(async () => {
    checkout = await makePassivbotCheckout();
    t = await createTestApp(database, { overrides: { jobs: { slots: 2, cancelTimeout: '3s' }, supervisor: { probeInterval: '200ms' } } });
    api = apiClient(t);
    const paths = await api.put('/settings/paths', { passivbotDir: checkout.dir, pythonPath: checkout.python, passivbotKind: 'v7' });
    expect(paths.statusCode, paths.body).toBe(200);
    const account = await api.post('/accounts', { name: 'bybit_01', exchange: 'bybit', key: 'k', secret: 's' });
    expect(account.statusCode, account.body).toBe(201);
  });

  afterAll(async () => {
    await t?.close();
    killAllWith(checkout.dir);
  });

  const config = (standin: Record<string, unknown> = {}) => standinConfig({ standin });
  const run = async (type: 'backtest' | 'optimize', body: Record<string, unknown>): Promise<Job> => {
    const res = await api.post(`/${type}/run`, body, 'operator');
    if (res.statusCode !== 202) throw new Error(`${type} run: ${res.statusCode} ${res.body}`);
    return res.json<Job>();
  };
  const job = async (id: string) => (await api.get(`/jobs/${id}`)).json<Job>();
  type Config = Record<string, Record<string, unknown>>;
  type Entry = { id: string; rank: number; config: Config };
  /** A config as a result hands it on: the job's own backtest.base_dir back to Passivbot's default. */
  const withDefaultBaseDir = (config: Config): Config => ({ ...config, backtest: { ...config.backtest, base_dir: 'backtests' } });
  const fieldsOf = (res: { json<T>(): T }) => res.json<ErrorBody>().error.details?.fields?.map((f) => f.field);
  const auditDetails = async (action: string) => (await auditEntries(t)).filter((e) => e.action === action).map((e) => JSON.parse(e.details ?? '{}') as Record<string, unknown>);
  const optimizeResult = async (id: string) => (await api.get(`/optimize/results/${id}`)).json<{ frontSize: number; front: Entry[] }>();
  /** Completed optimizations, shared by the tests that start from their results. */
  let optimization: { job: Job; front: Entry[] };
  const finished = (id: string, ms = 30_000) =>
    until(async () => {
      const current = await job(id);
      return ['completed', 'failed', 'cancelled', 'interrupted'].includes(current.status) ? current : undefined;
    }, `job ${id} to finish`, ms);

  // A test that fails half-way must not leave jobs holding the slots the next tests need.
  afterEach(async () => {
    const left = (await api.get('/jobs?limit=200')).json<{ jobs: Job[] }>().jobs.filter((j) => j.status === 'queued' || j.status === 'running');
    for (const j of left) await api.del(`/${j.type}/jobs/${j.id}`, 'operator');
    for (const j of left) await finished(j.id);
  });

  it('runs a backtest: progress on the hub, metrics, a downsampled equity curve, fills by page and export', async () => {
    const spy = hubSpy(t, ['jobs']);
    const queued = await run('backtest', { config: config({ n_fills: 1500, equity_points: 5000 }), name: 'btc eth', overrides: { start_date: '2024-01-01', end_date: '2024-03-01', starting_balance: 2000 } });
    expect(queued).toMatchObject({ type: 'backtest', name: 'btc eth', environmentId: 'local', slots: 1 });
    const spyJob = hubSpy(t, [`job:${queued.id}`]);
    const done = await finished(queued.id);
    expect(done.status, done.error ?? '').toBe('completed');
    expect(done.progress).toMatchObject({ fraction: 1, stage: 'complete' });
    expect(done.params.effective).toMatchObject({ backtest: { start_date: '2024-01-01', end_date: '2024-03-01', starting_balance: 2000 } });
    expect(spy.of('job_created').length).toBeGreaterThan(0);
    expect(spyJob.of('job_log').length).toBeGreaterThan(0);
    spy.detach();
    spyJob.detach();

    const result = (await api.get(`/backtest/results/${queued.id}?fills=2&limit=100`)).json<{
      metrics: Record<string, unknown>;
      typed: Record<string, number | null>;
      equity: { points: unknown[]; sourceRows: number };
      fillsCount: number;
      fills: { page: number; rows: Record<string, unknown>[]; total: number; columns: string[] };
    }>();
    expect(Object.keys(result.metrics)).toEqual(expect.arrayContaining(['adg_usd', 'drawdown_worst_usd', 'sharpe_ratio_usd']));
    expect(result.typed.adg).toEqual(expect.any(Number));
    expect(result.equity.sourceRows).toBe(5000);
    expect(result.equity.points.length).toBeLessThanOrEqual(2000);
    expect(result.fillsCount).toBe(1500);
    expect(result.fills).toMatchObject({ page: 2, total: 1500 });
    expect(result.fills.rows).toHaveLength(100);
    expect(result.fills.columns).toEqual(expect.arrayContaining(['timestamp', 'coin', 'pnl', 'type']));

    type FillsPage = { fills: { rows: Record<string, number | string>[]; total: number } };
    const byPnl = (await api.get(`/backtest/results/${queued.id}?fills=1&limit=50&sort=pnl&order=desc`)).json<FillsPage>().fills;
    expect(byPnl.total).toBe(1500);
    expect(byPnl.rows.map((r) => r.pnl)).toEqual(byPnl.rows.map((r) => r.pnl).sort((a, b) => Number(b) - Number(a)));
    const coins = (await api.get(`/backtest/results/${queued.id}/coins`)).json<{ coins: { coin: string; fills: number; pnl: number }[] }>().coins;
    expect(coins.reduce((sum, c) => sum + c.fills, 0)).toBe(1500);
    const oneCoin = (await api.get(`/backtest/results/${queued.id}?fills=1&limit=10&coin=${coins[0]!.coin}&side=long`)).json<FillsPage>().fills;
    expect(oneCoin.rows.every((r) => r.coin === coins[0]!.coin && String(r.type).endsWith('_long'))).toBe(true);
    for (const [query, field] of [['sort=nope', 'sort'], ['sort=a%20b', 'sort'], ['order=up', 'order'], ['side=both', 'side']] as const) {
      const bad = await api.get(`/backtest/results/${queued.id}?fills=1&${query}`);
      expect(bad.statusCode, query).toBe(400);
      expect(JSON.stringify(fieldsOf(bad)), query).toContain(field);
    }

    const csv = await t.app.inject({ method: 'GET', url: `/api/v1/backtest/results/${queued.id}/fills/export?format=csv`, headers: t.auth('viewer') });
    expect(csv.statusCode).toBe(200);
    expect(csv.headers['content-type']).toMatch(/text\/csv/);
    expect(csv.body.trim().split('\n')).toHaveLength(1501);
    const log = await t.app.inject({ method: 'GET', url: `/api/v1/jobs/${queued.id}/log?tail=5`, headers: t.auth('viewer'), payloadAsStream: true });
    expect(log.statusCode).toBe(200);
    log.stream().destroy();
  });

  it('runs an optimization and ranks its pareto front; a backtest can start from an entry', async () => {
    const queued = await run('optimize', { config: config(), overrides: { iters: 60, population_size: 10, n_cpus: 2 } });
    expect(queued.slots).toBe(2);
    const done = await finished(queued.id);
    expect(done.status, done.error ?? '').toBe('completed');
    const result = await optimizeResult(queued.id);
    expect(result.frontSize).toBeGreaterThan(0);
    expect(result.front.map((e) => e.rank)).toEqual(result.front.map((_, i) => i + 1));
    expect(result.front[0]?.config).toHaveProperty('bot');

    const seeded = await run('optimize', { config: config(), overrides: { iters: 20, seed: { jobId: queued.id, entry: result.front[0]?.id } } });
    expect(seeded.params.seedConfig).toBeDefined();
    expect((await finished(seeded.id)).status).toBe('completed');
  });

  it('backtests a pareto entry and makes bots from an entry and a backtest, without the jobs\' own paths', async () => {
    // Entries are full configs as the optimizer writes them: the scenario suite on (as in
    // Passivbot's template; a backtest job turns it off, being one run), and counts searched as
    // floats (a bound without a step), which Passivbot rounds.
    const base = config();
    const optimizeConfig = { ...base, backtest: { ...(base.backtest as object), suite_enabled: true }, optimize: { ...(base.optimize as object), bounds: { short_n_positions: [1, 20] } } };
    const optimized = await finished((await run('optimize', { config: optimizeConfig })).id);
    expect(optimized.status, optimized.error ?? '').toBe('completed');
    optimization = { job: optimized, front: (await optimizeResult(optimized.id)).front };
    const { job: source, front } = optimization;
    const entry = front[1] ?? front[0]!;
    // The premises: the optimizer's configs carry the job's own base_dir, the suite, and fractions.
    expect(entry.config.backtest).toMatchObject({ suite_enabled: true });
    expect(front.some((e) => !Number.isInteger((e.config.bot as { short?: { n_positions?: number } } | undefined)?.short?.n_positions))).toBe(true);
    expect(entry.config.backtest?.base_dir).toBe(join(dirname(source.logPath!), 'backtests'));

    const queued = await api.post(`/optimize/results/${source.id}/backtest`, { entry: entry.id, overrides: { starting_balance: 5000 }, priority: 3 }, 'operator');
    expect(queued.statusCode, queued.body).toBe(202);
    const backtest = queued.json<Job>();
    expect(backtest).toMatchObject({ type: 'backtest', name: `${source.name} #${entry.rank}`, priority: 3 });
    expect(backtest.params.config).toEqual(withDefaultBaseDir(entry.config));
    expect(backtest.params.effective.backtest).toMatchObject({ starting_balance: 5000 });
    const best = await api.post(`/optimize/results/${source.id}/backtest`, { name: 'the best' }, 'operator');
    expect(best.statusCode, best.body).toBe(202);
    expect(best.json<Job>().params.config).toEqual(withDefaultBaseDir(front[0]!.config));
    for (const id of [backtest.id, best.json<Job>().id]) {
      const done = await finished(id);
      expect(done.status, done.error ?? '').toBe('completed');
    }
    expect(await auditDetails('backtest_run')).toContainEqual(expect.objectContaining({ jobId: backtest.id, fromJob: source.id, fromEntry: entry.id }));

    const fromEntry = await api.post(`/optimize/results/${source.id}/instance`, { name: `entry-${database.name}`, environmentId: 'local', account: 'bybit_01', entry: entry.id }, 'operator');
    expect(fromEntry.statusCode, fromEntry.body).toBe(201);
    const entryBot = (await api.get(`/instances/${fromEntry.json<Instance>().id}`)).json<Instance>();
    expect(entryBot).toMatchObject({ status: 'stopped', desiredState: 'stopped', account: 'bybit_01', exchange: 'bybit' });
    const expected = withDefaultBaseDir(entry.config);
    expect(entryBot.config).toEqual({ ...expected, live: { ...expected.live, user: 'bybit_01' } });

    const fromBacktest = await api.post(`/backtest/results/${backtest.id}/instance`, { name: `backtest-${database.name}`, environmentId: 'local', account: 'bybit_01' }, 'operator');
    expect(fromBacktest.statusCode, fromBacktest.body).toBe(201);
    const backtestBot = (await api.get(`/instances/${fromBacktest.json<Instance>().id}`)).json<Instance>();
    // The config Passivbot wrote beside the backtest's results: the entry's, with the override.
    expect(backtestBot.config.bot).toEqual(entry.config.bot);
    expect(backtestBot.config.backtest).toMatchObject({ starting_balance: 5000, base_dir: 'backtests' });
    expect(JSON.stringify(backtestBot.config)).not.toContain(`/jobs/${backtest.id}`);
    expect(await auditDetails('instance_create')).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ instanceId: entryBot.id, fromJob: source.id, fromEntry: entry.id }),
        expect.objectContaining({ instanceId: backtestBot.id, fromJob: backtest.id }),
      ]),
    );
  });

  it('refuses to start from a result that is missing, unfinished, of the other type or unknown', async () => {
    const { job: source } = optimization;
    const bot = (name: string, extra: Record<string, unknown> = {}) => ({ name, environmentId: 'local', account: 'bybit_01', ...extra });
    const unknownEntry = await api.post(`/optimize/results/${source.id}/backtest`, { entry: 'nope' }, 'operator');
    expect(unknownEntry.statusCode, unknownEntry.body).toBe(400);
    expect(fieldsOf(unknownEntry)).toEqual(['entry']);
    const unknownEntryBot = await api.post(`/optimize/results/${source.id}/instance`, bot('no-entry', { entry: 'nope' }), 'operator');
    expect(unknownEntryBot.statusCode, unknownEntryBot.body).toBe(400);
    expect(fieldsOf(unknownEntryBot)).toEqual(['entry']);
    const badAccount = await api.post(`/optimize/results/${source.id}/instance`, bot('no-account', { account: 'nobody' }), 'operator');
    expect(badAccount.statusCode, badAccount.body).toBe(400);
    expect(fieldsOf(badAccount)).toEqual(['account']);
    const withConfig = await api.post(`/optimize/results/${source.id}/instance`, bot('with-config', { config: {} }), 'operator');
    expect(withConfig.statusCode, withConfig.body).toBe(400);

    const backtestId = (await api.get('/backtest/jobs?status=completed')).json<{ jobs: Job[] }>().jobs[0]!.id;
    expect((await api.post(`/optimize/results/${backtestId}/backtest`, {}, 'operator')).statusCode).toBe(404);
    expect((await api.post(`/optimize/results/${backtestId}/instance`, bot('wrong-type'), 'operator')).statusCode).toBe(404);
    expect((await api.post(`/backtest/results/${source.id}/instance`, bot('wrong-type'), 'operator')).statusCode).toBe(404);
    expect((await api.post('/backtest/results/nope/instance', bot('unknown'), 'operator')).statusCode).toBe(404);
    expect((await api.post(`/optimize/results/${source.id}/backtest`, {}, 'viewer')).statusCode).toBe(403);
    expect((await api.post(`/backtest/results/${backtestId}/instance`, bot('viewer'), 'viewer')).statusCode).toBe(403);

    // Not finished yet: no results to start from.
    const running = await run('optimize', { config: config({ slow_s: 0.5 }), overrides: { iters: 100_000, n_cpus: 2 } });
    const waiting = await run('backtest', { config: config() });
    try {
      for (const [url, body] of [
        [`/optimize/results/${running.id}/backtest`, {}],
        [`/optimize/results/${running.id}/instance`, bot('unfinished')],
        [`/backtest/results/${waiting.id}/instance`, bot('unfinished')],
      ] as const) {
        const res = await api.post(url, body, 'operator');
        expect(res.statusCode, `${url}: ${res.body}`).toBe(409);
      }
      await api.del(`/backtest/jobs/${waiting.id}`, 'operator');
      // Cancelled before it wrote anything: still nothing to start from.
      expect((await api.post(`/backtest/results/${waiting.id}/instance`, bot('cancelled'), 'operator')).statusCode).toBe(409);
    } finally {
      // Both slots back for the next tests, whatever failed above.
      await api.del(`/backtest/jobs/${waiting.id}`, 'operator');
      await api.del(`/optimize/jobs/${running.id}`, 'operator');
      await finished(running.id);
    }
    const names = (await api.get('/instances?limit=500')).json<{ instances: Instance[] }>().instances.map((i) => i.name);
    expect(names.filter((n) => !n.startsWith('entry-') && !n.startsWith('backtest-'))).toEqual([]);
  });

  it('keeps to the CPU slots, by priority then age, and reorders queued jobs', async () => {
    // a frees its slot well before b, so exactly one slot opens when c is due.
    const slow = config({ slow_s: 1.5 });
    const a = await run('backtest', { config: slow, name: 'a' });
    const b = await run('backtest', { config: config({ slow_s: 6 }), name: 'b' });
    const c = await run('backtest', { config: slow, name: 'c' });
    const d = await run('backtest', { config: slow, name: 'd', priority: 5 });
    await until(async () => (await job(a.id)).status === 'running' && (await job(b.id)).status === 'running', 'two running');
    expect((await job(c.id)).status).toBe('queued');
    expect((await job(d.id)).status).toBe('queued');
    const moved = await api.post(`/jobs/${c.id}/priority`, { priority: 10 }, 'operator');
    expect(moved.json<Job>().priority).toBe(10);
    // c (10) before d (5): c starts as soon as a slot frees.
    await until(async () => (await job(c.id)).status !== 'queued', 'c to start');
    expect((await job(d.id)).status).toBe('queued');
    for (const j of [a, b, c, d]) expect((await finished(j.id)).status).toBe('completed');
    expect((await job(c.id)).startedAt! < (await job(d.id)).startedAt!).toBe(true);
    const running = await api.post(`/jobs/${a.id}/priority`, { priority: 1 }, 'operator');
    expect(running.statusCode).toBe(409);
  });

  it('cancels a queued job at once and a running optimization gracefully, keeping its partial front', async () => {
    const long = await run('optimize', { config: config({ slow_s: 0.5 }), overrides: { iters: 100_000, n_cpus: 2 } });
    await until(async () => (await job(long.id)).progress.stage === 'evaluating', 'the optimization to evaluate', 20_000);
    const waiting = await run('backtest', { config: config() });
    expect((await job(waiting.id)).status).toBe('queued');
    const cancelledQueued = await api.del(`/backtest/jobs/${waiting.id}`, 'operator');
    expect(cancelledQueued.json<Job>().status).toBe('cancelled');
    await new Promise((resolve) => setTimeout(resolve, 1200));
    const cancelled = await api.del(`/optimize/jobs/${long.id}`, 'operator');
    expect(cancelled.statusCode, cancelled.body).toBe(200);
    const done = await finished(long.id);
    expect(done.status).toBe('cancelled');
    expect(done.result).toMatchObject({ frontSize: expect.any(Number) });
    expect((await api.del(`/optimize/jobs/${long.id}`, 'operator')).statusCode).toBe(409);
    const actions = (await auditEntries(t)).map((e) => e.action);
    expect(actions).toEqual(expect.arrayContaining(['optimize_run', 'optimize_cancel', 'backtest_cancel']));
  });

  it('fails fast with the reason, never stuck in queued', async () => {
    const failing = await run('backtest', { config: config({ fail: 'no candles for XYZ' }) });
    const done = await finished(failing.id);
    expect(done.status).toBe('failed');
    expect(done.error).toMatch(/exited with code 1.*no candles for XYZ/);
  });

  it('refuses bad input with 400/409 naming the field', async () => {
    const cases: [string, Record<string, unknown>, string][] = [
      ['backtest', { config: config(), overrides: { start_date: '2024-05-01', end_date: '2024-01-01' } }, 'overrides.end_date'],
      ['backtest', { config: config(), overrides: { exchanges: ['mtgox'] } }, 'overrides.exchanges.0'],
      ['backtest', { config: { ...config(), backtest: { exchanges: ['mtgox'] } } }, 'config.backtest.exchanges[0]'],
      ['optimize', { config: config(), overrides: { bounds: { long_n_positions: [5, 1] } } }, 'overrides.bounds.long_n_positions'],
      ['optimize', { config: config(), overrides: { iters: 0 } }, 'overrides.iters'],
      ['optimize', { config: config(), overrides: { n_cpus: 64 } }, 'overrides.n_cpus'],
      ['backtest', { config: { bot: { long: { n_positions: 'x' } } } }, 'config.bot.long.n_positions'],
      ['backtest', { config: config(), environmentId: 'nowhere' }, 'environmentId'],
      ['optimize', { config: config(), overrides: { seed: { jobId: 'nope' } } }, 'overrides.seed.jobId'],
      ['backtest', { config: config(), overrides: { start_date: 'yesterday' } }, 'overrides.start_date'],
    ];
    const before = (await api.get('/jobs?limit=500')).json<{ pagination: { total: number } }>().pagination.total;
    for (const [type, body, field] of cases) {
      const res = await api.post(`/${type}/run`, body, 'operator');
      expect(res.statusCode, `${field}: ${res.body}`).toBe(400);
      expect(res.json<ErrorBody>().error.details?.fields?.map((f) => f.field), res.body).toContain(field);
    }
    expect((await api.get('/jobs?limit=500')).json<{ pagination: { total: number } }>().pagination.total).toBe(before);
    expect((await api.call('viewer', 'POST', '/backtest/run', { config: config() })).statusCode).toBe(403);
  });

  it('lists jobs by type and status, and answers 404 across types', async () => {
    const list = (await api.get('/backtest/jobs?status=completed')).json<{ jobs: Job[] }>();
    expect(list.jobs.length).toBeGreaterThan(0);
    expect(list.jobs.every((j) => j.type === 'backtest' && j.status === 'completed')).toBe(true);
    const optimizeId = (await api.get('/optimize/jobs')).json<{ jobs: Job[] }>().jobs[0]?.id;
    expect((await api.get(`/backtest/jobs/${optimizeId}`)).statusCode).toBe(404);
    const messages: HubMessage[] = [];
    expect(messages).toEqual([]);
  });
});
