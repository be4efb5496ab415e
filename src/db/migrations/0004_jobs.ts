import type { Kysely } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('jobs')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('type', 'text', (c) => c.notNull())
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('params', 'text', (c) => c.notNull())
    .addColumn('environment_id', 'text', (c) => c.notNull())
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('priority', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('slots', 'integer', (c) => c.notNull().defaultTo(1))
    .addColumn('progress', 'text', (c) => c.notNull().defaultTo('{}'))
    .addColumn('requeue', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
    // Who runs it: `server` (embedded queue) or a worker's name (distributed mode).
    .addColumn('runner', 'text')
    .addColumn('pid', 'integer')
    .addColumn('process_start', 'text')
    .addColumn('work_dir', 'text')
    .addColumn('result_dir', 'text')
    .addColumn('log_path', 'text')
    .addColumn('result', 'text')
    .addColumn('error', 'text')
    .addColumn('requested_by', 'text')
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addColumn('started_at', 'text')
    .addColumn('finished_at', 'text')
    .execute();
  // The dispatcher's query: queued jobs of an environment, highest priority first, then oldest.
  await db.schema.createIndex('jobs_queue_idx').on('jobs').columns(['status', 'environment_id', 'priority', 'created_at']).execute();
  // Lists, newest first, whole or by status or type: read in index order, a page costs its rows.
  await db.schema.createIndex('jobs_created_idx').on('jobs').columns(['created_at', 'id']).execute();
  await db.schema.createIndex('jobs_status_created_idx').on('jobs').columns(['status', 'created_at', 'id']).execute();
  await db.schema.createIndex('jobs_type_created_idx').on('jobs').columns(['type', 'created_at', 'id']).execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('jobs').execute();
}
