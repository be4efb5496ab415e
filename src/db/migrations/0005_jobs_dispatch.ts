import type { Kysely } from 'kysely';

/**
 * The dispatcher reads an environment's queued jobs highest priority first, then oldest, then by
 * id. The first index had priority ascending, so that order was a scan and a sort of every job
 * (past their params and results) on each dispatch; this one is that order, read from the top.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropIndex('jobs_queue_idx').execute();
  await db.schema.createIndex('jobs_dispatch_idx').on('jobs').columns(['status', 'environment_id', 'priority desc', 'created_at', 'id']).execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropIndex('jobs_dispatch_idx').execute();
  await db.schema.createIndex('jobs_queue_idx').on('jobs').columns(['status', 'environment_id', 'priority', 'created_at']).execute();
}
