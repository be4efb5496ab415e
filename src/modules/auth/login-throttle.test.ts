import { describe, expect, it } from 'vitest';
import { LoginThrottle } from './login-throttle.js';

describe('LoginThrottle', () => {
  it('refuses after the limit and frees the key when attempts leave the window', () => {
    const throttle = new LoginThrottle(3, 60_000);
    for (let i = 0; i < 3; i++) expect(throttle.tryReserve(['ip:1'], i * 1000)).toBe(0);
    expect(throttle.tryReserve(['ip:1'], 3000)).toBe(57);
    expect(throttle.retryAfter('ip:1', 3000)).toBe(57);
    expect(throttle.retryAfter('ip:2', 3000)).toBe(0);
    expect(throttle.retryAfter('ip:1', 60_001)).toBe(0);
  });

  it('counts an attempt when it is reserved, so attempts in flight cannot exceed the limit', () => {
    const throttle = new LoginThrottle(10, 60_000);
    // 300 attempts arriving before any has been checked: only the limit is let through.
    const admitted = Array.from({ length: 300 }, () => throttle.tryReserve(['ip:1', 'user:a'], 0)).filter((wait) => wait === 0);
    expect(admitted).toHaveLength(10);
    expect(throttle.retryAfter('user:a', 1)).toBe(60);
  });

  it('reserves every key or none: a refused attempt counts against no key', () => {
    const throttle = new LoginThrottle(2, 60_000);
    expect(throttle.tryReserve(['ip:1', 'user:a'], 0)).toBe(0);
    expect(throttle.tryReserve(['ip:1', 'user:a'], 1)).toBe(0);
    // The IP is at its limit: user:b must not be charged for an attempt that never happened.
    expect(throttle.tryReserve(['ip:1', 'user:b'], 2)).toBeGreaterThan(0);
    expect(throttle.tryReserve(['ip:2', 'user:b'], 3)).toBe(0);
    expect(throttle.tryReserve(['ip:3', 'user:b'], 4)).toBe(0);
    expect(throttle.tryReserve(['ip:4', 'user:b'], 5)).toBeGreaterThan(0);
  });

  it('release gives back one reservation; reset clears a key (successful login)', () => {
    const throttle = new LoginThrottle(2, 60_000);
    throttle.tryReserve(['ip:1'], 0);
    throttle.tryReserve(['ip:1'], 5);
    expect(throttle.retryAfter('ip:1', 6)).toBeGreaterThan(0);
    throttle.release('ip:1', 5);
    expect(throttle.retryAfter('ip:1', 6)).toBe(0);
    throttle.release('ip:1', 5); // nothing left at that time: no effect on the other attempt
    expect(throttle.tryReserve(['ip:1'], 7)).toBe(0);
    expect(throttle.retryAfter('ip:1', 8)).toBeGreaterThan(0);

    throttle.tryReserve(['user:a'], 0);
    throttle.tryReserve(['user:a'], 0);
    expect(throttle.retryAfter('user:a', 1)).toBeGreaterThan(0);
    throttle.reset('user:a');
    expect(throttle.retryAfter('user:a', 1)).toBe(0);
  });

  it('bounds memory under a flood of distinct keys', () => {
    const throttle = new LoginThrottle(5, 60_000, 1000);
    for (let i = 0; i < 10_000; i++) throttle.tryReserve([`ip:${i}`], i);
    expect(throttle.trackedKeys).toBe(1000);
    throttle.prune(10_000 + 61_000);
    expect(throttle.trackedKeys).toBe(0);
  });
});
