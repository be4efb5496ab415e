import { sql, type Kysely, type Migration } from 'kysely';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { MigrationError, migrateToLatest, type DatabaseHandle } from '../src/db/database.js';
import { migrations } from '../src/db/migrations/index.js';
import { testDatabases } from './helpers/databases.js';

const APP_TABLES = ['api_tokens', 'audit_logs', 'sessions', 'settings', 'users'];

/** Creates a table, then fails: a migration that would leave half its work behind without a transaction. */
const broken: Migration = {
  async up(db: Kysely<unknown>) {
    await db.schema.createTable('broken_probe').addColumn('id', 'text', (c) => c.primaryKey()).execute();
    await sql`insert into broken_probe (id) values ('written before the failure')`.execute(db);
    await sql`this is not valid sql`.execute(db);
  },
};

/** Every table and index in the database's own schema, and every data row the migrations care about. */
async function snapshot(handle: DatabaseHandle) {
  const db = handle.db;
  let objects: string[];
  if (handle.dialect === 'sqlite') {
    const { rows } = await sql<{ type: string; name: string; sql: string | null }>`
      select type, name, sql from sqlite_master where name not like 'sqlite_%' order by type, name`.execute(db);
    objects = rows.map((r) => `${r.type}:${r.name}:${r.sql ?? ''}`);
  } else {
    const tables = await sql<{ name: string; columns: string }>`
      select t.table_name as name,
             string_agg(c.column_name || ' ' || c.data_type || ' ' || c.is_nullable, ', ' order by c.ordinal_position) as columns
      from information_schema.tables t
      join information_schema.columns c on c.table_schema = t.table_schema and c.table_name = t.table_name
      where t.table_schema = current_schema()
      group by t.table_name order by t.table_name`.execute(db);
    const indexes = await sql<{ name: string; def: string }>`
      select indexname as name, indexdef as def from pg_indexes where schemaname = current_schema() order by indexname`.execute(db);
    objects = [...tables.rows.map((r) => `table:${r.name}:${r.columns}`), ...indexes.rows.map((r) => `index:${r.name}:${r.def}`)];
  }
  return { objects, tables: await tableNames(handle), applied: await appliedMigrations(handle) };
}

async function tableNames(handle: DatabaseHandle): Promise<string[]> {
  const query =
    handle.dialect === 'sqlite'
      ? sql<{ name: string }>`select name from sqlite_master where type = 'table' and name not like 'sqlite_%' order by name`
      : sql<{ name: string }>`select table_name as name from information_schema.tables where table_schema = current_schema() order by table_name`;
  return (await query.execute(handle.db)).rows.map((r) => r.name);
}

/** Names in kysely_migration, or undefined when that table does not exist yet. */
async function appliedMigrations(handle: DatabaseHandle): Promise<string[] | undefined> {
  if (!(await tableNames(handle)).includes('kysely_migration')) return undefined;
  const { rows } = await sql<{ name: string }>`select name from kysely_migration order by name`.execute(handle.db);
  return rows.map((r) => r.name);
}

describe.each(testDatabases)('migrations on $name', (database) => {
  let handle: DatabaseHandle;
  let drop: () => Promise<void>;
  beforeEach(async () => {
    const created = await database.create();
    handle = created.handle;
    drop = () => created.drop();
  });
  afterEach(async () => {
    await handle.close();
    await drop();
  });

  it('creates every table, records the migration, and applies nothing the second time', async () => {
    expect(await tableNames(handle)).toEqual([]);
    expect(await migrateToLatest(handle.db)).toEqual(Object.keys(migrations));
    const tables = await tableNames(handle);
    expect(tables).toEqual(expect.arrayContaining([...APP_TABLES, 'kysely_migration']));
    expect(await appliedMigrations(handle)).toEqual(Object.keys(migrations));

    const before = await snapshot(handle);
    expect(await migrateToLatest(handle.db)).toEqual([]);
    expect(await snapshot(handle)).toEqual(before);
  });

  it('the tables work: a user row can be written and read back', async () => {
    await migrateToLatest(handle.db);
    const now = new Date().toISOString();
    await handle.db
      .insertInto('users')
      .values({ id: 'u1', username: 'alice', email: null, password_hash: 'h', role: 'admin', active: 1, last_login: null, created_at: now, updated_at: now })
      .execute();
    expect(await handle.db.selectFrom('users').select(['username', 'role']).execute()).toEqual([{ username: 'alice', role: 'admin' }]);
  });

  it('a failing migration throws MigrationError and leaves the database exactly as it was', async () => {
    await migrateToLatest(handle.db);
    const now = new Date().toISOString();
    await handle.db.insertInto('settings').values({ key: 'k', value: '"v"', updated_at: now, updated_by: null }).execute();
    const before = await snapshot(handle);

    const error = await migrateToLatest(handle.db, { ...migrations, '9999_broken': broken }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(MigrationError);
    expect((error as MigrationError).message).toMatch(/^migration 9999_broken failed: /);

    const after = await snapshot(handle);
    expect(after.tables).not.toContain('broken_probe');
    expect(after.applied).not.toContain('9999_broken');
    expect(after).toEqual(before);
    expect(await handle.db.selectFrom('settings').select(['key', 'value']).execute()).toEqual([{ key: 'k', value: '"v"' }]);

    // The same database still migrates normally once the broken migration is gone.
    expect(await migrateToLatest(handle.db)).toEqual([]);
  });

  it('on a fresh database, a broken migration after the first one means nothing at all is applied', async () => {
    const error = await migrateToLatest(handle.db, { ...migrations, '9999_broken': broken }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(MigrationError);
    expect((error as MigrationError).message).toMatch(/^migration 9999_broken failed: /);

    const after = await snapshot(handle);
    for (const table of [...APP_TABLES, 'broken_probe']) expect(after.tables).not.toContain(table);
    // Kysely creates its bookkeeping tables before the transaction; they must at least be empty.
    expect(after.applied ?? []).toEqual([]);

    // Fixed, the run applies everything from the start.
    expect(await migrateToLatest(handle.db)).toEqual(Object.keys(migrations));
    expect(await tableNames(handle)).toEqual(expect.arrayContaining(APP_TABLES));
  });
});
