import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { VERSION } from '../src/version.js';
import { createTestApp, type TestApp } from './helpers/app.js';
import { testDatabases } from './helpers/databases.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

interface Operation {
  tags?: string[];
  security?: Record<string, string[]>[];
}

describe.each(testDatabases)('system on $name', (database) => {
  let t: TestApp;
  beforeEach(async () => {
    t = await createTestApp(database);
  });
  afterEach(async () => {
    await t.close();
  });

  describe('health and readiness', () => {
    it('GET /health answers without credentials', async () => {
      const res = await t.app.inject({ method: 'GET', url: '/api/v1/health' });
      expect(res.statusCode).toBe(200);
      expect(res.headers['content-type']).toMatch(/^application\/json/);
      const body = res.json();
      expect(body).toEqual({ status: 'ok', version: VERSION, uptimeSeconds: expect.any(Number) });
      expect(body.uptimeSeconds).toBeGreaterThanOrEqual(0);
      // A (possibly stale) token does not get in the way.
      expect((await t.app.inject({ method: 'GET', url: '/api/v1/health', headers: { authorization: 'Bearer nonsense' } })).statusCode).toBe(200);
    });

    it('GET /ready answers with the database in use', async () => {
      const res = await t.app.inject({ method: 'GET', url: '/api/v1/ready' });
      expect(res.statusCode).toBe(200);
      expect(res.json()).toEqual({ status: 'ready', database: t.dialect });
    });
  });

  describe('OpenAPI and docs', () => {
    it('serves an OpenAPI 3 document with every area tagged and bearer auth declared', async () => {
      const res = await t.app.inject({ method: 'GET', url: '/api/v1/openapi.json' });
      expect(res.statusCode).toBe(200);
      const spec = res.json();
      expect(spec.openapi).toMatch(/^3\./);
      expect(spec.info).toMatchObject({ title: 'pbfleet API', version: VERSION });
      expect(spec.components.securitySchemes.bearer).toMatchObject({ type: 'http', scheme: 'bearer' });

      const operations = Object.entries(spec.paths as Record<string, Record<string, Operation>>).flatMap(([path, methods]) =>
        Object.entries(methods).map(([method, op]) => ({ path, method, op })),
      );
      const tags = new Set(operations.flatMap(({ op }) => op.tags ?? []));
      for (const tag of ['users', 'auth', 'audit', 'settings', 'system', 'realtime']) expect(tags, tag).toContain(tag);
      expect(operations.every(({ op }) => (op.tags ?? []).length > 0)).toBe(true);

      const find = (method: string, path: string) => operations.find((o) => o.method === method && o.path === path)?.op;
      expect(find('get', '/api/v1/users')?.security).toEqual([{ bearer: [] }]);
      expect(find('put', '/api/v1/settings')?.security).toEqual([{ bearer: [] }]);
      expect(find('get', '/api/v1/logs')?.security).toEqual([{ bearer: [] }]);
      // Public routes do not ask for a token.
      expect(find('post', '/api/v1/auth/login')).toBeDefined();
      expect(find('post', '/api/v1/auth/login')?.security).toEqual([]);
      expect(find('get', '/api/v1/health')?.security).toEqual([]);
      // Secret settings are write-only in the published schema too.
      expect(JSON.stringify(find('get', '/api/v1/settings'))).not.toMatch(/"coinmarketcapApiKey"/);
      expect(JSON.stringify(find('get', '/api/v1/settings'))).toMatch(/"coinmarketcapApiKeySet"/);
    });

    it('serves the Swagger UI at /docs', async () => {
      let url = '/docs';
      let res = await t.app.inject({ method: 'GET', url });
      for (let hops = 0; hops < 5 && res.statusCode >= 300 && res.statusCode < 400; hops++) {
        url = new URL(String(res.headers.location), `http://localhost${url}`).pathname;
        res = await t.app.inject({ method: 'GET', url });
      }
      expect(res.statusCode).toBe(200);
      expect(res.headers['content-type']).toMatch(/text\/html/);
      expect(res.body).toMatch(/swagger/i);
    });
  });

  describe('errors', () => {
    it('an unknown route gets the 404 envelope with the request id', async () => {
      for (const [method, url] of [
        ['GET', '/api/v1/nope'],
        ['GET', '/nope?token=secret'],
        ['DELETE', '/api/v1/health'],
        ['PATCH', '/api/v1/users'],
      ] as const) {
        const res = await t.app.inject({ method, url, headers: t.auth('admin') });
        expect(res.statusCode, `${method} ${url}`).toBe(404);
        const body = res.json();
        expect(body).toEqual({ error: { code: 'NOT_FOUND', message: expect.any(String), requestId: expect.any(String) } });
        expect(body.error.requestId).toBe(res.headers['x-request-id']);
        expect(body.error.message).not.toContain('secret');
      }
    });

    it('a malformed JSON body is a 400, a non-JSON body a 415', async () => {
      const headers = { ...t.auth('admin'), 'content-type': 'application/json' };
      const broken = await t.app.inject({ method: 'POST', url: '/api/v1/users', headers, payload: '{"username": "x",' });
      expect(broken.statusCode).toBe(400);
      expect(broken.json().error).toMatchObject({ code: 'VALIDATION_ERROR', requestId: broken.headers['x-request-id'] });
      const proto = await t.app.inject({ method: 'PUT', url: '/api/v1/settings', headers, payload: '{"__proto__": {"general": {"siteName": "x"}}}' });
      expect(proto.statusCode).toBe(400);
      const form = await t.app.inject({ method: 'POST', url: '/api/v1/users', headers: { ...t.auth('admin'), 'content-type': 'application/x-www-form-urlencoded' }, payload: 'a=b' });
      expect(form.statusCode).toBe(415);
      expect(form.json().error.code).toBe('UNSUPPORTED_MEDIA_TYPE');
    });

    it('once the database is gone: /ready says 503, other routes a bare 500 with the request id', async () => {
      await t.database.close();
      // t.close() closes the handle again; make that second close a no-op.
      t.database.close = () => Promise.resolve();

      const ready = await t.app.inject({ method: 'GET', url: '/api/v1/ready' });
      expect(ready.statusCode).toBe(503);
      expect(ready.json()).toEqual({ error: { code: 'SERVICE_UNAVAILABLE', message: 'database is not reachable', requestId: ready.headers['x-request-id'] } });

      for (const [url, headers] of [
        ['/api/v1/users', t.auth('admin')],
        ['/api/v1/logs', t.auth('viewer')],
      ] as const) {
        const res = await t.app.inject({ method: 'GET', url, headers, remoteAddress: '10.1.1.1' });
        expect(res.statusCode, url).toBe(500);
        const body = res.json();
        expect(body).toEqual({ error: { code: 'INTERNAL_ERROR', message: expect.any(String), requestId: res.headers['x-request-id'] } });
        expect(body.error.message).toMatch(/internal error/i);
        expect(res.body).not.toMatch(/sql|select|kysely|sqlite|postgres|pg|driver|destroy|pool|stack|at \w+ \(/i);
      }
      const login = await t.app.inject({ method: 'POST', url: '/api/v1/auth/login', payload: { username: 'admin1', password: 'whatever-it-is' } });
      expect(login.statusCode).toBe(500);
      expect(login.json().error.code).toBe('INTERNAL_ERROR');

      // The process itself is alive.
      expect((await t.app.inject({ method: 'GET', url: '/api/v1/health' })).statusCode).toBe(200);
    });
  });

  describe('request ids', () => {
    it('every response carries x-request-id; a safe incoming one is echoed', async () => {
      const plain = await t.app.inject({ method: 'GET', url: '/api/v1/health' });
      expect(plain.headers['x-request-id']).toMatch(UUID);
      const other = await t.app.inject({ method: 'GET', url: '/api/v1/health' });
      expect(other.headers['x-request-id']).not.toBe(plain.headers['x-request-id']);

      const given = await t.app.inject({ method: 'GET', url: '/api/v1/health', headers: { 'x-request-id': 'trace-42.abc_DEF' } });
      expect(given.headers['x-request-id']).toBe('trace-42.abc_DEF');

      const denied = await t.app.inject({ method: 'GET', url: '/api/v1/users', headers: { ...t.auth('viewer'), 'x-request-id': 'denied-1' } });
      expect(denied.statusCode).toBe(403);
      expect(denied.headers['x-request-id']).toBe('denied-1');
      expect(denied.json().error.requestId).toBe('denied-1');

      const missing = await t.app.inject({ method: 'GET', url: '/nowhere', headers: { 'x-request-id': 'lost-1' } });
      expect(missing.headers['x-request-id']).toBe('lost-1');
      expect(missing.json().error.requestId).toBe('lost-1');
    });

    it('an unsafe incoming id is replaced, not echoed', async () => {
      for (const unsafe of ['a b<script>', 'x'.repeat(65), 'line\tbreak', '../../etc', 'id;drop', '']) {
        const res = await t.app.inject({ method: 'GET', url: '/api/v1/health', headers: { 'x-request-id': unsafe } });
        expect(res.statusCode).toBe(200);
        expect(res.headers['x-request-id'], unsafe).toMatch(UUID);
      }
    });

    it('the request id is recorded with audited actions', async () => {
      const res = await t.app.inject({ method: 'PUT', url: '/api/v1/settings', headers: { ...t.auth('admin'), 'x-request-id': 'change-7' }, payload: { general: { siteName: 'Traced' } } });
      expect(res.statusCode).toBe(200);
      const logs = await t.app.inject({ method: 'GET', url: '/api/v1/logs?action=settings_update', headers: t.auth('admin') });
      expect(logs.json().logs[0]).toMatchObject({ requestId: 'change-7', username: 'admin1' });
    });
  });

  describe('security headers', () => {
    it('sets helmet headers on answers and refusals alike (401, 403, 400, 404)', async () => {
      const requests = [
        { url: '/api/v1/health' },
        { url: '/api/v1/users' },
        { url: '/api/v1/users', headers: t.auth('viewer') },
        { url: '/api/v1/users?limit=0', headers: t.auth('admin') },
        { url: '/api/v1/missing' },
        { url: '/api/v1/openapi.json' },
      ];
      for (const { url, headers } of requests) {
        const res = await t.app.inject({ method: 'GET', url, ...(headers && { headers }) });
        expect(res.headers['x-content-type-options'], url).toBe('nosniff');
        expect(res.headers['x-frame-options'], url).toBe('SAMEORIGIN');
        expect(res.headers['strict-transport-security'], url).toMatch(/max-age=\d+/);
        expect(res.headers['referrer-policy'], url).toBe('no-referrer');
        expect(res.headers['cross-origin-opener-policy'], url).toBe('same-origin');
        expect(res.headers['x-powered-by'], url).toBeUndefined();
      }
    });
  });

  describe('CORS', () => {
    it('by default no origin is allowed', async () => {
      const res = await t.app.inject({
        method: 'OPTIONS',
        url: '/api/v1/users',
        headers: { origin: 'https://ui.example', 'access-control-request-method': 'GET', 'access-control-request-headers': 'authorization' },
      });
      expect(res.headers['access-control-allow-origin']).toBeUndefined();
      const get = await t.app.inject({ method: 'GET', url: '/api/v1/health', headers: { origin: 'https://ui.example' } });
      expect(get.headers['access-control-allow-origin']).toBeUndefined();
    });
  });
});

describe.each(testDatabases)('CORS with allowOrigins on $name', (database) => {
  let t: TestApp;
  beforeEach(async () => {
    t = await createTestApp(database, { overrides: { allowOrigins: ['https://ui.example'] } });
  });
  afterEach(async () => {
    await t.close();
  });

  const preflight = (origin: string, method = 'PUT') =>
    t.app.inject({
      method: 'OPTIONS',
      url: '/api/v1/settings',
      headers: { origin, 'access-control-request-method': method, 'access-control-request-headers': 'authorization, content-type' },
    });

  it('allows a preflight from a listed origin', async () => {
    const res = await preflight('https://ui.example');
    expect(res.statusCode).toBe(204);
    expect(res.headers['access-control-allow-origin']).toBe('https://ui.example');
    expect(String(res.headers['access-control-allow-methods'])).toMatch(/PUT/);
    expect(String(res.headers['access-control-allow-headers']).toLowerCase()).toMatch(/authorization/);
    expect(res.headers['access-control-max-age']).toBe('600');
    expect(res.headers['access-control-allow-credentials']).toBeUndefined();
    expect(String(res.headers.vary)).toMatch(/origin/i);

    const get = await t.app.inject({ method: 'GET', url: '/api/v1/settings', headers: { ...t.auth('viewer'), origin: 'https://ui.example' } });
    expect(get.statusCode).toBe(200);
    expect(get.headers['access-control-allow-origin']).toBe('https://ui.example');

    // Refusals carry the header too, or the UI could not tell an expired session from a network error.
    const refused = await t.app.inject({ method: 'GET', url: '/api/v1/settings', headers: { origin: 'https://ui.example' } });
    expect(refused.statusCode).toBe(401);
    expect(refused.headers['access-control-allow-origin']).toBe('https://ui.example');
    const forbidden = await t.app.inject({ method: 'PUT', url: '/api/v1/settings', headers: { ...t.auth('viewer'), origin: 'https://ui.example' }, payload: { general: { siteName: 'x' } } });
    expect(forbidden.statusCode).toBe(403);
    expect(forbidden.headers['access-control-allow-origin']).toBe('https://ui.example');
  });

  it('allows every method the API uses', async () => {
    for (const method of ['GET', 'POST', 'PUT', 'DELETE']) {
      const res = await preflight('https://ui.example', method);
      expect(res.statusCode, method).toBe(204);
      expect(String(res.headers['access-control-allow-methods']).split(/,\s*/), method).toContain(method);
    }
  });

  it('gives another origin no access-control-allow-origin', async () => {
    for (const origin of ['https://evil.example', 'http://ui.example', 'https://ui.example.evil.com', 'https://sub.ui.example', 'null']) {
      const res = await preflight(origin);
      expect(res.headers['access-control-allow-origin'], origin).toBeUndefined();
      const get = await t.app.inject({ method: 'GET', url: '/api/v1/settings', headers: { ...t.auth('viewer'), origin } });
      expect(get.headers['access-control-allow-origin'], origin).toBeUndefined();
    }
  });
});
