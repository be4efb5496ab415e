import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { HealthStatus } from '../src/modules/environments/environments.types.js';
import type { HealthHistory } from '../src/modules/health/health.service.js';
import { createTestApp, type TestApp } from './helpers/app.js';
import { testDatabases } from './helpers/databases.js';
import {
  apiClient,
  auditEntries,
  generateKey,
  hubSpy,
  LOOPBACK_ALLOWED,
  QUIET_SSH_CHECK,
  sshEnvironmentBody,
  until,
  type ApiClient,
  type ErrorBody,
} from './helpers/environments.js';
import { closedPort, startHttpTargets } from './helpers/http-targets.js';
import { sshdAvailable, useSshd } from './helpers/sshd.js';

/**
 * Health checks through the real scheduler and recorder: http, tcp and ssh checks, `retries`
 * (pending before unhealthy), results on the hub at once and in the database after a flush,
 * audit entries only when the state changes, the history route, and the scheduler following
 * configuration changes and deletions. `t.health.runNow` runs a check deterministically; the
 * checks configured here never fire on their own during a test (interval: one day).
 */

const key = generateKey();

describe.each(testDatabases)('environment health on $name', (database) => {
  let t: TestApp;
  let api: ApiClient;
  let targets: Awaited<ReturnType<typeof startHttpTargets>>;

  beforeAll(async () => {
    t = await createTestApp(database, { overrides: LOOPBACK_ALLOWED });
    api = apiClient(t);
    targets = await startHttpTargets();
  });
  afterAll(async () => {
    await t?.close();
    await targets?.close();
  });

  const httpCheck = (endpoint: string, extra: Record<string, unknown> = {}) => ({ enabled: true, type: 'http', endpoint, interval: 86_400, timeout: 5, retries: 1, ...extra });
  const body = (name: string, healthCheck: Record<string, unknown>, extra: Record<string, unknown> = {}) => ({
    name,
    target: { host: '192.0.2.30', port: 22 },
    credentials: { type: 'key', username: 'deploy', privateKey: key.privateKey },
    healthCheck,
    ...extra,
  });
  const healthAudits = async (id: string) => (await auditEntries(t, id)).filter((e) => e.action === 'health_change').map((e) => e.message.replace(/ \(.*\)$/, ''));
  const history = async (id: string) => {
    const res = await api.get(`/environments/${id}/health/history`);
    expect(res.statusCode, res.body).toBe(200);
    return res.json<HealthHistory>();
  };

  it('an http check: healthy at once on the hub, then in the database and the history after a flush', async () => {
    const env = await api.create(body('http-ok', httpCheck(`${targets.base}/ok`, { validation: { type: 'jsonRegex', value: '"status":\\s*"ok"' } })));
    expect(t.health.has(env.id)).toBe(true);
    const spy = hubSpy(t, ['environments', `environment:${env.id}`]);
    try {
      const status = await t.health.runNow(env.id);
      expect(status).toMatchObject({ health: 'healthy', message: 'HTTP 200, body matches', consecutiveFailures: 0, lastHealthyAt: expect.any(String) });
      expect(status.responseTime).toEqual(expect.any(Number));
      // Published before anything is written.
      for (const topic of ['environments', `environment:${env.id}`]) expect(spy.of('health', topic).map((m) => m.payload)).toEqual([{ environmentId: env.id, status }]);
    } finally {
      spy.detach();
    }
    await t.recorder.flush();
    expect((await api.environment(env.id)).status).toMatchObject({ health: 'healthy', message: 'HTTP 200, body matches' });
    const { samples } = await history(env.id);
    expect(samples).toEqual([{ ts: expect.any(String), health: 'healthy', responseTime: expect.any(Number), message: 'HTTP 200, body matches' }]);
    expect(await healthAudits(env.id)).toEqual(['http-ok: unknown -> healthy']);
  });

  it('failures are tolerated `retries` times (pending) before unhealthy, and audited only when the state changes', async () => {
    const env = await api.create(body('http-flaky', httpCheck(`${targets.base}/ok`, { retries: 1 })));
    const spy = hubSpy(t, [`environment:${env.id}`]);
    try {
      expect((await t.health.runNow(env.id)).health).toBe('healthy');
      // The target starts failing: a changed endpoint keeps the status the scheduler holds.
      expect((await api.put(`/environments/${env.id}`, { healthCheck: httpCheck(`${targets.base}/fail`, { retries: 1 }) })).statusCode).toBe(200);
      const seen: HealthStatus[] = [];
      for (let i = 0; i < 3; i++) seen.push(await t.health.runNow(env.id));
      expect(seen.map((s) => [s.health, s.consecutiveFailures])).toEqual([
        ['pending', 1],
        ['unhealthy', 2],
        ['unhealthy', 3],
      ]);
      expect(seen[0]?.message).toBe('HTTP 500 (expected 2xx)');
      expect(seen[2]?.lastHealthyAt).toEqual(expect.any(String));
      expect(spy.of('health').map((m) => (m.payload as { status: HealthStatus }).status.health)).toEqual(['healthy', 'pending', 'unhealthy', 'unhealthy']);
    } finally {
      spy.detach();
    }
    await t.recorder.flush();
    expect((await api.environment(env.id)).status).toMatchObject({ health: 'unhealthy', consecutiveFailures: 3 });
    expect(await healthAudits(env.id)).toEqual(['http-flaky: unknown -> healthy', 'http-flaky: healthy -> pending', 'http-flaky: pending -> unhealthy']);
    expect((await history(env.id)).samples.map((s) => s.health)).toEqual(['healthy', 'pending', 'unhealthy', 'unhealthy']);
    const levels = (await auditEntries(t, env.id)).filter((e) => e.action === 'health_change').map((e) => e.level);
    expect(levels).toEqual(['success', 'warning', 'error']);

    await api.put(`/environments/${env.id}`, { healthCheck: httpCheck(`${targets.base}/ok`, { retries: 1 }) });
    expect(await t.health.runNow(env.id)).toMatchObject({ health: 'healthy', consecutiveFailures: 0 });
    await t.recorder.flush();
    expect((await healthAudits(env.id)).at(-1)).toBe('http-flaky: unhealthy -> healthy');
  });

  it('tcp checks, and checks refused by the SSRF guard', async () => {
    const open = await api.create(body('tcp-open', { enabled: true, type: 'tcp', endpoint: `127.0.0.1:${targets.port}`, interval: 86_400, timeout: 5, retries: 0 }));
    expect(await t.health.runNow(open.id)).toMatchObject({ health: 'healthy', message: `TCP ${targets.port} open` });
    const closed = await api.create(body('tcp-closed', { enabled: true, type: 'tcp', endpoint: `127.0.0.1:${await closedPort()}`, interval: 86_400, timeout: 5, retries: 0 }));
    expect(await t.health.runNow(closed.id)).toMatchObject({ health: 'unhealthy', message: 'connection refused' });

    const metadata = await api.create(body('http-metadata', httpCheck('http://169.254.169.254/latest/meta-data/', { retries: 0 })));
    expect(await t.health.runNow(metadata.id)).toMatchObject({ health: 'unhealthy', message: expect.stringMatching(/169\.254\.169\.254 is a link-local or metadata address; never allowed/) });
    const redirected = await api.create(body('http-to-metadata', httpCheck(`${targets.base}/to-metadata`, { retries: 0 })));
    expect(await t.health.runNow(redirected.id)).toMatchObject({ health: 'unhealthy', message: expect.stringMatching(/never allowed/) });
    const internal = await api.create(body('http-private', httpCheck('http://10.255.255.1/health', { retries: 0 })));
    expect(await t.health.runNow(internal.id)).toMatchObject({ health: 'unhealthy', message: expect.stringMatching(/allow it in network\.allowTargets/) });
  });

  it('the scheduler follows the configuration: disabling stops checks, enabling starts them, deleting removes them', async () => {
    const env = await api.create(body('followed', httpCheck(`${targets.base}/ok`)));
    expect(t.health.has(env.id)).toBe(true);
    await api.put(`/environments/${env.id}`, { healthCheck: httpCheck(`${targets.base}/ok`, { enabled: false }) });
    expect(t.health.has(env.id)).toBe(false);
    await expect(t.health.runNow(env.id)).rejects.toThrow(/not enabled/);
    await api.put(`/environments/${env.id}`, { healthCheck: { enabled: true, type: 'none', interval: 60, timeout: 5, retries: 0 } });
    expect(t.health.has(env.id)).toBe(false);
    await api.put(`/environments/${env.id}`, { healthCheck: httpCheck(`${targets.base}/ok`) });
    expect(t.health.has(env.id)).toBe(true);
    expect((await t.health.runNow(env.id)).health).toBe('healthy');

    expect((await api.del(`/environments/${env.id}`)).statusCode).toBe(200);
    expect(t.health.has(env.id)).toBe(false);
    await expect(t.health.runNow(env.id)).rejects.toThrow(/not enabled/);
    await t.recorder.flush();
    expect((await api.get(`/environments/${env.id}/health/history`)).statusCode).toBe(404);
    // The local environment is checked like any other.
    expect(t.health.has('local')).toBe(true);
  });

  it('the history route checks its range', async () => {
    const env = await api.create(body('history-range', httpCheck(`${targets.base}/ok`)));
    await t.health.runNow(env.id);
    await t.recorder.flush();
    const now = Date.now();
    const inRange = await api.get(`/environments/${env.id}/health/history?from=${new Date(now - 60_000).toISOString()}&to=${new Date(now + 60_000).toISOString()}`);
    expect(inRange.json<HealthHistory>().samples).toHaveLength(1);
    const before = await api.get(`/environments/${env.id}/health/history?to=${new Date(now - 3_600_000).toISOString()}`);
    expect(before.json<HealthHistory>().samples).toEqual([]);
    const reversed = await api.get(`/environments/${env.id}/health/history?from=${new Date(now).toISOString()}&to=${new Date(now - 1000).toISOString()}`);
    expect(reversed.statusCode).toBe(400);
    expect(reversed.json<ErrorBody>().error.details?.fields?.[0]?.field).toBe('from');
    expect((await api.get(`/environments/${env.id}/health/history?from=yesterday`)).statusCode).toBe(400);
  });

  describe.runIf(sshdAvailable)('over SSH', () => {
    const sshdOf = useSshd();

    it('an ssh check follows the host going away and coming back', async () => {
      const env = await api.create(sshEnvironmentBody(sshdOf(), 'ssh-away-back'));
      expect(await t.health.runNow(env.id)).toMatchObject({ health: 'healthy', message: 'SSH probe ok' });
      await sshdOf().stop();
      try {
        expect(await t.health.runNow(env.id)).toMatchObject({ health: 'unhealthy', message: expect.stringMatching(/connection (refused|closed|reset|lost)/) });
      } finally {
        await sshdOf().start();
      }
      // Reconnecting waits out the pool's backoff (about a second).
      await until(async () => (await t.health.runNow(env.id)).health === 'healthy', 'the host to be healthy again');
      await t.recorder.flush();
      expect(await healthAudits(env.id)).toEqual(['ssh-away-back: unknown -> healthy', 'ssh-away-back: healthy -> unhealthy', 'ssh-away-back: unhealthy -> healthy']);
    });

    it('an ssh probe command decides: exit 0 is healthy, anything else is not', async () => {
      const env = await api.create(sshEnvironmentBody(sshdOf(), 'ssh-probe', { healthCheck: { ...QUIET_SSH_CHECK, command: 'echo disk full >&2; exit 2' } }));
      expect(await t.health.runNow(env.id)).toMatchObject({ health: 'unhealthy', message: 'probe exited 2: disk full' });
    });

    it('a changed host key holds the environment at host_key_mismatch, whatever its check type, until accepted', async () => {
      const env = await api.create(sshEnvironmentBody(sshdOf(), 'mismatch-http', { hostKey: { fingerprint: generateKey().fingerprint }, healthCheck: httpCheck(`${targets.base}/ok`) }));
      expect((await t.health.runNow(env.id)).health).toBe('healthy');
      // Any SSH use meets the unexpected key.
      expect((await api.post(`/environments/${env.id}/system-info`, undefined, 'operator')).statusCode).toBe(409);
      // Recorded, then passed on to the scheduler: its next check reports the mismatch.
      const status = await until(async () => {
        const checked = await t.health.runNow(env.id);
        return checked.health === 'host_key_mismatch' ? checked : undefined;
      }, 'the scheduler to hold the mismatch');
      expect(status.message).toBe(`host key changed to ${sshdOf().fingerprint}; an admin must accept it`);
      await t.recorder.flush();
      expect((await api.environment(env.id)).status.health).toBe('host_key_mismatch');

      expect((await api.post(`/environments/${env.id}/host-key/accept`, { fingerprint: sshdOf().fingerprint })).statusCode).toBe(200);
      expect((await t.health.runNow(env.id)).health).toBe('healthy');
      await t.recorder.flush();
      expect((await api.environment(env.id)).status.health).toBe('healthy');
      expect((await api.post(`/environments/${env.id}/system-info`, undefined, 'operator')).statusCode).toBe(200);
    });
  });
});
