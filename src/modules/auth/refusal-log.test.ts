import { describe, expect, it } from 'vitest';
import { RefusalLog } from './refusal-log.js';

describe('RefusalLog', () => {
  const from = (now: number, username = 'alice') => ({ now, ip: '10.0.0.1', username });

  it('writes the first refusal of a window at once and counts the rest into one entry', () => {
    const log = new RefusalLog(60_000);
    expect(log.refuse('ip:10.0.0.1', from(0))).toEqual([expect.objectContaining({ key: 'ip:10.0.0.1', count: 1, first: true })]);
    for (let i = 1; i <= 1234; i++) expect(log.refuse('ip:10.0.0.1', from(i, `user${i % 9}`))).toEqual([]);
    expect(log.flush(59_999)).toEqual([]);
    const [entry, ...rest] = log.flush(60_000);
    expect(rest).toEqual([]);
    expect(entry).toMatchObject({ key: 'ip:10.0.0.1', count: 1234, first: false, since: 0, until: 1234, ip: '10.0.0.1' });
    expect(entry?.usernames.length).toBeLessThanOrEqual(5);
    expect(log.trackedKeys).toBe(0);
  });

  it('a refusal after the window closes the old count and opens a new window', () => {
    const log = new RefusalLog(60_000);
    log.refuse('user:bob', from(0));
    log.refuse('user:bob', from(10));
    const entries = log.refuse('user:bob', from(60_000));
    expect(entries.map((e) => [e.count, e.first])).toEqual([
      [1, false],
      [1, true],
    ]);
  });

  it('flushes every open count at shutdown, and nothing for windows with no further refusal', () => {
    const log = new RefusalLog(60_000);
    log.refuse('user:a', from(0));
    log.refuse('user:b', from(0));
    log.refuse('user:b', from(1));
    expect(log.flush(2, true)).toEqual([expect.objectContaining({ key: 'user:b', count: 1 })]);
    expect(log.trackedKeys).toBe(0);
  });

  it('bounds memory: evicted counts are kept as one untracked total', () => {
    const log = new RefusalLog(60_000, 100);
    for (let i = 0; i < 1000; i++) {
      log.refuse(`ip:${i}`, from(i));
      log.refuse(`ip:${i}`, from(i));
    }
    expect(log.trackedKeys).toBe(100);
    const entries = log.flush(2000, true);
    expect(entries).toHaveLength(101);
    expect(entries.reduce((n, e) => n + e.count, 0)).toBe(1000);
    expect(entries.at(-1)).toMatchObject({ key: 'untracked', count: 900 });
  });
});
