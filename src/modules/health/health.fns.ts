import type { AuditLevel } from '../audit/audit.types.js';
import type { HealthCheckConfig, HealthState, HealthStatus } from '../environments/environments.types.js';
import { HostKeyMismatchError } from '../ssh/ssh.errors.js';
import type { ProbeResult } from './probes.js';

/** What one check reports. The SSH layer sets hostKeyMismatch when the host's key changed. */
export type CheckOutcome = ProbeResult & { hostKeyMismatch?: boolean };

export const HOUR_MS = 3_600_000;

export function initialStatus(): HealthStatus {
  return { health: 'unknown', lastCheck: null, message: '', responseTime: null, lastHealthyAt: null, consecutiveFailures: 0 };
}

/** The latency above which a successful check counts as degraded. */
export function degradedThresholdMs(config: Pick<HealthCheckConfig, 'degradedAfter'>, defaultMs: number): number {
  return config.degradedAfter === undefined ? defaultMs : config.degradedAfter * 1000;
}

/**
 * The status after one check. A failure is tolerated `retries` times in a row (`pending`)
 * before the environment is `unhealthy`, so one lost packet does not page anyone.
 */
export function evaluate(previous: HealthStatus, result: CheckOutcome, config: HealthCheckConfig, nowIso: string, defaultDegradedMs: number): HealthStatus {
  const responseTime = Math.max(0, Math.round(result.responseTimeMs));
  if (result.ok) {
    const threshold = degradedThresholdMs(config, defaultDegradedMs);
    const slow = responseTime > threshold;
    return {
      health: slow ? 'degraded' : 'healthy',
      lastCheck: nowIso,
      message: slow ? `${result.message} (slow: ${responseTime} ms, threshold ${threshold} ms)` : result.message,
      responseTime,
      lastHealthyAt: nowIso,
      consecutiveFailures: 0,
    };
  }
  const consecutiveFailures = previous.consecutiveFailures + 1;
  const health: HealthState = result.hostKeyMismatch ? 'host_key_mismatch' : consecutiveFailures > config.retries ? 'unhealthy' : 'pending';
  return { health, lastCheck: nowIso, message: result.message, responseTime, lastHealthyAt: previous.lastHealthyAt, consecutiveFailures };
}

/** A check that threw instead of returning a result. */
export function outcomeFromError(error: unknown, responseTimeMs: number): CheckOutcome {
  const message = error instanceof Error ? error.message : String(error);
  return { ok: false, responseTimeMs, message: message || 'check failed', ...(error instanceof HostKeyMismatchError && { hostKeyMismatch: true }) };
}

/** Healthy and degraded both answer: they count as up in uptime. */
export const isUp = (health: string): boolean => health === 'healthy' || health === 'degraded';

/** Nearest-rank percentile (p in 0..100) of the values; null when there are none. */
export function percentile(values: readonly number[], p: number): number | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil((p / 100) * sorted.length)));
  return sorted[rank - 1] ?? null;
}

/** Uptime in percent with two decimals; null for an hour without checks. */
export function uptimePercent(checks: number, upChecks: number): number | null {
  if (checks <= 0) return null;
  return Math.round((upChecks / checks) * 10_000) / 100;
}

export interface SampleLike {
  health: string;
  responseTime: number | null;
}

export interface Aggregate {
  checks: number;
  upChecks: number;
  /** Latency of the checks that succeeded: a timeout says nothing about the server's speed. */
  avgLatency: number | null;
  p95Latency: number | null;
}

export function aggregate(samples: readonly SampleLike[]): Aggregate {
  const latencies: number[] = [];
  let upChecks = 0;
  for (const sample of samples) {
    if (!isUp(sample.health)) continue;
    upChecks += 1;
    if (sample.responseTime !== null) latencies.push(sample.responseTime);
  }
  const avgLatency = latencies.length ? Math.round(latencies.reduce((a, b) => a + b, 0) / latencies.length) : null;
  return { checks: samples.length, upChecks, avgLatency, p95Latency: percentile(latencies, 95) };
}

/** The start of the UTC hour holding the instant, as ISO text. */
export const hourStart = (iso: string | Date): string => {
  const ms = typeof iso === 'string' ? Date.parse(iso) : iso.getTime();
  return new Date(ms - (((ms % HOUR_MS) + HOUR_MS) % HOUR_MS)).toISOString();
};

export const addHours = (hourIso: string, hours: number): string => new Date(Date.parse(hourIso) + hours * HOUR_MS).toISOString();

const LEVEL_BY_STATE: Record<HealthState, AuditLevel> = {
  healthy: 'success',
  degraded: 'warning',
  pending: 'warning',
  unhealthy: 'error',
  host_key_mismatch: 'error',
  unknown: 'info',
};

/** The audit entry for a change of health, or null when the state did not change. */
export function healthChange(
  environment: { id: string; name: string },
  previous: HealthStatus,
  status: HealthStatus,
): { type: 'health_check'; action: 'health_change'; level: AuditLevel; message: string; environmentId: string; environmentName: string; details: Record<string, unknown> } | null {
  if (previous.health === status.health) return null;
  const reason = status.message ? ` (${status.message})` : '';
  return {
    type: 'health_check',
    action: 'health_change',
    level: LEVEL_BY_STATE[status.health],
    message: `${environment.name}: ${previous.health} -> ${status.health}${reason}`,
    environmentId: environment.id,
    environmentName: environment.name,
    details: { from: previous.health, to: status.health, responseTime: status.responseTime, consecutiveFailures: status.consecutiveFailures },
  };
}
