import type { Kysely } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('environments')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('name', 'text', (c) => c.notNull().unique())
    .addColumn('description', 'text', (c) => c.notNull().defaultTo(''))
    .addColumn('environment_url', 'text')
    .addColumn('kind', 'text', (c) => c.notNull())
    .addColumn('host', 'text')
    .addColumn('port', 'integer')
    .addColumn('domain', 'text')
    .addColumn('credentials', 'text')
    .addColumn('host_key', 'text')
    .addColumn('health_check', 'text', (c) => c.notNull())
    .addColumn('commands', 'text')
    .addColumn('upgrade_config', 'text')
    .addColumn('runtime', 'text')
    .addColumn('metadata', 'text')
    .addColumn('health', 'text', (c) => c.notNull())
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('system_info', 'text')
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addColumn('updated_at', 'text', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('environments_health_idx').on('environments').column('health').execute();

  await db.schema
    .createTable('health_samples')
    .addColumn('environment_id', 'text', (c) => c.notNull().references('environments.id').onDelete('cascade'))
    .addColumn('ts', 'text', (c) => c.notNull())
    .addColumn('health', 'text', (c) => c.notNull())
    .addColumn('response_time_ms', 'integer')
    .addColumn('message', 'text')
    .execute();
  await db.schema.createIndex('health_samples_env_ts_idx').on('health_samples').columns(['environment_id', 'ts']).execute();
  await db.schema.createIndex('health_samples_ts_idx').on('health_samples').column('ts').execute();

  await db.schema
    .createTable('health_hourly')
    .addColumn('environment_id', 'text', (c) => c.notNull().references('environments.id').onDelete('cascade'))
    .addColumn('hour', 'text', (c) => c.notNull())
    .addColumn('checks', 'integer', (c) => c.notNull())
    .addColumn('up_checks', 'integer', (c) => c.notNull())
    .addColumn('avg_latency_ms', 'integer')
    .addColumn('p95_latency_ms', 'integer')
    .addPrimaryKeyConstraint('health_hourly_pk', ['environment_id', 'hour'])
    .execute();

  await db.schema
    .createTable('operations')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('environment_id', 'text', (c) => c.notNull().references('environments.id').onDelete('cascade'))
    .addColumn('type', 'text', (c) => c.notNull())
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('params', 'text')
    .addColumn('output', 'text')
    .addColumn('error', 'text')
    .addColumn('requested_by', 'text')
    .addColumn('started_at', 'text', (c) => c.notNull())
    .addColumn('finished_at', 'text')
    .execute();
  await db.schema.createIndex('operations_env_idx').on('operations').columns(['environment_id', 'started_at']).execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  for (const table of ['operations', 'health_hourly', 'health_samples', 'environments']) await db.schema.dropTable(table).execute();
}
