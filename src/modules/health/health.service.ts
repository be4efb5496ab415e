import type { Clock } from '../../lib/clock.js';
import { ValidationError } from '../../lib/errors.js';
import type { HealthState } from '../environments/environments.types.js';
import { hourStart, uptimePercent } from './health.fns.js';
import type { HealthRepo } from './health.repo.js';

export const HISTORY_MAX_SAMPLES = 5000;
const DEFAULT_RANGE_MS = 24 * 3_600_000;

export interface HealthHistory {
  environmentId: string;
  from: string;
  to: string;
  /** Oldest first. */
  samples: { ts: string; health: HealthState; responseTime: number | null; message: string | null }[];
  /** More samples than HISTORY_MAX_SAMPLES fell in the range: the newest are returned. */
  samplesTruncated: boolean;
  hourly: { hour: string; checks: number; uptime: number; avgLatency: number | null; p95Latency: number | null }[];
}

/** A bound given as any date-time, as the ISO UTC text timestamps are stored in (text comparison is then exact). */
function normalise(field: 'from' | 'to', value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  // The date-time format admits what Date cannot hold (a leap second, 23:59:60).
  const date = new Date(value);
  if (Number.isNaN(date.getTime())) throw ValidationError.field(field, 'is not a representable date-time');
  return date.toISOString();
}

export function createHealthHistoryService(deps: { healthRepo: Pick<HealthRepo, 'samples' | 'hourly'>; clock: Clock }) {
  const { healthRepo, clock } = deps;
  return {
    /** Samples and hourly rollups in [from, to]; by default the last 24 hours. */
    async history(environmentId: string, range: { from?: string | undefined; to?: string | undefined }): Promise<HealthHistory> {
      const to = normalise('to', range.to) ?? clock.now().toISOString();
      const from = normalise('from', range.from) ?? new Date(Date.parse(to) - DEFAULT_RANGE_MS).toISOString();
      if (from > to) throw ValidationError.field('from', 'must not be after to');
      const [rows, hourly] = await Promise.all([
        healthRepo.samples(environmentId, from, to, HISTORY_MAX_SAMPLES + 1),
        // The hour holding `from` overlaps the range.
        healthRepo.hourly(environmentId, hourStart(from), to),
      ]);
      const samplesTruncated = rows.length > HISTORY_MAX_SAMPLES;
      return {
        environmentId,
        from,
        to,
        samples: rows
          .slice(0, HISTORY_MAX_SAMPLES)
          .reverse()
          .map((s) => ({ ts: s.ts, health: s.health, responseTime: s.responseTime, message: s.message })),
        samplesTruncated,
        hourly: hourly.map((h) => ({
          hour: h.hour,
          checks: h.checks,
          uptime: uptimePercent(h.checks, h.upChecks) ?? 0,
          avgLatency: h.avgLatency,
          p95Latency: h.p95Latency,
        })),
      };
    },
  };
}

export type HealthHistoryService = ReturnType<typeof createHealthHistoryService>;
