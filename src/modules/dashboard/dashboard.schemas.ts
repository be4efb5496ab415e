import Type, { type TSchema } from 'typebox';
import { NO_CONTROL_CHARS, PageQuery, Pagination, Timestamp } from '../../http/schemas.js';
import { PERIODS } from './dashboard.fns.js';

const Nullable = <T extends TSchema>(schema: T) => Type.Union([schema, Type.Null()]);
const Counts = Type.Record(Type.String(), Type.Integer());

const Selection = {
  accounts: Type.Optional(Type.String({ maxLength: 4000, pattern: NO_CONTROL_CHARS, description: 'account names, comma-separated (default: all)' })),
  bots: Type.Optional(Type.String({ maxLength: 4000, pattern: '^[A-Za-z0-9_,-]*$', description: "bot ids, comma-separated: their accounts' figures (fills belong to an account, not a bot)" })),
};
const Range = {
  from: Type.Optional(Type.String({ maxLength: 40, pattern: NO_CONTROL_CHARS, description: 'start (date or date-time, UTC), instead of period' })),
  to: Type.Optional(Type.String({ maxLength: 40, pattern: NO_CONTROL_CHARS, description: 'end, exclusive (date or date-time, UTC)' })),
  period: Type.Optional(Type.Enum([...PERIODS], { description: 'UTC days: today, yesterday, the last 7 or 30 days, this month, this year, or all' })),
};

export const SourceStatus = Type.Object(
  {
    instanceId: Type.String(),
    name: Type.String(),
    account: Type.String(),
    state: Type.Enum(['ok', 'waiting', 'stale', 'error']),
    problems: Type.Array(Type.String()),
    lastReadAt: Nullable(Timestamp),
    snapshotAt: Nullable(Timestamp),
  },
  { $id: 'DashboardSource', description: "How reading a bot's files goes: waiting (not running or nothing written yet), stale, or error with the files at fault" },
);

export const DashboardStats = Type.Object(
  {
    bots: Type.Object({ total: Type.Integer(), byStatus: Counts }),
    environments: Type.Object({ total: Type.Integer(), byHealth: Counts }),
    accounts: Type.Object({ total: Type.Integer(), reporting: Type.Integer({ description: 'accounts with a bot snapshot' }) }),
    balance: Type.Number(),
    equity: Type.Number(),
    unrealisedPnl: Type.Number(),
    realisedPnl: Type.Object({ today: Type.Number(), '7d': Type.Number(), '30d': Type.Number(), all: Type.Number() }),
    openPositions: Type.Integer(),
    jobs: Type.Object({ running: Type.Integer(), queued: Type.Integer() }),
    sources: Type.Array(SourceStatus),
  },
  { $id: 'DashboardStats' },
);

export const PerformanceQuery = Type.Object(
  {
    ...Selection,
    ...Range,
    interval: Type.Optional(Type.Enum(['day', 'hour'], { default: 'day' })),
    top: Type.Optional(Type.Integer({ minimum: 1, maximum: 100, default: 10, description: 'how many top symbols' })),
  },
  { additionalProperties: false },
);

const SymbolPnl = Type.Object({ symbol: Type.String(), pnl: Type.Number(), fees: Type.Number(), fills: Type.Integer() });

export const DashboardPerformance = Type.Object(
  {
    from: Timestamp,
    to: Timestamp,
    interval: Type.Enum(['day', 'hour']),
    accounts: Type.Array(Type.Object({ account: Type.String(), pnl: Type.Number(), fills: Type.Integer(), balance: Nullable(Type.Number()), equity: Nullable(Type.Number()) })),
    series: Type.Array(Type.Object({ t: Timestamp, balance: Type.Number(), equity: Type.Number() }), { description: 'the selected accounts together, the last sample of each bucket' }),
    pnl: Type.Array(Type.Object({ t: Timestamp, pnl: Type.Number(), cumulative: Type.Number() }), { description: 'realised PnL per bucket (completed fills), every bucket present' }),
    totalPnl: Type.Number(),
    adg: Type.Object({ quote: Type.Number(), ratio: Nullable(Type.Number({ description: 'of the balance at the start' })) }, { description: 'average daily gain' }),
    maxDrawdown: Type.Number({ description: 'the largest fall of equity from a peak, as a fraction of it' }),
    perSymbol: Type.Array(SymbolPnl),
    topSymbols: Type.Array(SymbolPnl),
  },
  { $id: 'DashboardPerformance' },
);

export const PositionsQuery = Type.Object({ ...Selection }, { additionalProperties: false });

const NextOrder = Nullable(Type.Object({ price: Type.Number(), qty: Type.Number() }));
export const DashboardPositions = Type.Object(
  {
    positions: Type.Array(
      Type.Object({
        account: Type.String(),
        exchange: Type.String(),
        instanceId: Type.String(),
        bot: Nullable(Type.String()),
        symbol: Type.String(),
        side: Type.Enum(['long', 'short']),
        size: Type.Number({ description: 'negative for shorts' }),
        entryPrice: Type.Number(),
        lastPrice: Nullable(Type.Number()),
        upnl: Type.Number(),
        value: Type.Number(),
        walletExposure: Nullable(Type.Number()),
        nextEntry: NextOrder,
        nextClose: NextOrder,
        updatedAt: Timestamp,
      }),
    ),
  },
  { $id: 'DashboardPositions' },
);

export const IncomeQuery = Type.Object(
  {
    ...Selection,
    ...Range,
    symbol: Type.Optional(Type.String({ minLength: 1, maxLength: 100, pattern: NO_CONTROL_CHARS })),
    ...PageQuery,
    format: Type.Optional(Type.Enum(['json', 'csv'], { default: 'json', description: 'csv: every matching fill as an attachment (page and limit ignored)' })),
  },
  { additionalProperties: false },
);

export const IncomeItem = Type.Object({
  time: Timestamp,
  account: Type.String(),
  exchange: Type.String(),
  symbol: Type.String(),
  side: Type.String(),
  positionSide: Nullable(Type.String()),
  orderType: Nullable(Type.String()),
  qty: Type.Number(),
  price: Type.Number(),
  pnl: Type.Number({ description: "as the bot's cache has it (v8: gross)" }),
  fee: Nullable(Type.Number({ description: 'v8 fee_paid (negative when paid)' })),
  netPnl: Type.Number(),
  status: Type.Enum(['complete', 'pending', 'estimated']),
  fillId: Type.String(),
  source: Type.String(),
});

export const DashboardIncome = Type.Object({ items: Type.Array(IncomeItem), pagination: Pagination }, { $id: 'DashboardIncome' });
