import type { FastifyInstance, FastifyRequest } from 'fastify';
import { ForbiddenError, UnauthorizedError } from '../lib/errors.js';
import { roleAllows, type Role } from '../lib/roles.js';
import type { AuthService } from '../modules/auth/auth.service.js';
import type { Actor, Principal } from '../modules/auth/auth.types.js';

/** Every route under /api and /ws declares one: who may call it. */
export type AuthRule = 'public' | Role;

export interface RouteRule {
  method: string;
  url: string;
  auth: AuthRule;
  websocket: boolean;
}

declare module 'fastify' {
  interface FastifyContextConfig {
    auth?: AuthRule;
    /** Browsers cannot set headers on WebSocket/EventSource: allow `?token=` there only. */
    allowQueryToken?: boolean;
  }
  interface FastifyRequest {
    principal: Principal | null;
  }
}

const GUARDED = /^\/(api|ws)(\/|$)/;

/**
 * Declares and enforces auth rules. A guarded route without a rule fails at registration, so
 * no route can be added without one; the registry feeds the generated auth-matrix test.
 */
export function registerAuth(app: FastifyInstance, auth: Pick<AuthService, 'authenticate'>, registry: RouteRule[]): void {
  app.decorateRequest('principal', null);

  app.addHook('onRoute', (route) => {
    if (!GUARDED.test(route.url)) return;
    const rule = route.config?.auth;
    if (!rule) throw new Error(`route ${String(route.method)} ${route.url} declares no auth rule (config.auth)`);
    const websocket = Boolean((route as { websocket?: boolean }).websocket);
    for (const method of [route.method].flat()) {
      if (method !== 'HEAD') registry.push({ method, url: route.url, auth: rule, websocket });
    }
    if (rule !== 'public' && route.schema) {
      route.schema = { ...route.schema, security: [{ bearer: [] }] };
    }
  });

  app.addHook('onRequest', async (request) => {
    const rule = request.routeOptions.config.auth;
    if (!rule || rule === 'public') return;
    const token = bearerToken(request);
    if (!token) throw new UnauthorizedError('authentication required: send Authorization: Bearer <token>');
    const principal = await auth.authenticate(token);
    request.principal = principal;
    if (!roleAllows(principal.role, rule)) throw new ForbiddenError(`this needs the ${rule} role; you are ${principal.role}`);
  });
}

function bearerToken(request: FastifyRequest): string | undefined {
  const header = request.headers.authorization;
  if (header) {
    const match = /^Bearer\s+(\S+)$/i.exec(header);
    return match?.[1];
  }
  if (!request.routeOptions.config.allowQueryToken) return undefined;
  const protocols = request.headers['sec-websocket-protocol'];
  if (protocols) {
    const entry = protocols.split(',').map((p) => p.trim()).find((p) => p.startsWith('bearer.'));
    if (entry) return entry.slice('bearer.'.length);
  }
  const query = request.query as Record<string, unknown> | undefined;
  return typeof query?.token === 'string' && query.token ? query.token : undefined;
}

/** The authenticated caller; routes with a non-public rule always have one. */
export function principalOf(request: FastifyRequest): Principal {
  if (!request.principal) throw new UnauthorizedError();
  return request.principal;
}

export function actorOf(request: FastifyRequest): Actor {
  return {
    userId: request.principal?.userId ?? null,
    username: request.principal?.username ?? null,
    ip: request.ip,
    requestId: String(request.id),
  };
}
