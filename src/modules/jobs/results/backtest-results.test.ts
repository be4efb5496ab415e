import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runStandin, type StandinRun } from '../../../../test/fixtures/results/standin-results.js';
import { findNewestResultDir, listBacktestResultDirs, readBacktestResult, resultDirTime, typedMetrics } from './backtest-results.js';
import { readFillsPage } from './fills.js';

const temps: string[] = [];
const tempDir = () => {
  const dir = mkdtempSync(join(tmpdir(), 'pbfleet-bt-'));
  temps.push(dir);
  return dir;
};
afterAll(() => temps.forEach((dir) => rmSync(dir, { recursive: true, force: true })));

const analysisOf = (dir: string) => JSON.parse(readFileSync(join(dir, 'analysis.json'), 'utf8')) as Record<string, number>;

describe('readBacktestResult on stand-in outputs', () => {
  let current: StandinRun;
  let old: StandinRun;
  let big: StandinRun;
  beforeAll(async () => {
    [current, old, big] = await Promise.all([
      runStandin('backtest'),
      runStandin('backtest', { standin: { old_format: true } }),
      runStandin('backtest', { standin: { n_fills: 100_000, equity_points: 500_000 }, config: { backtest: { start_date: '2021-01-01', end_date: '2024-04-01' } } }),
    ]);
  });
  afterAll(() => [current, old, big].forEach((run) => run?.cleanup()));

  it('v7.5+: every metric kept, the typed view from the _usd names, files listed', async () => {
    const summary = await readBacktestResult(current.resultDir);
    const analysis = analysisOf(current.resultDir);
    expect(summary.metrics).toEqual(analysis);
    expect(summary.typed.adg).toBe(analysis.adg_usd);
    expect(summary.typed.drawdown_worst).toBe(analysis.drawdown_worst_usd);
    expect(summary.typed.adg_w).toBe(analysis.adg_w_usd);
    expect(summary.typed.loss_profit_ratio).toBe(analysis.loss_profit_ratio);
    expect(summary.typed.positions_held_per_day).toBe(analysis.positions_held_per_day);
    expect(summary.legacyFormat).toBe(false);
    expect(summary.fillsCount).toBe(200);
    expect(summary.fillColumns).toContain('usd_total_balance');
    expect(summary.fillsMalformed).toBe(0);
    expect(summary.equity.sourceRows).toBe(1000);
    expect(summary.equity.points).toHaveLength(1000);
    expect(summary.config).toMatchObject({ backtest: { exchanges: ['binance'] } });
    expect(summary.config).not.toHaveProperty('_standin');
    expect(summary.files).toEqual(['analysis.json', 'balance_and_equity.csv.gz', 'config.json', 'fills.csv']);
  });

  it('v7.4: the typed view from the unsuffixed names', async () => {
    const summary = await readBacktestResult(old.resultDir, { maxPoints: 100 });
    const analysis = analysisOf(old.resultDir);
    expect(summary.legacyFormat).toBe(true);
    expect(summary.typed.adg).toBe(analysis.adg);
    expect(summary.typed.drawdown_worst).toBe(analysis.drawdown_worst);
    expect(summary.typed.sharpe_ratio).toBe(analysis.sharpe_ratio);
    expect(summary.fillColumns).toEqual(['timestamp', 'coin', 'pnl', 'fee_paid', 'balance', 'equity', 'qty', 'price', 'psize', 'pprice', 'type']);
    expect(summary.equity.points.length).toBeLessThanOrEqual(100);
    expect(summary.files).toContain('balance_and_equity.csv');
  });

  it('100k fills and 500k equity rows: the summary, and page 900 of the fills', async () => {
    const summary = await readBacktestResult(big.resultDir);
    expect(summary.fillsCount).toBe(100_000);
    expect(summary.equity.sourceRows).toBe(500_000);
    expect(summary.equity.points.length).toBeLessThanOrEqual(2000);
    expect(summary.equity.points.length).toBeGreaterThan(1000);
    expect(summary.equity.points[0]!.t).toBe('2021-01-01T00:00:00.000Z');

    const page = await readFillsPage(big.resultDir, 900, 100);
    expect(page.total).toBe(100_000);
    expect(page.rows).toHaveLength(100);
    const lines = readFileSync(join(big.resultDir, 'fills.csv'), 'utf8').split('\n');
    const expected = (n: number) => lines[n + 1]!.split(',');
    expect(page.rows[0]!.timestamp).toBe(Number(expected(89_900)[1]));
    expect(page.rows[99]!.timestamp).toBe(Number(expected(89_999)[1]));
    expect(page.rows[99]!.type).toBe(expected(89_999)[13]);
    expect((await readFillsPage(big.resultDir, 1000, 100)).rows[99]!.timestamp).toBe(Number(expected(99_999)[1]));
  });
});

describe('readBacktestResult edge cases', () => {
  function resultDir(files: Record<string, string | Buffer>): string {
    const dir = tempDir();
    for (const [name, content] of Object.entries(files)) writeFileSync(join(dir, name), content);
    return dir;
  }
  const minimal = {
    'analysis.json': '{"adg_usd": NaN, "gain_usd": Infinity, "sharpe_ratio_usd": 1.5, "note": "NaN stays text", "nested": {"a": 1}}',
    'fills.csv': ',timestamp\n',
    'balance_and_equity.csv.gz': gzipSync(',usd_total_balance,usd_total_equity\n'),
  };

  it('NaN/Infinity in analysis.json are null, config.json may be missing', async () => {
    const dir = resultDir({ ...minimal, 'balance_and_equity.csv': ',balance,equity\n2024-01-01 00:00:00,1,1\n' });
    rmSync(join(dir, 'balance_and_equity.csv.gz'));
    const summary = await readBacktestResult(dir);
    expect(summary.metrics).toEqual({ adg_usd: null, gain_usd: null, sharpe_ratio_usd: 1.5, note: 'NaN stays text', nested: '{"a":1}' });
    expect(summary.typed.adg).toBeNull();
    expect(summary.typed.sharpe_ratio).toBe(1.5);
    expect(summary.config).toBeNull();
    expect(summary.fillsCount).toBe(0);
  });

  it('a missing required file is named in the error', async () => {
    const { 'analysis.json': _, ...withoutAnalysis } = minimal;
    await expect(readBacktestResult(resultDir(withoutAnalysis))).rejects.toThrow('result file analysis.json is missing');
    const { 'fills.csv': __, ...withoutFills } = minimal;
    await expect(readBacktestResult(resultDir(withoutFills))).rejects.toThrow('result file fills.csv is missing');
    await expect(readBacktestResult(join(tempDir(), 'nope'))).rejects.toMatchObject({ code: 'NOT_FOUND' });
    await expect(readBacktestResult(resultDir({ ...minimal, 'analysis.json': '[1, 2' }))).rejects.toThrow(/result file analysis.json is unreadable: not JSON/);
    await expect(readBacktestResult(resultDir({ ...minimal, 'analysis.json': '[1, 2]' }))).rejects.toThrow(/not a JSON object/);
  });

  it('typedMetrics: the _usd name wins over the bare one, non-numbers are null', () => {
    const typed = typedMetrics({ adg_usd: 0.001, adg: 0.5, gain: 'x', mdg: 0.002 });
    expect(typed).toMatchObject({ adg: 0.001, gain: null, mdg: 0.002, calmar_ratio: null });
  });
});

describe('finding result dirs', () => {
  it('lists <exchange|combined>/<timestamp> dirs oldest first and finds the newest', async () => {
    const base = tempDir();
    for (const rel of ['binance/2024-01-01T10_00_00', 'combined/2024-01-02T09_00_00', 'bybit/2024-01-01T11_00_00', 'suite_runs/2024-01-03T00_00_00', 'binance/not-a-result']) {
      mkdirSync(join(base, rel), { recursive: true });
    }
    writeFileSync(join(base, 'stray.txt'), '');
    expect(await listBacktestResultDirs(base)).toEqual(['binance/2024-01-01T10_00_00', 'bybit/2024-01-01T11_00_00', 'combined/2024-01-02T09_00_00']);
    expect(await findNewestResultDir(base)).toBe(join(base, 'combined/2024-01-02T09_00_00'));
    expect(await findNewestResultDir(base, { since: new Date('2024-01-02T09:00:00.900Z') })).toBe(join(base, 'combined/2024-01-02T09_00_00'));
    expect(await findNewestResultDir(base, { since: new Date('2024-01-02T09:00:01Z') })).toBeNull();
    expect(await findNewestResultDir(join(base, 'missing'))).toBeNull();
    expect(resultDirTime('2024-01-02T09_00_00')?.toISOString()).toBe('2024-01-02T09:00:00.000Z');
    expect(resultDirTime('junk')).toBeNull();
  });

  it('finds what the stand-in wrote', async () => {
    const run = await runStandin('backtest', { standin: { n_fills: 10, equity_points: 10 } });
    try {
      const base = join(run.checkout.dir, 'backtests');
      const copy = tempDir();
      cpSync(base, copy, { recursive: true });
      expect(await findNewestResultDir(copy, { since: new Date(Date.now() - 60_000) })).toBe(join(copy, run.resultDir.slice(base.length + 1)));
    } finally {
      run.cleanup();
    }
  });
});
