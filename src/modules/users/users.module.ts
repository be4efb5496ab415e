import type { PasswordHasher } from '../../lib/passwords.js';
import type { AuditService } from '../audit/audit.service.js';
import type { AuthService } from '../auth/auth.service.js';
import { API_PREFIX, type Api, type Core } from '../core.js';
import { createUsersRepo } from './users.repo.js';
import { usersRoutes } from './users.routes.js';
import { createUsersService } from './users.service.js';

export function createUsersModule(deps: Pick<Core, 'db' | 'clock' | 'listCache'> & { audit: Pick<AuditService, 'record'>; auth: Pick<AuthService, 'revokeUser' | 'forgetUser'>; hasher: PasswordHasher }) {
  const { db, clock, listCache, audit, auth, hasher } = deps;
  const users = createUsersService({ db, usersRepo: createUsersRepo(db), audit, auth, hasher, clock });
  return {
    service: users,
    routes: async (api: Api) => {
      await api.register(usersRoutes, { prefix: API_PREFIX, users, cache: listCache });
    },
  };
}
