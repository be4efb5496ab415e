import { sql } from 'kysely';
import type { Db, Executor } from '../../db/database.js';
import type { BotSnapshot, FillRow, OpenOrder, Position } from './dashboard.fns.js';

/** Rows per multi-row insert: well under SQLite's and PostgreSQL's bound-parameter limits. */
const CHUNK = 400;
const num = (value: unknown): number => Number(value ?? 0);

export interface FileCursor {
  size: number;
  mtimeMs: number;
  problem: string | null;
}

export interface BotStateRow {
  instanceId: string;
  account: string;
  exchange: string;
  snapshotTs: number;
  balance: number;
  equity: number;
  upnl: number;
  positions: Position[];
  orders: OpenOrder[];
}

export interface FillFilter {
  accounts?: readonly string[] | undefined;
  from: number;
  to: number;
  symbol?: string | undefined;
}

export function createDashboardRepo(db: Db) {
  const accountsWhere = (accounts: readonly string[] | undefined) => (accounts === undefined ? sql<boolean>`1 = 1` : accounts.length === 0 ? sql<boolean>`1 = 0` : sql<boolean>`account in (${sql.join(accounts)})`);

  return {
    async cursors(environmentId: string): Promise<Map<string, FileCursor>> {
      const rows = await db.selectFrom('dashboard_files').select(['path', 'size', 'mtime_ms', 'problem']).where('environment_id', '=', environmentId).execute();
      return new Map(rows.map((r) => [r.path, { size: num(r.size), mtimeMs: num(r.mtime_ms), problem: r.problem }]));
    },

    async saveCursor(tx: Executor, environmentId: string, path: string, cursor: FileCursor, readAt: string): Promise<void> {
      await tx
        .insertInto('dashboard_files')
        .values({ environment_id: environmentId, path, size: cursor.size, mtime_ms: cursor.mtimeMs, problem: cursor.problem, read_at: readAt })
        .onConflict((oc) => oc.columns(['environment_id', 'path']).doUpdateSet({ size: cursor.size, mtime_ms: cursor.mtimeMs, problem: cursor.problem, read_at: readAt }))
        .execute();
    },

    /**
     * Stores a day file's fills (insert, or update the fill already known by account + id) and
     * rebuilds the daily rollups of the days touched, in the caller's transaction.
     */
    async upsertFills(tx: Executor, account: string, exchange: string, instanceId: string, fills: readonly FillRow[]): Promise<void> {
      for (let i = 0; i < fills.length; i += CHUNK) {
        const rows = fills.slice(i, i + CHUNK).map((f) => ({
          account,
          fill_id: f.fillId,
          exchange,
          instance_id: instanceId,
          ts: f.ts,
          day: f.day,
          symbol: f.symbol,
          side: f.side,
          position_side: f.positionSide,
          order_type: f.orderType,
          qty: f.qty,
          price: f.price,
          pnl: f.pnl,
          fee: f.fee,
          net_pnl: f.netPnl,
          pending: f.pending ? 1 : 0,
          estimated: f.estimated ? 1 : 0,
          source: 'fill_cache',
        }));
        await tx
          .insertInto('dashboard_fills')
          .values(rows)
          .onConflict((oc) =>
            oc.columns(['account', 'fill_id']).doUpdateSet((eb) => ({
              ts: eb.ref('excluded.ts'),
              day: eb.ref('excluded.day'),
              symbol: eb.ref('excluded.symbol'),
              side: eb.ref('excluded.side'),
              position_side: eb.ref('excluded.position_side'),
              order_type: eb.ref('excluded.order_type'),
              qty: eb.ref('excluded.qty'),
              price: eb.ref('excluded.price'),
              pnl: eb.ref('excluded.pnl'),
              fee: eb.ref('excluded.fee'),
              net_pnl: eb.ref('excluded.net_pnl'),
              pending: eb.ref('excluded.pending'),
              estimated: eb.ref('excluded.estimated'),
            })),
          )
          .execute();
      }
      const days = [...new Set(fills.map((f) => f.day))];
      if (days.length === 0) return;
      await tx.deleteFrom('dashboard_daily').where('account', '=', account).where('day', 'in', days).execute();
      await tx
        .insertInto('dashboard_daily')
        .columns(['account', 'day', 'symbol', 'pnl', 'fees', 'fills'])
        .expression((eb) =>
          eb
            .selectFrom('dashboard_fills')
            .select(['account', 'day', 'symbol'])
            .select((s) => [s.fn.sum<number>('net_pnl').as('pnl'), sql<number>`coalesce(sum(fee), 0)`.as('fees'), s.fn.countAll<number>().as('fills')])
            .where('account', '=', account)
            .where('day', 'in', days)
            .where('pending', '=', 0)
            .groupBy(['account', 'day', 'symbol']),
        )
        .execute();
    },

    async saveBotState(state: BotStateRow): Promise<void> {
      const values = {
        account: state.account,
        exchange: state.exchange,
        snapshot_ts: state.snapshotTs,
        balance: state.balance,
        equity: state.equity,
        upnl: state.upnl,
        positions: JSON.stringify(state.positions),
        open_orders: JSON.stringify(state.orders),
      };
      await db
        .insertInto('dashboard_bot_state')
        .values({ instance_id: state.instanceId, ...values })
        .onConflict((oc) => oc.column('instance_id').doUpdateSet(values))
        .execute();
    },

    async botStates(): Promise<BotStateRow[]> {
      const rows = await db.selectFrom('dashboard_bot_state').selectAll().execute();
      return rows.map((r) => ({
        instanceId: r.instance_id,
        account: r.account,
        exchange: r.exchange,
        snapshotTs: num(r.snapshot_ts),
        balance: num(r.balance),
        equity: num(r.equity),
        upnl: num(r.upnl),
        positions: JSON.parse(r.positions) as Position[],
        orders: JSON.parse(r.open_orders) as OpenOrder[],
      }));
    },

    async addSample(scope: 'account' | 'bot', key: string, ts: number, snapshot: Pick<BotSnapshot, 'balance' | 'equity'>): Promise<void> {
      await db
        .insertInto('dashboard_samples')
        .values({ scope, key, ts, balance: snapshot.balance, equity: snapshot.equity })
        .onConflict((oc) => oc.columns(['scope', 'key', 'ts']).doNothing())
        .execute();
    },

    async lastSampleTs(scope: 'account' | 'bot', key: string): Promise<number | null> {
      const row = await db.selectFrom('dashboard_samples').select((s) => s.fn.max('ts').as('ts')).where('scope', '=', scope).where('key', '=', key).executeTakeFirst();
      return row?.ts === null || row?.ts === undefined ? null : num(row.ts);
    },

    /** The last sample of each key in each bucket of `bucketMs`, within [from, to). */
    async samples(scope: 'account' | 'bot', keys: readonly string[] | undefined, from: number, to: number, bucketMs: number): Promise<{ key: string; bucket: number; balance: number; equity: number }[]> {
      const keyWhere = keys === undefined ? sql`1 = 1` : keys.length === 0 ? sql`1 = 0` : sql`s.${sql.ref('key')} in (${sql.join(keys)})`;
      // A literal, not a parameter: PostgreSQL matches the select and group-by expressions by their text.
      const bucket = sql.lit(Math.max(1, Math.floor(bucketMs)));
      const result = await sql<{ key: string; bucket: number | string; balance: number; equity: number }>`
        select s.${sql.ref('key')} as key, m.bucket as bucket, s.balance as balance, s.equity as equity
        from dashboard_samples s
        join (
          select ${sql.ref('key')} as k, ts / ${bucket} as bucket, max(ts) as last_ts
          from dashboard_samples
          where scope = ${scope} and ts >= ${from} and ts < ${to}
          group by ${sql.ref('key')}, ts / ${bucket}
        ) m on m.k = s.${sql.ref('key')} and m.last_ts = s.ts
        where s.scope = ${scope} and ${keyWhere}
        order by m.bucket`.execute(db);
      return result.rows.map((r) => ({ key: r.key, bucket: num(r.bucket), balance: num(r.balance), equity: num(r.equity) }));
    },

    /** The latest sample of each key before `before` (where a period's series starts from). */
    async samplesBefore(scope: 'account' | 'bot', keys: readonly string[] | undefined, before: number): Promise<{ key: string; balance: number; equity: number }[]> {
      const keyWhere = keys === undefined ? sql`1 = 1` : keys.length === 0 ? sql`1 = 0` : sql`s.${sql.ref('key')} in (${sql.join(keys)})`;
      const result = await sql<{ key: string; balance: number; equity: number }>`
        select s.${sql.ref('key')} as key, s.balance as balance, s.equity as equity
        from dashboard_samples s
        join (select ${sql.ref('key')} as k, max(ts) as last_ts from dashboard_samples where scope = ${scope} and ts < ${before} group by ${sql.ref('key')}) m
          on m.k = s.${sql.ref('key')} and m.last_ts = s.ts
        where s.scope = ${scope} and ${keyWhere}`.execute(db);
      return result.rows.map((r) => ({ key: r.key, balance: num(r.balance), equity: num(r.equity) }));
    },

    /** Realised PnL per UTC day and per symbol from the rollups. */
    async dailyPnl(accounts: readonly string[] | undefined, fromDay: string, toDay: string): Promise<{ day: string; symbol: string; pnl: number; fees: number; fills: number }[]> {
      const rows = await db
        .selectFrom('dashboard_daily')
        .select(['day', 'symbol'])
        .select((s) => [s.fn.sum<number>('pnl').as('pnl'), s.fn.sum<number>('fees').as('fees'), s.fn.sum<number>('fills').as('fills')])
        .where(accountsWhere(accounts))
        .where('day', '>=', fromDay)
        .where('day', '<', toDay)
        .groupBy(['day', 'symbol'])
        .orderBy('day')
        .execute();
      return rows.map((r) => ({ day: r.day, symbol: r.symbol, pnl: num(r.pnl), fees: num(r.fees), fills: num(r.fills) }));
    },

    /** Realised PnL per hour bucket, from the fills (hours are finer than the rollups). */
    async hourlyPnl(accounts: readonly string[] | undefined, from: number, to: number): Promise<{ bucket: number; pnl: number }[]> {
      const result = await sql<{ bucket: number | string; pnl: number | string }>`
        select ts / 3600000 as bucket, sum(net_pnl) as pnl from dashboard_fills
        where ${accountsWhere(accounts)} and pending = 0 and ts >= ${from} and ts < ${to}
        group by ts / 3600000 order by 1`.execute(db);
      return result.rows.map((r) => ({ bucket: num(r.bucket), pnl: num(r.pnl) }));
    },

    async pnlSince(accounts: readonly string[] | undefined, fromDay: string): Promise<number> {
      const row = await db.selectFrom('dashboard_daily').select((s) => s.fn.sum<number>('pnl').as('pnl')).where(accountsWhere(accounts)).where('day', '>=', fromDay).executeTakeFirst();
      return num(row?.pnl);
    },

    async countFills(filter: FillFilter): Promise<number> {
      const row = await this.fillsQuery(filter)
        .select((s) => s.fn.countAll<number>().as('n'))
        .executeTakeFirst();
      return num(row?.n);
    },

    fillsQuery(filter: FillFilter) {
      let query = db.selectFrom('dashboard_fills').where(accountsWhere(filter.accounts)).where('ts', '>=', filter.from).where('ts', '<', filter.to);
      if (filter.symbol !== undefined) query = query.where('symbol', '=', filter.symbol);
      return query;
    },

    async fills(filter: FillFilter, offset: number, limit: number) {
      const rows = await this.fillsQuery(filter).selectAll().orderBy('ts', 'desc').orderBy('fill_id', 'desc').offset(offset).limit(limit).execute();
      return rows.map((r) => ({ ...r, ts: num(r.ts), qty: num(r.qty), price: num(r.price), pnl: num(r.pnl), fee: r.fee === null ? null : num(r.fee), net_pnl: num(r.net_pnl) }));
    },

    async pnlByAccount(accounts: readonly string[] | undefined, fromDay: string, toDay: string): Promise<{ account: string; pnl: number; fills: number }[]> {
      const rows = await db
        .selectFrom('dashboard_daily')
        .select('account')
        .select((s) => [s.fn.sum<number>('pnl').as('pnl'), s.fn.sum<number>('fills').as('fills')])
        .where(accountsWhere(accounts))
        .where('day', '>=', fromDay)
        .where('day', '<', toDay)
        .groupBy('account')
        .orderBy('account')
        .execute();
      return rows.map((r) => ({ account: r.account, pnl: num(r.pnl), fills: num(r.fills) }));
    },

    /** Bots as the dashboard needs them (read from the instances table). */
    async bots(): Promise<{ id: string; name: string; environmentId: string; account: string; exchange: string; runtime: string; status: string }[]> {
      const rows = await db.selectFrom('instances').select(['id', 'name', 'environment_id', 'account', 'exchange', 'runtime', 'status']).orderBy('name').execute();
      return rows.map((r) => ({ id: r.id, name: r.name, environmentId: r.environment_id, account: r.account, exchange: r.exchange, runtime: r.runtime, status: r.status }));
    },

    async countsBy(table: 'instances' | 'environments' | 'jobs', column: 'status' | 'health'): Promise<Record<string, number>> {
      const rows = await sql<{ k: string; n: number | string }>`select ${sql.ref(column)} as k, count(*) as n from ${sql.table(table)} group by ${sql.ref(column)}`.execute(db);
      return Object.fromEntries(rows.rows.map((r) => [r.k, num(r.n)]));
    },

    async countAccounts(): Promise<number> {
      const row = await db.selectFrom('exchange_accounts').select((s) => s.fn.countAll<number>().as('n')).executeTakeFirst();
      return num(row?.n);
    },

    /**
     * Thins samples older than `before` to the last one of each hour per key (recent ones stay
     * one a minute); returns how many were removed.
     */
    async thinSamples(before: number): Promise<number> {
      const result = await sql`
        delete from dashboard_samples
        where ts < ${before} and exists (
          select 1 from dashboard_samples l
          where l.scope = dashboard_samples.scope and l.${sql.ref('key')} = dashboard_samples.${sql.ref('key')}
            and l.ts > dashboard_samples.ts and l.ts < (dashboard_samples.ts / 3600000 + 1) * 3600000
        )`.execute(db);
      return Number(result.numAffectedRows ?? 0);
    },

    async removeBot(instanceId: string): Promise<void> {
      await db.deleteFrom('dashboard_bot_state').where('instance_id', '=', instanceId).execute();
    },
  };
}

export type DashboardRepo = ReturnType<typeof createDashboardRepo>;
