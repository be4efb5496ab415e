import type { PasswordHasher } from '../../lib/passwords.js';
import type { AuditService } from '../audit/audit.service.js';
import { API_PREFIX, type Api, type Core } from '../core.js';
import { createUsersRepo } from '../users/users.repo.js';
import { authRoutes } from './auth.routes.js';
import { createAuthService } from './auth.service.js';
import { createCredentialsRepo } from './credentials.repo.js';

export interface AuthModuleDeps extends Pick<Core, 'config' | 'db' | 'clock' | 'log' | 'hub' | 'lifecycle'> {
  audit: Pick<AuditService, 'record'>;
  hasher: PasswordHasher;
  jwtSecret: Uint8Array;
}

/** Logins, sessions and API tokens; counts of refused logins are written when their window ends, and at shutdown. An ended credential closes its realtime connections at once, and the hub re-checks the rest in the background. */
export function createAuthModule({ config, db, clock, log, hub, lifecycle, audit, hasher, jwtSecret }: AuthModuleDeps) {
  const usersRepo = createUsersRepo(db);
  const auth = createAuthService({
    usersRepo,
    credentialsRepo: createCredentialsRepo(db),
    audit,
    hasher,
    clock,
    jwtSecret,
    jwtExpiryMs: config.jwt.expiryMs,
    loginMaxFailures: config.auth.loginMaxFailures,
    loginWindowMs: config.auth.loginWindowMs,
  });
  auth.onRevocation((revocation) => hub.revoke(revocation));
  lifecycle.every('hub-revalidate', config.hub.heartbeatIntervalMs, () => hub.revalidate(auth.endedCredentials)); // its own loop: a slow query never delays heartbeats
  lifecycle.every('session-purge', 3_600_000, () => auth.purgeExpiredSessions());
  lifecycle.every('login-throttle-prune', 60_000, () => auth.pruneThrottle(), {
    atStop: () => auth.flushRefusals().catch((err: unknown) => log.warn({ err }, 'counts of refused logins not audited')),
  });

  return {
    service: auth,
    routes: async (api: Api) => {
      await api.register(authRoutes, { prefix: API_PREFIX, auth, usersRepo, allowOrigins: config.allowOrigins });
    },
  };
}
