/**
 * Pure rules of the dashboard: what Passivbot's files mean (MONITOR.md §1-2) and the
 * arithmetic of the performance figures. No I/O here.
 */

const DAY_MS = 86_400_000;
/** A day file or fill more than this ahead of the server's clock is not believed. */
export const FUTURE_TOLERANCE_MS = DAY_MS;

export const DAY_FILE = /^(\d{4}-\d{2}-\d{2})\.json$/;

const isObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);
const finite = (value: unknown): number | null => (typeof value === 'number' && Number.isFinite(value) ? value : null);

export const dayOf = (ms: number): string => new Date(ms).toISOString().slice(0, 10);
export const dayStart = (day: string): number => Date.parse(`${day}T00:00:00.000Z`);

/** One fill as stored (dashboard_fills), read from a fill-events day file. */
export interface FillRow {
  fillId: string;
  ts: number;
  day: string;
  symbol: string;
  side: string;
  positionSide: string | null;
  orderType: string | null;
  qty: number;
  price: number;
  pnl: number;
  fee: number | null;
  netPnl: number;
  pending: boolean;
  estimated: boolean;
}

export interface DayFileResult {
  fills: FillRow[];
  /** Records that are not fills (no id, time or symbol) or lie in the future. */
  skipped: { invalid: number; future: number; duplicates: number };
}

/**
 * Realised PnL of one record: v8 caches (`pnl_contract` set) hold gross pnl and a signed
 * `fee_paid`, so net = pnl + fee_paid; v7 `pnl` is already what the bot counts (fees are not
 * subtracted a second time).
 */
export function netPnl(record: Record<string, unknown>): { pnl: number; fee: number | null; net: number } {
  const pnl = finite(record.pnl) ?? 0;
  if (typeof record.pnl_contract === 'string') {
    const fee = finite(record.fee_paid) ?? 0;
    return { pnl, fee, net: pnl + fee };
  }
  return { pnl, fee: null, net: pnl };
}

/**
 * A `YYYY-MM-DD.json` day file: a JSON array of fill records. Deduplicated by id (the last
 * one wins, as the file's later record is the enriched one); pending PnL is kept but marked.
 * Throws with a readable reason when the file is not a JSON array.
 */
export function parseDayFile(text: string, day: string, nowMs: number): DayFileResult {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new Error(`not valid JSON (${(error as Error).message})`);
  }
  if (!Array.isArray(parsed)) throw new Error('not a JSON array of fills');
  const byId = new Map<string, FillRow>();
  const skipped = { invalid: 0, future: 0, duplicates: 0 };
  for (const record of parsed) {
    if (!isObject(record)) {
      skipped.invalid++;
      continue;
    }
    const id = typeof record.id === 'string' ? record.id : typeof record.id === 'number' ? String(record.id) : null;
    const ts = finite(record.timestamp);
    const symbol = typeof record.symbol === 'string' ? record.symbol : null;
    if (!id || id.length > 200 || ts === null || !symbol) {
      skipped.invalid++;
      continue;
    }
    if (ts > nowMs + FUTURE_TOLERANCE_MS) {
      skipped.future++;
      continue;
    }
    const { pnl, fee, net } = netPnl(record);
    if (byId.has(id)) skipped.duplicates++;
    byId.set(id, {
      fillId: id,
      ts: Math.round(ts),
      day,
      symbol,
      side: typeof record.side === 'string' ? record.side : '',
      positionSide: typeof record.position_side === 'string' ? record.position_side : null,
      orderType: typeof record.pb_order_type === 'string' ? record.pb_order_type : null,
      qty: finite(record.qty) ?? 0,
      price: finite(record.price) ?? 0,
      pnl,
      fee,
      netPnl: net,
      pending: record.pnl_status === 'pending',
      estimated: typeof record.pnl_source === 'string' && record.pnl_source.startsWith('synthetic_'),
    });
  }
  return { fills: [...byId.values()], skipped };
}

/** Why a day file is not read at all, or null. */
export function dayFileProblem(day: string, nowMs: number): string | null {
  const start = dayStart(day);
  if (Number.isNaN(start) || dayOf(start) !== day) return `${day} is not a date`;
  if (start > nowMs + FUTURE_TOLERANCE_MS) return `dated ${day}, in the future: not counted`;
  return null;
}

export interface OpenOrder {
  id: string;
  symbol: string;
  side: string;
  positionSide: string;
  qty: number;
  price: number;
  reduceOnly: boolean;
  orderType: string | null;
}

export interface Position {
  symbol: string;
  side: 'long' | 'short';
  size: number;
  entryPrice: number;
  lastPrice: number | null;
  upnl: number;
  walletExposure: number | null;
  walletExposureLimit: number | null;
}

export interface BotSnapshot {
  snapshotTs: number;
  quote: string | null;
  balance: number;
  /** balance + Σ upnl (the file's equity is refreshed only when the balance changes). */
  equity: number;
  upnl: number;
  positions: Position[];
  orders: OpenOrder[];
}

/** `state.latest.json`: the parts the dashboard shows. Throws with a readable reason. */
export function parseSnapshot(text: string, nowMs: number): BotSnapshot {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new Error(`not valid JSON (${(error as Error).message})`);
  }
  if (!isObject(parsed) || !isObject(parsed.account) || !isObject(parsed.meta)) throw new Error('not a monitor snapshot (no account or meta)');
  const balance = finite(parsed.account.balance_raw);
  const snapshotTs = finite(parsed.meta.snapshot_ts_ms);
  if (balance === null) throw new Error('account.balance_raw is missing');
  if (snapshotTs === null) throw new Error('meta.snapshot_ts_ms is missing');
  if (snapshotTs > nowMs + FUTURE_TOLERANCE_MS) throw new Error(`snapshot time ${new Date(snapshotTs).toISOString()} is in the future`);
  const positions: Position[] = [];
  let upnl = 0;
  for (const [symbol, sides] of Object.entries(isObject(parsed.positions) ? parsed.positions : {})) {
    if (!isObject(sides)) continue;
    for (const side of ['long', 'short'] as const) {
      const p = sides[side];
      if (!isObject(p)) continue;
      const size = finite(p.size) ?? 0;
      if (size === 0) continue;
      const positionUpnl = finite(p.upnl) ?? 0;
      upnl += positionUpnl;
      positions.push({
        symbol,
        side,
        size,
        entryPrice: finite(p.price) ?? 0,
        lastPrice: finite(p.last_price),
        upnl: positionUpnl,
        walletExposure: finite(p.wallet_exposure),
        walletExposureLimit: finite(p.wallet_exposure_limit),
      });
    }
  }
  const orders: OpenOrder[] = [];
  for (const [symbol, list] of Object.entries(isObject(parsed.open_orders) ? parsed.open_orders : {})) {
    if (!Array.isArray(list)) continue;
    for (const o of list) {
      if (!isObject(o)) continue;
      const qty = finite(o.qty);
      const price = finite(o.price);
      if (qty === null || price === null) continue;
      orders.push({
        id: typeof o.id === 'string' || typeof o.id === 'number' ? String(o.id) : '',
        symbol,
        side: typeof o.side === 'string' ? o.side : '',
        positionSide: typeof o.position_side === 'string' ? o.position_side : '',
        qty: Math.abs(qty),
        price,
        reduceOnly: o.reduce_only === true,
        orderType: typeof o.pb_order_type === 'string' ? o.pb_order_type : null,
      });
    }
  }
  const quote = typeof parsed.meta.quote === 'string' ? parsed.meta.quote : null;
  return { snapshotTs, quote, balance, equity: balance + upnl, upnl, positions, orders };
}

/**
 * The next entry and the next close of a position from its open orders: the entry (not
 * reduce-only) and the close (reduce-only) of the same symbol and side nearest to the price.
 */
export function nextOrders(position: Position, orders: readonly OpenOrder[]): { nextEntry: { price: number; qty: number } | null; nextClose: { price: number; qty: number } | null } {
  const reference = position.lastPrice ?? position.entryPrice;
  const mine = orders.filter((o) => o.symbol === position.symbol && (o.positionSide === position.side || o.positionSide === ''));
  const nearest = (list: OpenOrder[]) => {
    const best = list.reduce<OpenOrder | null>((a, o) => (a === null || Math.abs(o.price - reference) < Math.abs(a.price - reference) ? o : a), null);
    return best ? { price: best.price, qty: best.qty } : null;
  };
  const isClose = (o: OpenOrder) => o.reduceOnly || (o.orderType?.startsWith('close') ?? false);
  return { nextEntry: nearest(mine.filter((o) => !isClose(o))), nextClose: nearest(mine.filter(isClose)) };
}

export const PERIODS = ['today', 'yesterday', '7d', '30d', 'month', 'ytd', 'all'] as const;
export type Period = (typeof PERIODS)[number];

/** [from, to) in epoch ms for a named period (UTC days); `all` starts at 0. */
export function periodRange(period: Period, nowMs: number): { from: number; to: number } {
  const today = dayStart(dayOf(nowMs));
  const now = new Date(nowMs);
  switch (period) {
    case 'today':
      return { from: today, to: today + DAY_MS };
    case 'yesterday':
      return { from: today - DAY_MS, to: today };
    case '7d':
      return { from: today - 6 * DAY_MS, to: today + DAY_MS };
    case '30d':
      return { from: today - 29 * DAY_MS, to: today + DAY_MS };
    case 'month':
      return { from: Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), 1), to: today + DAY_MS };
    case 'ytd':
      return { from: Date.UTC(now.getUTCFullYear(), 0, 1), to: today + DAY_MS };
    case 'all':
      return { from: 0, to: today + DAY_MS };
  }
}

/** The largest fall from a running peak, as a fraction of that peak (0 when it never fell). */
export function maxDrawdown(values: readonly number[]): number {
  let peak = -Infinity;
  let worst = 0;
  for (const value of values) {
    if (value > peak) peak = value;
    else if (peak > 0) worst = Math.max(worst, (peak - value) / peak);
  }
  return worst;
}

/** Adds the running total to per-bucket PnL, in order. */
export function withCumulative<T extends { pnl: number }>(rows: readonly T[]): (T & { cumulative: number })[] {
  let total = 0;
  return rows.map((row) => {
    total += row.pnl;
    return { ...row, cumulative: total };
  });
}

/**
 * Average daily gain: the realised PnL per day over `days`, in quote and as a fraction of the
 * balance at the start (null when the start balance is not known).
 */
export function averageDailyGain(totalPnl: number, days: number, startBalance: number | null): { quote: number; ratio: number | null } {
  const quote = days > 0 ? totalPnl / days : 0;
  return { quote, ratio: startBalance && startBalance > 0 ? quote / startBalance : null };
}
