import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runStandin, type StandinRun } from '../../../../test/fixtures/results/standin-results.js';
import { isoTime, readEquityCurve } from './equity.js';
import { SMALL_FILE_BYTES } from './result-files.js';

const dirs: string[] = [];
function dirWith(files: Record<string, string | Buffer>): string {
  const dir = mkdtempSync(join(tmpdir(), 'pbfleet-equity-'));
  dirs.push(dir);
  for (const [name, content] of Object.entries(files)) writeFileSync(join(dir, name), content);
  return dir;
}
afterAll(() => dirs.forEach((dir) => rmSync(dir, { recursive: true, force: true })));

describe('equity curve from the stand-in', () => {
  let current: StandinRun;
  let old: StandinRun;
  beforeAll(async () => {
    [current, old] = await Promise.all([
      runStandin('backtest', { standin: { equity_points: 5000 } }),
      runStandin('backtest', { standin: { old_format: true, equity_points: 300 } }),
    ]);
  });
  afterAll(() => {
    current?.cleanup();
    old?.cleanup();
  });

  it('reads the gzipped v7.5+ file, downsampled, keeping the extremes', async () => {
    const curve = await readEquityCurve(current.resultDir, 500);
    expect(curve.file).toBe('balance_and_equity.csv.gz');
    expect(curve.columns).toEqual(['usd_cash_wallet', 'usd_total_balance', 'usd_total_equity', 'btc_cash_wallet', 'btc_total_balance', 'btc_total_equity']);
    expect(curve.sourceRows).toBe(5000);
    expect(curve.malformedRows).toBe(0);
    expect(curve.points.length).toBeLessThanOrEqual(500);
    expect(curve.points.length).toBeGreaterThan(200);
    expect(curve.points[0]).toMatchObject({ t: '2024-01-01T00:00:00.000Z', balance: 1000 });

    const rows = gunzipSync(readFileSync(join(current.resultDir, 'balance_and_equity.csv.gz')))
      .toString()
      .trim()
      .split('\n')
      .slice(1)
      .map((line) => line.split(','));
    const equities = rows.map((r) => Number(r[3]));
    const kept = curve.points.map((p) => p.equity);
    expect(kept).toContain(Math.min(...equities));
    expect(kept).toContain(Math.max(...equities));
    expect(curve.points.at(-1)).toEqual({ t: isoTime(rows.at(-1)![0]!), balance: Number(rows.at(-1)![2]), equity: equities.at(-1) });
    const times = curve.points.map((p) => Date.parse(p.t));
    expect(times).toEqual([...times].sort((a, b) => a - b));
  });

  it('reads the plain v7.4 file with balance/equity columns', async () => {
    const curve = await readEquityCurve(old.resultDir);
    expect(curve.file).toBe('balance_and_equity.csv');
    expect(curve.columns).toEqual(['balance', 'equity']);
    expect(curve.sourceRows).toBe(300);
    expect(curve.points).toHaveLength(300);
    expect(curve.points[0]!.balance).toBe(1000);
    expect(curve.points[0]!.equity).toBeLessThan(1000);
  });
});

describe('equity edge cases', () => {
  const csv = ',usd_total_balance,usd_total_equity\n2024-01-01 00:00:00,1000,999\n2024-01-01 00:01:00,nan,inf\nbroken\n2024-01-01 00:02:00,1001,\n';

  it('NaN/inf/empty cells are null, short rows are counted and skipped', async () => {
    const curve = await readEquityCurve(dirWith({ 'balance_and_equity.csv.gz': gzipSync(csv) }));
    expect(curve.points).toEqual([
      { t: '2024-01-01T00:00:00.000Z', balance: 1000, equity: 999 },
      { t: '2024-01-01T00:01:00.000Z', balance: null, equity: null },
      { t: '2024-01-01T00:02:00.000Z', balance: 1001, equity: null },
    ]);
    expect(curve.malformedRows).toBe(1);
  });

  it('prefers the .gz when both files exist', async () => {
    const dir = dirWith({ 'balance_and_equity.csv.gz': gzipSync(csv), 'balance_and_equity.csv': ',balance,equity\n' });
    expect((await readEquityCurve(dir)).file).toBe('balance_and_equity.csv.gz');
  });

  it('a truncated gzip is a clear corrupt-file error, not a crash or a hang, read whole or streamed', async () => {
    for (const rows of [500, 50_000]) {
      const big = ',usd_total_balance,usd_total_equity\n' + Array.from({ length: rows }, (_, i) => `2024-01-01 00:00:00,${i},${(Math.sin(i) * 1000).toFixed(4)}`).join('\n');
      const gz = gzipSync(big);
      const dir = dirWith({ 'balance_and_equity.csv.gz': gz.subarray(0, Math.floor(gz.length / 2)) });
      expect(gz.length / 2 > SMALL_FILE_BYTES).toBe(rows > 500);
      await expect(readEquityCurve(dir)).rejects.toMatchObject({
        name: 'ResultFileError',
        code: 'CONFLICT',
        file: 'balance_and_equity.csv.gz',
        message: expect.stringMatching(/^result file balance_and_equity\.csv\.gz is unreadable: .*unexpected end of file/) as unknown,
      });
    }
  });

  it('a file that is not gzip at all is a corrupt-file error', async () => {
    await expect(readEquityCurve(dirWith({ 'balance_and_equity.csv.gz': csv }))).rejects.toMatchObject({ problem: 'corrupt', file: 'balance_and_equity.csv.gz' });
  });

  it('no equity column, or no file, says so', async () => {
    await expect(readEquityCurve(dirWith({ 'balance_and_equity.csv': ',a,b\nx,1,2\n' }))).rejects.toThrow(/no usd_total_equity or equity column/);
    await expect(readEquityCurve(dirWith({ 'balance_and_equity.csv': '' }))).rejects.toThrow(/empty file/);
    await expect(readEquityCurve(dirWith({}))).rejects.toMatchObject({ problem: 'missing', message: 'result file balance_and_equity.csv.gz is missing' });
  });

  it('turns index values into ISO times where it can', () => {
    expect(isoTime('2024-03-01 12:30:00')).toBe('2024-03-01T12:30:00.000Z');
    expect(isoTime('2024-03-01 12:30:00.5+01:00')).toBe('2024-03-01T11:30:00.500Z');
    expect(isoTime('2024-03-01T12:30:00+0100')).toBe('2024-03-01T11:30:00.000Z');
    expect(isoTime('2024-03-01')).toBe('2024-03-01T00:00:00.000Z');
    expect(isoTime('1704067200000')).toBe('2024-01-01T00:00:00.000Z');
    expect(isoTime('1704067200')).toBe('2024-01-01T00:00:00.000Z');
    expect(isoTime('1440')).toBe('1440');
    expect(isoTime('2024-13-45 99:00:00')).toBe('2024-13-45 99:00:00');
  });
});
