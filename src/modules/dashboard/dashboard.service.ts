import { ValidationError } from '../../lib/errors.js';
import type { Clock } from '../../lib/clock.js';
import { averageDailyGain, dayOf, dayStart, maxDrawdown, nextOrders, periodRange, withCumulative, type Period } from './dashboard.fns.js';
import type { DashboardIngest } from './dashboard.ingest.js';
import type { BotStateRow, DashboardRepo } from './dashboard.repo.js';

const DAY_MS = 86_400_000;
const HOUR_MS = 3_600_000;
/** Hour buckets in one answer: a longer range must use days. */
const MAX_HOURS = 24 * 93;
const EXPORT_PAGE = 2000;

export interface Selection {
  accounts?: string | undefined;
  bots?: string | undefined;
  from?: string | undefined;
  to?: string | undefined;
  period?: Period | undefined;
}

/** The UTC day after the one holding `ms`: the exclusive end of a day range. */
const dayAfter = (ms: number) => dayOf(dayStart(dayOf(ms)) + DAY_MS);

const list = (value: string | undefined) =>
  value === undefined
    ? undefined
    : value
        .split(',')
        .map((v) => v.trim())
        .filter(Boolean);

function parseTime(field: 'from' | 'to', value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const ms = Date.parse(value);
  if (Number.isNaN(ms)) throw ValidationError.field(field, 'is not a date or date-time');
  return ms;
}

export function createDashboardService(deps: { repo: DashboardRepo; ingest: DashboardIngest; clock: Clock }) {
  const { repo, ingest, clock } = deps;

  /** The accounts a selection covers (undefined: all), from account names and bot ids. */
  async function accountsOf(selection: Selection): Promise<string[] | undefined> {
    const accounts = list(selection.accounts);
    const botIds = list(selection.bots);
    if (accounts === undefined && botIds === undefined) return undefined;
    const out = new Set(accounts ?? []);
    if (botIds !== undefined) {
      const bots = await repo.bots();
      for (const id of botIds) {
        const bot = bots.find((b) => b.id === id);
        if (!bot) throw ValidationError.field('bots', `no bot ${id}`);
        out.add(bot.account);
      }
    }
    return [...out];
  }

  function rangeOf(selection: Selection, fallback: Period): { from: number; to: number } {
    const from = parseTime('from', selection.from);
    const to = parseTime('to', selection.to);
    if (from !== undefined || to !== undefined) {
      if (selection.period !== undefined) throw ValidationError.field('period', 'give a period or from/to, not both');
      const range = { from: from ?? 0, to: to ?? clock.now().getTime() + 1 };
      if (range.from >= range.to) throw ValidationError.field('from', 'must be before to');
      return range;
    }
    return periodRange(selection.period ?? fallback, clock.now().getTime());
  }

  /** The latest snapshot of each account (bots of one account see the same balance and positions). */
  async function latestPerAccount(accounts?: readonly string[]): Promise<BotStateRow[]> {
    const byAccount = new Map<string, BotStateRow>();
    const [states, bots] = await Promise.all([repo.botStates(), repo.bots()]);
    // A bot removed while pbfleet was down left its last snapshot: nobody keeps it current.
    const known = new Set(bots.map((b) => b.id));
    for (const state of states) {
      if (!known.has(state.instanceId) || (accounts && !accounts.includes(state.account))) continue;
      const seen = byAccount.get(state.account);
      if (!seen || seen.snapshotTs < state.snapshotTs) byAccount.set(state.account, state);
    }
    return [...byAccount.values()];
  }

  async function positions(selection: Pick<Selection, 'accounts' | 'bots'> = {}) {
    const accounts = await accountsOf(selection);
    const names = new Map((await repo.bots()).map((b) => [b.id, b.name]));
    const rows = [];
    for (const state of await latestPerAccount(accounts)) {
      for (const p of state.positions) {
        const price = p.lastPrice ?? p.entryPrice;
        rows.push({
          account: state.account,
          exchange: state.exchange,
          instanceId: state.instanceId,
          bot: names.get(state.instanceId) ?? null,
          symbol: p.symbol,
          side: p.side,
          size: p.size,
          entryPrice: p.entryPrice,
          lastPrice: p.lastPrice,
          upnl: p.upnl,
          value: Math.abs(p.size) * price,
          walletExposure: p.walletExposure,
          ...nextOrders(p, state.orders),
          updatedAt: new Date(state.snapshotTs).toISOString(),
        });
      }
    }
    rows.sort((a, b) => a.account.localeCompare(b.account) || a.symbol.localeCompare(b.symbol) || a.side.localeCompare(b.side));
    return { positions: rows };
  }

  async function stats() {
    const today = dayOf(clock.now().getTime());
    const daysAgo = (n: number) => dayOf(dayStart(today) - n * DAY_MS);
    const [bots, environments, jobs, accounts, states, pnlToday, pnl7d, pnl30d, pnlAll] = await Promise.all([
      repo.countsBy('instances', 'status'),
      repo.countsBy('environments', 'health'),
      repo.countsBy('jobs', 'status'),
      repo.countAccounts(),
      latestPerAccount(),
      repo.pnlSince(undefined, today),
      repo.pnlSince(undefined, daysAgo(6)),
      repo.pnlSince(undefined, daysAgo(29)),
      repo.pnlSince(undefined, '0000-00-00'),
    ]);
    const sum = (pick: (s: BotStateRow) => number) => states.reduce((total, s) => total + pick(s), 0);
    return {
      bots: { total: Object.values(bots).reduce((a, b) => a + b, 0), byStatus: bots },
      environments: { total: Object.values(environments).reduce((a, b) => a + b, 0), byHealth: environments },
      accounts: { total: accounts, reporting: states.length },
      balance: sum((s) => s.balance),
      equity: sum((s) => s.equity),
      unrealisedPnl: sum((s) => s.upnl),
      realisedPnl: { today: pnlToday, '7d': pnl7d, '30d': pnl30d, all: pnlAll },
      openPositions: sum((s) => s.positions.length),
      jobs: { running: jobs.running ?? 0, queued: jobs.queued ?? 0 },
      sources: ingest.sources(),
    };
  }

  async function performance(selection: Selection & { interval?: 'day' | 'hour' | undefined; top?: number | undefined }) {
    const accounts = await accountsOf(selection);
    const interval = selection.interval ?? 'day';
    const range = rangeOf(selection, '30d');
    const to = range.to;
    let from = range.from;
    const nowMs = clock.now().getTime();
    const daily = await repo.dailyPnl(accounts, dayOf(from), dayAfter(to - 1));
    if (from === 0) from = daily.length > 0 ? dayStart(daily[0]!.day) : dayStart(dayOf(nowMs));
    const bucketMs = interval === 'hour' ? HOUR_MS : DAY_MS;
    if (interval === 'hour' && (to - from) / HOUR_MS > MAX_HOURS) throw ValidationError.field('interval', `hour buckets cover at most ${MAX_HOURS / 24} days; use day`);
    const firstBucket = Math.floor(from / bucketMs);
    const lastBucket = Math.floor((Math.min(to, Math.max(nowMs, from + 1)) - 1) / bucketMs);

    // Realised PnL per bucket, every bucket present (zero when nothing closed).
    const pnlByBucket = new Map<number, number>();
    if (interval === 'day') for (const row of daily) pnlByBucket.set(dayStart(row.day) / DAY_MS, (pnlByBucket.get(dayStart(row.day) / DAY_MS) ?? 0) + row.pnl);
    else for (const row of await repo.hourlyPnl(accounts, from, to)) pnlByBucket.set(row.bucket, row.pnl);
    const buckets = [];
    for (let b = firstBucket; b <= lastBucket; b++) buckets.push({ t: new Date(b * bucketMs).toISOString(), pnl: pnlByBucket.get(b) ?? 0 });
    const pnl = withCumulative(buckets);
    const total = pnl.at(-1)?.cumulative ?? 0;

    // Balance and equity: each account's last sample per bucket, carried forward, summed.
    const start = await repo.samplesBefore('account', accounts, from);
    const current = new Map(start.map((s) => [s.key, s]));
    const samples = await repo.samples('account', accounts, from, to, bucketMs);
    const series = [];
    let i = 0;
    for (let b = firstBucket; b <= lastBucket; b++) {
      while (i < samples.length && samples[i]!.bucket <= b) {
        const s = samples[i++]!;
        current.set(s.key, s);
      }
      if (current.size === 0) continue;
      let balance = 0;
      let equity = 0;
      for (const s of current.values()) {
        balance += s.balance;
        equity += s.equity;
      }
      series.push({ t: new Date(b * bucketMs).toISOString(), balance, equity });
    }

    const bySymbol = new Map<string, { pnl: number; fees: number; fills: number }>();
    for (const row of daily) {
      const seen = bySymbol.get(row.symbol) ?? { pnl: 0, fees: 0, fills: 0 };
      bySymbol.set(row.symbol, { pnl: seen.pnl + row.pnl, fees: seen.fees + row.fees, fills: seen.fills + row.fills });
    }
    const perSymbol = [...bySymbol].map(([symbol, v]) => ({ symbol, ...v })).sort((a, b) => b.pnl - a.pnl || a.symbol.localeCompare(b.symbol));

    const days = Math.max(1, Math.round((Math.min(to, dayStart(dayOf(nowMs)) + DAY_MS) - dayStart(dayOf(from))) / DAY_MS));
    const startBalance = series[0]?.balance ?? (start.length > 0 ? start.reduce((a, s) => a + s.balance, 0) : null);
    const drawdownCurve = series.length > 0 ? series.map((s) => s.equity) : startBalance !== null ? [startBalance, ...pnl.map((p) => startBalance + p.cumulative)] : [];
    return {
      from: new Date(from).toISOString(),
      to: new Date(to).toISOString(),
      interval,
      accounts: (await repo.pnlByAccount(accounts, dayOf(from), dayAfter(to - 1))).map((a) => ({ ...a, balance: current.get(a.account)?.balance ?? null, equity: current.get(a.account)?.equity ?? null })),
      series,
      pnl,
      totalPnl: total,
      adg: averageDailyGain(total, days, startBalance),
      maxDrawdown: maxDrawdown(drawdownCurve),
      perSymbol,
      topSymbols: perSymbol.filter((s) => s.pnl > 0).slice(0, selection.top ?? 10),
    };
  }

  async function income(selection: Selection & { symbol?: string | undefined }, page: number, limit: number) {
    const accounts = await accountsOf(selection);
    const { from, to } = rangeOf(selection, 'all');
    const filter = { accounts, from, to, symbol: selection.symbol };
    const [total, rows] = await Promise.all([repo.countFills(filter), repo.fills(filter, (page - 1) * limit, limit)]);
    return { total, items: rows.map(toIncome) };
  }

  /** Every matching fill, newest first, read in pages (the CSV export); the selection is checked before anything is sent. */
  async function incomeAll(selection: Selection & { symbol?: string | undefined }): Promise<AsyncGenerator<IncomeItem>> {
    const accounts = await accountsOf(selection);
    const { from, to } = rangeOf(selection, 'all');
    const filter = { accounts, from, to, symbol: selection.symbol };
    return (async function* () {
      for (let offset = 0; ; offset += EXPORT_PAGE) {
        const rows = await repo.fills(filter, offset, EXPORT_PAGE);
        for (const row of rows) yield toIncome(row);
        if (rows.length < EXPORT_PAGE) return;
      }
    })();
  }

  return { stats, performance, positions, income, incomeAll };
}

function toIncome(row: Awaited<ReturnType<DashboardRepo['fills']>>[number]) {
  return {
    time: new Date(row.ts).toISOString(),
    account: row.account,
    exchange: row.exchange,
    symbol: row.symbol,
    side: row.side,
    positionSide: row.position_side,
    orderType: row.order_type,
    qty: row.qty,
    price: row.price,
    pnl: row.pnl,
    fee: row.fee,
    netPnl: row.net_pnl,
    status: row.pending ? ('pending' as const) : row.estimated ? ('estimated' as const) : ('complete' as const),
    fillId: row.fill_id,
    source: row.source,
  };
}

export type DashboardService = ReturnType<typeof createDashboardService>;
export type IncomeItem = ReturnType<typeof toIncome>;
