import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { openDatabase, type DatabaseHandle } from '../../src/db/database.js';

export interface TestDatabase {
  name: 'sqlite' | 'postgres';
  /** A fresh, empty database (its own file, or its own PostgreSQL schema). */
  create(): Promise<{ url: string; handle: DatabaseHandle; drop(): Promise<void> }>;
}

const postgresUrl = process.env.PBFLEET_TEST_POSTGRES_URL;
const postgresRequired = process.env.PBFLEET_REQUIRE_POSTGRES === '1';

if (!postgresUrl && postgresRequired) {
  throw new Error('PBFLEET_REQUIRE_POSTGRES=1 but PBFLEET_TEST_POSTGRES_URL is not set: the PostgreSQL suites are mandatory here');
}
if (!postgresUrl && !process.env.PBFLEET_TEST_QUIET) {
  process.env.PBFLEET_TEST_QUIET = '1';
  console.warn('PostgreSQL suites skipped: set PBFLEET_TEST_POSTGRES_URL=postgres://... to run them');
}

const sqlite: TestDatabase = {
  name: 'sqlite',
  async create() {
    const dir = mkdtempSync(join(tmpdir(), 'pbfleet-db-'));
    const url = `sqlite:${join(dir, 'test.db')}`;
    const drop = async () => rmSync(dir, { recursive: true, force: true });
    let handle: DatabaseHandle;
    try {
      handle = openDatabase(url);
    } catch (error) {
      await drop();
      throw error;
    }
    return { url, handle, drop };
  },
};

const postgres: TestDatabase = {
  name: 'postgres',
  async create() {
    const base = postgresUrl as string;
    const schema = `pbfleet_t_${randomBytes(6).toString('hex')}`;
    const drop = async () => void (await withClient(base, (client) => client.query(`drop schema if exists ${schema} cascade`)));
    await withClient(base, (client) => client.query(`create schema ${schema}`));
    const url = withSearchPath(base, schema);
    let handle: DatabaseHandle;
    try {
      handle = openDatabase(url);
    } catch (error) {
      await drop();
      throw error;
    }
    return { url, handle, drop };
  },
};

/** Runs one statement on a short-lived connection that is closed whatever happens. */
async function withClient<T>(url: string, use: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url });
  try {
    await client.connect();
    return await use(client);
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** Each test database lives in its own schema, so parallel runs never collide. */
function withSearchPath(url: string, schema: string): string {
  const parsed = new URL(url);
  parsed.searchParams.set('options', `-c search_path=${schema}`);
  return parsed.toString();
}

/** The databases every repository and route suite runs on. */
export const testDatabases: TestDatabase[] = postgresUrl ? [sqlite, postgres] : [sqlite];
