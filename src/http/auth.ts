import type { FastifyInstance, FastifyRequest } from 'fastify';
import { ForbiddenError, UnauthorizedError } from '../lib/errors.js';
import { roleAllows, type Role } from '../lib/roles.js';
import { assertNotCrossSite, isUnsafeMethod, sameSiteRequest } from './csrf.js';
import { clearSessionCookie, sessionCookie } from './session-cookie.js';
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

export interface AuthOptions {
  /** Origins besides the server's own whose pages may use the session cookie (config allowOrigins). */
  allowOrigins?: readonly string[];
}

/**
 * Declares and enforces auth rules. A guarded route without a rule fails at registration, so
 * no route can be added without one; the registry feeds the generated auth-matrix test.
 */
export function registerAuth(app: FastifyInstance, auth: Pick<AuthService, 'authenticate'>, registry: RouteRule[], options: AuthOptions = {}): void {
  const allowOrigins = options.allowOrigins ?? [];
  app.decorateRequest('principal', null);

  app.addHook('onRoute', (route) => {
    if (!GUARDED.test(route.url)) return;
    const rule = route.config?.auth;
    if (!rule) throw new Error(`route ${String(route.method)} ${route.url} declares no auth rule (config.auth)`);
    const websocket = Boolean((route as { websocket?: boolean }).websocket);
    for (const method of [route.method].flat()) {
      if (method !== 'HEAD') registry.push({ method, url: route.url, auth: rule, websocket });
    }
    // The OpenAPI document says which routes need a token; `[]` marks a public one explicitly.
    if (route.schema) route.schema = { ...route.schema, security: rule === 'public' ? [] : [{ bearer: [] }] };
  });

  app.addHook('onRequest', async (request, reply) => {
    const rule = request.routeOptions.config.auth;
    if (!rule || rule === 'public') return;
    const credential = credentialOf(request);
    if (!credential) throw new UnauthorizedError('authentication required: send Authorization: Bearer <token>');
    if (credential.via === 'cookie') {
      // A browser sends the cookie whatever page made the request: only our own page may use it.
      if (isUnsafeMethod(request.method)) assertNotCrossSite(request, allowOrigins);
      else if (request.ws && !sameSiteRequest(request, allowOrigins)) throw new ForbiddenError('cross-site request refused');
    }
    const principal = await auth.authenticate(credential.token).catch((error: unknown) => {
      // An ended session: the browser drops its cookie and the page goes back to sign-in.
      if (credential.via === 'cookie' && error instanceof UnauthorizedError) clearSessionCookie(reply, request);
      throw error;
    });
    request.principal = principal;
    if (!roleAllows(principal.role, rule)) throw new ForbiddenError(`this needs the ${rule} role; you are ${principal.role}`);
  });
}

/** Authorization: Bearer first; else the browser's session cookie; else, where allowed, a token in the URL or subprotocol. */
function credentialOf(request: FastifyRequest): { token: string; via: 'bearer' | 'cookie' } | undefined {
  const header = request.headers.authorization;
  if (header) {
    const match = /^Bearer\s+(\S+)$/i.exec(header);
    return match?.[1] ? { token: match[1], via: 'bearer' } : undefined;
  }
  const cookie = sessionCookie(request);
  if (cookie) return { token: cookie, via: 'cookie' };
  const token = bearerToken(request);
  return token ? { token, via: 'bearer' } : undefined;
}

function bearerToken(request: FastifyRequest): string | undefined {
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
