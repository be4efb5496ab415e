import { mkdtempSync, readFileSync, rmSync, utimesSync, writeFileSync, appendFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { text } from 'node:stream/consumers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runStandin, type StandinRun } from '../../../../test/fixtures/results/standin-results.js';
import { exportFills, fillsIndex, readFillsPage } from './fills.js';
import { ResultFileError } from './result-files.js';

const dirs: string[] = [];
function dirWith(content: string | Buffer): string {
  const dir = mkdtempSync(join(tmpdir(), 'pbfleet-fills-'));
  dirs.push(dir);
  writeFileSync(join(dir, 'fills.csv'), content);
  return dir;
}
afterAll(() => dirs.forEach((dir) => rmSync(dir, { recursive: true, force: true })));

/** The naive reading the paged one must agree with: every line split on commas. */
function naiveRows(dir: string): string[][] {
  return readFileSync(join(dir, 'fills.csv'), 'utf8')
    .split('\n')
    .slice(1)
    .filter(Boolean)
    .map((line) => line.split(','));
}

describe('fills from the stand-in', () => {
  let current: StandinRun;
  let old: StandinRun;
  beforeAll(async () => {
    [current, old] = await Promise.all([runStandin('backtest', { standin: { n_fills: 250 } }), runStandin('backtest', { standin: { old_format: true, n_fills: 60 } })]);
  });
  afterAll(() => {
    current?.cleanup();
    old?.cleanup();
  });

  it('pages the v7.5+ columns by header name, numbers parsed', async () => {
    const page = await readFillsPage(current.resultDir, 1, 100);
    expect(page.total).toBe(250);
    expect(page.columns).toEqual([
      'timestamp', 'coin', 'pnl', 'fee_paid', 'usd_total_balance', 'btc_cash_wallet', 'usd_cash_wallet', 'btc_price', 'qty', 'price',
      'psize', 'pprice', 'type', 'wallet_exposure', 'twe_long', 'twe_short', 'twe_net', 'minute', 'btc_total_balance',
    ]);
    const naive = naiveRows(current.resultDir);
    expect(page.rows).toHaveLength(100);
    expect(page.rows[0]!.timestamp).toBe(Number(naive[0]![1]));
    expect(page.rows[0]!.coin).toBe(naive[0]![2]);
    expect(page.rows[0]!.type).toMatch(/^entry_initial_normal_(long|short)$/);
    const third = await readFillsPage(current.resultDir, 3, 100);
    expect(third.rows).toHaveLength(50);
    expect(third.rows[49]!.usd_total_balance).toBe(Number(naive[249]![5]));
    expect((await readFillsPage(current.resultDir, 4, 100)).rows).toEqual([]);
  });

  it('pages the v7.4 columns', async () => {
    const page = await readFillsPage(old.resultDir, 2, 50);
    expect(page.total).toBe(60);
    expect(page.columns).toEqual(['timestamp', 'coin', 'pnl', 'fee_paid', 'balance', 'equity', 'qty', 'price', 'psize', 'pprice', 'type']);
    expect(page.rows).toHaveLength(10);
    expect(page.rows[9]!.equity).toBe(Number(naiveRows(old.resultDir)[59]![6]));
  });

  it('exports CSV (named columns) and JSON lines (parsed rows)', async () => {
    const csv = (await text(await exportFills(current.resultDir, 'csv'))).split('\n');
    expect(csv[0]).toBe((await readFillsPage(current.resultDir, 1, 1)).columns.join(','));
    expect(csv).toHaveLength(252); // header, 250 rows, the final newline
    expect(csv[1]).toBe(naiveRows(current.resultDir)[0]!.slice(1).join(','));
    const json = (await text(await exportFills(current.resultDir, 'json'))).trim().split('\n');
    expect(json).toHaveLength(250);
    expect(JSON.parse(json[120]!)).toEqual((await readFillsPage(current.resultDir, 121, 1)).rows[0]);
  });
});

describe('fills edge cases', () => {
  it('header only: no rows, the columns', async () => {
    const dir = dirWith(',timestamp,coin,pnl\n');
    expect(await readFillsPage(dir, 1, 10)).toEqual({ rows: [], total: 0, columns: ['timestamp', 'coin', 'pnl'] });
    expect(await text(await exportFills(dir, 'csv'))).toBe('timestamp,coin,pnl\n');
  });

  it('an empty file: no rows, no columns', async () => {
    const dir = dirWith('');
    expect(await readFillsPage(dir, 1, 10)).toEqual({ rows: [], total: 0, columns: [] });
    expect(await text(await exportFills(dir, 'json'))).toBe('');
  });

  it('skips and counts malformed rows; CRLF, quotes, BOM, NaN/inf/empty cells', async () => {
    const dir = dirWith(
      '\uFEFF,timestamp,coin,pnl,type\r\n' +
        '0,1000,BTC,1.5,entry_initial_normal_long\r\n' +
        '1,1001,ETH\r\n' + // too few fields
        '2,1002,"SOL",nan,"close_grid_long"\r\n' +
        '3,1003,"open quote,1,x\r\n' + // open quote
        '4,1004,XRP,,close_grid_long\r\n' +
        '\r\n' +
        '5,1005,DOGE,-inf,"a ""quoted"", type"\r\n' +
        '6,1006,ADA,1,x,extra\r\n',
    );
    const index = await fillsIndex(dir);
    expect(index.count).toBe(4);
    expect(index.malformed).toBe(3);
    const page = await readFillsPage(dir, 1, 10);
    expect(page.rows).toEqual([
      { timestamp: 1000, coin: 'BTC', pnl: 1.5, type: 'entry_initial_normal_long' },
      { timestamp: 1002, coin: 'SOL', pnl: null, type: 'close_grid_long' },
      { timestamp: 1004, coin: 'XRP', pnl: null, type: 'close_grid_long' },
      { timestamp: 1005, coin: 'DOGE', pnl: null, type: 'a "quoted", type' },
    ]);
    expect((await readFillsPage(dir, 2, 2)).rows.map((r) => r.timestamp)).toEqual([1004, 1005]);
    expect(await text(await exportFills(dir, 'csv'))).toBe(
      'timestamp,coin,pnl,type\n1000,BTC,1.5,entry_initial_normal_long\n1002,SOL,nan,close_grid_long\n1004,XRP,,close_grid_long\n1005,DOGE,-inf,"a ""quoted"", type"\n',
    );
  });

  it('skips a huge single line and never reads it for a page around it', async () => {
    const dir = dirWith(`,t,coin\n0,1,BTC\n${'9'.repeat(3 << 20)}\n2,3,ETH\n`);
    const page = await readFillsPage(dir, 1, 10);
    expect(page.rows).toEqual([
      { t: 1, coin: 'BTC' },
      { t: 3, coin: 'ETH' },
    ]);
    expect((await fillsIndex(dir)).malformed).toBe(1);
  });

  it('keeps coin and type as text even when they look numeric', async () => {
    const dir = dirWith(',coin,type,qty\n0,1000,7,0.5\n');
    expect((await readFillsPage(dir, 1, 1)).rows[0]).toEqual({ coin: '1000', type: '7', qty: 0.5 });
  });

  it('re-indexes when the file changes (mtime or size)', async () => {
    const dir = dirWith(',t\n0,1\n');
    expect((await readFillsPage(dir, 1, 10)).total).toBe(1);
    appendFileSync(join(dir, 'fills.csv'), '1,2\n');
    utimesSync(join(dir, 'fills.csv'), new Date(), new Date(Date.now() + 5000));
    expect((await readFillsPage(dir, 1, 10)).rows).toEqual([{ t: 1 }, { t: 2 }]);
  });

  it('a missing file is a ResultFileError naming fills.csv, also for export', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pbfleet-fills-'));
    dirs.push(dir);
    await expect(readFillsPage(dir, 1, 10)).rejects.toMatchObject({ name: 'ResultFileError', code: 'NOT_FOUND', file: 'fills.csv', message: 'result file fills.csv is missing' });
    await expect(exportFills(dir, 'csv')).rejects.toBeInstanceOf(ResultFileError);
  });

  it('rejects a bad page or limit', async () => {
    const dir = dirWith(',t\n0,1\n');
    await expect(readFillsPage(dir, 0, 10)).rejects.toMatchObject({ code: 'VALIDATION_ERROR' });
    await expect(readFillsPage(dir, 1.5, 10)).rejects.toMatchObject({ code: 'VALIDATION_ERROR' });
    await expect(readFillsPage(dir, 1, 0)).rejects.toMatchObject({ code: 'VALIDATION_ERROR' });
    await expect(readFillsPage(dir, 1, 1_000_000)).rejects.toMatchObject({ code: 'VALIDATION_ERROR' });
  });
});
