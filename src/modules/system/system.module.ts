import type { DatabaseHandle } from '../../db/database.js';
import { VERSION } from '../../version.js';
import { API_PREFIX, type Api } from '../core.js';
import { systemRoutes } from './system.routes.js';

/** Liveness, readiness and the OpenAPI document. */
export function createSystemModule({ database }: { database: Pick<DatabaseHandle, 'ping' | 'dialect'> }) {
  return {
    routes: async (api: Api) => {
      await api.register(systemRoutes, { prefix: API_PREFIX, version: VERSION, startedAt: Date.now(), ping: () => database.ping(), dialect: database.dialect });
    },
  };
}
