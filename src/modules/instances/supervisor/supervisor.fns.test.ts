import { describe, expect, it } from 'vitest';
import { crashReason, nextBackoffMs, recentCrashes } from './supervisor.fns.js';

describe('supervisor policy', () => {
  it('backs off 5 s doubling to 5 min', () => {
    expect([1, 2, 3, 4, 5, 6, 7, 8, 9, 50].map((n) => nextBackoffMs(n, 5000, 300_000))).toEqual([5000, 10_000, 20_000, 40_000, 80_000, 160_000, 300_000, 300_000, 300_000, 300_000]);
  });

  it('counts only the last hour of crashes', () => {
    const now = 10_000_000;
    expect(recentCrashes([now - 3_700_000, now - 3_500_000, now - 1000], now)).toEqual([now - 3_500_000, now - 1000]);
  });

  it('explains an exit 0 as giving up, a signal, and an error line', () => {
    expect(crashReason({ state: 'exited', exitCode: 0, signal: null }, null)).toMatch(/code 0 while it should run/);
    expect(crashReason({ state: 'exited', exitCode: null, signal: 'SIGKILL' }, null)).toBe('killed by SIGKILL');
    expect(crashReason({ state: 'exited', exitCode: 1, signal: null }, 'RuntimeError: boom')).toBe('exited with code 1: RuntimeError: boom');
    expect(crashReason({ state: 'exited', exitCode: null, signal: null }, null)).toBe('ended (exit code unknown)');
  });
});
