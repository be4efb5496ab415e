import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import Type from 'typebox';
import { responses } from '../../http/schemas.js';
import { AppError } from '../../lib/errors.js';

const tags = ['system'];

export const systemRoutes: FastifyPluginAsyncTypebox<{ version: string; startedAt: number; ping: () => Promise<void>; dialect: string }> = async (
  app,
  { version, startedAt, ping, dialect },
) => {
  app.get(
    '/health',
    {
      config: { auth: 'public' },
      schema: {
        operationId: 'getHealth',
        tags,
        summary: 'Liveness: the process answers',
        response: responses({ 200: Type.Object({ status: Type.Literal('ok'), version: Type.String(), uptimeSeconds: Type.Number() }) }),
      },
    },
    async () => ({ status: 'ok' as const, version, uptimeSeconds: Math.round((Date.now() - startedAt) / 100) / 10 }),
  );

  app.get(
    '/ready',
    {
      config: { auth: 'public' },
      schema: {
        operationId: 'getReadiness',
        tags,
        summary: 'Readiness: the database answers',
        response: responses({ 200: Type.Object({ status: Type.Literal('ready'), database: Type.String() }) }),
      },
    },
    async () => {
      try {
        await ping();
      } catch (error) {
        throw new AppError('SERVICE_UNAVAILABLE', 'database is not reachable', undefined, { cause: error });
      }
      return { status: 'ready' as const, database: dialect };
    },
  );

  app.get(
    '/openapi.json',
    {
      config: { auth: 'public' },
      schema: {
        operationId: 'getOpenApiDocument',
        tags,
        summary: 'This API as an OpenAPI 3.0 document (what the web UI\'s typed client is generated from)',
        response: responses({
          200: Type.Object(
            {
              openapi: Type.String(),
              info: Type.Object({ title: Type.String(), version: Type.String() }, { additionalProperties: true }),
              paths: Type.Record(Type.String(), Type.Unknown()),
            },
            { additionalProperties: true, description: 'An OpenAPI 3.0 document' },
          ),
        }),
      },
    },
    // app.swagger() is typed for Swagger 2 as well; this app only registers OpenAPI 3.
    async () => app.swagger() as unknown as { openapi: string; info: { title: string; version: string }; paths: Record<string, unknown> },
  );
};
