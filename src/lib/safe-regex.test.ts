import { describe, expect, it } from 'vitest';
import { patternError, safeTest } from './safe-regex.js';

describe('safe regex', () => {
  it('matches like RegExp.test', () => {
    expect(safeTest('"status":\\s*"ok"', '{"status": "ok"}')).toBe(true);
    expect(safeTest('^ok$', 'not ok')).toBe(false);
  });

  it('interrupts catastrophic backtracking instead of freezing the server', () => {
    const started = Date.now();
    expect(() => safeTest('(a+)+$', `${'a'.repeat(40)}!`, 50)).toThrow(/longer than 50 ms/);
    expect(Date.now() - started).toBeLessThan(2000);
  });

  it('explains invalid and oversized patterns', () => {
    expect(patternError('(unclosed')).toMatch(/not a valid regular expression/);
    expect(patternError('a'.repeat(501))).toMatch(/at most 500/);
    expect(patternError('^ok$')).toBeUndefined();
  });
});
