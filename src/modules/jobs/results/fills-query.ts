import { join } from 'node:path';
import { ValidationError } from '../../../lib/errors.js';
import { countFields, parseCell, pickFields, readLines } from './csv.js';
import { checkPage, FILLS_FILE, fillsIndex, readFillRows, type FillRow, type FillsIndex } from './fills.js';
import { openResultStream, ResultFileError, resultFileError } from './result-files.js';

/**
 * Sorted and filtered pages of fills.csv, and PnL per coin. Built on the byte-offset index of
 * fills.ts: one streaming pass extracts the columns a query needs (coin and side for filters, the
 * sort column for an order), cached with the index, so later pages are an array walk plus a few
 * positional reads. The full rows are never held in memory.
 */

export type FillSide = 'long' | 'short';

export interface FillsQuery {
  page: number;
  limit: number;
  /** A column of fills.csv; default: file order. */
  sort?: string;
  order?: 'asc' | 'desc';
  coin?: string;
  side?: FillSide;
}

export interface FillsPage {
  rows: FillRow[];
  /** Rows matching the filters. */
  total: number;
  columns: string[];
}

export interface CoinPnl {
  coin: string;
  fills: number;
  /** Sum of `pnl` (realised, fees not included). */
  pnl: number;
  /** Sum of `fee_paid` (negative: paid). */
  fees: number;
}

interface Facets {
  coins: string[];
  /** Per row: its index in `coins`, or -1 when the row has none. */
  coinOf: Int32Array;
  /** Per row: 1 long, 2 short, 0 neither (from the `type` suffix). */
  sideOf: Uint8Array;
  perCoin: CoinPnl[];
}

const facetsCache = new WeakMap<FillsIndex, Promise<Facets>>();
interface SortOrder {
  /** Row numbers ascending by the column (stable), rows without a value after. */
  rows: Uint32Array;
  /** Rows with a value: the first `valued` of `rows`. */
  valued: number;
}

const orderCache = new WeakMap<FillsIndex, Map<string, Promise<SortOrder>>>();
/** Sort orders kept per file (one per column at most; a file has ~20 columns). */
const CACHED_ORDERS = 24;

/** The named columns' raw text for every good row, in index order (one streaming pass). */
async function scanColumns(dir: string, index: FillsIndex, names: readonly string[], visit: (row: number, values: (string | undefined)[]) => void): Promise<void> {
  const path = join(dir, FILLS_FILE);
  const positions = names.map((name) => {
    const at = index.columns.indexOf(name);
    return at < 0 ? -1 : index.indices[at]!;
  });
  let header = true;
  let row = 0;
  try {
    for await (const batch of readLines(openResultStream(path))) {
      for (const line of batch) {
        if (header) {
          header = false;
          continue;
        }
        if (line.tooLong || line.text.trim() === '') continue;
        // The same rows the index kept: the field count decides.
        if (countFields(line.text) !== index.fieldCount) continue;
        const picked = pickFields(line.text, positions);
        if (!picked) continue;
        if (row < index.count) visit(row, picked.values);
        row++;
      }
    }
  } catch (error) {
    throw resultFileError(path, error);
  }
  if (row !== index.count) throw new ResultFileError(FILLS_FILE, 'corrupt', 'the file changed while it was read');
}

const sideOfType = (type: string | undefined): number => (type?.endsWith('_long') ? 1 : type?.endsWith('_short') ? 2 : 0);

async function buildFacets(dir: string, index: FillsIndex): Promise<Facets> {
  const coins: string[] = [];
  const ids = new Map<string, number>();
  const coinOf = new Int32Array(index.count);
  const sideOf = new Uint8Array(index.count);
  const sums: { fills: number; pnl: number; fees: number }[] = [];
  await scanColumns(dir, index, ['coin', 'type', 'pnl', 'fee_paid'], (row, [coin, type, pnl, fee]) => {
    sideOf[row] = sideOfType(type?.trim());
    const name = coin?.trim();
    if (!name) {
      coinOf[row] = -1;
      return;
    }
    let id = ids.get(name);
    if (id === undefined) {
      id = coins.push(name) - 1;
      ids.set(name, id);
      sums.push({ fills: 0, pnl: 0, fees: 0 });
    }
    coinOf[row] = id;
    const sum = sums[id]!;
    sum.fills++;
    const p = Number(pnl);
    const f = Number(fee);
    if (Number.isFinite(p)) sum.pnl += p;
    if (Number.isFinite(f)) sum.fees += f;
  });
  const perCoin = coins.map((coin, i) => ({ coin, ...sums[i]! })).sort((a, b) => b.pnl - a.pnl || a.coin.localeCompare(b.coin));
  return { coins, coinOf, sideOf, perCoin };
}

function facetsOf(dir: string, index: FillsIndex): Promise<Facets> {
  let facets = facetsCache.get(index);
  if (!facets) {
    facets = buildFacets(dir, index);
    facets.catch(() => facetsCache.delete(index));
    facetsCache.set(index, facets);
  }
  return facets;
}

/** Numbers before text, text by code point; empty cells last whichever the direction. */
function compareCells(a: number | string, b: number | string): number {
  if (typeof a === 'number') return typeof b === 'number' ? a - b : -1;
  if (typeof b === 'number') return 1;
  return a < b ? -1 : a > b ? 1 : 0;
}

async function buildOrder(dir: string, index: FillsIndex, column: string): Promise<SortOrder> {
  const values: (number | string | null)[] = new Array<number | string | null>(index.count).fill(null);
  const text = column === 'coin' || column === 'symbol' || column === 'type';
  await scanColumns(dir, index, [column], (row, [raw]) => {
    const cell = raw === undefined ? null : text ? raw.trim() || null : parseCell(raw);
    // A copy: a slice would keep the whole read chunk alive.
    values[row] = typeof cell === 'string' ? Buffer.from(cell).toString() : cell;
  });
  const rows = Array.from({ length: index.count }, (_, i) => i);
  rows.sort((a, b) => {
    const x = values[a]!;
    const y = values[b]!;
    if (x === null || y === null) return x === null ? (y === null ? 0 : 1) : -1;
    return compareCells(x, y);
  });
  let valued = 0;
  while (valued < rows.length && values[rows[valued]!] !== null) valued++;
  return { rows: Uint32Array.from(rows), valued };
}

function orderOf(dir: string, index: FillsIndex, column: string): Promise<SortOrder> {
  let orders = orderCache.get(index);
  if (!orders) {
    orders = new Map();
    orderCache.set(index, orders);
  }
  let order = orders.get(column);
  if (!order) {
    order = buildOrder(dir, index, column);
    order.catch(() => orders.delete(column));
    orders.set(column, order);
    for (const old of orders.keys()) {
      if (orders.size <= CACHED_ORDERS) break;
      orders.delete(old);
    }
  }
  return order;
}

/** A page of fills, sorted and filtered; the query is validated against the file's columns. */
export async function queryFills(dir: string, query: FillsQuery): Promise<FillsPage> {
  checkPage(query.page, query.limit);
  const index = await fillsIndex(dir);
  if (query.sort !== undefined && !index.columns.includes(query.sort)) {
    throw ValidationError.field('sort', `no column ${query.sort} in fills.csv (columns: ${index.columns.join(', ')})`);
  }
  const filtered = query.coin !== undefined || query.side !== undefined;
  const facets = filtered ? await facetsOf(dir, index) : null;
  const coinId = query.coin === undefined || !facets ? undefined : facets.coins.indexOf(query.coin);
  const sideId = query.side === 'long' ? 1 : query.side === 'short' ? 2 : undefined;
  const matches = (row: number) => (coinId === undefined || facets!.coinOf[row] === coinId) && (sideId === undefined || facets!.sideOf[row] === sideId);

  const sorted = query.sort === undefined ? null : await orderOf(dir, index, query.sort);
  const desc = query.order === 'desc';
  // Descending keeps empty cells last: the part with values is reversed, the tail stays.
  const at = (k: number): number => {
    if (!sorted) return desc ? index.count - 1 - k : k;
    if (!desc || k >= sorted.valued) return sorted.rows[k]!;
    return sorted.rows[sorted.valued - 1 - k]!;
  };

  const first = (query.page - 1) * query.limit;
  const ids: number[] = [];
  let total = 0;
  if (!filtered) {
    total = index.count;
    for (let k = first; k < Math.min(index.count, first + query.limit); k++) ids.push(at(k));
  } else if (coinId !== -1) {
    for (let k = 0; k < index.count; k++) {
      const row = at(k);
      if (!matches(row)) continue;
      if (total >= first && ids.length < query.limit) ids.push(row);
      total++;
    }
  }
  return { rows: await readFillRows(dir, index, ids), total, columns: index.columns };
}

/** PnL, fees and fill count per coin, biggest PnL first. */
export async function coinPnl(dir: string): Promise<CoinPnl[]> {
  const index = await fillsIndex(dir);
  return (await facetsOf(dir, index)).perCoin;
}
