import type { Kysely } from 'kysely';

/**
 * What a finished command answered, for every role: the exit status of an SSH command, the
 * status code of an HTTP command. Kept apart from the output, which is for operators only.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('operations').addColumn('exit_code', 'integer').execute();
  await db.schema.alterTable('operations').addColumn('http_status', 'integer').execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('operations').dropColumn('http_status').execute();
  await db.schema.alterTable('operations').dropColumn('exit_code').execute();
}
