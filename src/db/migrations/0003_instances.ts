import type { Kysely } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  // Exchange accounts: the entries of Passivbot's api-keys.json. `credentials` is one sealed
  // JSON object of every secret field; `fields` lists which ones are set (for reads).
  await db.schema
    .createTable('exchange_accounts')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('name', 'text', (c) => c.notNull().unique())
    .addColumn('exchange', 'text', (c) => c.notNull())
    .addColumn('credentials', 'text', (c) => c.notNull())
    .addColumn('fields', 'text', (c) => c.notNull())
    .addColumn('is_vault', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addColumn('updated_at', 'text', (c) => c.notNull())
    .execute();

  await db.schema
    .createTable('instances')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('name', 'text', (c) => c.notNull().unique())
    .addColumn('environment_id', 'text', (c) => c.notNull().references('environments.id'))
    .addColumn('account', 'text', (c) => c.notNull())
    .addColumn('exchange', 'text', (c) => c.notNull())
    .addColumn('symbols', 'text', (c) => c.notNull())
    .addColumn('config', 'text', (c) => c.notNull())
    .addColumn('runtime', 'text', (c) => c.notNull())
    .addColumn('desired_state', 'text', (c) => c.notNull())
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('pid', 'integer')
    // The process's start time as the host reports it (/proc/<pid>/stat field 22): with the
    // pid and command line, it tells "our bot" from a recycled pid.
    .addColumn('process_start', 'text')
    .addColumn('started_at', 'text')
    .addColumn('restart_count', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('last_exit_code', 'integer')
    .addColumn('last_error', 'text')
    .addColumn('crash_times', 'text', (c) => c.notNull().defaultTo('[]'))
    .addColumn('config_version', 'integer', (c) => c.notNull())
    .addColumn('running_config_version', 'integer')
    .addColumn('summary', 'text', (c) => c.notNull().defaultTo('{}'))
    // Bytes of the current log already read, so tailing resumes where it stopped.
    .addColumn('log_offset', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addColumn('updated_at', 'text', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('instances_env_idx').on('instances').column('environment_id').execute();
  await db.schema.createIndex('instances_status_idx').on('instances').column('status').execute();
  await db.schema.createIndex('instances_account_idx').on('instances').column('account').execute();

  await db.schema
    .createTable('instance_config_versions')
    .addColumn('instance_id', 'text', (c) => c.notNull().references('instances.id').onDelete('cascade'))
    .addColumn('version', 'integer', (c) => c.notNull())
    .addColumn('config', 'text', (c) => c.notNull())
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addColumn('created_by', 'text')
    .addColumn('note', 'text')
    .addPrimaryKeyConstraint('instance_config_versions_pk', ['instance_id', 'version'])
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  for (const table of ['instance_config_versions', 'instances', 'exchange_accounts']) await db.schema.dropTable(table).execute();
}
