import SQLite from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { withStatementCache } from './statement-cache.js';

describe('withStatementCache', () => {
  const open = () => {
    const sqlite = new SQLite(':memory:');
    let prepared = 0;
    const counted = { close: () => sqlite.close(), prepare: (sql: string) => (prepared++, sqlite.prepare(sql)) };
    return { db: withStatementCache(counted, 2), prepared: () => prepared };
  };

  it('prepares a text once and gives the same statement back, with correct results each time', () => {
    const { db, prepared } = open();
    db.prepare('create table t (n integer)').run([]);
    for (let n = 1; n <= 3; n++) db.prepare('insert into t (n) values (?)').run([n]);
    expect(db.prepare('select sum(n) as s from t').all([])).toEqual([{ s: 6 }]);
    expect(db.prepare('select sum(n) as s from t where n > ?').all([1])).toEqual([{ s: 5 }]);
    expect(db.prepare('select sum(n) as s from t where n > ?').all([2])).toEqual([{ s: 3 }]);
    expect(prepared()).toBe(4);
    db.close();
  });

  it('keeps the most recently used texts within its capacity', () => {
    const { db, prepared } = open();
    db.prepare('select 1').all([]);
    db.prepare('select 2').all([]);
    db.prepare('select 1').all([]); // 1 is now the most recent
    db.prepare('select 3').all([]); // evicts 2
    expect(prepared()).toBe(3);
    db.prepare('select 1').all([]);
    expect(prepared()).toBe(3);
    db.prepare('select 2').all([]);
    expect(prepared()).toBe(4);
    db.close();
  });
});
