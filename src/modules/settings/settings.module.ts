import type { AuditService } from '../audit/audit.service.js';
import { API_PREFIX, type Api, type Core } from '../core.js';
import { createSettingsRepo } from './settings.repo.js';
import { settingsRoutes } from './settings.routes.js';
import { createSettingsService } from './settings.service.js';

export function createSettingsModule({ db, secretBox, clock, audit }: Pick<Core, 'db' | 'secretBox' | 'clock'> & { audit: Pick<AuditService, 'record'> }) {
  const settings = createSettingsService({ db, settingsRepo: createSettingsRepo(db), secretBox, audit, clock });
  return {
    service: settings,
    routes: async (api: Api) => {
      await api.register(settingsRoutes, { prefix: API_PREFIX, settings });
    },
  };
}
