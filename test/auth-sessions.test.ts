import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createTestApp, PASSWORD, type TestApp } from './helpers/app.js';
import { testDatabases } from './helpers/databases.js';

interface Session {
  id: string;
  createdAt: string;
  expiresAt: string;
  ip: string | null;
  userAgent: string | null;
  current: boolean;
}

describe.each(testDatabases)('own sessions on $name', (database) => {
  let t: TestApp;
  beforeEach(async () => {
    t = await createTestApp(database);
  });
  afterEach(async () => {
    await t.close();
  });

  const signIn = async (username: string, userAgent: string) => {
    const res = await t.app.inject({ method: 'POST', url: '/api/v1/auth/login', headers: { 'user-agent': userAgent }, payload: { username, password: PASSWORD } });
    expect(res.statusCode).toBe(200);
    return { authorization: `Bearer ${res.json<{ token: string }>().token}` };
  };
  const list = async (headers: Record<string, string>) => {
    const res = await t.app.inject({ method: 'GET', url: '/api/v1/auth/sessions', headers });
    expect(res.statusCode).toBe(200);
    return res.json<{ sessions: Session[] }>().sessions;
  };
  const currentId = async (headers: Record<string, string>) => (await t.app.inject({ method: 'GET', url: '/api/v1/auth/me', headers })).json<{ credential: { id: string } }>().credential.id;

  it("lists only the caller's live sessions, with where they came from and which one is asking", async () => {
    const laptop = await signIn('operator1', 'Laptop Firefox');
    const phone = await signIn('operator1', 'Phone Safari');
    await signIn('viewer1', 'Viewer Chrome');

    const sessions = await list(phone);
    // The helper's login plus the two above; the viewer's session is not among them.
    expect(sessions).toHaveLength(3);
    expect(sessions.map((s) => s.userAgent)).toEqual(expect.arrayContaining(['Laptop Firefox', 'Phone Safari']));
    expect(sessions.map((s) => s.userAgent)).not.toContain('Viewer Chrome');
    expect(sessions.filter((s) => s.current).map((s) => s.userAgent)).toEqual(['Phone Safari']);
    expect(sessions.every((s) => s.ip === '127.0.0.1' && Date.parse(s.expiresAt) > Date.parse(s.createdAt))).toBe(true);
    // Newest first.
    expect(sessions.map((s) => s.createdAt)).toEqual([...sessions.map((s) => s.createdAt)].sort().reverse());

    // Logged out: no longer listed.
    expect((await t.app.inject({ method: 'POST', url: '/api/v1/auth/logout', headers: laptop })).statusCode).toBe(200);
    expect((await list(phone)).map((s) => s.userAgent)).not.toContain('Laptop Firefox');
  });

  it('with an API token, lists the sessions with none marked current', async () => {
    const created = await t.app.inject({ method: 'POST', url: '/api/v1/auth/tokens', headers: t.auth('viewer'), payload: { name: 'script' } });
    const sessions = await list({ authorization: `Bearer ${created.json<{ token: string }>().token}` });
    expect(sessions).toHaveLength(1);
    expect(sessions[0]?.current).toBe(false);
  });

  it('revokes one of your sessions: it stops working at once and the audit log says so', async () => {
    const laptop = await signIn('operator1', 'Laptop Firefox');
    const phone = await signIn('operator1', 'Phone Safari');
    const laptopId = await currentId(laptop);

    const res = await t.app.inject({ method: 'DELETE', url: `/api/v1/auth/sessions/${laptopId}`, headers: phone });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ ok: true });
    const after = await t.app.inject({ method: 'GET', url: '/api/v1/auth/me', headers: laptop });
    expect(after.statusCode).toBe(401);
    expect((await t.app.inject({ method: 'GET', url: '/api/v1/auth/me', headers: phone })).statusCode).toBe(200);
    expect((await list(phone)).map((s) => s.id)).not.toContain(laptopId);

    // Already ended: nothing to revoke.
    const again = await t.app.inject({ method: 'DELETE', url: `/api/v1/auth/sessions/${laptopId}`, headers: phone });
    expect(again.statusCode).toBe(404);
    expect(again.json().error.code).toBe('NOT_FOUND');

    const logs = (await t.app.inject({ method: 'GET', url: '/api/v1/logs?type=auth&action=session_revoke', headers: t.auth('admin') })).json<{
      logs: { username: string; message: string; details: Record<string, unknown> }[];
    }>().logs;
    expect(logs).toHaveLength(1);
    expect(logs[0]).toMatchObject({ username: 'operator1', message: 'operator1 ended a session from 127.0.0.1', details: { sessionId: laptopId, userAgent: 'Laptop Firefox' } });
  });

  it('revoking the session you are using ends it like a logout', async () => {
    const laptop = await signIn('viewer1', 'Laptop Firefox');
    const res = await t.app.inject({ method: 'DELETE', url: `/api/v1/auth/sessions/${await currentId(laptop)}`, headers: laptop });
    expect(res.statusCode).toBe(200);
    expect((await t.app.inject({ method: 'GET', url: '/api/v1/auth/me', headers: laptop })).statusCode).toBe(401);
  });

  it("one user can neither see nor revoke another user's session, whatever their role", async () => {
    const viewer = await signIn('viewer1', 'Viewer Chrome');
    const viewerId = await currentId(viewer);
    expect((await list(t.auth('admin'))).map((s) => s.id)).not.toContain(viewerId);

    for (const role of ['admin', 'operator'] as const) {
      const res = await t.app.inject({ method: 'DELETE', url: `/api/v1/auth/sessions/${viewerId}`, headers: t.auth(role) });
      // The same answer as for a session that does not exist: nothing tells whose it is.
      expect(res.statusCode).toBe(404);
      expect(res.json().error.code).toBe('NOT_FOUND');
    }
    expect((await t.app.inject({ method: 'GET', url: '/api/v1/auth/me', headers: viewer })).statusCode).toBe(200);
    const logs = (await t.app.inject({ method: 'GET', url: '/api/v1/logs?action=session_revoke', headers: t.auth('admin') })).json<{ logs: unknown[] }>().logs;
    expect(logs).toEqual([]);
  });

  it('refuses a malformed session id naming the field, and an anonymous caller', async () => {
    const bad = await t.app.inject({ method: 'DELETE', url: '/api/v1/auth/sessions/not%20an%20id', headers: t.auth('viewer') });
    expect(bad.statusCode).toBe(400);
    expect(JSON.stringify(bad.json().error.details)).toContain('id');
    expect((await t.app.inject({ method: 'GET', url: '/api/v1/auth/sessions' })).statusCode).toBe(401);
    expect((await t.app.inject({ method: 'DELETE', url: '/api/v1/auth/sessions/abc' })).statusCode).toBe(401);
  });
});
