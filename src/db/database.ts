import { chmodSync, closeSync, mkdirSync, openSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import SQLite from 'better-sqlite3';
import {
  type DatabaseIntrospector,
  type DatabaseMetadataOptions,
  Kysely,
  Migrator,
  type Migration,
  PostgresDialect,
  PostgresIntrospector,
  SqliteAdapter,
  SqliteDialect,
  sql,
  type TableMetadata,
  type Transaction,
} from 'kysely';
import { createRequire } from 'node:module';
import type pgTypes from 'pg';
import { migrations } from './migrations/index.js';
import { withStatementCache } from './statement-cache.js';
import type { Database } from './types.js';

export type Db = Kysely<Database>;
/** What a repository method accepts: the database or an open transaction. */
export type Executor = Kysely<Database> | Transaction<Database>;
export type DialectName = 'sqlite' | 'postgres';

export interface DatabaseHandle {
  db: Db;
  dialect: DialectName;
  ping(): Promise<void>;
  close(): Promise<void>;
}

export class MigrationError extends Error {
  override name = 'MigrationError';
}

/** Opens the database named by the URL: `sqlite:<path>`, `sqlite::memory:` or `postgres://...`. */
export function openDatabase(url: string): DatabaseHandle {
  if (url.startsWith('sqlite:')) return openSqlite(url.slice('sqlite:'.length));
  if (/^postgres(ql)?:\/\//.test(url)) return openPostgres(url);
  throw new Error(`unsupported database url scheme: ${url.split(':')[0] ?? ''}`);
}

/**
 * SQLite rolls back DDL like any other statement, but Kysely's SqliteAdapter says it cannot,
 * so its Migrator would run migrations without a transaction and leave a failed run half
 * applied. Saying so makes migrateToLatest all-or-nothing on SQLite as on PostgreSQL.
 */
class TransactionalSqliteAdapter extends SqliteAdapter {
  override get supportsTransactionalDdl(): boolean {
    return true;
  }
}

class TransactionalSqliteDialect extends SqliteDialect {
  override createAdapter(): SqliteAdapter {
    return new TransactionalSqliteAdapter();
  }
}

/**
 * The database holds password hashes and sealed secrets, so its file is made owner-only (0600)
 * before SQLite opens it; SQLite gives the -wal and -shm files the mode of the database file.
 * Files an earlier version left readable by others are tightened.
 */
function prepareSqliteFiles(path: string): void {
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  closeSync(openSync(path, 'a', 0o600));
  for (const file of [path, `${path}-wal`, `${path}-shm`]) {
    let mode: number;
    try {
      mode = statSync(file).mode;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') continue;
      throw error;
    }
    if ((mode & 0o077) !== 0) chmodSync(file, 0o600);
  }
}

function openSqlite(path: string): DatabaseHandle {
  if (path !== ':memory:' && path !== '') prepareSqliteFiles(path);
  const sqlite = new SQLite(path);
  sqlite.pragma('journal_mode = WAL');
  sqlite.pragma('foreign_keys = ON');
  sqlite.pragma('busy_timeout = 5000');
  sqlite.pragma('synchronous = NORMAL');
  const db = new Kysely<Database>({ dialect: new TransactionalSqliteDialect({ database: withStatementCache(sqlite) }) });
  return {
    db,
    dialect: 'sqlite',
    ping: async () => {
      await sql`select 1`.execute(db);
    },
    close: () => db.destroy(),
  };
}

/**
 * Kysely's introspector, which its Migrator uses to look for its own tables, reads every
 * schema's catalog and calls functions on each schema name; a schema or table someone else
 * drops meanwhile (another app, a parallel test) makes that query fail with 3F000 or 42P01.
 * The race is harmless, so the read is retried.
 */
class RetryingPostgresIntrospector extends PostgresIntrospector {
  override async getTables(options?: DatabaseMetadataOptions): Promise<TableMetadata[]> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await super.getTables(options);
      } catch (error) {
        const code = (error as { code?: unknown } | null)?.code;
        if (attempt >= 5 || (code !== '3F000' && code !== '42P01')) throw error;
      }
    }
  }
}

class RetryingIntrospectionPostgresDialect extends PostgresDialect {
  override createIntrospector(db: Kysely<unknown>): DatabaseIntrospector {
    return new RetryingPostgresIntrospector(db);
  }
}

/** pg is loaded only when PostgreSQL is configured: an embedded (SQLite) server never pays for it. */
const requireCjs = createRequire(import.meta.url);

function openPostgres(url: string): DatabaseHandle {
  const pg = requireCjs('pg') as typeof pgTypes;
  const pool = new pg.Pool({ connectionString: url, max: 10 });
  // An idle client's error (server restart) must not crash the process; the next query reconnects.
  pool.on('error', () => undefined);
  const db = new Kysely<Database>({ dialect: new RetryingIntrospectionPostgresDialect({ pool }) });
  return {
    db,
    dialect: 'postgres',
    ping: async () => {
      await sql`select 1`.execute(db);
    },
    close: () => db.destroy(),
  };
}

/** Applies pending migrations in one transaction: all of them or none. */
export async function migrateToLatest(db: Db, list: Record<string, Migration> = migrations): Promise<string[]> {
  // Kysely looks for its bookkeeping tables in every PostgreSQL schema unless told which one:
  // another schema's kysely_migration_lock (a parallel test, another app) would be taken for ours.
  const migrationTableSchema = db.introspection instanceof PostgresIntrospector ? await currentSchema(db) : undefined;
  const migrator = new Migrator({ db, provider: { getMigrations: () => Promise.resolve(list) }, ...(migrationTableSchema && { migrationTableSchema }) });
  const { error, results } = await migrator.migrateToLatest();
  if (error) {
    const failed = results?.find((r) => r.status === 'Error')?.migrationName ?? 'unknown';
    throw new MigrationError(`migration ${failed} failed: ${(error as Error).message}`, { cause: error });
  }
  return (results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName);
}

async function currentSchema(db: Db): Promise<string | undefined> {
  const { rows } = await sql<{ schema: string | null }>`select current_schema() as schema`.execute(db);
  return rows[0]?.schema ?? undefined;
}
