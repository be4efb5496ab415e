import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { AppError, RateLimitedError, STATUS_BY_CODE, type ErrorCode } from '../lib/errors.js';
import { describeValidation } from './validation.js';

interface Envelope {
  error: { code: ErrorCode; message: string; details?: unknown; requestId: string };
}

/** Fastify's own errors that are the client's fault, and what the client is told. */
const FRAMEWORK_ERRORS: Record<string, { code: ErrorCode; message: string }> = {
  FST_ERR_CTP_BODY_TOO_LARGE: { code: 'PAYLOAD_TOO_LARGE', message: 'request body is too large' },
  FST_ERR_CTP_INVALID_MEDIA_TYPE: { code: 'UNSUPPORTED_MEDIA_TYPE', message: 'unsupported content type; send application/json' },
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: { code: 'VALIDATION_ERROR', message: 'content-length does not match the body' },
  FST_ERR_CTP_EMPTY_JSON_BODY: { code: 'VALIDATION_ERROR', message: 'body: must be a JSON document, got an empty body' },
  FST_ERR_CTP_INVALID_JSON_BODY: { code: 'VALIDATION_ERROR', message: 'body: is not valid JSON' },
};

/**
 * One envelope for every error. AppErrors carry their code; validation and framework errors
 * are translated; anything else is a 500 whose cause is logged with the request id and never
 * shown to the client.
 */
export function registerErrorHandling(app: FastifyInstance): void {
  app.setErrorHandler((error: FastifyError, request, reply) => {
    const requestId = String(request.id);
    let envelope: Envelope;
    if (error instanceof AppError) {
      envelope = { error: { code: error.code, message: error.message, details: error.details, requestId } };
      if (error instanceof RateLimitedError) void reply.header('retry-after', String(error.retryAfterSeconds));
    } else if (error.validation) {
      const { issues, message } = describeValidation(error.validation, error.validationContext);
      const where = error.validationContext ?? 'request';
      envelope = { error: { code: 'VALIDATION_ERROR', message: message || 'request is invalid', details: { in: where, fields: issues }, requestId } };
    } else if (error.code && FRAMEWORK_ERRORS[error.code]) {
      const known = FRAMEWORK_ERRORS[error.code] as { code: ErrorCode; message: string };
      envelope = { error: { ...known, requestId } };
    } else if (error instanceof SyntaxError || (error.statusCode === 400 && /JSON|prototype|constructor/i.test(error.message))) {
      envelope = { error: { code: 'VALIDATION_ERROR', message: 'body: is not valid JSON', requestId } };
    } else if (error.statusCode && error.statusCode >= 400 && error.statusCode < 500) {
      request.log.info({ err: error }, 'client error from framework');
      envelope = { error: { code: error.statusCode === 413 ? 'PAYLOAD_TOO_LARGE' : 'VALIDATION_ERROR', message: 'request is invalid', requestId } };
    } else {
      request.log.error({ err: error, requestId }, 'unhandled error');
      envelope = { error: { code: 'INTERNAL_ERROR', message: 'internal error; quote the request id when reporting it', requestId } };
    }
    return reply.status(STATUS_BY_CODE[envelope.error.code]).send(envelope);
  });

  app.setNotFoundHandler((request, reply) =>
    reply.status(404).send({
      error: { code: 'NOT_FOUND', message: `route ${request.method} ${request.url.split('?')[0] ?? ''} not found`, requestId: String(request.id) },
    } satisfies Envelope),
  );
}

/**
 * Fastify's `frameworkErrors` option: errors raised before routing (a malformed percent-encoding,
 * a path parameter over maxParamLength) bypass the error handler and would otherwise answer
 * with Fastify's own body. They get the envelope too.
 */
export function frameworkErrors(error: FastifyError, request: FastifyRequest, reply: FastifyReply): void {
  const requestId = String(request.id);
  let envelope: Envelope;
  if (error.code === 'FST_ERR_BAD_URL') {
    envelope = { error: { code: 'VALIDATION_ERROR', message: 'url: is not a valid URL (bad percent-encoding)', requestId } };
  } else if (error.code === 'FST_ERR_MAX_PARAM_LENGTH') {
    envelope = { error: { code: 'VALIDATION_ERROR', message: 'url: a path parameter is too long', requestId } };
  } else {
    request.log.error({ err: error, requestId }, 'unhandled framework error');
    envelope = { error: { code: 'INTERNAL_ERROR', message: 'internal error; quote the request id when reporting it', requestId } };
  }
  // No route, so no onSend hooks: set the request id header request-log.ts would have set.
  void reply.status(STATUS_BY_CODE[envelope.error.code]).header('x-request-id', requestId).send(envelope);
}
