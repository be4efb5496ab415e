import Fastify from 'fastify';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DataVersion, ResponseCache } from '../src/http/response-cache.js';
import { newId } from '../src/lib/ids.js';
import { createTestApp, type TestApp } from './helpers/app.js';
import { testDatabases } from './helpers/databases.js';

describe.each(testDatabases)('cached list answers on $name', (database) => {
  let t: TestApp;
  beforeEach(async () => {
    t = await createTestApp(database);
  });
  afterEach(async () => {
    await t.close();
  });

  const logs = async () => (await t.app.inject({ method: 'GET', url: '/api/v1/logs?limit=5', headers: t.auth('admin') })).json().logs as { message: string }[];
  const users = async () => (await t.app.inject({ method: 'GET', url: '/api/v1/users', headers: t.auth('admin') })).json().users as { username: string }[];

  it('a change made through the API is in the next answer', async () => {
    await logs();
    const names = (await users()).map((u) => u.username);
    expect(names).not.toContain('newcomer');
    const created = await t.app.inject({ method: 'POST', url: '/api/v1/users', headers: t.auth('admin'), payload: { username: 'newcomer', password: 'long enough password', role: 'viewer' } });
    expect(created.statusCode).toBe(201);
    expect((await users()).map((u) => u.username)).toContain('newcomer');
    expect((await logs())[0]?.message).toContain('newcomer');
  });

  it('a write by another process shows within a second', async () => {
    await logs();
    await t.database.db
      .insertInto('audit_logs')
      .values({ id: newId(), ts: new Date().toISOString(), type: 'system', level: 'info', message: 'written by the cli', action: null, details: null, environment_id: null, environment_name: null, user_id: null, username: 'cli', request_id: null, ip: null })
      .execute();
    await new Promise((r) => setTimeout(r, 1100));
    // Not necessarily first: the local environment's first health check may be audited meanwhile.
    expect((await logs()).map((entry) => entry.message)).toContain('written by the cli');
  });

  it('still checks who asks: a cached answer is not served without a token or to a lower role', async () => {
    await users();
    expect((await t.app.inject({ method: 'GET', url: '/api/v1/users' })).statusCode).toBe(401);
    expect((await t.app.inject({ method: 'GET', url: '/api/v1/users', headers: t.auth('viewer') })).statusCode).toBe(403);
  });

  it('serves JSON with the same shape as an uncached answer', async () => {
    const first = await t.app.inject({ method: 'GET', url: '/api/v1/users', headers: t.auth('admin') });
    const second = await t.app.inject({ method: 'GET', url: '/api/v1/users', headers: t.auth('admin') });
    expect(second.headers['content-type']).toMatch(/^application\/json/);
    expect(second.json()).toEqual(first.json());
    expect(second.body).not.toMatch(/password|argon2/);
  });
});

describe('response cache keeping', () => {
  it('keeps an answer from the second time its URL is asked; one-off URLs never push it out', async () => {
    const app = Fastify();
    const cache = new ResponseCache(new DataVersion(), 60_000, 10);
    let computed = 0;
    app.get('/n', async (request, reply) => cache.reply(request, reply, async () => ({ n: ++computed })));
    const ask = async (url: string) => (await app.inject({ method: 'GET', url })).json<{ n: number }>().n;
    try {
      expect(await ask('/n?x=1')).toBe(1);
      expect(await ask('/n?x=1')).toBe(2);
      expect(await ask('/n?x=1')).toBe(2);
      for (let i = 0; i < 50; i++) await ask(`/n?from=${i}`);
      expect(computed).toBe(52);
      expect(await ask('/n?x=1')).toBe(2);
    } finally {
      await app.close();
    }
  });
});
