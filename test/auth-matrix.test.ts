import Fastify from 'fastify';
import type { LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registerAuth, type RouteRule } from '../src/http/auth.js';
import { registerErrorHandling } from '../src/http/error-handler.js';
import { registerRequestLog } from '../src/http/request-log.js';
import { UnauthorizedError } from '../src/lib/errors.js';
import { ROLES, roleAllows, rolesBelow, type Role } from '../src/lib/roles.js';
import type { Principal } from '../src/modules/auth/auth.types.js';
import { createTestApp, login, type TestApp } from './helpers/app.js';
import { testDatabases } from './helpers/databases.js';

/**
 * The auth matrix is generated from the app's own route registry (`routeRules`, filled by
 * registerAuth's onRoute hook), so a route added tomorrow is covered without touching this file.
 * The registry is read at collection time from a throwaway app, and each suite checks its own app
 * registers exactly the same routes.
 */
const PLAUSIBLE_ID = '0190a1b2-0000-7000-8000-000000000000';
const fillParams = (url: string) => url.replace(/:[A-Za-z0-9_]+/g, PLAUSIBLE_ID);
const toOpenApiPath = (url: string) => url.replace(/:([A-Za-z0-9_]+)/g, '{$1}');
const OPENAPI_URL = '/api/v1/openapi.json';

type Method = 'GET' | 'POST' | 'PUT' | 'DELETE' | 'PATCH';

interface OpenApiOperation {
  tags?: string[];
  security?: Record<string, string[]>[];
  parameters?: { in: string; name: string }[];
  responses?: Record<string, { content?: Record<string, { schema?: unknown }> }>;
}
interface OpenApiDoc {
  paths: Record<string, Record<string, OpenApiOperation>>;
  components?: { securitySchemes?: Record<string, { type: string; scheme?: string }>; schemas?: Record<string, unknown> };
}

const collected = await (async () => {
  const probe = await createTestApp(testDatabases[0] as (typeof testDatabases)[number]);
  try {
    const doc = (await probe.app.inject({ method: 'GET', url: OPENAPI_URL })).json<OpenApiDoc>();
    return { rules: [...probe.routeRules], doc };
  } finally {
    await probe.close();
  }
})();

const ruleName = (r: RouteRule) => `${r.method} ${r.url}`;
const guarded = collected.rules.filter((r) => r.auth !== 'public');

/** Routes that take `?token=` (browsers cannot set headers on WebSocket/EventSource). */
function acceptsQueryToken(rule: RouteRule): boolean {
  if (rule.websocket) return true;
  const op = collected.doc.paths[toOpenApiPath(rule.url)]?.[rule.method.toLowerCase()];
  return Boolean(op?.parameters?.some((p) => p.in === 'query' && p.name === 'token'));
}

function expectEnvelope(res: LightMyRequestResponse, status: number, code: string): { code: string; message: string; requestId: string } {
  expect(res.statusCode, `${res.statusCode} ${res.body}`).toBe(status);
  expect(res.headers['content-type']).toMatch(/^application\/json/);
  const body = res.json<{ error: { code: string; message: string; requestId: string } }>();
  expect(Object.keys(body)).toEqual(['error']);
  expect(body.error).toEqual({ code, message: expect.any(String), requestId: expect.any(String) });
  expect(body.error.message.length).toBeGreaterThan(0);
  expect(body.error.requestId).toBe(res.headers['x-request-id']);
  expect(res.body).not.toMatch(/\bat .+:\d+:\d+|node_modules|kysely|sqlite|\bpg\b/i);
  return body.error;
}

describe('the route registry', () => {
  it('is non-trivial and lists every guarded route once', () => {
    const rules = collected.rules;
    expect(rules.length).toBeGreaterThanOrEqual(25);
    expect(rules).toContainEqual({ method: 'GET', url: '/api/v1/users', auth: 'admin', websocket: false });
    expect(rules).toContainEqual({ method: 'PUT', url: '/api/v1/settings', auth: 'admin', websocket: false });
    expect(rules).toContainEqual({ method: 'GET', url: '/api/v1/auth/me', auth: 'viewer', websocket: false });
    expect(rules).toContainEqual({ method: 'POST', url: '/api/v1/auth/login', auth: 'public', websocket: false });
    expect(rules).toContainEqual({ method: 'GET', url: '/ws', auth: 'viewer', websocket: true });
    expect(rules.some((r) => r.method === 'HEAD')).toBe(false);
    expect(new Set(rules.map(ruleName)).size).toBe(rules.length);
    for (const rule of rules) {
      expect(rule.url).toMatch(/^\/(api|ws)(\/|$)/);
      expect(['public', ...ROLES]).toContain(rule.auth);
    }
    // Public routes are the few that must be: login, health probes and the API description.
    expect(rules.filter((r) => r.auth === 'public').map(ruleName).sort()).toEqual(
      ['GET /api/v1/health', 'GET /api/v1/openapi.json', 'GET /api/v1/ready', 'POST /api/v1/auth/login'].sort(),
    );
  });

  describe('registerAuth on a bare Fastify instance', () => {
    const viewer: Principal = {
      userId: 'u1',
      username: 'stub',
      role: 'viewer',
      kind: 'session',
      credentialId: 's1',
      expiresAt: null,
    };
    const stubAuth = {
      authenticate: async (token: string): Promise<Principal> => {
        if (token !== 'good') throw new UnauthorizedError('invalid token');
        return viewer;
      },
    };

    it('refuses to register a guarded route without config.auth', async () => {
      const registry: RouteRule[] = [];
      const app = Fastify({ logger: false });
      registerAuth(app, stubAuth, registry);
      expect(() => app.get('/api/v1/sneaky', async () => ({ ok: true }))).toThrow(/declares no auth rule/);
      expect(() => app.post('/ws/sneaky', async () => ({ ok: true }))).toThrow(/declares no auth rule/);
      expect(() => app.route({ method: ['GET', 'POST'], url: '/api', handler: async () => 'x' })).toThrow(/declares no auth rule/);
      expect(() => app.get('/api/v1/empty-config', { config: {} }, async () => 'x')).toThrow(/declares no auth rule/);
      // Outside /api and /ws (the UI, /docs) no rule is needed.
      expect(() => app.get('/docs/x', async () => 'x')).not.toThrow();
      await app.close();
    });

    it('refuses one inside a prefixed plugin too (the way every module registers)', async () => {
      const app = Fastify({ logger: false });
      registerAuth(app, stubAuth, []);
      const boot = async () => {
        await app.register(
          async (child) => {
            child.get('/things', async () => []);
          },
          { prefix: '/api/v1' },
        );
        await app.ready();
      };
      await expect(boot()).rejects.toThrow(/GET \/api\/v1\/things declares no auth rule/);
      await app.close().catch(() => undefined);
    });

    it('records declared routes (HEAD excluded) and enforces them', async () => {
      const registry: RouteRule[] = [];
      const app = Fastify({ logger: false });
      registerErrorHandling(app);
      registerRequestLog(app);
      registerAuth(app, stubAuth, registry);
      app.get('/api/v1/open', { config: { auth: 'public' } }, async () => ({ ok: true }));
      app.get('/api/v1/read', { config: { auth: 'viewer' } }, async () => ({ ok: true }));
      app.delete('/api/v1/admin-only/:id', { config: { auth: 'admin' } }, async () => ({ ok: true }));
      await app.ready();
      expect(registry).toEqual([
        { method: 'GET', url: '/api/v1/open', auth: 'public', websocket: false },
        { method: 'GET', url: '/api/v1/read', auth: 'viewer', websocket: false },
        { method: 'DELETE', url: '/api/v1/admin-only/:id', auth: 'admin', websocket: false },
      ]);
      expect((await app.inject({ method: 'GET', url: '/api/v1/open' })).statusCode).toBe(200);
      expectEnvelope(await app.inject({ method: 'GET', url: '/api/v1/read' }), 401, 'UNAUTHORIZED');
      expect((await app.inject({ method: 'HEAD', url: '/api/v1/read' })).statusCode).toBe(401);
      expect((await app.inject({ method: 'GET', url: '/api/v1/read', headers: { authorization: 'Bearer bad' } })).statusCode).toBe(401);
      expect((await app.inject({ method: 'GET', url: '/api/v1/read', headers: { authorization: 'Bearer good' } })).statusCode).toBe(200);
      expectEnvelope(await app.inject({ method: 'DELETE', url: '/api/v1/admin-only/1', headers: { authorization: 'Bearer good' } }), 403, 'FORBIDDEN');
      await app.close();
    });
  });
});

describe.each(testDatabases)('auth matrix on $name', (database) => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp(database);
  });
  afterAll(async () => {
    await t?.close();
  });

  /** A fresh session per call that may get through: a call may legitimately end it (logout). */
  const freshToken = (role: Role) => login(t.app, `${role}1`);
  const freshHeaders = async (role: Role) => ({ authorization: `Bearer ${await freshToken(role)}` });

  it('registers exactly the routes the matrix was generated from', () => {
    expect(t.routeRules.map(ruleName).sort()).toEqual(collected.rules.map(ruleName).sort());
  });

  it.each(guarded)('$method $url ($auth): anonymous and forged callers get 401', async (rule) => {
    const method = rule.method as Method;
    const url = fillParams(rule.url);

    const error = expectEnvelope(await t.app.inject({ method, url }), 401, 'UNAUTHORIZED');
    expect(error.message).toMatch(/authentication required/);

    for (const authorization of ['Bearer pbf_forged', 'Bearer not.a.jwt', `Bearer ${t.tokens.admin}x`, 'Basic YWRtaW46YWRtaW4=', 'Bearer']) {
      expectEnvelope(await t.app.inject({ method, url, headers: { authorization } }), 401, 'UNAUTHORIZED');
    }

    // The browser session cookie: a forged or tampered one is no better than a forged token.
    for (const cookie of ['pbfleet_session=not.a.jwt', `pbfleet_session=${t.tokens.admin}x`]) {
      const headers = { cookie, origin: 'http://localhost:80', 'x-pbfleet-csrf': '1' };
      expectEnvelope(await t.app.inject({ method, url, headers }), 401, 'UNAUTHORIZED');
    }

    if (method === 'GET') {
      // Fastify adds HEAD for every GET; it must not be a way around the rule.
      expect((await t.app.inject({ method: 'HEAD', url })).statusCode).toBe(401);
    }

    if (!acceptsQueryToken(rule)) {
      // ?token= is only for WebSocket/EventSource routes; elsewhere it is ignored.
      const sep = url.includes('?') ? '&' : '?';
      expectEnvelope(await t.app.inject({ method, url: `${url}${sep}token=${await freshToken('admin')}` }), 401, 'UNAUTHORIZED');
    }
  });

  it.each(guarded)('$method $url ($auth): every role below gets 403, every role at or above gets through', async (rule) => {
    const method = rule.method as Method;
    const url = fillParams(rule.url);
    const required = rule.auth as Role;

    for (const role of rolesBelow(required)) {
      const error = expectEnvelope(await t.app.inject({ method, url, headers: t.auth(role) }), 403, 'FORBIDDEN');
      expect(error.message).toContain(required);
    }

    for (const role of ROLES.filter((r) => roleAllows(r, required))) {
      const res = await t.app.inject({ method, url, headers: await freshHeaders(role) });
      expect([401, 403], `${role} on ${ruleName(rule)}: ${res.statusCode} ${res.body}`).not.toContain(res.statusCode);
      expect(res.statusCode, res.body).toBeLessThan(500);
    }
  });

  const streaming = guarded.filter((r) => acceptsQueryToken(r) && !r.websocket);
  it.runIf(streaming.length > 0).each(streaming)('$method $url: a ?token= query token authenticates it', async (rule) => {
    const url = fillParams(rule.url);
    expectEnvelope(await t.app.inject({ method: rule.method as Method, url: `${url}?token=pbf_forged` }), 401, 'UNAUTHORIZED');
    const res = await t.app.inject({ method: rule.method as Method, url: `${url}?token=${t.tokens.viewer}` });
    expect([401, 403]).not.toContain(res.statusCode);
  });

  const websockets = guarded.filter((r) => r.websocket);
  it('has WebSocket routes to check', () => {
    expect(websockets.length).toBeGreaterThanOrEqual(1);
  });

  it.each(websockets)('$url ($auth): a real upgrade is refused without a token and below the rule, accepted at it', async (rule) => {
    const url = fillParams(rule.url);
    const required = rule.auth as Role;
    await expect(t.app.injectWS(url, {})).rejects.toThrow(/Unexpected server response: 401/);
    await expect(t.app.injectWS(url, { headers: { authorization: 'Bearer pbf_forged' } })).rejects.toThrow(/401/);
    await expect(t.app.injectWS(`${url}?token=pbf_forged`, {})).rejects.toThrow(/401/);
    for (const role of rolesBelow(required)) {
      await expect(t.app.injectWS(url, { headers: t.auth(role) })).rejects.toThrow(/Unexpected server response: 403/);
    }

    const upgrades: Record<string, { path: string; headers: Record<string, string> }> = {
      header: { path: url, headers: t.auth(required) },
      query: { path: `${url}?token=${t.tokens[required]}`, headers: {} },
      subprotocol: { path: url, headers: { 'sec-websocket-protocol': `pbfleet, bearer.${t.tokens[required]}` } },
    };
    for (const [how, { path, headers }] of Object.entries(upgrades)) {
      let welcome: Promise<string> | undefined;
      const socket = await t.app.injectWS(path, { headers }, {
        onInit: (ws) => {
          welcome = new Promise((resolve) => ws.once('message', (data: Buffer) => resolve(data.toString('utf8'))));
        },
      });
      try {
        const message = JSON.parse(await (welcome as Promise<string>)) as { type: string; payload: { role: string } };
        expect(message, how).toMatchObject({ type: 'welcome', payload: { role: required } });
      } finally {
        socket.terminate();
      }
    }
  });
});

describe('the OpenAPI document', () => {
  const doc = collected.doc;
  const documented = collected.rules.filter((r) => r.url.startsWith('/api/v1/'));

  it('is public, declares bearer auth and documents itself', () => {
    expect(documented.length).toBeGreaterThanOrEqual(20);
    expect(doc.components?.securitySchemes?.bearer).toMatchObject({ type: 'http', scheme: 'bearer' });
    expect(doc.paths[OPENAPI_URL]?.get?.security).toEqual([]);
    // Every documented operation is a registered route (nothing stale or invented).
    const registered = new Set(collected.rules.map((r) => `${r.method.toLowerCase()} ${toOpenApiPath(r.url)}`));
    for (const [path, ops] of Object.entries(doc.paths)) {
      for (const method of Object.keys(ops)) expect(registered, `${method} ${path}`).toContain(`${method} ${path}`);
    }
  });

  it.each(documented)('$method $url is documented with tags, 2xx and 4xx responses and its security', (rule) => {
    const op = doc.paths[toOpenApiPath(rule.url)]?.[rule.method.toLowerCase()];
    expect(op, `${ruleName(rule)} missing from ${OPENAPI_URL}`).toBeDefined();
    const operation = op as OpenApiOperation;
    expect(operation.tags?.length).toBeGreaterThan(0);

    const codes = Object.keys(operation.responses ?? {});
    const ok = codes.filter((c) => /^2\d\d$/.test(c));
    expect(ok.length, `${ruleName(rule)} responses ${codes.join(',')}`).toBeGreaterThan(0);
    expect(codes.some((c) => /^4(XX|\d\d)$/i.test(c)), `${ruleName(rule)} has no 4xx response`).toBe(true);
    // JSON, or what a stream really is (text/event-stream, text/plain, text/csv).
    for (const code of ok) {
      const media = Object.values(operation.responses?.[code]?.content ?? {});
      expect(media.length, `${ruleName(rule)} ${code} media types`).toBeGreaterThan(0);
      for (const { schema } of media) expect(schema, `${ruleName(rule)} ${code} schema`).toBeDefined();
    }
    const clientError = codes.find((c) => /^4/.test(c)) as string;
    const errorSchema = operation.responses?.[clientError]?.content?.['application/json']?.schema as { $ref?: string } | undefined;
    const envelope = errorSchema?.$ref === '#/components/schemas/ErrorEnvelope' ? doc.components?.schemas?.ErrorEnvelope : errorSchema;
    expect(JSON.stringify(envelope)).toContain('requestId');

    if (rule.auth === 'public') expect(operation.security).toEqual([]);
    else expect(operation.security).toEqual([{ bearer: [] }]);
  });
});
