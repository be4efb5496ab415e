import type { DataVersion } from '../../http/response-cache.js';
import { API_PREFIX, type Api, type Core } from '../core.js';
import { createAuditRepo } from './audit.repo.js';
import { auditRoutes } from './audit.routes.js';
import { createAuditService } from './audit.service.js';

/** The audit log: every module records into it; entries past retention are purged in the background. */
export function createAuditModule(deps: Pick<Core, 'config' | 'db' | 'clock' | 'log' | 'hub' | 'lifecycle' | 'listCache'> & { dataVersion: DataVersion }) {
  const { config, clock, log, lifecycle, listCache } = deps;
  const audit = createAuditService({ auditRepo: createAuditRepo(deps.db), publisher: deps.hub, clock, retentionDays: config.audit.retentionDays, dataVersion: deps.dataVersion });
  lifecycle.every('audit-purge', config.audit.purgeIntervalMs, async () => {
    const purged = await audit.purge();
    if (purged > 0) log.info({ purged }, 'audit entries past retention deleted');
  });

  return {
    service: audit,
    routes: async (api: Api) => {
      await api.register(auditRoutes, { prefix: API_PREFIX, audit, cache: listCache });
    },
  };
}
