import type { FastifyInstance } from 'fastify';

/**
 * Request bodies are JSON. Anything else is 415 UNSUPPORTED_MEDIA_TYPE (error-handler.ts), not a
 * confusing schema error. An empty body is no body, whatever its content type: clients that
 * always send `content-type: application/json` can DELETE or log out without a 400 "empty body".
 */
export function registerBodyParsing(app: FastifyInstance): void {
  app.removeContentTypeParser('text/plain');

  // Fastify hands a request with a content type to that type's parser even when no body follows.
  app.addHook('onRequest', async (request) => {
    const headers = request.raw.headers;
    if (headers['content-type'] === undefined || headers['transfer-encoding'] !== undefined) return;
    if (headers['content-length'] === undefined || headers['content-length'] === '0') delete headers['content-type'];
  });

  // A chunked body can still turn out empty: that is no body too. Otherwise Fastify's own parser
  // (prototype and constructor poisoning refused).
  const parseJson = app.getDefaultJsonParser('error', 'error');
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
    if (body.length === 0) done(null, undefined);
    else void parseJson(request, body.toString(), done); // calls done itself, returns nothing
  });
}
