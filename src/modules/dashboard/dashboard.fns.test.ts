import { describe, expect, it } from 'vitest';
import { averageDailyGain, dayFileProblem, maxDrawdown, netPnl, nextOrders, parseDayFile, parseSnapshot, periodRange, withCumulative, type OpenOrder, type Position } from './dashboard.fns.js';

const NOW = Date.parse('2026-04-04T12:00:00Z');
const v7 = (id: string, pnl: number, extra: Record<string, unknown> = {}) => ({ id, timestamp: NOW - 3_600_000, symbol: 'BTC/USDT:USDT', side: 'sell', qty: -0.001, price: 65450, pnl, fees: [{ currency: 'USDT', cost: 0.036 }], ...extra });
const v8 = (id: string, pnl: number, fee: number, extra: Record<string, unknown> = {}) => v7(id, pnl, { fee_paid: fee, pnl_contract: 'gross_pnl_quote_fee_best_effort_v2', ...extra });

describe('realised PnL of a fill (MONITOR.md §2)', () => {
  it('v8: gross pnl plus the signed fee_paid; an entry contributes its fee', () => {
    expect(netPnl(v8('a', 0.45, -0.036)).net).toBeCloseTo(0.414, 12);
    expect(netPnl(v8('b', 0, -0.02)).net).toBeCloseTo(-0.02, 12);
  });
  it('v7: pnl as the bot counts it, fees never subtracted again', () => {
    expect(netPnl(v7('a', 0.45))).toEqual({ pnl: 0.45, fee: null, net: 0.45 });
  });
});

describe('a fill-events day file', () => {
  it('counts a fill written twice once (the later record wins) and marks pending PnL', () => {
    const text = JSON.stringify([v7('a', 0, { pnl_status: 'pending' }), v7('a', 0.5, { pnl_status: 'complete' }), v7('b', 0, { pnl_status: 'pending' })]);
    const { fills, skipped } = parseDayFile(text, '2026-04-04', NOW);
    expect(fills.map((f) => [f.fillId, f.netPnl, f.pending])).toEqual([
      ['a', 0.5, false],
      ['b', 0, true],
    ]);
    expect(skipped.duplicates).toBe(1);
  });
  it('skips records that are not fills or lie in the future, and says why a file cannot be read', () => {
    const text = JSON.stringify([v7('a', 1), { id: 'x' }, 'junk', v7('late', 5, { timestamp: NOW + 3 * 86_400_000 })]);
    const { fills, skipped } = parseDayFile(text, '2026-04-04', NOW);
    expect(fills.map((f) => f.fillId)).toEqual(['a']);
    expect(skipped).toEqual({ invalid: 2, future: 1, duplicates: 0 });
    expect(() => parseDayFile('[{"id":"a","timest', '2026-04-04', NOW)).toThrow(/not valid JSON/);
    expect(() => parseDayFile('{"id":"a"}', '2026-04-04', NOW)).toThrow(/not a JSON array/);
  });
  it('does not believe a day file dated after tomorrow, nor a name that is no date', () => {
    expect(dayFileProblem('2026-04-05', NOW)).toBeNull();
    expect(dayFileProblem('2026-04-07', NOW)).toMatch(/future/);
    expect(dayFileProblem('2026-02-31', NOW)).toMatch(/not a date/);
  });
});

describe('state.latest.json', () => {
  const state = (extra: Record<string, unknown> = {}) => ({
    schema_version: 1,
    meta: { exchange: 'bybit', user: 'bybit_01', quote: 'USDT', snapshot_ts_ms: NOW - 1000 },
    account: { balance_raw: 1000, balance_snapped: 1000, equity: 990 },
    positions: {
      'BTC/USDT:USDT': { long: { size: 0.002, price: 65000, last_price: 65500, upnl: 1, wallet_exposure: 0.13 }, short: { size: 0, price: 0 } },
      'ETH/USDT:USDT': { long: { size: 0, price: 0 }, short: { size: -0.1, price: 3500, last_price: 3480, upnl: 2 } },
    },
    open_orders: { 'BTC/USDT:USDT': [{ id: '1', side: 'buy', position_side: 'long', qty: 0.001, price: 64000, reduce_only: false, pb_order_type: 'entry_grid_normal_long' }] },
    ...extra,
  });
  it('keeps open positions only and recomputes equity as balance + Σ upnl', () => {
    const snapshot = parseSnapshot(JSON.stringify(state()), NOW);
    expect(snapshot.positions.map((p) => [p.symbol, p.side, p.size])).toEqual([
      ['BTC/USDT:USDT', 'long', 0.002],
      ['ETH/USDT:USDT', 'short', -0.1],
    ]);
    expect(snapshot.equity).toBe(1003);
    expect(snapshot.orders).toHaveLength(1);
  });
  it('refuses a partial file, a file without an account, and a snapshot from the future', () => {
    const text = JSON.stringify(state());
    expect(() => parseSnapshot(text.slice(0, text.length / 2), NOW)).toThrow(/not valid JSON/);
    expect(() => parseSnapshot(JSON.stringify({ meta: {} }), NOW)).toThrow(/not a monitor snapshot/);
    expect(() => parseSnapshot(JSON.stringify(state({ meta: { snapshot_ts_ms: NOW + 2 * 86_400_000 } })), NOW)).toThrow(/future/);
  });
});

describe('next entry and close of a position', () => {
  const position: Position = { symbol: 'BTC', side: 'long', size: 1, entryPrice: 100, lastPrice: 100, upnl: 0, walletExposure: null, walletExposureLimit: null };
  const order = (price: number, reduceOnly: boolean, positionSide = 'long', symbol = 'BTC'): OpenOrder => ({ id: String(price), symbol, side: reduceOnly ? 'sell' : 'buy', positionSide, qty: 1, price, reduceOnly, orderType: null });
  it('takes the nearest entry and the nearest close of the same symbol and side', () => {
    const orders = [order(95, false), order(90, false), order(103, true), order(110, true), order(99, false, 'short'), order(99.5, false, 'long', 'ETH')];
    expect(nextOrders(position, orders)).toEqual({ nextEntry: { price: 95, qty: 1 }, nextClose: { price: 103, qty: 1 } });
    expect(nextOrders(position, [])).toEqual({ nextEntry: null, nextClose: null });
  });
});

describe('performance arithmetic', () => {
  it('periods are UTC days ending today', () => {
    expect(periodRange('today', NOW)).toEqual({ from: Date.parse('2026-04-04T00:00:00Z'), to: Date.parse('2026-04-05T00:00:00Z') });
    expect(periodRange('7d', NOW).from).toBe(Date.parse('2026-03-29T00:00:00Z'));
    expect(periodRange('month', NOW).from).toBe(Date.parse('2026-04-01T00:00:00Z'));
    expect(periodRange('ytd', NOW).from).toBe(Date.parse('2026-01-01T00:00:00Z'));
  });
  it('max drawdown is the deepest fall from a running peak', () => {
    expect(maxDrawdown([100, 120, 90, 130, 117])).toBeCloseTo(0.25, 12);
    expect(maxDrawdown([1, 2, 3])).toBe(0);
    expect(maxDrawdown([])).toBe(0);
  });
  it('cumulative PnL and average daily gain', () => {
    expect(withCumulative([{ pnl: 1 }, { pnl: -2 }, { pnl: 4 }]).map((r) => r.cumulative)).toEqual([1, -1, 3]);
    expect(averageDailyGain(30, 30, 1000)).toEqual({ quote: 1, ratio: 0.001 });
    expect(averageDailyGain(30, 30, null).ratio).toBeNull();
  });
});
