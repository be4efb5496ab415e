import { existsSync } from 'node:fs';
import { dirname } from 'node:path';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { createTestApp } from './helpers/app.js';
import { testDatabases, type TestDatabase } from './helpers/databases.js';

/** Whether the database behind a test URL still exists: its SQLite directory, or its PostgreSQL schema. */
async function stillExists(url: string): Promise<boolean> {
  if (url.startsWith('sqlite:')) return existsSync(dirname(url.slice('sqlite:'.length)));
  const parsed = new URL(url);
  const schema = /search_path=(\S+)/.exec(parsed.searchParams.get('options') ?? '')?.[1];
  if (!schema) throw new Error(`no schema in ${url}`);
  parsed.searchParams.delete('options');
  const client = new pg.Client({ connectionString: parsed.toString() });
  await client.connect();
  try {
    return (await client.query('select 1 from information_schema.schemata where schema_name = $1', [schema])).rowCount === 1;
  } finally {
    await client.end();
  }
}

/** The same databases, remembering the URL of each one made. */
function recording(database: TestDatabase): TestDatabase & { urls: string[] } {
  const urls: string[] = [];
  return {
    name: database.name,
    urls,
    async create() {
      const created = await database.create();
      urls.push(created.url);
      return created;
    },
  };
}

describe.each(testDatabases)('test apps on $name', (database) => {
  it('close drops the database', async () => {
    const db = recording(database);
    const t = await createTestApp(db);
    expect(await stillExists(db.urls[0]!)).toBe(true);
    await t.close();
    expect(await stillExists(db.urls[0]!)).toBe(false);
  });

  it('a start that fails after the database was made drops it too', async () => {
    const db = recording(database);
    // The configuration is read after the database is made and migrated.
    await expect(createTestApp(db, { overrides: { server: { port: 70000 } } })).rejects.toThrow(/server\.port/);
    expect(db.urls).toHaveLength(1);
    expect(await stillExists(db.urls[0]!)).toBe(false);
  });
});
