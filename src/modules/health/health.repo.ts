import type { Db, Executor } from '../../db/database.js';
import type { HealthState, HealthStatus } from '../environments/environments.types.js';
import { addHours, aggregate } from './health.fns.js';

export interface HealthSample {
  environmentId: string;
  ts: string;
  health: HealthState;
  /** Milliseconds. */
  responseTime: number | null;
  message: string | null;
}

export interface HourlyRollup {
  environmentId: string;
  /** Start of the UTC hour, ISO. */
  hour: string;
  checks: number;
  upChecks: number;
  avgLatency: number | null;
  p95Latency: number | null;
}

export interface StatusUpdate {
  id: string;
  status: HealthStatus;
}

/** Rows per statement: well under PostgreSQL's 65,535 parameters and SQLite's 32,766. */
const CHUNK = 1000;
/** Environments per rollup query. */
const ROLLUP_CHUNK = 100;

function chunks<T>(items: readonly T[], size = CHUNK): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

export function createHealthRepo(db: Db) {
  const repo = {
    /** Inserts samples, skipping those of environments deleted meanwhile. Returns how many were written. */
    async insertSamples(samples: readonly HealthSample[], ex: Executor = db): Promise<number> {
      if (samples.length === 0) return 0;
      const existing = new Set<string>();
      for (const ids of chunks([...new Set(samples.map((s) => s.environmentId))])) {
        const rows = await ex.selectFrom('environments').select('id').where('id', 'in', ids).execute();
        for (const row of rows) existing.add(row.id);
      }
      const rows = samples
        .filter((s) => existing.has(s.environmentId))
        .map((s) => ({ environment_id: s.environmentId, ts: s.ts, health: s.health, response_time_ms: s.responseTime, message: s.message }));
      for (const chunk of chunks(rows)) await ex.insertInto('health_samples').values(chunk).execute();
      return rows.length;
    },

    /** Writes each environment's latest status (health column and JSON); updated_at is for config, untouched. */
    async updateStatuses(updates: readonly StatusUpdate[], ex: Executor = db): Promise<void> {
      for (const { id, status } of updates) {
        await ex.updateTable('environments').set({ health: status.health, status: JSON.stringify(status) }).where('id', '=', id).execute();
      }
    },

    /** Samples and statuses in one transaction: a flush is all or nothing. */
    async writeBatch(batch: { samples: readonly HealthSample[]; statuses: readonly StatusUpdate[] }): Promise<void> {
      await db.transaction().execute(async (trx) => {
        await repo.insertSamples(batch.samples, trx);
        await repo.updateStatuses(batch.statuses, trx);
      });
    },

    /** Samples in [from, to], newest first. */
    async samples(environmentId: string, from: string, to: string, limit: number, ex: Executor = db): Promise<HealthSample[]> {
      const rows = await ex
        .selectFrom('health_samples')
        .select(['environment_id', 'ts', 'health', 'response_time_ms', 'message'])
        .where('environment_id', '=', environmentId)
        .where('ts', '>=', from)
        .where('ts', '<=', to)
        .orderBy('ts', 'desc')
        .limit(limit)
        .execute();
      return rows.map((r) => ({
        environmentId: r.environment_id,
        ts: r.ts,
        health: r.health as HealthState,
        responseTime: r.response_time_ms,
        message: r.message,
      }));
    },

    /** Hourly rollups whose hour starts in [from, to], oldest first. */
    async hourly(environmentId: string, from: string, to: string, ex: Executor = db): Promise<HourlyRollup[]> {
      const rows = await ex
        .selectFrom('health_hourly')
        .selectAll()
        .where('environment_id', '=', environmentId)
        .where('hour', '>=', from)
        .where('hour', '<=', to)
        .orderBy('hour', 'asc')
        .execute();
      return rows.map((r) => ({
        environmentId: r.environment_id,
        hour: r.hour,
        checks: Number(r.checks),
        upChecks: Number(r.up_checks),
        avgLatency: r.avg_latency_ms,
        p95Latency: r.p95_latency_ms,
      }));
    },

    /**
     * Computes every environment's rollup of one hour from its samples and upserts it: running it
     * again (late samples) recomputes, never double counts. Returns the environments written.
     */
    async rollupHour(hour: string, ex: Executor = db): Promise<number> {
      const end = addHours(hour, 1);
      const envs = await ex.selectFrom('health_samples').select('environment_id').distinct().where('ts', '>=', hour).where('ts', '<', end).execute();
      let written = 0;
      // A few environments at a time: better-sqlite3 is synchronous, and one query reading a
      // whole fleet's hour would stall the event loop (and the timing of checks in flight).
      for (const ids of chunks(envs.map((e) => e.environment_id), ROLLUP_CHUNK)) {
        const rows = await ex
          .selectFrom('health_samples')
          .select(['environment_id', 'health', 'response_time_ms'])
          .where('environment_id', 'in', ids)
          .where('ts', '>=', hour)
          .where('ts', '<', end)
          .execute();
        const byEnv = new Map<string, { health: string; responseTime: number | null }[]>();
        for (const row of rows) {
          let list = byEnv.get(row.environment_id);
          if (!list) byEnv.set(row.environment_id, (list = []));
          list.push({ health: row.health, responseTime: row.response_time_ms });
        }
        const values = [...byEnv].map(([environmentId, samples]) => {
          const a = aggregate(samples);
          return { environment_id: environmentId, hour, checks: a.checks, up_checks: a.upChecks, avg_latency_ms: a.avgLatency, p95_latency_ms: a.p95Latency };
        });
        if (values.length === 0) continue;
        await ex
          .insertInto('health_hourly')
          .values(values)
          .onConflict((oc) =>
            oc.columns(['environment_id', 'hour']).doUpdateSet((eb) => ({
              checks: eb.ref('excluded.checks'),
              up_checks: eb.ref('excluded.up_checks'),
              avg_latency_ms: eb.ref('excluded.avg_latency_ms'),
              p95_latency_ms: eb.ref('excluded.p95_latency_ms'),
            })),
          )
          .execute();
        written += values.length;
        await new Promise<void>((resolve) => setImmediate(resolve));
      }
      return written;
    },

    /** The latest hour rolled up, if any. */
    async lastRolledHour(ex: Executor = db): Promise<string | null> {
      const row = await ex.selectFrom('health_hourly').select((eb) => eb.fn.max('hour').as('hour')).executeTakeFirst();
      return row?.hour ?? null;
    },

    async oldestSampleTs(ex: Executor = db): Promise<string | null> {
      const row = await ex.selectFrom('health_samples').select((eb) => eb.fn.min('ts').as('ts')).executeTakeFirst();
      return row?.ts ?? null;
    },

    /** Deletes samples older than samplesBefore and rollups of hours before hourlyBefore. */
    async purge(samplesBefore: string, hourlyBefore: string, ex: Executor = db): Promise<{ samples: number; hourly: number }> {
      const samples = await ex.deleteFrom('health_samples').where('ts', '<', samplesBefore).executeTakeFirst();
      const hourly = await ex.deleteFrom('health_hourly').where('hour', '<', hourlyBefore).executeTakeFirst();
      return { samples: Number(samples.numDeletedRows), hourly: Number(hourly.numDeletedRows) };
    },
  };
  return repo;
}

export type HealthRepo = ReturnType<typeof createHealthRepo>;
