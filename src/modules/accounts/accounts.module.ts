import type { AuditService } from '../audit/audit.service.js';
import { API_PREFIX, type Api, type Core } from '../core.js';
import { createAccountsRepo } from './accounts.repo.js';
import { accountsRoutes } from './accounts.routes.js';
import { createAccountsService } from './accounts.service.js';

/** Exchange accounts: the api-keys.json entries, sealed at rest. Modules that write them to hosts follow changes with `accounts.onChange`. */
export function createAccountsModule({ db, secretBox, clock, log, audit }: Pick<Core, 'db' | 'secretBox' | 'clock' | 'log'> & { audit: Pick<AuditService, 'record'> }) {
  const accounts = createAccountsService({
    repo: createAccountsRepo(db),
    secretBox,
    audit,
    clock,
    onListenerError: (err, event) => log.error({ err, account: event.name }, 'account change listener failed'),
  });
  return {
    service: accounts,
    routes: async (api: Api) => {
      await api.register(accountsRoutes, { prefix: API_PREFIX, accounts });
    },
  };
}
