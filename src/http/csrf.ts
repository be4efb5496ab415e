import type { FastifyRequest } from 'fastify';
import { ForbiddenError } from '../lib/errors.js';

/** The header the web app sends on every mutation; a cross-site form or image cannot set it. */
export const CSRF_HEADER = 'x-pbfleet-csrf';

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);
export const isUnsafeMethod = (method: string) => !SAFE_METHODS.has(method.toUpperCase());

/** scheme://host[:port] as the browser sees this server (X-Forwarded-* count only with server.trustProxy). */
export const ownOrigin = (request: FastifyRequest) => originOf(`${request.protocol}://${request.host}`);

/** Normalised (a default port dropped, as browsers do in Origin). */
function originOf(url: string): string | undefined {
  try {
    return new URL(url).origin;
  } catch {
    return undefined;
  }
}

/**
 * Whether the page that sent this request is ours: its Origin (or, when a browser leaves Origin
 * out, its Referer) is this server or one of allowOrigins. A `*` in allowOrigins opens CORS to
 * bearer-token scripts; it never vouches for a cookie.
 */
export function sameSiteRequest(request: FastifyRequest, allowOrigins: readonly string[]): boolean {
  const origin = request.headers.origin ?? (request.headers.referer ? originOf(request.headers.referer) : undefined);
  if (!origin || origin === 'null') return false;
  return originOf(origin) === ownOrigin(request) || allowOrigins.includes(origin);
}

/**
 * A request a browser authenticates by its cookie must show it comes from our page: the
 * `X-PBFleet-CSRF: 1` header and a same-origin Origin. Bearer tokens never need this.
 */
export function assertNotCrossSite(request: FastifyRequest, allowOrigins: readonly string[]): void {
  if (request.headers[CSRF_HEADER] !== '1' || !sameSiteRequest(request, allowOrigins)) throw new ForbiddenError('cross-site request refused');
}
