import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SCAN_PY } from '../src/modules/dashboard/dashboard.reader.js';
import { createDashboardRepo } from '../src/modules/dashboard/dashboard.repo.js';
import type { Environment } from '../src/modules/environments/environments.types.js';
import type { Instance } from '../src/modules/instances/instances.types.js';
import { createTestApp, type TestApp } from './helpers/app.js';
import { testDatabases } from './helpers/databases.js';
import { hubSpy, LOOPBACK_ALLOWED, sshEnvironmentBody, until } from './helpers/environments.js';
import { FAST_SUPERVISOR, instancesClient, killAllWith } from './helpers/instances.js';
import { makePassivbotCheckout, standinConfig, type PassivbotCheckout } from './helpers/passivbot.js';
import { killAll } from './helpers/process.js';
import { restartableServer } from './helpers/restartable-server.js';
import { sshdAvailable, useSshd } from './helpers/sshd.js';

/**
 * The dashboard from the bots' own files: the stand-in Passivbot writes its fill-events cache
 * (v7 and v8 shapes, pending PnL rewritten later, fills that appear twice) and monitor
 * snapshots; pbfleet's figures must equal what is computed here straight from those files.
 */

const PROCESS_TEST_MS = 150_000;
const FAST_FILES = { fill_interval_s: 0.15, monitor_interval_s: 0.3, fill_history_days: 3 };

interface Performance {
  pnl: { t: string; pnl: number; cumulative: number }[];
  totalPnl: number;
  perSymbol: { symbol: string; pnl: number; fills: number }[];
  series: { t: string; balance: number; equity: number }[];
}
interface Source {
  instanceId: string;
  name: string;
  state: string;
  problems: string[];
}
interface Stats {
  balance: number;
  openPositions: number;
  realisedPnl: { all: number };
  sources: Source[];
}
interface PositionRow {
  account: string;
  instanceId: string;
  symbol: string;
  side: string;
  size: number;
  nextEntry: { price: number; qty: number } | null;
  nextClose: { price: number; qty: number } | null;
}

/** Realised PnL per UTC day straight from a fill-events cache, by MONITOR.md's rules. */
function pnlFromFiles(dir: string): { perDay: Map<string, number>; ids: Set<string>; duplicates: number; pendingSeen: boolean } {
  const perDay = new Map<string, number>();
  const ids = new Set<string>();
  let duplicates = 0;
  let pendingSeen = false;
  for (const name of readdirSync(dir).sort()) {
    const day = /^(\d{4}-\d{2}-\d{2})\.json$/.exec(name)?.[1];
    if (!day) continue;
    // As a reader must: a file that is not JSON, or dated after tomorrow, counts nothing.
    if (Date.parse(day) > Date.now() + 86_400_000) continue;
    let records: Record<string, unknown>[];
    try {
      records = JSON.parse(readFileSync(join(dir, name), 'utf8')) as Record<string, unknown>[];
    } catch {
      continue;
    }
    const byId = new Map<string, Record<string, unknown>>();
    for (const r of records) {
      if (byId.has(r.id as string)) duplicates++;
      byId.set(r.id as string, r);
    }
    let sum = 0;
    for (const r of byId.values()) {
      ids.add(r.id as string);
      if (r.pnl_status === 'pending') {
        pendingSeen = true;
        continue;
      }
      sum += typeof r.pnl_contract === 'string' ? (r.pnl as number) + (r.fee_paid as number) : (r.pnl as number);
    }
    perDay.set(day, sum);
  }
  return { perDay, ids, duplicates, pendingSeen };
}

const perDayFromApi = (perf: Performance) => new Map(perf.pnl.map((p) => [p.t.slice(0, 10), p.pnl]));

function expectSameDays(api: Map<string, number>, files: Map<string, number>) {
  for (const [day, pnl] of files) expect(api.get(day), `PnL of ${day}`).toBeCloseTo(pnl, 9);
  for (const [day, pnl] of api) if (!files.has(day)) expect(pnl, `PnL of ${day} (no file)`).toBe(0);
}

describe.each(testDatabases)('dashboard on $name', (database) => {
  let t: TestApp;
  let api: ReturnType<typeof instancesClient>;
  let checkout: PassivbotCheckout;
  let v7: Instance;
  let v8: Instance;
  const fillDir = (exchange: string, user: string) => join(checkout.dir, 'caches', 'fill_events', exchange, user);
  const getJson = async <T>(url: string): Promise<T> => {
    const res = await api.call('viewer', 'GET', url);
    if (res.statusCode !== 200) throw new Error(`${url}: ${res.statusCode} ${res.body}`);
    return res.json<T>();
  };

  beforeAll(async () => {
    checkout = await makePassivbotCheckout();
    t = await createTestApp(database, { overrides: FAST_SUPERVISOR, logger: { level: 'error' } });
    api = instancesClient(t);
    await api.settings('paths', { passivbotDir: checkout.dir, pythonPath: checkout.python, passivbotKind: 'v7' }, '/settings/paths');
    await api.account('bybit_01');
    await api.account('binance_01', 'binance');
    v7 = await api.instance({ name: `dash-v7-${database.name}`, environmentId: 'local', account: 'bybit_01', config: standinConfig({ user: 'bybit_01', coins: ['BTC', 'ETH', 'SOL'], standin: { ...FAST_FILES, version: '7.12.0' } }) });
    v8 = await api.instance({ name: `dash-v8-${database.name}`, environmentId: 'local', account: 'binance_01', config: standinConfig({ user: 'binance_01', coins: ['BTC', 'ETH'], standin: { ...FAST_FILES, version: '8.1.0' } }) });
  });

  afterAll(async () => {
    await api?.post('/instances/stop-all', undefined, 'operator');
    await t?.close();
    if (checkout) killAllWith(checkout.dir);
  });

  it('shows the positions of state.latest.json with the next entry and close from its open orders, live on the hub', async () => {
    const spy = hubSpy(t, ['dashboard']);
    await api.action(v7.id, 'start');
    await api.action(v8.id, 'start');
    await api.status(v7.id, 'running');
    await api.status(v8.id, 'running');
    const positions = await until(async () => {
      const rows = (await getJson<{ positions: PositionRow[] }>('/dashboard/positions')).positions;
      return rows.some((p) => p.instanceId === v7.id) && rows.some((p) => p.instanceId === v8.id) ? rows : undefined;
    }, 'positions of both bots', 15_000);
    for (const p of positions) expect(p.size).not.toBe(0);
    // The same as the bot's own snapshot at that time: the stand-in writes several a second, so
    // the check is that every listed position is one the bot held (its symbol and side).
    const state = JSON.parse(readFileSync(join(checkout.dir, 'monitor', 'bybit', 'bybit_01', 'state.latest.json'), 'utf8')) as { positions: Record<string, Record<string, { size: number }>> };
    const symbols = Object.keys(state.positions);
    for (const p of positions.filter((row) => row.account === 'bybit_01')) expect(symbols).toContain(p.symbol);
    const viewer = await api.call('viewer', 'GET', '/dashboard/positions?accounts=binance_01');
    expect(viewer.statusCode).toBe(200);
    expect(viewer.json<{ positions: PositionRow[] }>().positions.every((p) => p.account === 'binance_01')).toBe(true);
    await until(() => spy.of('dashboard_positions', 'dashboard').length > 0 && spy.of('dashboard_stats', 'dashboard').length > 0, 'dashboard hub messages');
    // At most one of each a second while the bots trade.
    const counted = { stats: spy.of('dashboard_stats').length, positions: spy.of('dashboard_positions').length };
    await new Promise((resolve) => setTimeout(resolve, 3000));
    expect(spy.of('dashboard_stats').length - counted.stats).toBeLessThanOrEqual(4);
    expect(spy.of('dashboard_positions').length - counted.positions).toBeLessThanOrEqual(4);
    spy.detach();
  });

  it('reports a malformed day file and one from the future on that bot only, and keeps counting its other files', async () => {
    writeFileSync(join(fillDir('bybit', 'bybit_01'), '2020-01-02.json'), '[{"id":"cut-short","timestamp":157792');
    writeFileSync(join(fillDir('bybit', 'bybit_01'), '2099-01-01.json'), JSON.stringify([{ id: 'future-1', timestamp: 4070908800000, symbol: 'BTC/USDT:USDT', side: 'sell', qty: -1, price: 1, pnl: 1e6 }]));
    const sources = await until(async () => {
      const stats = await getJson<Stats>('/dashboard/stats');
      const bad = stats.sources.find((s) => s.instanceId === v7.id);
      return bad?.problems.length === 2 ? stats.sources : undefined;
    }, 'both problems reported', 15_000);
    const bad = sources.find((s) => s.instanceId === v7.id)!;
    expect(bad.state).toBe('error');
    expect(bad.problems.find((p) => p.includes('2020-01-02.json'))).toMatch(/not valid JSON/);
    expect(bad.problems.find((p) => p.includes('2099-01-01.json'))).toMatch(/future/);
    expect(sources.find((s) => s.instanceId === v8.id)).toMatchObject({ state: 'ok', problems: [] });
    // Neither file counts; the bot's other days keep coming in.
    const income = await getJson<{ items: { fillId: string }[] }>('/dashboard/income?accounts=bybit_01&limit=500');
    expect(income.items.map((i) => i.fillId)).not.toContain('future-1');
    const perf = await getJson<Performance>('/dashboard/performance?accounts=bybit_01&from=2020-01-01&to=2020-01-05');
    expect(perf.totalPnl).toBe(0);
  });

  it('gives per-day realised PnL equal to the sum computed from the stand-in files (v7 and v8), each fill once', async () => {
    // Enough fills for pending PnL to be rewritten and duplicates to appear, then a clean stop.
    await until(async () => (await getJson<{ pagination: { total: number } }>('/dashboard/income?accounts=binance_01&period=today')).pagination.total >= 12, 'a dozen fills today', 20_000);
    await api.action(v7.id, 'stop');
    await api.action(v8.id, 'stop');
    for (const [instance, exchange, user] of [
      [v7, 'bybit', 'bybit_01'],
      [v8, 'binance', 'binance_01'],
    ] as const) {
      const files = pnlFromFiles(fillDir(exchange, user));
      expect(files.duplicates, `${user}: a fill written twice`).toBeGreaterThan(0);
      expect(files.perDay.size, `${user}: history days plus today`).toBeGreaterThanOrEqual(4);
      // The last read after the stop brings the final files in.
      // Entries of a v7 cache carry no PnL: the fill count must agree too before the last read is known to be in.
      const perf = await until(async () => {
        const p = await getJson<Performance>(`/dashboard/performance?bots=${instance.id}&period=all`);
        const count = await getJson<{ pagination: { total: number } }>(`/dashboard/income?accounts=${user}&period=all&limit=1`);
        const total = [...files.perDay.values()].reduce((a, b) => a + b, 0);
        return Math.abs(p.totalPnl - total) < 1e-9 && count.pagination.total === files.ids.size ? p : undefined;
      }, `${user}: totals to agree`, 15_000);
      expectSameDays(perDayFromApi(perf), files.perDay);
      const income = await getJson<{ pagination: { total: number } }>(`/dashboard/income?accounts=${user}&period=all&limit=1`);
      expect(income.pagination.total, `${user}: every fill once`).toBe(files.ids.size);
      expect(perf.pnl.at(-1)?.cumulative).toBeCloseTo(perf.totalPnl, 9);
    }
    // Positions as the final snapshot has them, with the next entry and close from its open orders.
    const final = JSON.parse(readFileSync(join(checkout.dir, 'monitor', 'bybit', 'bybit_01', 'state.latest.json'), 'utf8')) as {
      positions: Record<string, Record<'long' | 'short', { size: number; last_price: number }>>;
      open_orders: Record<string, { position_side: string; price: number; qty: number; reduce_only: boolean }[]>;
    };
    const expected = Object.entries(final.positions)
      .flatMap(([symbol, sides]) => (['long', 'short'] as const).map((side) => ({ symbol, side, size: sides[side].size, last: sides[side].last_price })))
      .filter((p) => p.size !== 0);
    expect(expected.length).toBeGreaterThan(0);
    const nearest = (symbol: string, side: string, last: number, close: boolean) => {
      const orders = (final.open_orders[symbol] ?? []).filter((o) => o.position_side === side && o.reduce_only === close);
      const best = orders.sort((a, b) => Math.abs(a.price - last) - Math.abs(b.price - last))[0];
      return best ? { price: best.price, qty: best.qty } : null;
    };
    await until(async () => {
      const rows = (await getJson<{ positions: PositionRow[] }>('/dashboard/positions?accounts=bybit_01')).positions;
      return rows.length === expected.length && expected.every((e) => rows.some((r) => r.symbol === e.symbol && r.side === e.side && r.size === e.size)) ? rows : undefined;
    }, 'the final snapshot positions', 10_000);
    const rows = (await getJson<{ positions: PositionRow[] }>('/dashboard/positions?accounts=bybit_01')).positions;
    for (const e of expected) {
      const row = rows.find((r) => r.symbol === e.symbol && r.side === e.side)!;
      expect(row.nextEntry, `${e.symbol} ${e.side} next entry`).toEqual(nearest(e.symbol, e.side, e.last, false));
      expect(row.nextClose, `${e.symbol} ${e.side} next close`).toEqual(nearest(e.symbol, e.side, e.last, true));
    }
    // The other figures of the same period agree with the per-day PnL.
    const perf = await getJson<Performance & { adg: { quote: number }; maxDrawdown: number; topSymbols: { symbol: string; pnl: number }[] }>('/dashboard/performance?accounts=bybit_01&period=all&top=2');
    expect(perf.perSymbol.reduce((a, p) => a + p.pnl, 0)).toBeCloseTo(perf.totalPnl, 9);
    expect(perf.topSymbols.length).toBeLessThanOrEqual(2);
    expect(perf.topSymbols.map((p) => p.symbol)).toEqual(perf.perSymbol.filter((p) => p.pnl > 0).slice(0, 2).map((p) => p.symbol));
    expect(perf.adg.quote).toBeCloseTo(perf.totalPnl / perf.pnl.length, 9);
    expect(perf.series.length).toBeGreaterThan(0);
    expect(perf.series.at(-1)!.balance).toBeGreaterThan(0);
    expect(perf.maxDrawdown).toBeGreaterThanOrEqual(0);
    const today = new Date().toISOString().slice(0, 10);
    const hourly = await getJson<Performance>('/dashboard/performance?accounts=binance_01&period=today&interval=hour');
    const daily = await getJson<Performance>('/dashboard/performance?accounts=binance_01&period=today');
    if (daily.pnl[0]?.t.slice(0, 10) === today) expect(hourly.pnl.reduce((a, p) => a + p.pnl, 0)).toBeCloseTo(daily.totalPnl, 9);
    expect(hourly.pnl.every((p) => p.t.startsWith(today))).toBe(true);
    // Nothing changes once the bots have stopped: the hub stays quiet.
    const spy = hubSpy(t, ['dashboard']);
    await new Promise((resolve) => setTimeout(resolve, 2500));
    expect(spy.messages.filter((m) => m.type.startsWith('dashboard_'))).toEqual([]);
    spy.detach();
    const v8Records = JSON.parse(readFileSync(join(fillDir('binance', 'binance_01'), readdirSync(fillDir('binance', 'binance_01')).filter((n) => /^\d{4}/.test(n)).sort().at(-1)!), 'utf8')) as Record<string, unknown>[];
    expect(v8Records[0]).toHaveProperty('pnl_contract');
    const stats = await getJson<Stats>('/dashboard/stats');
    const all = [...pnlFromFiles(fillDir('bybit', 'bybit_01')).perDay.values(), ...pnlFromFiles(fillDir('binance', 'binance_01')).perDay.values()].reduce((a, b) => a + b, 0);
    expect(stats.realisedPnl.all).toBeCloseTo(all, 9);
    expect(stats.balance).toBeGreaterThan(0);
  });

  it('thins balance samples older than the detail window to the last of each hour', async () => {
    const repo = createDashboardRepo(t.database.db);
    const hour = Date.parse('2020-03-01T10:00:00Z');
    for (const minute of [0, 1, 59]) await repo.addSample('account', 'thin-test', hour + minute * 60_000, { balance: minute, equity: minute });
    await repo.addSample('account', 'thin-test', hour + 3_600_000, { balance: 60, equity: 60 });
    const recent = Date.now() - 60_000;
    await repo.addSample('account', 'thin-test', recent - 60_000, { balance: 1, equity: 1 });
    await repo.addSample('account', 'thin-test', recent, { balance: 2, equity: 2 });
    expect(await repo.thinSamples(Date.now() - 30 * 86_400_000)).toBe(2);
    const left = await t.database.db.selectFrom('dashboard_samples').select(['ts', 'balance']).where('key', '=', 'thin-test').orderBy('ts').execute();
    expect(left.map((r) => Number(r.balance))).toEqual([59, 60, 1, 2]);
  });

  it('exports the income as CSV and refuses bad input with the field named', async () => {
    const csv = await api.call('viewer', 'GET', '/dashboard/income?accounts=binance_01&format=csv');
    expect(csv.statusCode).toBe(200);
    expect(csv.headers['content-type']).toMatch(/^text\/csv/);
    const lines = csv.body.trim().split('\n');
    expect(lines[0]).toBe('time,account,exchange,symbol,side,positionSide,orderType,qty,price,pnl,fee,netPnl,status,fillId,source');
    expect(lines.length - 1).toBe(pnlFromFiles(fillDir('binance', 'binance_01')).ids.size);
    const bad = await api.call('viewer', 'GET', '/dashboard/performance?period=decade');
    expect(bad.statusCode).toBe(400);
    expect(bad.body).toContain('period');
    const both = await api.call('viewer', 'GET', '/dashboard/performance?period=7d&from=2026-01-01');
    expect(both.statusCode).toBe(400);
    expect(both.json<{ error: { message: string } }>().error.message).toMatch(/period/);
    const noBot = await api.call('viewer', 'GET', '/dashboard/income?bots=nope');
    expect(noBot.statusCode).toBe(400);
    expect((await api.call(null, 'GET', '/dashboard/stats')).statusCode).toBe(401);
  });
});

describe('dashboard across a pbfleet restart', () => {
  const pbfleet = restartableServer('dashboard', 'supervisor:\n  probeInterval: 300ms\n  restartBackoff: 300ms\n');
  const { call, start, kill } = pbfleet;
  let checkout: PassivbotCheckout;

  beforeAll(async () => {
    await pbfleet.setup();
    checkout = await makePassivbotCheckout();
  });

  afterAll(async () => {
    await killAll();
    if (checkout) killAllWith(checkout.dir);
    pbfleet.remove();
  });

  it(
    'neither loses nor doubles a fill when pbfleet is killed while the bot keeps trading',
    async () => {
      await start();
      await call('PUT', '/settings/paths', { passivbotDir: checkout.dir, pythonPath: checkout.python, passivbotKind: 'v7' });
      await call('POST', '/accounts', { name: 'bybit_01', exchange: 'bybit', key: 'k', secret: 's' });
      const bot = await call<Instance>('POST', '/instances', { name: 'restart-dash', environmentId: 'local', account: 'bybit_01', config: standinConfig({ standin: { ...FAST_FILES, version: '8.1.0' } }) });
      await call('POST', `/instances/${bot.id}/start`);
      const income = () => call<{ pagination: { total: number } }>('GET', '/dashboard/income?period=all&limit=1');
      const before = await until(async () => ((await income()).pagination.total > 16 ? (await income()).pagination.total : undefined), 'fills ingested', 20_000);
      await kill();
      // Fills go on while nobody reads them.
      await new Promise((resolve) => setTimeout(resolve, 1500));
      await start();
      await until(async () => (await income()).pagination.total > before + 3, 'fills after the restart', 20_000);
      await call('POST', `/instances/${bot.id}/stop`);
      const files = pnlFromFiles(join(checkout.dir, 'caches', 'fill_events', 'bybit', 'bybit_01'));
      const total = [...files.perDay.values()].reduce((a, b) => a + b, 0);
      const perf = await until(async () => {
        const p = await call<Performance>('GET', '/dashboard/performance?period=all');
        return Math.abs(p.totalPnl - total) < 1e-9 && (await income()).pagination.total === files.ids.size ? p : undefined;
      }, 'the totals to agree after the restart', 15_000);
      expectSameDays(perDayFromApi(perf), files.perDay);
    },
    PROCESS_TEST_MS,
  );
});

describe.runIf(sshdAvailable)('dashboard over SSH', () => {
  const sshd = useSshd();
  let t: TestApp;
  let api: ReturnType<typeof instancesClient>;
  let checkout: PassivbotCheckout;
  let workDir: string;
  let env: Environment;
  const sqlite = testDatabases[0] as (typeof testDatabases)[number];
  const getJson = async <T>(url: string): Promise<T> => {
    const res = await api.call('viewer', 'GET', url);
    if (res.statusCode !== 200) throw new Error(`${url}: ${res.statusCode} ${res.body}`);
    return res.json<T>();
  };

  beforeAll(async () => {
    checkout = await makePassivbotCheckout();
    workDir = mkdtempSync(join(tmpdir(), 'pbfleet-dash-work-'));
    t = await createTestApp(sqlite, { overrides: { ...FAST_SUPERVISOR, ...LOOPBACK_ALLOWED } });
    api = instancesClient(t);
    await api.settings('instances', { stopTimeoutSeconds: 2 });
    await api.account('bybit_01');
    await api.account('binance_01', 'binance');
    env = await api.create(sshEnvironmentBody(sshd(), 'dash-remote', { runtime: { passivbotDir: checkout.dir, pythonPath: checkout.python, kind: 'v7', workDir } }));
  });

  afterAll(async () => {
    await sshd().start();
    await api?.post('/instances/stop-all', undefined, 'operator');
    await t?.close();
    if (checkout) killAllWith(checkout.dir);
    if (workDir) rmSync(workDir, { recursive: true, force: true });
  });

  it(
    'reads two bots with one scan per round over the pooled connection, and an SSH drop neither loses nor doubles a fill',
    async () => {
      const bots: Instance[] = [];
      for (const [user, version] of [
        ['bybit_01', '7.12.0'],
        ['binance_01', '8.1.0'],
      ] as const) {
        bots.push(await api.instance({ name: `dash-ssh-${user}`, environmentId: env.id, account: user, config: standinConfig({ user, standin: { ...FAST_FILES, version } }) }));
      }
      // Count the scans the pool runs: one per host per round, whatever the number of bots.
      let scans = 0;
      const pool = t.sshPool;
      const original = pool.execChecked.bind(pool);
      pool.execChecked = (target, command, options) => {
        if (Array.isArray(command) && command.includes(SCAN_PY)) scans++;
        return original(target, command, options);
      };
      for (const bot of bots) await api.action(bot.id, 'start');
      for (const bot of bots) await api.status(bot.id, 'running');
      await until(async () => {
        const rows = (await getJson<{ positions: PositionRow[] }>('/dashboard/positions')).positions;
        return bots.every((b) => rows.some((p) => p.instanceId === b.id));
      }, 'positions of both remote bots', 20_000);
      const counted = scans;
      const started = Date.now();
      await new Promise((resolve) => setTimeout(resolve, 3000));
      const rounds = (Date.now() - started) / 1000;
      expect(scans - counted).toBeGreaterThanOrEqual(1);
      expect(scans - counted, 'scans in 3 s with 2 bots').toBeLessThanOrEqual(Math.ceil(rounds) + 1);

      // The host goes away: both bots say why, then reading resumes where it stopped.
      await sshd().stop();
      await until(async () => {
        const sources = (await getJson<Stats>('/dashboard/stats')).sources.filter((s) => bots.some((b) => b.id === s.instanceId));
        return sources.length === 2 && sources.every((s) => s.state === 'error' && s.problems.some((p) => p.includes('cannot read'))) ? sources : undefined;
      }, 'both remote bots reported unreadable', 20_000);
      await new Promise((resolve) => setTimeout(resolve, 1000));
      await sshd().start();
      await until(async () => {
        const sources = (await getJson<Stats>('/dashboard/stats')).sources.filter((s) => bots.some((b) => b.id === s.instanceId));
        return sources.every((s) => s.state === 'ok') ? sources : undefined;
      }, 'reading resumed', 30_000);
      for (const bot of bots) await api.action(bot.id, 'stop');
      for (const [bot, exchange, user] of [
        [bots[0]!, 'bybit', 'bybit_01'],
        [bots[1]!, 'binance', 'binance_01'],
      ] as const) {
        const files = pnlFromFiles(join(checkout.dir, 'caches', 'fill_events', exchange, user));
        const total = [...files.perDay.values()].reduce((a, b) => a + b, 0);
        const perf = await until(async () => {
          const p = await getJson<Performance>(`/dashboard/performance?bots=${bot.id}&period=all`);
          const income = await getJson<{ pagination: { total: number } }>(`/dashboard/income?accounts=${user}&limit=1`);
          return Math.abs(p.totalPnl - total) < 1e-9 && income.pagination.total === files.ids.size ? p : undefined;
        }, `${user}: totals to agree after the drop`, 20_000);
        expectSameDays(perDayFromApi(perf), files.perDay);
      }
    },
    PROCESS_TEST_MS,
  );
});
