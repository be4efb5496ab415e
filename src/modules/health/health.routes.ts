import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import Type, { type Static } from 'typebox';
import { IdParams, responses } from '../../http/schemas.js';
import { NotFoundError } from '../../lib/errors.js';
import { HealthHistoryQuery, HealthHistorySchema } from './health.schemas.js';
import type { HealthHistoryService } from './health.service.js';

const tags = ['environments'];

export interface HealthRoutesOptions {
  history: Pick<HealthHistoryService, 'history'>;
  exists: (id: string) => Promise<boolean>;
  /** Scheduler and recorder figures, for operators watching a large fleet. */
  stats: () => Static<typeof HealthStats>;
}

const Lateness = Type.Object({ p50: Type.Number(), p99: Type.Number(), max: Type.Number() });
const HealthStats = Type.Object({
  scheduler: Type.Object({ scheduled: Type.Integer(), running: Type.Integer(), queued: Type.Integer(), checksDone: Type.Integer(), latenessMs: Lateness }),
  recorder: Type.Record(Type.String(), Type.Unknown()),
});

export const healthRoutes: FastifyPluginAsyncTypebox<HealthRoutesOptions> = async (app, { history, exists, stats }) => {
  app.get(
    '/health-checks/stats',
    {
      config: { auth: 'admin' },
      schema: { operationId: 'getHealthCheckStats', tags, summary: 'Health scheduler load: checks queued and running, how late checks start', response: responses({ 200: HealthStats }) },
    },
    async () => stats(),
  );

  app.get(
    '/environments/:id/health/history',
    {
      config: { auth: 'viewer' },
      schema: {
        operationId: 'getEnvironmentHealthHistory',
        tags,
        summary: 'Health checks and hourly uptime of an environment',
        params: IdParams,
        querystring: HealthHistoryQuery,
        response: responses({ 200: HealthHistorySchema }),
      },
    },
    async (request) => {
      const { id } = request.params;
      if (!(await exists(id))) throw new NotFoundError('environment', id);
      return history.history(id, request.query);
    },
  );
};
