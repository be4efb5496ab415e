import type { Kysely } from 'kysely';

/**
 * The dashboard's data, read from what the bots write on their hosts (Passivbot's fill-events
 * cache and monitor snapshots). Times are Unix epoch milliseconds (bigint) so that ranges and
 * hour buckets are integer arithmetic on both SQLite and PostgreSQL; days are UTC 'YYYY-MM-DD'.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  // Every fill once per account, whichever file or bot reported it: the exchange's fill id is the key.
  await db.schema
    .createTable('dashboard_fills')
    .addColumn('account', 'text', (c) => c.notNull())
    .addColumn('fill_id', 'text', (c) => c.notNull())
    .addColumn('exchange', 'text', (c) => c.notNull())
    .addColumn('instance_id', 'text')
    .addColumn('ts', 'bigint', (c) => c.notNull())
    // The UTC day of the file the fill was read from (Passivbot's own day).
    .addColumn('day', 'text', (c) => c.notNull())
    .addColumn('symbol', 'text', (c) => c.notNull())
    .addColumn('side', 'text', (c) => c.notNull())
    .addColumn('position_side', 'text')
    .addColumn('order_type', 'text')
    .addColumn('qty', 'double precision', (c) => c.notNull())
    .addColumn('price', 'double precision', (c) => c.notNull())
    // As the file has it: v7 net or v8 gross; fee is v8's fee_paid (signed), else null.
    .addColumn('pnl', 'double precision', (c) => c.notNull())
    .addColumn('fee', 'double precision')
    // Realised PnL by MONITOR.md's rule (v8: pnl + fee_paid, v7: pnl).
    .addColumn('net_pnl', 'double precision', (c) => c.notNull())
    .addColumn('pending', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('estimated', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('source', 'text', (c) => c.notNull())
    .addPrimaryKeyConstraint('dashboard_fills_pk', ['account', 'fill_id'])
    .execute();
  await db.schema.createIndex('dashboard_fills_ts_idx').on('dashboard_fills').columns(['account', 'ts']).execute();
  await db.schema.createIndex('dashboard_fills_all_ts_idx').on('dashboard_fills').column('ts').execute();

  // Realised PnL per account, symbol and UTC day (completed fills only), rebuilt from dashboard_fills for each day a read touches.
  await db.schema
    .createTable('dashboard_daily')
    .addColumn('account', 'text', (c) => c.notNull())
    .addColumn('day', 'text', (c) => c.notNull())
    .addColumn('symbol', 'text', (c) => c.notNull())
    .addColumn('pnl', 'double precision', (c) => c.notNull())
    .addColumn('fees', 'double precision', (c) => c.notNull())
    .addColumn('fills', 'integer', (c) => c.notNull())
    .addPrimaryKeyConstraint('dashboard_daily_pk', ['account', 'day', 'symbol'])
    .execute();
  await db.schema.createIndex('dashboard_daily_day_idx').on('dashboard_daily').column('day').execute();

  // Balance and equity over time: scope 'account' (key = account name) or 'bot' (key = instance id).
  await db.schema
    .createTable('dashboard_samples')
    .addColumn('scope', 'text', (c) => c.notNull())
    .addColumn('key', 'text', (c) => c.notNull())
    .addColumn('ts', 'bigint', (c) => c.notNull())
    .addColumn('balance', 'double precision', (c) => c.notNull())
    .addColumn('equity', 'double precision', (c) => c.notNull())
    .addPrimaryKeyConstraint('dashboard_samples_pk', ['scope', 'key', 'ts'])
    .execute();

  // Each bot's latest snapshot: balance, equity, open positions and open orders (JSON).
  await db.schema
    .createTable('dashboard_bot_state')
    .addColumn('instance_id', 'text', (c) => c.primaryKey())
    .addColumn('account', 'text', (c) => c.notNull())
    .addColumn('exchange', 'text', (c) => c.notNull())
    .addColumn('snapshot_ts', 'bigint', (c) => c.notNull())
    .addColumn('balance', 'double precision', (c) => c.notNull())
    .addColumn('equity', 'double precision', (c) => c.notNull())
    .addColumn('upnl', 'double precision', (c) => c.notNull())
    .addColumn('positions', 'text', (c) => c.notNull())
    .addColumn('open_orders', 'text', (c) => c.notNull())
    .execute();

  // What was last read of each file on each host (size and mtime), so an unchanged file is never read twice, across restarts too.
  await db.schema
    .createTable('dashboard_files')
    .addColumn('environment_id', 'text', (c) => c.notNull())
    .addColumn('path', 'text', (c) => c.notNull())
    .addColumn('size', 'bigint', (c) => c.notNull())
    .addColumn('mtime_ms', 'bigint', (c) => c.notNull())
    .addColumn('problem', 'text')
    .addColumn('read_at', 'text', (c) => c.notNull())
    .addPrimaryKeyConstraint('dashboard_files_pk', ['environment_id', 'path'])
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  for (const table of ['dashboard_files', 'dashboard_bot_state', 'dashboard_samples', 'dashboard_daily', 'dashboard_fills']) await db.schema.dropTable(table).execute();
}
