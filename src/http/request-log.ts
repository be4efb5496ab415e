import { randomUUID } from 'node:crypto';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { IncomingMessage } from 'node:http';

const SAFE_ID = /^[A-Za-z0-9._-]{1,64}$/;
const INFO_LEVELS = new Set(['info', 'debug', 'trace']);

/** Honours a caller's X-Request-Id when it is safe to echo, otherwise makes one. */
export function genReqId(request: IncomingMessage): string {
  const given = request.headers['x-request-id'];
  return typeof given === 'string' && SAFE_ID.test(given) ? given : randomUUID();
}

/** Paths can carry `?token=` (WebSocket, SSE): never log it. */
export function redactUrl(url: string): string {
  return url.replace(/([?&](?:token|access_token|api_key)=)[^&#]*/gi, '$1[redacted]');
}

/** One line per request: method, path, status, duration, request id. Headers are not logged. */
export function registerRequestLog(app: FastifyInstance): void {
  app.addHook('onSend', async (request, reply) => {
    void reply.header('x-request-id', String(request.id));
  });
  app.addHook('onResponse', async (request: FastifyRequest, reply) => {
    // Skip building the line when the configured level would drop it.
    if (!INFO_LEVELS.has(request.log.level)) return;
    request.log.info(
      {
        method: request.method,
        path: redactUrl(request.url),
        status: reply.statusCode,
        durationMs: Math.round(reply.elapsedTime * 100) / 100,
        requestId: request.id,
        user: request.principal?.username,
      },
      'request',
    );
  });
}
