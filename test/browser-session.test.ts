import { request as httpRequest } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { createTestApp, PASSWORD, type TestApp } from './helpers/app.js';
import { testDatabases } from './helpers/databases.js';

const HOST = 'pbfleet.test';
const ORIGIN = `http://${HOST}`;
const PAGE = { host: HOST, origin: ORIGIN, 'x-pbfleet-csrf': '1' };

describe('browser sessions (cookie)', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp(testDatabases[0] as (typeof testDatabases)[number], { overrides: { server: { trustProxy: true } } });
  });
  afterAll(async () => {
    await t.close();
  });

  async function cookieLogin(username = 'operator1', headers: Record<string, string> = PAGE) {
    return t.app.inject({ method: 'POST', url: '/api/v1/auth/login', headers, payload: { username, password: PASSWORD, cookie: true } });
  }
  async function sessionCookie(username = 'operator1'): Promise<string> {
    const res = await cookieLogin(username);
    expect(res.statusCode, res.body).toBe(200);
    return String(res.headers['set-cookie']).split(';')[0] as string;
  }

  it('cookie login sets an HttpOnly SameSite=Strict cookie and leaves the token out of the body', async () => {
    const res = await cookieLogin();
    expect(res.statusCode, res.body).toBe(200);
    const setCookie = String(res.headers['set-cookie']);
    expect(setCookie).toMatch(/^pbfleet_session=[\w-]+\.[\w-]+\.[\w-]+;/);
    expect(setCookie).toMatch(/HttpOnly/);
    expect(setCookie).toMatch(/SameSite=Strict/);
    expect(setCookie).toMatch(/Path=\//);
    expect(setCookie).toMatch(/Max-Age=86400/);
    expect(setCookie).not.toMatch(/Secure/);
    const body = res.json<Record<string, unknown>>();
    expect(body).not.toHaveProperty('token');
    expect(body).toMatchObject({ expiresAt: expect.any(String), user: { username: 'operator1' } });
    const jwt = setCookie.split(';')[0]?.split('=')[1] as string;
    expect(res.body).not.toContain(jwt);
  });

  it('marks the cookie Secure behind an HTTPS proxy when trustProxy says so', async () => {
    const res = await cookieLogin('operator1', { ...PAGE, origin: `https://${HOST}`, 'x-forwarded-proto': 'https' });
    expect(res.statusCode, res.body).toBe(200);
    expect(String(res.headers['set-cookie'])).toMatch(/; Secure/);
  });

  it('refuses a cookie login without the CSRF header or from a foreign page; a token login is unchanged', async () => {
    expect((await cookieLogin('operator1', { host: HOST, origin: ORIGIN })).json().error).toMatchObject({ code: 'FORBIDDEN', message: 'cross-site request refused' });
    expect((await cookieLogin('operator1', { ...PAGE, origin: 'https://evil.example' })).statusCode).toBe(403);
    const bearer = await t.app.inject({ method: 'POST', url: '/api/v1/auth/login', payload: { username: 'operator1', password: PASSWORD } });
    expect(bearer.statusCode).toBe(200);
    expect(bearer.json()).toHaveProperty('token');
    expect(bearer.headers['set-cookie']).toBeUndefined();
  });

  it('authenticates GET /auth/me from the cookie alone', async () => {
    const cookie = await sessionCookie();
    const me = await t.app.inject({ method: 'GET', url: '/api/v1/auth/me', headers: { host: HOST, cookie } });
    expect(me.statusCode, me.body).toBe(200);
    expect(me.json()).toMatchObject({ user: { username: 'operator1' }, role: 'operator', credential: { kind: 'session' } });
  });

  it('needs the CSRF header and a same-origin Origin on cookie mutations; bearer requests are unaffected', async () => {
    const cookie = await sessionCookie();
    const url = '/api/v1/auth/tokens';
    const mutate = (headers: Record<string, string>, name: string) => t.app.inject({ method: 'POST', url, headers: { host: HOST, cookie, ...headers }, payload: { name } });

    const noHeader = await mutate({ origin: ORIGIN }, 'a');
    expect(noHeader.statusCode).toBe(403);
    expect(noHeader.json().error.message).toBe('cross-site request refused');
    expect((await mutate({ origin: 'https://evil.example', 'x-pbfleet-csrf': '1' }, 'b')).statusCode).toBe(403);
    expect((await mutate({ 'x-pbfleet-csrf': '1' }, 'c')).statusCode).toBe(403);
    expect((await mutate({ 'x-pbfleet-csrf': '1', referer: 'https://evil.example/page' }, 'd')).statusCode).toBe(403);
    expect((await mutate({ origin: ORIGIN, 'x-pbfleet-csrf': '1' }, 'e')).statusCode).toBe(201);
    // A browser that leaves Origin out is judged by its Referer.
    expect((await mutate({ 'x-pbfleet-csrf': '1', referer: `${ORIGIN}/settings` }, 'f')).statusCode).toBe(201);

    const bearer = await t.app.inject({ method: 'POST', url, headers: { ...t.auth('operator'), origin: 'https://evil.example' }, payload: { name: 'g' } });
    expect(bearer.statusCode).toBe(201);
  });

  it('logout clears the cookie and revokes the session: the cookie then gives 401 and is dropped', async () => {
    const cookie = await sessionCookie();
    const out = await t.app.inject({ method: 'POST', url: '/api/v1/auth/logout', headers: { ...PAGE, cookie } });
    expect(out.statusCode, out.body).toBe(200);
    expect(String(out.headers['set-cookie'])).toMatch(/^pbfleet_session=; Max-Age=0; Path=\/; HttpOnly; SameSite=Strict/);
    const me = await t.app.inject({ method: 'GET', url: '/api/v1/auth/me', headers: { host: HOST, cookie } });
    expect(me.statusCode).toBe(401);
    expect(me.json().error.code).toBe('UNAUTHORIZED');
    expect(String(me.headers['set-cookie'])).toMatch(/^pbfleet_session=; Max-Age=0/);
  });

  describe('over a real socket', () => {
    let base: string;
    beforeAll(async () => {
      await t.app.listen({ port: 0, host: '127.0.0.1' });
      base = `127.0.0.1:${(t.app.server.address() as AddressInfo).port}`;
    });

    it('streams SSE /api/v1/events with only the cookie', async () => {
      const cookie = await sessionCookie('viewer1');
      const first = await new Promise<{ status: number; type: string; chunk: string }>((resolve, reject) => {
        const req = httpRequest(`http://${base}/api/v1/events?topics=dashboard`, { headers: { cookie, accept: 'text/event-stream', origin: `http://${base}` } }, (res) => {
          res.once('data', (chunk: Buffer) => {
            resolve({ status: res.statusCode ?? 0, type: String(res.headers['content-type']), chunk: chunk.toString('utf8') });
            req.destroy();
          });
        });
        req.on('error', reject);
        req.end();
      });
      expect(first.status).toBe(200);
      expect(first.type).toMatch(/text\/event-stream/);
      expect(first.chunk).toMatch(/^retry: /);
      const anonymous = await t.app.inject({ method: 'GET', url: '/api/v1/events?topics=dashboard' });
      expect(anonymous.statusCode).toBe(401);
    });

    it('opens /ws with only the cookie from our own page, and refuses a foreign Origin', async () => {
      const cookie = await sessionCookie('viewer1');
      const ws = new WebSocket(`ws://${base}/ws`, ['pbfleet'], { headers: { cookie }, origin: `http://${base}` });
      const welcome = await new Promise<string>((resolve, reject) => {
        ws.once('message', (data: Buffer) => resolve(data.toString('utf8')));
        ws.once('error', reject);
      });
      ws.terminate();
      expect(JSON.parse(welcome)).toMatchObject({ type: 'welcome', payload: { user: 'viewer1', role: 'viewer' } });

      const foreign = new WebSocket(`ws://${base}/ws`, ['pbfleet'], { headers: { cookie }, origin: 'https://evil.example' });
      const refused = await new Promise<string>((resolve) => {
        foreign.once('unexpected-response', (_req, res) => resolve(String(res.statusCode)));
        foreign.once('error', (error) => resolve(error.message));
      });
      foreign.terminate();
      expect(refused).toMatch(/403/);
    });
  });
});
