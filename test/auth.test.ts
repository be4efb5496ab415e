import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createTestApp, login, PASSWORD, type TestApp } from './helpers/app.js';
import { testDatabases } from './helpers/databases.js';

describe.each(testDatabases)('auth on $name', (database) => {
  let t: TestApp;
  beforeEach(async () => {
    t = await createTestApp(database);
  });
  afterEach(async () => {
    await t.close();
  });

  it('logs in and answers who I am, without ever returning a hash', async () => {
    const res = await t.app.inject({ method: 'POST', url: '/api/v1/auth/login', payload: { username: 'Admin1', password: PASSWORD } });
    expect(res.statusCode).toBe(200);
    const body = res.json();
    expect(body).toMatchObject({ token: expect.any(String), expiresAt: expect.any(String), user: { username: 'admin1', role: 'admin', active: true } });
    expect(body.user.lastLogin).toEqual(expect.any(String));
    expect(res.body).not.toMatch(/argon2|password_hash|passwordHash/);

    const me = await t.app.inject({ method: 'GET', url: '/api/v1/auth/me', headers: { authorization: `Bearer ${body.token}` } });
    expect(me.statusCode).toBe(200);
    expect(me.json()).toMatchObject({ user: { username: 'admin1' }, role: 'admin', credential: { kind: 'session' } });
  });

  it('refuses a wrong password and an unknown user with the same answer', async () => {
    const wrong = await t.app.inject({ method: 'POST', url: '/api/v1/auth/login', payload: { username: 'admin1', password: 'nope-nope' } });
    const unknown = await t.app.inject({ method: 'POST', url: '/api/v1/auth/login', payload: { username: 'ghost', password: 'nope-nope' } });
    expect(wrong.statusCode).toBe(401);
    expect(unknown.statusCode).toBe(401);
    expect(wrong.json().error.message).toBe(unknown.json().error.message);
  });

  it('audits every login, success or failure', async () => {
    await t.app.inject({ method: 'POST', url: '/api/v1/auth/login', payload: { username: 'viewer1', password: 'wrong-password' } });
    const res = await t.app.inject({ method: 'GET', url: '/api/v1/logs?type=auth&action=login', headers: t.auth('admin') });
    const logs = res.json().logs as { level: string; message: string; username: string }[];
    expect(logs.some((l) => l.level === 'warning' && l.message.includes('viewer1') && l.message.includes('wrong password'))).toBe(true);
    expect(logs.filter((l) => l.level === 'success').map((l) => l.username).sort()).toEqual(['admin1', 'operator1', 'viewer1']);
  });

  it('logout makes the token stop working at once', async () => {
    const token = await login(t.app, 'operator1');
    const headers = { authorization: `Bearer ${token}` };
    expect((await t.app.inject({ method: 'POST', url: '/api/v1/auth/logout', headers })).statusCode).toBe(200);
    const after = await t.app.inject({ method: 'GET', url: '/api/v1/auth/me', headers });
    expect(after.statusCode).toBe(401);
    expect(after.json().error.code).toBe('UNAUTHORIZED');
  });

  it('changing the password needs the current one and ends the other sessions only', async () => {
    const other = await login(t.app, 'viewer1');
    const bad = await t.app.inject({
      method: 'POST',
      url: '/api/v1/users/password/change',
      headers: t.auth('viewer'),
      payload: { currentPassword: 'wrong-one', newPassword: 'a brand new secret' },
    });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().error.details.fields[0].field).toBe('currentPassword');

    const ok = await t.app.inject({
      method: 'POST',
      url: '/api/v1/users/password/change',
      headers: t.auth('viewer'),
      payload: { currentPassword: PASSWORD, newPassword: 'a brand new secret' },
    });
    expect(ok.statusCode).toBe(200);
    expect((await t.app.inject({ method: 'GET', url: '/api/v1/auth/me', headers: t.auth('viewer') })).statusCode).toBe(200);
    expect((await t.app.inject({ method: 'GET', url: '/api/v1/auth/me', headers: { authorization: `Bearer ${other}` } })).statusCode).toBe(401);
    await expect(login(t.app, 'viewer1')).rejects.toThrow(/401/);
    await expect(login(t.app, 'viewer1', 'a brand new secret')).resolves.toEqual(expect.any(String));
  });

  it('API tokens: shown once, stored hashed, listed with last use, revocable', async () => {
    const created = await t.app.inject({ method: 'POST', url: '/api/v1/auth/tokens', headers: t.auth('operator'), payload: { name: 'ci deploy' } });
    expect(created.statusCode).toBe(201);
    const { token, id } = created.json();
    expect(token).toMatch(/^pbf_/);

    const stored = await t.database.db.selectFrom('api_tokens').selectAll().executeTakeFirstOrThrow();
    expect(stored.token_hash).not.toContain(token);
    expect(JSON.stringify(stored)).not.toContain(token);

    const me = await t.app.inject({ method: 'GET', url: '/api/v1/auth/me', headers: { authorization: `Bearer ${token}` } });
    expect(me.json()).toMatchObject({ role: 'operator', credential: { kind: 'api_token', id } });

    const list = await t.app.inject({ method: 'GET', url: '/api/v1/auth/tokens', headers: t.auth('operator') });
    expect(list.json().tokens).toEqual([expect.objectContaining({ id, name: 'ci deploy', lastUsedAt: expect.any(String) })]);
    expect(list.body).not.toContain(token);

    const dup = await t.app.inject({ method: 'POST', url: '/api/v1/auth/tokens', headers: t.auth('operator'), payload: { name: 'ci deploy' } });
    expect(dup.statusCode).toBe(409);

    const foreign = await t.app.inject({ method: 'DELETE', url: `/api/v1/auth/tokens/${id}`, headers: t.auth('viewer') });
    expect(foreign.statusCode).toBe(404);
    expect((await t.app.inject({ method: 'DELETE', url: `/api/v1/auth/tokens/${id}`, headers: t.auth('operator') })).statusCode).toBe(200);
    expect((await t.app.inject({ method: 'GET', url: '/api/v1/auth/me', headers: { authorization: `Bearer ${token}` } })).statusCode).toBe(401);
  });

  it('refuses DEL and C1 control characters in token names and login names, like C0 ones', async () => {
    const fieldsOf = (res: { json<T>(): T }) => res.json<{ error: { details: { fields: { field: string }[] } } }>().error.details.fields.map((f) => f.field);
    for (const name of ['tab\there', 'rub\u007fout', 'next\u0085line', 'csi\u009b31m']) {
      const res = await t.app.inject({ method: 'POST', url: '/api/v1/auth/tokens', headers: t.auth('operator'), payload: { name } });
      expect(res.statusCode, JSON.stringify(name)).toBe(400);
      expect(fieldsOf(res)).toEqual(['name']);
      const loginRes = await t.app.inject({ method: 'POST', url: '/api/v1/auth/login', payload: { username: `viewer1${name}`, password: PASSWORD } });
      expect(loginRes.statusCode, JSON.stringify(name)).toBe(400);
      expect(fieldsOf(loginRes)).toEqual(['username']);
    }
    // Printable text beyond ASCII is fine.
    const ok = await t.app.inject({ method: 'POST', url: '/api/v1/auth/tokens', headers: t.auth('operator'), payload: { name: 'café déploiement ¡' } });
    expect(ok.statusCode).toBe(201);
    expect(await t.database.db.selectFrom('api_tokens').select('name').execute()).toEqual([{ name: 'café déploiement ¡' }]);
  });

  it("a deactivated user's session and API tokens stop working", async () => {
    const created = await t.app.inject({ method: 'POST', url: '/api/v1/auth/tokens', headers: t.auth('viewer'), payload: { name: 'script' } });
    const apiToken = created.json().token as string;
    const off = await t.app.inject({ method: 'PUT', url: `/api/v1/users/${t.userIds.viewer}`, headers: t.auth('admin'), payload: { active: false } });
    expect(off.statusCode).toBe(200);
    expect((await t.app.inject({ method: 'GET', url: '/api/v1/auth/me', headers: t.auth('viewer') })).statusCode).toBe(401);
    expect((await t.app.inject({ method: 'GET', url: '/api/v1/auth/me', headers: { authorization: `Bearer ${apiToken}` } })).statusCode).toBe(401);
    await expect(login(t.app, 'viewer1')).rejects.toThrow(/401/);
  });

  it('rejects forged, expired-looking and malformed tokens', async () => {
    for (const value of ['Bearer x.y.z', 'Bearer pbf_forged', 'Basic abc', 'Bearer', `Bearer ${t.tokens.admin}x`]) {
      const res = await t.app.inject({ method: 'GET', url: '/api/v1/auth/me', headers: { authorization: value } });
      expect(res.statusCode).toBe(401);
    }
  });

  it('throttles repeated failures per username with 429 and Retry-After', async () => {
    for (let i = 0; i < 10; i++) {
      const res = await t.app.inject({ method: 'POST', url: '/api/v1/auth/login', payload: { username: 'operator1', password: `guess-${i}` }, remoteAddress: `10.0.0.${i}` });
      expect(res.statusCode).toBe(401);
    }
    const blocked = await t.app.inject({ method: 'POST', url: '/api/v1/auth/login', payload: { username: 'operator1', password: PASSWORD }, remoteAddress: '10.0.1.1' });
    expect(blocked.statusCode).toBe(429);
    expect(blocked.json().error.code).toBe('RATE_LIMITED');
    expect(Number(blocked.headers['retry-after'])).toBeGreaterThan(0);
    // Other users are not locked out by it.
    expect((await t.app.inject({ method: 'POST', url: '/api/v1/auth/login', payload: { username: 'viewer1', password: PASSWORD }, remoteAddress: '10.0.1.1' })).statusCode).toBe(200);
  });

  it('throttles repeated failures per IP across usernames', async () => {
    for (let i = 0; i < 10; i++) {
      await t.app.inject({ method: 'POST', url: '/api/v1/auth/login', payload: { username: `user${i}`, password: 'whatever1' }, remoteAddress: '10.9.9.9' });
    }
    const blocked = await t.app.inject({ method: 'POST', url: '/api/v1/auth/login', payload: { username: 'admin1', password: PASSWORD }, remoteAddress: '10.9.9.9' });
    expect(blocked.statusCode).toBe(429);
  });
});
