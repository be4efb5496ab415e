import { parseCookie, stringifySetCookie } from 'cookie';
import type { FastifyReply, FastifyRequest } from 'fastify';

/** The browser session: the session JWT in an HttpOnly cookie, so page scripts never hold it. */
export const SESSION_COOKIE = 'pbfleet_session';

/** The session JWT the browser sent, if any. */
export function sessionCookie(request: FastifyRequest): string | undefined {
  const header = request.headers.cookie;
  if (!header) return undefined;
  const value = parseCookie(header)[SESSION_COOKIE];
  return value || undefined;
}

/**
 * HTTPS directly, or per X-Forwarded-Proto when server.trustProxy says the proxy is believed
 * (Fastify's request.protocol reads the header only then).
 */
const isHttps = (request: FastifyRequest) => request.protocol === 'https';

const attributes = (request: FastifyRequest, maxAge: number) =>
  ({ httpOnly: true, sameSite: 'strict', path: '/', maxAge, secure: isHttps(request) }) as const;

export function setSessionCookie(reply: FastifyReply, request: FastifyRequest, token: string, maxAgeSeconds: number): void {
  void reply.header('set-cookie', stringifySetCookie(SESSION_COOKIE, token, attributes(request, Math.max(0, Math.floor(maxAgeSeconds)))));
}

export function clearSessionCookie(reply: FastifyReply, request: FastifyRequest): void {
  void reply.header('set-cookie', stringifySetCookie(SESSION_COOKIE, '', attributes(request, 0)));
}
