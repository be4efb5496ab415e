import { chmodSync, closeSync, mkdirSync, mkdtempSync, openSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { migrateToLatest, openDatabase } from '../src/db/database.js';
import { dataDirWarning } from '../src/lib/data-dir.js';

const modeOf = (path: string) => statSync(path).mode & 0o777;

describe('data files are owner-only', () => {
  const dirs: string[] = [];
  const freshDir = () => {
    const dir = mkdtempSync(join(tmpdir(), 'pbfleet-files-'));
    dirs.push(dir);
    // As a user would make it: readable by everyone.
    chmodSync(dir, 0o755);
    return dir;
  };
  afterEach(() => {
    for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  });

  it('creates the SQLite database and its -wal and -shm files 0600, whatever the umask allows', async () => {
    const dir = freshDir();
    const path = join(dir, 'pbfleet.db');
    const database = openDatabase(`sqlite:${path}`);
    try {
      await migrateToLatest(database.db);
      expect(modeOf(path).toString(8)).toBe('600');
      expect(modeOf(`${path}-wal`).toString(8)).toBe('600');
      expect(modeOf(`${path}-shm`).toString(8)).toBe('600');
    } finally {
      await database.close();
    }
  });

  it('creates a missing parent directory 0700', async () => {
    const dir = join(freshDir(), 'nested', 'data');
    const database = openDatabase(`sqlite:${join(dir, 'pbfleet.db')}`);
    await database.close();
    expect(modeOf(dir).toString(8)).toBe('700');
  });

  it('tightens a database file an earlier version left readable by others', async () => {
    const dir = freshDir();
    const path = join(dir, 'pbfleet.db');
    for (const file of [path, `${path}-wal`, `${path}-shm`]) {
      closeSync(openSync(file, 'w'));
      chmodSync(file, 0o644);
    }
    const database = openDatabase(`sqlite:${path}`);
    try {
      await migrateToLatest(database.db);
      for (const file of [path, `${path}-wal`, `${path}-shm`]) expect(modeOf(file).toString(8), file).toBe('600');
    } finally {
      await database.close();
    }
  });

  it('warns about a data dir other users can enter, and not about an owner-only one', () => {
    const dir = freshDir();
    expect(dataDirWarning(dir)).toBe(`data dir ${dir} is open to other users (mode 0755); run: chmod 700 ${dir}`);
    chmodSync(dir, 0o750);
    expect(dataDirWarning(dir)).toContain('mode 0750');
    chmodSync(dir, 0o700);
    expect(dataDirWarning(dir)).toBeUndefined();
    const missing = join(dir, 'not-yet');
    expect(dataDirWarning(missing)).toBeUndefined();
    mkdirSync(missing, { mode: 0o700 });
    expect(dataDirWarning(missing)).toBeUndefined();
  });
});
