import { describe, expect, it } from 'vitest';
import type { HealthCheckConfig, HealthStatus } from '../environments/environments.types.js';
import { HostKeyMismatchError } from '../ssh/ssh.errors.js';
import {
  addHours,
  aggregate,
  degradedThresholdMs,
  evaluate,
  healthChange,
  hourStart,
  initialStatus,
  isUp,
  outcomeFromError,
  percentile,
  uptimePercent,
  type CheckOutcome,
} from './health.fns.js';

const config = (extra: Partial<HealthCheckConfig> = {}): HealthCheckConfig => ({ enabled: true, type: 'http', interval: 30, timeout: 5, retries: 2, ...extra });
const ok = (ms = 100, message = 'HTTP 200'): CheckOutcome => ({ ok: true, responseTimeMs: ms, message });
const fail = (message = 'connection refused', ms = 3): CheckOutcome => ({ ok: false, responseTimeMs: ms, message });
const T = (n: number) => new Date(Date.UTC(2026, 0, 1, 0, 0, n)).toISOString();

/** Feeds outcomes in order and returns every status. */
function run(outcomes: CheckOutcome[], cfg = config(), start: HealthStatus = initialStatus()): HealthStatus[] {
  const out: HealthStatus[] = [];
  let status = start;
  outcomes.forEach((outcome, i) => {
    status = evaluate(status, outcome, cfg, T(i), 2000);
    out.push(status);
  });
  return out;
}

describe('evaluate', () => {
  it('starts unknown with nothing known', () => {
    expect(initialStatus()).toEqual({ health: 'unknown', lastCheck: null, message: '', responseTime: null, lastHealthyAt: null, consecutiveFailures: 0 });
  });

  it('a success is healthy, resets failures and stamps lastHealthyAt', () => {
    const before: HealthStatus = { ...initialStatus(), health: 'pending', consecutiveFailures: 2 };
    expect(evaluate(before, ok(120), config(), T(5), 2000)).toEqual({
      health: 'healthy',
      lastCheck: T(5),
      message: 'HTTP 200',
      responseTime: 120,
      lastHealthyAt: T(5),
      consecutiveFailures: 0,
    });
  });

  it('with retries=2: healthy -> pending -> pending -> unhealthy', () => {
    const states = run([ok(), fail(), fail(), fail(), fail()]);
    expect(states.map((s) => s.health)).toEqual(['healthy', 'pending', 'pending', 'unhealthy', 'unhealthy']);
    expect(states.map((s) => s.consecutiveFailures)).toEqual([0, 1, 2, 3, 4]);
  });

  it('one failure never flips a healthy server to unhealthy unless retries is 0', () => {
    for (const retries of [1, 2, 5]) expect(run([ok(), fail()], config({ retries }))[1]?.health).toBe('pending');
    expect(run([ok(), fail()], config({ retries: 0 })).map((s) => s.health)).toEqual(['healthy', 'unhealthy']);
  });

  it('a failure keeps the last healthy time and reports its own message and time', () => {
    const [first, second] = run([ok(), fail('HTTP 500 (expected 2xx)', 42)]);
    expect(second).toMatchObject({ lastHealthyAt: first?.lastCheck, lastCheck: T(1), message: 'HTTP 500 (expected 2xx)', responseTime: 42 });
  });

  it('a success after failures recovers at once', () => {
    expect(run([fail(), fail(), fail(), ok()]).map((s) => s.health)).toEqual(['pending', 'pending', 'unhealthy', 'healthy']);
  });

  it('a first check that fails is pending, not unhealthy, while retries remain', () => {
    expect(run([fail()])[0]).toMatchObject({ health: 'pending', consecutiveFailures: 1, lastHealthyAt: null });
  });

  it('slow successes are degraded against the default threshold or degradedAfter', () => {
    expect(run([ok(2000)])[0]?.health).toBe('healthy');
    const slow = run([ok(2001)])[0];
    expect(slow).toMatchObject({ health: 'degraded', consecutiveFailures: 0, lastHealthyAt: T(0), responseTime: 2001 });
    expect(slow?.message).toMatch(/HTTP 200 \(slow: 2001 ms, threshold 2000 ms\)/);
    expect(run([ok(600)], config({ degradedAfter: 0.5 }))[0]?.health).toBe('degraded');
    expect(run([ok(2500)], config({ degradedAfter: 3 }))[0]?.health).toBe('healthy');
    expect(degradedThresholdMs({}, 1234)).toBe(1234);
    expect(degradedThresholdMs({ degradedAfter: 10 }, 1234)).toBe(10_000);
  });

  it('rounds and clamps the response time', () => {
    expect(run([ok(12.6)])[0]?.responseTime).toBe(13);
    expect(run([ok(-1)])[0]?.responseTime).toBe(0);
  });

  it('a host key mismatch is its own state whatever the retries', () => {
    const states = run([ok(), { ...fail('host key changed'), hostKeyMismatch: true }]);
    expect(states[1]).toMatchObject({ health: 'host_key_mismatch', consecutiveFailures: 1 });
  });

  it('turns a thrown error into a failed outcome, recognising a host key mismatch', () => {
    expect(outcomeFromError(new Error('boom'), 12)).toEqual({ ok: false, responseTimeMs: 12, message: 'boom' });
    expect(outcomeFromError('weird', 1)).toMatchObject({ ok: false, message: 'weird' });
    expect(outcomeFromError(new Error(''), 1).message).toBe('check failed');
    const mismatch = outcomeFromError(new HostKeyMismatchError('env-1', 'SHA256:a', 'SHA256:b'), 5);
    expect(mismatch).toMatchObject({ ok: false, hostKeyMismatch: true });
    expect(evaluate(initialStatus(), mismatch, config(), T(0), 2000).health).toBe('host_key_mismatch');
  });
});

describe('aggregation', () => {
  it('nearest-rank percentiles', () => {
    const hundred = Array.from({ length: 100 }, (_, i) => 100 - i);
    expect(percentile(hundred, 95)).toBe(95);
    expect(percentile(hundred, 50)).toBe(50);
    expect(percentile(hundred, 100)).toBe(100);
    expect(percentile(hundred, 0)).toBe(1);
    expect(percentile([7], 95)).toBe(7);
    expect(percentile([1, 2], 95)).toBe(2);
    expect(percentile([], 95)).toBeNull();
  });

  it('uptime in percent with two decimals', () => {
    expect(uptimePercent(3, 2)).toBe(66.67);
    expect(uptimePercent(4, 4)).toBe(100);
    expect(uptimePercent(5, 0)).toBe(0);
    expect(uptimePercent(0, 0)).toBeNull();
  });

  it('healthy and degraded are up; latency counts only successful checks', () => {
    expect(['healthy', 'degraded', 'pending', 'unhealthy', 'unknown', 'host_key_mismatch'].filter(isUp)).toEqual(['healthy', 'degraded']);
    expect(
      aggregate([
        { health: 'healthy', responseTime: 100 },
        { health: 'degraded', responseTime: 3000 },
        { health: 'pending', responseTime: 5000 },
        { health: 'unhealthy', responseTime: null },
        { health: 'healthy', responseTime: null },
      ]),
    ).toEqual({ checks: 5, upChecks: 3, avgLatency: 1550, p95Latency: 3000 });
    expect(aggregate([{ health: 'unhealthy', responseTime: 5000 }])).toEqual({ checks: 1, upChecks: 0, avgLatency: null, p95Latency: null });
    expect(aggregate([])).toEqual({ checks: 0, upChecks: 0, avgLatency: null, p95Latency: null });
  });

  it('hours are UTC and ISO', () => {
    expect(hourStart('2026-01-01T10:59:59.999Z')).toBe('2026-01-01T10:00:00.000Z');
    expect(hourStart('2026-01-01T12:30:00+02:00')).toBe('2026-01-01T10:00:00.000Z');
    expect(hourStart(new Date('1969-12-31T23:30:00Z'))).toBe('1969-12-31T23:00:00.000Z');
    expect(addHours('2026-01-01T23:00:00.000Z', 1)).toBe('2026-01-02T00:00:00.000Z');
    expect(addHours('2026-01-01T00:00:00.000Z', -1)).toBe('2025-12-31T23:00:00.000Z');
  });
});

describe('healthChange', () => {
  const env = { id: 'e1', name: 'vps-1' };
  const status = (health: HealthStatus['health'], message = ''): HealthStatus => ({ ...initialStatus(), health, message });

  it('is null when the state stays', () => {
    expect(healthChange(env, status('healthy', 'HTTP 200'), status('healthy', 'HTTP 204'))).toBeNull();
    expect(healthChange(env, { ...status('pending'), consecutiveFailures: 1 }, { ...status('pending'), consecutiveFailures: 2 })).toBeNull();
  });

  it('describes the change with a level by the new state', () => {
    expect(healthChange(env, status('healthy'), status('unhealthy', 'connection refused'))).toMatchObject({
      type: 'health_check',
      action: 'health_change',
      level: 'error',
      environmentId: 'e1',
      environmentName: 'vps-1',
      message: 'vps-1: healthy -> unhealthy (connection refused)',
      details: { from: 'healthy', to: 'unhealthy' },
    });
    const level = (to: HealthStatus['health']) => healthChange(env, status('unknown'), status(to))?.level;
    expect([level('healthy'), level('degraded'), level('pending'), level('host_key_mismatch')]).toEqual(['success', 'warning', 'warning', 'error']);
    expect(healthChange(env, status('healthy'), status('unknown'))?.level).toBe('info');
    expect(healthChange(env, status('unknown'), status('healthy'))?.message).toBe('vps-1: unknown -> healthy');
  });
});
