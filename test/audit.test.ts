import { sql } from 'kysely';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { AuditInput } from '../src/modules/audit/audit.service.js';
import { createTestApp, login, manualClock, type TestApp } from './helpers/app.js';
import { testDatabases } from './helpers/databases.js';

interface LogView {
  id: string;
  timestamp: string;
  environmentId: string | null;
  type: string;
  level: string;
  action: string | null;
  message: string;
  userId: string | null;
  username: string | null;
  details: Record<string, unknown> | null;
}

const T0 = new Date('2026-03-01T12:00:00.000Z');
const minute = 60_000;
const at = (minutes: number) => new Date(T0.getTime() + minutes * minute).toISOString();

describe.each(testDatabases)('audit log on $name', (database) => {
  let t: TestApp;
  let clock: ReturnType<typeof manualClock>;
  /** The seeded entries' messages, by name. */
  const M = {
    started: 'pbfleet started',
    alpha: 'Bot ALPHA started on env-a',
    beta: 'bot beta failed: 100% margin used',
    disk: 'disk_usage high on env-a',
    crash: 'bot beta crashed',
    login: 'admin1 logged in',
    diskX: 'diskXusage normal on env-a',
  };

  beforeEach(async () => {
    clock = manualClock(T0);
    t = await createTestApp(database, { clock });
    // The setup's own entries (user creation, logins) would blur exact counts.
    await t.database.db.deleteFrom('audit_logs').execute();
    const admin = { userId: t.userIds.admin, username: 'admin1', ip: '10.0.0.1', requestId: 'req-1' };
    const seeds: AuditInput[] = [
      { type: 'system', level: 'info', action: 'startup', message: M.started },
      { type: 'action', level: 'success', action: 'bot_start', environmentId: 'env-a', environmentName: 'Env A', message: M.alpha },
      { type: 'action', level: 'error', action: 'bot_start', environmentId: 'env-b', message: M.beta, details: { bot: 'beta', password: 'hunter2' } },
      { type: 'health_check', level: 'warning', action: 'health', environmentId: 'env-a', message: M.disk },
      { type: 'error', level: 'error', action: 'bot_crash', environmentId: 'env-b', message: M.crash },
      { type: 'auth', level: 'info', action: 'login', message: M.login, actor: admin },
      { type: 'action', level: 'success', environmentId: 'env-a', message: M.diskX },
    ];
    // One minute apart: entry i is at T0 + (i + 1) minutes.
    for (const seed of seeds) {
      clock.advance(minute);
      await t.services.audit.record(seed);
    }
  });
  afterEach(async () => {
    await t.close();
  });

  const get = (url: string, role: 'admin' | 'operator' | 'viewer' = 'admin') => t.app.inject({ method: 'GET', url: `/api/v1${url}`, headers: t.auth(role) });
  const messages = async (query: string) => {
    const res = await get(`/logs?${query}`);
    expect(res.statusCode, res.body).toBe(200);
    const body = res.json<{ logs: LogView[]; pagination: { total: number } }>();
    expect(body.pagination.total, query).toBe(body.logs.length);
    return body.logs.map((l) => l.message);
  };
  const count = async (query: string) => {
    const res = await get(`/logs/count?${query}`);
    expect(res.statusCode, res.body).toBe(200);
    return res.json<{ count: number }>().count;
  };

  it('lists newest first, to any signed-in user, not to anonymous callers', async () => {
    const res = await get('/logs');
    expect(res.statusCode).toBe(200);
    const body = res.json<{ logs: (LogView & Record<string, unknown>)[]; pagination: unknown }>();
    expect(body.pagination).toEqual({ page: 1, limit: 50, total: 7, totalPages: 1 });
    expect(body.logs.map((l) => l.message)).toEqual([M.diskX, M.login, M.crash, M.disk, M.beta, M.alpha, M.started]);
    expect(body.logs[0]?.timestamp).toBe(at(7));
    expect(body.logs[1]).toMatchObject({ type: 'auth', level: 'info', action: 'login', userId: t.userIds.admin, username: 'admin1', requestId: 'req-1', ip: '10.0.0.1' });
    expect(body.logs[5]).toMatchObject({ environmentId: 'env-a', environmentName: 'Env A' });

    const anonymous = await t.app.inject({ method: 'GET', url: '/api/v1/logs' });
    expect(anonymous.statusCode).toBe(401);
    for (const url of ['/logs/count', '/logs/stats', `/logs/${body.logs[0]!.id}`]) {
      expect((await t.app.inject({ method: 'GET', url: `/api/v1${url}` })).statusCode, url).toBe(401);
    }
  });

  it('keeps a stable newest-first order for entries in the same millisecond', async () => {
    for (const n of [1, 2, 3]) await t.services.audit.record({ type: 'system', level: 'info', environmentId: 'same-ms', message: `tick ${n}` });
    expect(await messages('environmentId=same-ms')).toEqual(['tick 3', 'tick 2', 'tick 1']);
  });

  it('pages through with page and limit', async () => {
    for (let i = 1; i <= 23; i++) {
      clock.advance(1000);
      await t.services.audit.record({ type: 'system', level: 'info', environmentId: 'paging', message: `entry ${i}` });
    }
    const seen: string[] = [];
    for (const page of [1, 2, 3]) {
      const res = await get(`/logs?environmentId=paging&limit=10&page=${page}`);
      expect(res.json().pagination).toEqual({ page, limit: 10, total: 23, totalPages: 3 });
      seen.push(...res.json<{ logs: LogView[] }>().logs.map((l) => l.message));
    }
    expect(seen).toEqual(Array.from({ length: 23 }, (_, i) => `entry ${23 - i}`));
    const beyond = await get('/logs?environmentId=paging&limit=10&page=4');
    expect(beyond.json().logs).toEqual([]);
    for (const query of ['limit=0', 'limit=501', 'page=0', 'page=-1', 'limit=ten']) {
      expect((await get(`/logs?${query}`)).statusCode, query).toBe(400);
    }
  });

  it('filters by type, level, action, environment and user, alone and combined', async () => {
    expect(await messages('type=action')).toEqual([M.diskX, M.beta, M.alpha]);
    expect(await messages('type=health_check')).toEqual([M.disk]);
    expect(await messages('level=error')).toEqual([M.crash, M.beta]);
    expect(await messages('level=info')).toEqual([M.login, M.started]);
    expect(await messages('action=bot_start')).toEqual([M.beta, M.alpha]);
    expect(await messages('environmentId=env-a')).toEqual([M.diskX, M.disk, M.alpha]);
    expect(await messages('environmentId=env-b')).toEqual([M.crash, M.beta]);
    expect(await messages(`userId=${t.userIds.admin}`)).toEqual([M.login]);
    expect(await messages(`userId=${t.userIds.viewer}`)).toEqual([]);
    expect(await messages('type=action&level=error')).toEqual([M.beta]);
    expect(await messages('environmentId=env-a&type=action&level=success')).toEqual([M.diskX, M.alpha]);
    expect(await messages('environmentId=env-c')).toEqual([]);
  });

  it('filters by time range, inclusive at both ends, whatever the offset the bounds are given in', async () => {
    expect(await messages(`from=${at(3)}&to=${at(5)}`)).toEqual([M.crash, M.disk, M.beta]);
    expect(await messages(`from=${at(6)}`)).toEqual([M.diskX, M.login]);
    expect(await messages(`to=${at(1)}`)).toEqual([M.started]);
    // 13:03+01:00 is 12:03Z, i.e. T0 + 3 min; without normalising, text comparison would miss it.
    expect(await messages(`from=${encodeURIComponent('2026-03-01T13:03:00+01:00')}&to=${encodeURIComponent('2026-03-01T07:05:00-05:00')}`)).toEqual([
      M.crash,
      M.disk,
      M.beta,
    ]);
    expect(await messages(`from=${at(3)}&to=${at(3)}`)).toEqual([M.beta]);
    expect(await messages(`from=${at(100)}`)).toEqual([]);
    expect(await count(`from=${at(3)}&to=${at(5)}&level=error`)).toBe(2);
  });

  it('refuses from after to, and malformed dates, with 400 naming the field', async () => {
    for (const url of [`/logs?from=${at(5)}&to=${at(3)}`, `/logs/count?from=${at(5)}&to=${at(3)}`, `/logs/stats?from=${at(5)}&to=${at(3)}`]) {
      const res = await get(url);
      expect(res.statusCode, url).toBe(400);
      expect(res.json().error).toMatchObject({ code: 'VALIDATION_ERROR', details: { fields: [{ field: 'from' }] } });
    }
    for (const [query, field] of [
      ['from=yesterday', 'from'],
      ['to=2026-13-01T00:00:00Z', 'to'],
      ['from=2026-03-01', 'from'],
      // Valid RFC 3339 (a leap second), but not a date JavaScript can represent.
      ['to=2026-06-30T23:59:60Z', 'to'],
    ] as const) {
      const res = await get(`/logs?${query}`);
      expect(res.statusCode, query).toBe(400);
      expect(res.json().error.code).toBe('VALIDATION_ERROR');
      expect(res.json().error.details.fields[0].field).toBe(field);
    }
  });

  it('refuses unknown filter values and parameters', async () => {
    for (const query of ['type=debug', 'level=fatal', 'action=Bot%20Start', 'environmentId=a%20b', 'userId=%27or%201', 'q=', 'sort=ts', `q=${'x'.repeat(201)}`, 'q=a%1Bb', 'q=a%7Fb', 'q=a%C2%80b', 'q=a%C2%9Bb']) {
      const res = await get(`/logs?${query}`);
      expect(res.statusCode, query).toBe(400);
      expect(res.json().error.code).toBe('VALIDATION_ERROR');
    }
    expect((await get(`/logs?q=${encodeURIComponent('é ¡')}`)).statusCode).toBe(200);
    expect((await get('/logs/count?page=2')).statusCode).toBe(400);
  });

  it('searches message text case-insensitively, with % and _ matching themselves', async () => {
    expect(await messages('q=alpha')).toEqual([M.alpha]);
    expect(await messages('q=BOT%20BETA')).toEqual([M.crash, M.beta]);
    expect(await messages(`q=${encodeURIComponent('disk_usage')}`)).toEqual([M.disk]);
    expect(await messages(`q=${encodeURIComponent('100%')}`)).toEqual([M.beta]);
    expect(await messages(`q=${encodeURIComponent('%')}`)).toEqual([M.beta]);
    expect(await messages(`q=${encodeURIComponent('_')}`)).toEqual([M.disk]);
    expect(await messages(`q=${encodeURIComponent('\\')}`)).toEqual([]);
    await t.services.audit.record({ type: 'system', level: 'info', message: 'config at C:\\bots\\a_b.json' });
    expect(await messages(`q=${encodeURIComponent('c:\\bots\\a_b')}`)).toEqual(['config at C:\\bots\\a_b.json']);
    expect(await messages(`q=${encodeURIComponent('\\')}`)).toEqual(['config at C:\\bots\\a_b.json']);
    expect(await messages('q=env-a&type=health_check')).toEqual([M.disk]);
    expect(await messages('q=no%20such%20text')).toEqual([]);
    expect(await count(`q=${encodeURIComponent('%')}`)).toBe(1);
  });

  it('counts with the same filters as the list', async () => {
    expect(await count('')).toBe(7);
    expect(await count('type=action')).toBe(3);
    expect(await count('level=error&environmentId=env-b')).toBe(2);
    expect(await count('action=bot_start')).toBe(2);
    expect(await count(`userId=${t.userIds.admin}`)).toBe(1);
    expect(await count('q=BETA')).toBe(2);
    expect(await count('environmentId=nowhere')).toBe(0);
    expect((await get('/logs/count?level=fatal')).statusCode).toBe(400);
  });

  it('summarises by type and by level, with filters', async () => {
    const all = await get('/logs/stats');
    expect(all.statusCode).toBe(200);
    expect(all.json()).toEqual({
      total: 7,
      byType: { system: 1, action: 3, health_check: 1, error: 1, auth: 1 },
      byLevel: { info: 2, success: 2, error: 2, warning: 1 },
    });
    const envB = await get('/logs/stats?environmentId=env-b');
    expect(envB.json()).toEqual({ total: 2, byType: { action: 1, error: 1 }, byLevel: { error: 2 } });
    const none = await get('/logs/stats?environmentId=nowhere');
    expect(none.json()).toEqual({ total: 0, byType: {}, byLevel: {} });
  });

  it('returns one entry by id, with secret-looking details redacted; 404 for an unknown id', async () => {
    const listed = (await get('/logs?action=bot_start&level=error')).json().logs[0] as LogView;
    const res = await get(`/logs/${listed.id}`);
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual(listed);
    expect(res.json()).toMatchObject({ message: M.beta, environmentId: 'env-b', details: { bot: 'beta', password: '[redacted]' } });
    expect(res.body).not.toContain('hunter2');

    const missing = await get('/logs/01900000-0000-7000-8000-000000000000');
    expect(missing.statusCode).toBe(404);
    expect(missing.json().error.code).toBe('NOT_FOUND');
    expect((await get('/logs/not%20an%20id')).statusCode).toBe(400);
  });

  it('uses an index for filtered, ordered lists', async () => {
    for (let i = 0; i < 200; i++) await t.services.audit.record({ type: 'system', level: 'info', environmentId: `env-${i % 20}`, message: `filler ${i}` });
    const query = sql`select * from audit_logs where environment_id = ${'env-3'} order by ts desc, id desc limit 50`;
    if (t.dialect === 'sqlite') {
      await sql`analyze`.execute(t.database.db);
      const plan = await sql<{ detail: string }>`explain query plan ${query}`.execute(t.database.db);
      const details = plan.rows.map((r) => r.detail).join('\n');
      expect(details).toMatch(/USING (COVERING )?INDEX audit_environment_id_ts_idx/);
      expect(details).not.toMatch(/^SCAN audit_logs$/m);
    } else {
      // On a table this small PostgreSQL prefers a scan; forbid it to see whether an index applies.
      const details = await t.database.db.connection().execute(async (conn) => {
        await sql`set enable_seqscan = off`.execute(conn);
        const plan = await sql<{ 'QUERY PLAN': string }>`explain ${query}`.execute(conn);
        await sql`reset enable_seqscan`.execute(conn);
        return plan.rows.map((r) => r['QUERY PLAN']).join('\n');
      });
      expect(details).toMatch(/Index (Only )?Scan.*audit_environment_id_ts_idx|Bitmap Index Scan on audit_environment_id_ts_idx/);
      expect(details).not.toMatch(/Seq Scan/);
    }
  });
});

describe.each(testDatabases)('audit retention on $name', (database) => {
  let t: TestApp;
  let clock: ReturnType<typeof manualClock>;
  beforeEach(async () => {
    clock = manualClock(T0);
    t = await createTestApp(database, { clock, overrides: { audit: { retentionDays: 7 } } });
  });
  afterEach(async () => {
    await t.close();
  });

  it('purge deletes entries past the retention period and keeps newer ones', async () => {
    const setupEntries = await t.services.audit.count({});
    expect(setupEntries).toBeGreaterThan(0);
    await t.services.audit.record({ type: 'system', level: 'info', environmentId: 'ret', message: 'old one' });
    clock.advance(86_400_000 + 3_600_000); // T0 + 1 day 1 hour
    await t.services.audit.record({ type: 'system', level: 'info', environmentId: 'ret', message: 'six days and 23 hours old at purge' });
    clock.set(new Date(T0.getTime() + 8 * 86_400_000));
    await t.services.audit.record({ type: 'system', level: 'info', environmentId: 'ret', message: 'new one' });

    // Everything from T0 (the setup's entries too) is more than 7 days old now.
    expect(await t.services.audit.purge()).toBe(setupEntries + 1);
    expect(await t.services.audit.purge()).toBe(0);

    // Sessions from T0 have expired meanwhile; a fresh login reads what is left.
    const token = await login(t.app, 'viewer1');
    const res = await t.app.inject({ method: 'GET', url: '/api/v1/logs?environmentId=ret', headers: { authorization: `Bearer ${token}` } });
    expect(res.json<{ logs: LogView[] }>().logs.map((l) => l.message)).toEqual(['new one', 'six days and 23 hours old at purge']);
    const remaining = (await t.app.inject({ method: 'GET', url: '/api/v1/logs?limit=500', headers: { authorization: `Bearer ${token}` } })).json().logs as LogView[];
    expect(remaining.every((l) => l.timestamp >= new Date(T0.getTime() + 86_400_000).toISOString())).toBe(true);
  });
});
