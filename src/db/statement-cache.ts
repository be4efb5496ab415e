import type { SqliteDatabase, SqliteStatement } from 'kysely';

/** Distinct SQL texts kept prepared; queries are built from a small set of shapes. */
const DEFAULT_CAPACITY = 256;

/**
 * better-sqlite3 behind Kysely, with prepared statements reused: Kysely's driver prepares
 * every query again, and compiling the SQL was a fifth of the time a job's database work took.
 * Kysely runs one query at a time on the one connection (a stream holds it too), so a cached
 * statement is never used by two queries at once. Least recently used texts are dropped.
 */
export function withStatementCache(db: SqliteDatabase, capacity = DEFAULT_CAPACITY): SqliteDatabase {
  const statements = new Map<string, SqliteStatement>();
  return {
    close: () => {
      statements.clear();
      db.close();
    },
    prepare(sql: string): SqliteStatement {
      const cached = statements.get(sql);
      if (cached) {
        // Map order is insertion order: re-inserting marks it recently used.
        statements.delete(sql);
        statements.set(sql, cached);
        return cached;
      }
      const statement = db.prepare(sql);
      statements.set(sql, statement);
      if (statements.size > capacity) statements.delete(statements.keys().next().value as string);
      return statement;
    },
  };
}
