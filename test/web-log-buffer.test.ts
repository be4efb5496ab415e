import { describe, expect, it } from 'vitest';
import { BoundedList, isFiltering, isLogBatch, levelOf, lineMatches, LogBuffer, NO_FILTER, parseLevel, type LogLine } from '../web/src/components/log-buffer.js';

const at = (level: string, message: string) => `2026-01-01T10:00:00 ${level.padEnd(8)} ${message}`;
const line = (text: string, over: Partial<LogLine> = {}): LogLine => ({ seq: 0, text, error: false, ...over });
const texts = (lines: LogLine[]) => lines.map((l) => l.text);

describe('log viewer: levels and filters', () => {
  it('reads the level Passivbot writes after the timestamp, and none from other lines', () => {
    expect(parseLevel(at('INFO', 'hello'))).toBe('INFO');
    expect(parseLevel(at('WARNING', 'slow'))).toBe('WARNING');
    expect(parseLevel(at('CRITICAL', 'gone'))).toBe('CRITICAL');
    expect(parseLevel('Traceback (most recent call last):')).toBeNull();
    expect(parseLevel('  File "passivbot.py", line 1, in <module> ERROR')).toBeNull();
    // Only the line's start counts: a level word deep in a long message is not its level.
    expect(parseLevel(`${'x'.repeat(70)} ERROR`)).toBeNull();
    expect(parseLevel(at('INFORMATION', 'x'))).toBeNull();
  });

  it('parses a line level once, on first use', () => {
    const l = line(at('DEBUG', 'tick'), { level: undefined });
    expect(levelOf(l)).toBe('DEBUG');
    l.text = at('ERROR', 'changed');
    expect(levelOf(l)).toBe('DEBUG');
  });

  it('a level filter keeps that level and above; error lines pass too, except under CRITICAL; the viewer notes always pass', () => {
    const filter = { level: 'WARNING' as const, needle: '' };
    expect(lineMatches(line(at('INFO', 'a')), filter)).toBe(false);
    expect(lineMatches(line(at('WARNING', 'a')), filter)).toBe(true);
    expect(lineMatches(line(at('CRITICAL', 'a')), filter)).toBe(true);
    expect(lineMatches(line('Traceback (most recent call last):'), filter)).toBe(false);
    expect(lineMatches(line('Traceback (most recent call last):', { error: true }), filter)).toBe(true);
    expect(lineMatches(line('Traceback (most recent call last):', { error: true }), { level: 'CRITICAL', needle: '' })).toBe(false);
    expect(lineMatches(line('… 3 line(s) not received', { seq: -1, level: null }), filter)).toBe(true);
  });

  it('search is case-insensitive (the needle comes lower-cased) and combines with the level', () => {
    expect(lineMatches(line(at('INFO', 'BTC/USDT filled')), { level: null, needle: 'btc/usdt' })).toBe(true);
    expect(lineMatches(line(at('INFO', 'ETH filled')), { level: null, needle: 'btc' })).toBe(false);
    expect(lineMatches(line(at('INFO', 'BTC filled')), { level: 'ERROR', needle: 'btc' })).toBe(false);
    expect(isFiltering(NO_FILTER)).toBe(false);
    expect(isFiltering({ level: null, needle: 'x' })).toBe(true);
    expect(isFiltering({ level: 'INFO', needle: '' })).toBe(true);
  });

  it('knows a log batch from other hub payloads', () => {
    expect(isLogBatch({ seq: 0, lines: [] })).toBe(true);
    expect(isLogBatch({ lines: 'a' })).toBe(false);
    expect(isLogBatch(null)).toBe(false);
    expect(isLogBatch({ status: 'running' })).toBe(false);
  });
});

describe('log viewer: bounded memory', () => {
  it('keeps the last `capacity` items, oldest dropped first, and never holds more than a quarter extra', () => {
    const list = new BoundedList<number>(8);
    for (let i = 0; i < 1000; i++) {
      list.push(i);
      expect(list.items.length).toBeLessThanOrEqual(10);
    }
    expect(list.length).toBe(8);
    expect(list.view()).toEqual([992, 993, 994, 995, 996, 997, 998, 999]);
    expect(list.items[list.start]).toBe(992);
    list.clear();
    expect(list.length).toBe(0);
    expect(list.view()).toEqual([]);
  });

  it('before it is full, shows everything from index 0', () => {
    const list = new BoundedList<string>(4);
    list.push('a');
    list.push('b');
    expect(list.view()).toEqual(['a', 'b']);
    expect(list.start).toBe(0);
  });
});

describe('log viewer: backlog, live batches, gaps and restarts', () => {
  it('takes the backlog, then live lines, numbering them and marking the error lines the server named', () => {
    const buffer = new LogBuffer(100);
    const added = buffer.append({ seq: 0, lines: ['a', 'b', 'c'], errors: [1], backlog: true });
    expect(added.map((l) => [l.seq, l.text, l.error])).toEqual([
      [0, 'a', false],
      [1, 'b', true],
      [2, 'c', false],
    ]);
    expect(texts(buffer.append({ seq: 3, lines: ['d'] }))).toEqual(['d']);
    expect(texts(buffer.lines.view())).toEqual(['a', 'b', 'c', 'd']);
    expect(buffer.received).toBe(4);
  });

  it('a backlog sent again on resubscription adds only the lines not seen yet', () => {
    const buffer = new LogBuffer(100);
    buffer.append({ seq: 0, lines: ['a', 'b', 'c'], backlog: true });
    expect(texts(buffer.append({ seq: 1, lines: ['b', 'c', 'd', 'e'], errors: [3], backlog: true }))).toEqual(['d', 'e']);
    expect(buffer.lines.view().at(-1)).toMatchObject({ seq: 4, text: 'e', error: true });
    // Entirely old: nothing added, nothing counted.
    expect(buffer.append({ seq: 0, lines: ['a', 'b'], backlog: true })).toEqual([]);
    expect(buffer.received).toBe(5);
    // The next live line still follows on.
    expect(buffer.append({ seq: 5, lines: ['f'] }).map((l) => l.seq)).toEqual([5]);
  });

  it('says how many lines were missed when a live batch skips ahead, and when the numbering restarts', () => {
    const buffer = new LogBuffer(100);
    buffer.append({ seq: 0, lines: ['a', 'b'] });
    const gap = buffer.append({ seq: 7, lines: ['h'] });
    expect(gap.map((l) => [l.seq, l.text])).toEqual([
      [-1, '… 5 line(s) not received (the viewer fell behind)'],
      [7, 'h'],
    ]);
    const restart = buffer.append({ seq: 0, lines: ['new a'] });
    expect(texts(restart)).toEqual(['… the log numbering restarted (server restart)', 'new a']);
    expect(buffer.append({ seq: 1, lines: ['new b'] }).map((l) => l.text)).toEqual(['new b']);
    // Notes are not lines of the log: only real lines count as received.
    expect(buffer.received).toBe(5);
  });

  it('holds at most its capacity while counting every line received', () => {
    const buffer = new LogBuffer(50);
    for (let seq = 0; seq < 20_000; seq += 100) buffer.append({ seq, lines: Array.from({ length: 100 }, (_, i) => `line ${seq + i}`) });
    expect(buffer.received).toBe(20_000);
    expect(buffer.lines.length).toBe(50);
    expect(buffer.lines.view()[0]?.text).toBe('line 19950');
    expect(buffer.lines.view().at(-1)?.text).toBe('line 19999');
  });
});
