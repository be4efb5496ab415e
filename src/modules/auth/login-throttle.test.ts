import { describe, expect, it } from 'vitest';
import { LoginThrottle } from './login-throttle.js';

describe('LoginThrottle', () => {
  it('refuses after the limit and frees the key when failures leave the window', () => {
    const throttle = new LoginThrottle(3, 60_000);
    for (let i = 0; i < 3; i++) {
      expect(throttle.retryAfter('ip:1', i * 1000)).toBe(0);
      throttle.recordFailure('ip:1', i * 1000);
    }
    expect(throttle.retryAfter('ip:1', 3000)).toBe(57);
    expect(throttle.retryAfter('ip:2', 3000)).toBe(0);
    expect(throttle.retryAfter('ip:1', 60_001)).toBe(0);
  });

  it('reset clears a key (successful login)', () => {
    const throttle = new LoginThrottle(1, 60_000);
    throttle.recordFailure('user:a', 0);
    expect(throttle.retryAfter('user:a', 1)).toBeGreaterThan(0);
    throttle.reset('user:a');
    expect(throttle.retryAfter('user:a', 1)).toBe(0);
  });

  it('bounds memory under a flood of distinct keys', () => {
    const throttle = new LoginThrottle(5, 60_000, 1000);
    for (let i = 0; i < 10_000; i++) throttle.recordFailure(`ip:${i}`, i);
    expect(throttle.trackedKeys).toBe(1000);
    throttle.prune(10_000 + 61_000);
    expect(throttle.trackedKeys).toBe(0);
  });
});
