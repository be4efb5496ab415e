import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import Fastify, { type FastifyInstance } from 'fastify';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { migrateToLatest, type DatabaseHandle, type Db } from '../src/db/database.js';
import { registerErrorHandling } from '../src/http/error-handler.js';
import { ErrorEnvelope } from '../src/http/schemas.js';
import { validatorCompiler } from '../src/http/validation.js';
import { createAuditRepo } from '../src/modules/audit/audit.repo.js';
import { createAuditService } from '../src/modules/audit/audit.service.js';
import type { HealthCheckConfig, HealthState, HealthStatus } from '../src/modules/environments/environments.types.js';
import type { Publisher } from '../src/modules/hub/hub.js';
import { HealthRecorder } from '../src/modules/health/health-recorder.js';
import { evaluate, initialStatus, type CheckOutcome } from '../src/modules/health/health.fns.js';
import { createHealthRepo, type HealthRepo, type HealthSample } from '../src/modules/health/health.repo.js';
import { healthRoutes } from '../src/modules/health/health.routes.js';
import { createHealthHistoryService, HISTORY_MAX_SAMPLES, type HealthHistory } from '../src/modules/health/health.service.js';
import { manualClock } from './helpers/app.js';
import { testDatabases } from './helpers/databases.js';

const HOUR = 3_600_000;
const T0 = new Date('2026-03-01T12:30:00.000Z');
const iso = (ms: number) => new Date(ms).toISOString();
/** An instant `minutes` after 12:00 on T0's day. */
const at = (minutes: number) => iso(Date.UTC(2026, 2, 1, 12) + minutes * 60_000);
const H12 = '2026-03-01T12:00:00.000Z';
const H13 = '2026-03-01T13:00:00.000Z';
const check: HealthCheckConfig = { enabled: true, type: 'http', interval: 30, timeout: 5, retries: 1 };
const noPublisher: Publisher = { publish: () => undefined };
const silentLog = { info: () => undefined, warn: () => undefined, error: () => undefined };

const sample = (environmentId: string, ts: string, health: HealthState, responseTime: number | null = 100): HealthSample => ({
  environmentId,
  ts,
  health,
  responseTime,
  message: health === 'healthy' ? 'HTTP 200' : 'connection refused',
});

async function insertEnvironment(db: Db, id: string, name = id): Promise<void> {
  const now = T0.toISOString();
  await db
    .insertInto('environments')
    .values({ id, name, description: '', kind: 'ssh', health_check: JSON.stringify(check), health: 'unknown', status: JSON.stringify(initialStatus()), created_at: now, updated_at: now })
    .execute();
}

describe.each(testDatabases)('health history on $name', (database) => {
  let handle: DatabaseHandle;
  let drop: () => Promise<void>;
  let repo: HealthRepo;
  let clock: ReturnType<typeof manualClock>;

  beforeEach(async () => {
    const created = await database.create();
    handle = created.handle;
    drop = () => created.drop();
    await migrateToLatest(handle.db);
    await insertEnvironment(handle.db, 'env-1', 'vps-1');
    await insertEnvironment(handle.db, 'env-2', 'vps-2');
    repo = createHealthRepo(handle.db);
    clock = manualClock(T0);
  });
  afterEach(async () => {
    await handle.close();
    await drop();
  });

  const countRows = async (table: 'health_samples' | 'health_hourly') =>
    Number((await handle.db.selectFrom(table).select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow()).n);

  it('writes samples and statuses in one transaction, skipping deleted environments', async () => {
    const status: HealthStatus = { ...initialStatus(), health: 'healthy', lastCheck: at(1), lastHealthyAt: at(1), message: 'HTTP 200', responseTime: 12 };
    await repo.writeBatch({ samples: [sample('env-1', at(1), 'healthy'), sample('gone', at(1), 'healthy')], statuses: [{ id: 'env-1', status }, { id: 'gone', status }] });
    expect(await countRows('health_samples')).toBe(1);
    const row = await handle.db.selectFrom('environments').selectAll().where('id', '=', 'env-1').executeTakeFirstOrThrow();
    expect(row.health).toBe('healthy');
    expect(JSON.parse(row.status)).toEqual(status);
    expect(row.updated_at).toBe(T0.toISOString());

    // A failing status write takes the samples of the same batch with it.
    const broken = { ...status, health: null as unknown as HealthState };
    await expect(repo.writeBatch({ samples: [sample('env-2', at(2), 'healthy')], statuses: [{ id: 'env-2', status: broken }] })).rejects.toThrow();
    expect(await countRows('health_samples')).toBe(1);
  });

  it('rolls up an hour: uptime, average and p95 of successful checks; again is idempotent', async () => {
    const samples = [
      ...Array.from({ length: 18 }, (_, i) => sample('env-1', at(i * 3), 'healthy', (i + 1) * 10)),
      sample('env-1', at(55), 'degraded', 3000),
      sample('env-1', at(56), 'unhealthy', 5000),
      sample('env-1', at(-1), 'unhealthy'), // the hour before
      sample('env-1', at(60), 'healthy'), // the hour after
      sample('env-2', at(10), 'pending', null),
      sample('env-2', at(11), 'healthy', 40),
    ];
    await repo.insertSamples(samples);
    expect(await repo.rollupHour(H12)).toBe(2);
    const expected = { environmentId: 'env-1', hour: H12, checks: 20, upChecks: 19, avgLatency: Math.round((1710 + 3000) / 19), p95Latency: 3000 };
    expect(await repo.hourly('env-1', H12, H12)).toEqual([expected]);
    expect(await repo.hourly('env-2', H12, H12)).toEqual([{ environmentId: 'env-2', hour: H12, checks: 2, upChecks: 1, avgLatency: 40, p95Latency: 40 }]);

    expect(await repo.rollupHour(H12)).toBe(2);
    expect(await countRows('health_hourly')).toBe(2);
    expect(await repo.hourly('env-1', H12, H12)).toEqual([expected]);

    await repo.insertSamples([sample('env-1', at(59.99), 'unhealthy')]);
    await repo.rollupHour(H12);
    expect(await repo.hourly('env-1', H12, H12)).toEqual([{ ...expected, checks: 21 }]);
    expect(await repo.lastRolledHour()).toBe(H12);
    expect(await repo.oldestSampleTs()).toBe(at(-1));
  });

  it('rolls up a fleet a chunk of environments at a time', async () => {
    const ids = Array.from({ length: 250 }, (_, i) => `fleet-${i}`);
    for (const id of ids) await insertEnvironment(handle.db, id);
    await repo.insertSamples(ids.flatMap((id, i) => [sample(id, at(1), 'healthy', i), sample(id, at(2), i % 2 ? 'unhealthy' : 'healthy', i)]));
    expect(await repo.rollupHour(H12)).toBe(250);
    expect(await repo.hourly('fleet-7', H12, H12)).toEqual([{ environmentId: 'fleet-7', hour: H12, checks: 2, upChecks: 1, avgLatency: 7, p95Latency: 7 }]);
    expect(await repo.hourly('fleet-8', H12, H12)).toMatchObject([{ checks: 2, upChecks: 2 }]);
  });

  it('purges samples and rollups past retention', async () => {
    await repo.insertSamples([sample('env-1', at(-120), 'healthy'), sample('env-1', at(0), 'healthy'), sample('env-1', at(61), 'healthy')]);
    await repo.rollupHour('2026-03-01T10:00:00.000Z');
    await repo.rollupHour(H12);
    await repo.rollupHour(H13);
    expect(await repo.purge(at(0), H12)).toEqual({ samples: 1, hourly: 1 });
    expect((await repo.samples('env-1', at(-1000), at(1000), 10)).map((s) => s.ts)).toEqual([at(61), at(0)]);
    expect((await repo.hourly('env-1', at(-1000), at(1000))).map((h) => h.hour)).toEqual([H12, H13]);
  });

  it('the recorder writes statuses, audits changes only, rolls up completed hours and purges', async () => {
    const audit = createAuditService({ auditRepo: createAuditRepo(handle.db), publisher: noPublisher, clock, retentionDays: 30 });
    const recorder = new HealthRecorder({ repo, publisher: noPublisher, audit, clock, log: silentLog, sampleRetentionMs: 48 * HOUR, hourlyRetentionDays: 90 });
    const env = { id: 'env-1', name: 'vps-1' };
    let status = initialStatus();
    const step = (outcome: CheckOutcome, when: string) => {
      const previous = status;
      status = evaluate(previous, outcome, check, when, 2000);
      recorder.record(env, status, previous);
    };
    step({ ok: true, responseTimeMs: 20, message: 'HTTP 200' }, at(10));
    step({ ok: true, responseTimeMs: 30, message: 'HTTP 200' }, at(20));
    step({ ok: false, responseTimeMs: 3, message: 'connection refused' }, at(25));
    step({ ok: false, responseTimeMs: 3, message: 'connection refused' }, at(29));
    expect(await recorder.flush()).toBe(true);

    const row = await handle.db.selectFrom('environments').select(['health', 'status']).where('id', '=', 'env-1').executeTakeFirstOrThrow();
    expect(row.health).toBe('unhealthy');
    expect(JSON.parse(row.status)).toEqual(status);
    const logs = await handle.db.selectFrom('audit_logs').selectAll().orderBy('ts').orderBy('id').execute();
    expect(logs.map((l) => [l.type, l.action, l.level, l.environment_id, l.environment_name, l.message])).toEqual([
      ['health_check', 'health_change', 'success', 'env-1', 'vps-1', 'vps-1: unknown -> healthy (HTTP 200)'],
      ['health_check', 'health_change', 'warning', 'env-1', 'vps-1', 'vps-1: healthy -> pending (connection refused)'],
      ['health_check', 'health_change', 'error', 'env-1', 'vps-1', 'vps-1: pending -> unhealthy (connection refused)'],
    ]);

    await recorder.maintain(); // 12:30: hour 12 is not complete yet
    expect(await countRows('health_hourly')).toBe(0);
    clock.set(new Date(at(65)));
    await recorder.maintain();
    expect(await repo.hourly('env-1', H12, H13)).toEqual([{ environmentId: 'env-1', hour: H12, checks: 4, upChecks: 2, avgLatency: 25, p95Latency: 30 }]);

    // A sample of hour 12 written late (the database was behind) gets that hour rolled up again.
    step({ ok: true, responseTimeMs: 40, message: 'HTTP 200' }, at(59.5));
    await recorder.flush();
    await recorder.maintain();
    expect(await repo.hourly('env-1', H12, H13)).toMatchObject([{ hour: H12, checks: 5, upChecks: 3 }]);

    clock.set(new Date(Date.parse(at(65)) + 49 * HOUR));
    await recorder.maintain();
    expect(await countRows('health_samples')).toBe(0);
    expect(await countRows('health_hourly')).toBe(1);
    clock.set(new Date(Date.parse(at(65)) + 91 * 24 * HOUR));
    await recorder.maintain();
    expect(await countRows('health_hourly')).toBe(0);
    await recorder.stop();
  });

  it('a recorder resuming after a restart rolls up the hours it missed', async () => {
    await repo.insertSamples([sample('env-1', at(-90), 'healthy'), sample('env-1', at(10), 'healthy'), sample('env-1', at(70), 'unhealthy')]);
    clock.set(new Date(at(150)));
    const recorder = new HealthRecorder({ repo, publisher: noPublisher, audit: { record: async () => undefined }, clock, log: silentLog, sampleRetentionMs: 48 * HOUR, hourlyRetentionDays: 90 });
    await recorder.maintain();
    expect((await repo.hourly('env-1', at(-1000), at(1000))).map((h) => [h.hour, h.checks, h.upChecks])).toEqual([
      ['2026-03-01T10:00:00.000Z', 1, 1],
      [H12, 1, 1],
      [H13, 1, 0],
    ]);
  });

  describe('GET /environments/:id/health/history', () => {
    let app: FastifyInstance;
    const url = (id: string, query = '') => `/api/v1/environments/${id}/health/history${query}`;

    beforeEach(async () => {
      const server = Fastify({ logger: false }).withTypeProvider<TypeBoxTypeProvider>();
      server.setValidatorCompiler(validatorCompiler);
      registerErrorHandling(server);
      server.addSchema(ErrorEnvelope);
      const history = createHealthHistoryService({ healthRepo: repo, clock });
      const exists = async (id: string) => (await handle.db.selectFrom('environments').select('id').where('id', '=', id).executeTakeFirst()) !== undefined;
      const stats = () => ({ scheduler: { scheduled: 0, running: 0, queued: 0, checksDone: 0, latenessMs: { p50: 0, p99: 0, max: 0 } }, recorder: {} });
      await server.register(healthRoutes, { prefix: '/api/v1', history, exists, stats });
      await server.ready();
      app = server;
    });
    afterEach(async () => {
      await app.close();
    });

    it('answers the last 24 hours by default, samples oldest first with hourly uptime', async () => {
      await repo.insertSamples([
        sample('env-1', iso(T0.getTime() - 25 * HOUR), 'healthy'),
        sample('env-1', at(1), 'healthy', 120),
        sample('env-1', at(2), 'unhealthy', 5000),
        sample('env-1', at(3), 'degraded', 2500),
        sample('env-2', at(2), 'healthy'),
      ]);
      await repo.rollupHour(H12);
      const res = await app.inject({ method: 'GET', url: url('env-1') });
      expect(res.statusCode).toBe(200);
      expect(res.json()).toEqual({
        environmentId: 'env-1',
        from: iso(T0.getTime() - 24 * HOUR),
        to: T0.toISOString(),
        samples: [
          { ts: at(1), health: 'healthy', responseTime: 120, message: 'HTTP 200' },
          { ts: at(2), health: 'unhealthy', responseTime: 5000, message: 'connection refused' },
          { ts: at(3), health: 'degraded', responseTime: 2500, message: 'connection refused' },
        ],
        samplesTruncated: false,
        hourly: [{ hour: H12, checks: 3, uptime: 66.67, avgLatency: 1310, p95Latency: 2500 }],
      });
    });

    it('takes from and to in any offset, the hour holding from included', async () => {
      await repo.insertSamples([sample('env-1', at(1), 'healthy'), sample('env-1', at(20), 'healthy'), sample('env-1', at(40), 'healthy')]);
      await repo.rollupHour(H12);
      const res = await app.inject({ method: 'GET', url: url('env-1', `?from=${encodeURIComponent('2026-03-01T13:10:00+01:00')}&to=2026-03-01T12:30:00Z`) });
      expect(res.statusCode).toBe(200);
      const body = res.json<HealthHistory>();
      expect([body.from, body.to]).toEqual([at(10), at(30)]);
      expect(body.samples.map((s) => s.ts)).toEqual([at(20)]);
      expect(body.hourly.map((h) => h.hour)).toEqual([H12]);
      // Only from: to is now.
      expect((await app.inject({ method: 'GET', url: url('env-1', `?from=${at(0)}`) })).json().to).toBe(T0.toISOString());
    });

    it('refuses from after to, naming the field, and a malformed date', async () => {
      const res = await app.inject({ method: 'GET', url: url('env-1', `?from=${at(30)}&to=${at(10)}`) });
      expect(res.statusCode).toBe(400);
      expect(res.json().error).toMatchObject({ code: 'VALIDATION_ERROR', details: { fields: [{ field: 'from' }] } });
      const bad = await app.inject({ method: 'GET', url: url('env-1', '?to=yesterday') });
      expect(bad.statusCode).toBe(400);
      expect(bad.json().error.details.fields[0].field).toBe('to');
    });

    it('answers 404 for an environment that does not exist', async () => {
      const res = await app.inject({ method: 'GET', url: url('nope') });
      expect(res.statusCode).toBe(404);
      expect(res.json().error.code).toBe('NOT_FOUND');
    });

    it(`caps samples at ${HISTORY_MAX_SAMPLES}, keeping the newest, and says so`, async () => {
      const start = T0.getTime() - 10 * HOUR;
      const many = Array.from({ length: HISTORY_MAX_SAMPLES + 3 }, (_, i) => sample('env-2', iso(start + i * 1000), 'healthy'));
      await repo.insertSamples(many);
      const body = (await app.inject({ method: 'GET', url: url('env-2') })).json<HealthHistory>();
      expect(body.samplesTruncated).toBe(true);
      expect(body.samples).toHaveLength(HISTORY_MAX_SAMPLES);
      expect(body.samples[0]?.ts).toBe(many[3]?.ts);
      expect(body.samples.at(-1)?.ts).toBe(many.at(-1)?.ts);
    });
  });
});
