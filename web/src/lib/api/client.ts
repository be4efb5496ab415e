/**
 * The typed API client: generated paths (schema.d.ts) over openapi-fetch. Every mutation
 * carries the CSRF header the cookie session needs; a 401 on a signed-in page ends the
 * session on the client too and goes to sign-in.
 */
import createClient, { type Middleware } from 'openapi-fetch';
import type { paths } from './schema';

export interface FieldError {
  field: string;
  message: string;
}

interface ErrorEnvelope {
  error?: { code?: string; message?: string; requestId?: string; details?: { fields?: FieldError[] } };
}

export class ApiError extends Error {
  readonly status: number;
  readonly code: string;
  readonly fields: FieldError[];
  readonly retryAfter?: number;
  readonly requestId?: string;

  constructor(status: number, body: unknown, headers?: Headers, cause?: unknown) {
    const envelope = (typeof body === 'object' && body !== null ? body : {}) as ErrorEnvelope;
    const error = envelope.error ?? {};
    super(error.message ?? `request failed (${status})`, cause === undefined ? undefined : { cause });
    this.name = 'ApiError';
    this.status = status;
    this.code = error.code ?? (status === 0 ? 'NETWORK_ERROR' : 'HTTP_ERROR');
    this.fields = Array.isArray(error.details?.fields) ? error.details.fields : [];
    const retry = Number(headers?.get('retry-after'));
    if (headers?.has('retry-after') && Number.isFinite(retry)) this.retryAfter = retry;
    if (error.requestId) this.requestId = error.requestId;
  }
}

const SIGNED_IN_KEY = 'pbfleet.signedIn';
/** Whether this browser had a session: a 401 then means it expired, not that nobody signed in. */
export const signedInMark = {
  set: () => localStorage.setItem(SIGNED_IN_KEY, '1'),
  clear: () => localStorage.removeItem(SIGNED_IN_KEY),
  get: () => localStorage.getItem(SIGNED_IN_KEY) === '1',
};

type UnauthorizedHandler = () => void;
let onUnauthorized: UnauthorizedHandler = () => {
  window.location.assign('/sign-in?reason=expired');
};
/** The app sets this to a router navigation (main.tsx); the default reloads to sign-in. */
export function setUnauthorizedHandler(handler: UnauthorizedHandler): void {
  onUnauthorized = handler;
}

/** Ends the client side of a session the server no longer accepts. */
export function sessionEnded(): void {
  if (!signedInMark.get()) return;
  signedInMark.clear();
  onUnauthorized();
}

const UNGUARDED = ['/api/v1/auth/login', '/api/v1/auth/me', '/api/v1/auth/logout'];

const session: Middleware = {
  onRequest({ request }) {
    if (request.method !== 'GET' && request.method !== 'HEAD') request.headers.set('X-PBFleet-CSRF', '1');
    return request;
  },
  onResponse({ request, response }) {
    const path = new URL(request.url).pathname;
    if (response.status === 401 && !UNGUARDED.includes(path)) sessionEnded();
    return response;
  },
};

export const api = createClient<paths>({ baseUrl: '', credentials: 'same-origin' });
api.use(session);

/** The data of an openapi-fetch call, or an ApiError with the server's message and fields. */
export async function unwrap<T>(p: Promise<{ data?: T; error?: unknown; response: Response }>): Promise<T> {
  let result: { data?: T; error?: unknown; response: Response };
  try {
    result = await p;
  } catch (cause) {
    throw new ApiError(0, { error: { code: 'NETWORK_ERROR', message: 'the server cannot be reached' } }, undefined, cause);
  }
  const { data, error, response } = result;
  if (!response.ok || error !== undefined) throw new ApiError(response.status, error, response.headers);
  return data as T;
}

/** Field path (without `body.`) -> message, for Mantine's form.setErrors. */
export function fieldErrors(err: unknown): Record<string, string> {
  if (!(err instanceof ApiError)) return {};
  const out: Record<string, string> = {};
  for (const { field, message } of err.fields) {
    const path = field.replace(/^body\./, '');
    out[path] ??= message;
  }
  return out;
}
