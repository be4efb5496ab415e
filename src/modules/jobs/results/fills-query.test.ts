import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runStandin, type StandinRun } from '../../../../test/fixtures/results/standin-results.js';
import { ValidationError } from '../../../lib/errors.js';
import { coinPnl, queryFills } from './fills-query.js';

const dirs: string[] = [];
function dirWith(content: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'pbfleet-fills-query-'));
  dirs.push(dir);
  writeFileSync(join(dir, 'fills.csv'), content);
  return dir;
}
afterAll(() => dirs.forEach((dir) => rmSync(dir, { recursive: true, force: true })));

/** Every row of the file the naive way: header names to values, numbers parsed. */
function naiveRows(dir: string): Record<string, string | number>[] {
  const [header, ...lines] = readFileSync(join(dir, 'fills.csv'), 'utf8').trim().split('\n');
  const names = header!.split(',');
  return lines.map((line) => {
    const fields = line.split(',');
    return Object.fromEntries(names.slice(1).map((name, i) => [name, name === 'coin' || name === 'type' ? fields[i + 1]! : Number(fields[i + 1])]));
  });
}

describe('sorted and filtered fills of the stand-in', () => {
  let run: StandinRun;
  let naive: Record<string, string | number>[];
  beforeAll(async () => {
    run = await runStandin('backtest', { standin: { n_fills: 700 } });
    naive = naiveRows(run.resultDir);
  });
  afterAll(() => run?.cleanup());

  it('sorts by a numeric column both ways, pages agreeing with a full sort', async () => {
    const byPnl = naive.map((r) => r.pnl as number).sort((a, b) => a - b);
    const asc = await queryFills(run.resultDir, { page: 1, limit: 50, sort: 'pnl' });
    expect(asc.total).toBe(700);
    expect(asc.rows.map((r) => r.pnl)).toEqual(byPnl.slice(0, 50));
    const desc3 = await queryFills(run.resultDir, { page: 3, limit: 50, sort: 'pnl', order: 'desc' });
    expect(desc3.rows.map((r) => r.pnl)).toEqual(byPnl.reverse().slice(100, 150));
  });

  it('sorts text columns and reverses file order without a sort column', async () => {
    const byCoin = await queryFills(run.resultDir, { page: 1, limit: 700, sort: 'coin', order: 'desc' });
    const coins = byCoin.rows.map((r) => r.coin as string);
    expect(coins).toEqual([...coins].sort().reverse());
    const last = await queryFills(run.resultDir, { page: 1, limit: 2, order: 'desc' });
    expect(last.rows.map((r) => r.timestamp)).toEqual([naive[699]!.timestamp, naive[698]!.timestamp]);
  });

  it('filters by coin and side; total counts the matches; an unknown coin matches nothing', async () => {
    const coin = naive[0]!.coin as string;
    const expected = naive.filter((r) => r.coin === coin && (r.type as string).endsWith('_long'));
    expect(expected.length).toBeGreaterThan(0);
    expect(expected.length).toBeLessThan(700);
    const page = await queryFills(run.resultDir, { page: 1, limit: 5000, coin, side: 'long' });
    expect(page.total).toBe(expected.length);
    expect(page.rows.map((r) => r.timestamp)).toEqual(expected.map((r) => r.timestamp));
    const sorted = await queryFills(run.resultDir, { page: 1, limit: 10, coin, sort: 'qty', order: 'desc' });
    expect(sorted.rows.every((r) => r.coin === coin)).toBe(true);
    expect(sorted.rows.map((r) => r.qty)).toEqual(naive.filter((r) => r.coin === coin).map((r) => r.qty as number).sort((a, b) => b - a).slice(0, 10));
    expect(await queryFills(run.resultDir, { page: 1, limit: 10, coin: 'NOPE' })).toMatchObject({ total: 0, rows: [] });
  });

  it('refuses a column the file does not have, naming the field', async () => {
    const error = await queryFills(run.resultDir, { page: 1, limit: 10, sort: 'nope' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ValidationError);
    expect((error as ValidationError).message).toMatch(/sort/);
  });

  it('sums PnL and fees per coin, biggest PnL first', async () => {
    const perCoin = await coinPnl(run.resultDir);
    const coins = [...new Set(naive.map((r) => r.coin as string))];
    expect(perCoin.map((c) => c.coin).sort()).toEqual(coins.sort());
    for (const entry of perCoin) {
      const rows = naive.filter((r) => r.coin === entry.coin);
      expect(entry.fills).toBe(rows.length);
      expect(entry.pnl).toBeCloseTo(rows.reduce((sum, r) => sum + (r.pnl as number), 0), 6);
      expect(entry.fees).toBeCloseTo(rows.reduce((sum, r) => sum + (r.fee_paid as number), 0), 6);
    }
    expect(perCoin.map((c) => c.pnl)).toEqual([...perCoin.map((c) => c.pnl)].sort((a, b) => b - a));
  });
});

describe('fills with gaps', () => {
  it('keeps empty cells last in both directions and skips malformed rows like the pages do', async () => {
    const dir = dirWith([',timestamp,coin,pnl,type', '0,1,BTC,5,close_grid_long', '1,2,ETH,,close_grid_short', 'broken', '2,3,BTC,-1,entry_grid_normal_short', '3,4,SOL,2,x'].join('\n'));
    expect((await queryFills(dir, { page: 1, limit: 10, sort: 'pnl' })).rows.map((r) => r.timestamp)).toEqual([3, 4, 1, 2]);
    expect((await queryFills(dir, { page: 1, limit: 10, sort: 'pnl', order: 'desc' })).rows.map((r) => r.timestamp)).toEqual([1, 4, 3, 2]);
    expect((await queryFills(dir, { page: 1, limit: 10, side: 'short' })).rows.map((r) => r.timestamp)).toEqual([2, 3]);
    expect((await queryFills(dir, { page: 1, limit: 10, side: 'long' })).total).toBe(1);
    expect(await coinPnl(dir)).toEqual([
      { coin: 'BTC', fills: 2, pnl: 4, fees: 0 },
      { coin: 'SOL', fills: 1, pnl: 2, fees: 0 },
      { coin: 'ETH', fills: 1, pnl: 0, fees: 0 },
    ]);
  });
});
