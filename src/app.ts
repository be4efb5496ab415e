import cors from '@fastify/cors';
import helmet from '@fastify/helmet';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import websocket from '@fastify/websocket';
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance, type FastifyServerOptions } from 'fastify';
import type { AppConfig } from './config/config.js';
import type { DatabaseHandle } from './db/database.js';
import { registerAuth, type RouteRule } from './http/auth.js';
import { frameworkErrors, registerErrorHandling } from './http/error-handler.js';
import { genReqId, registerRequestLog } from './http/request-log.js';
import { ErrorEnvelope } from './http/schemas.js';
import { validatorCompiler } from './http/validation.js';
import { systemClock, type Clock } from './lib/clock.js';
import { Loops } from './lib/loops.js';
import { argon2Hasher, type PasswordHasher } from './lib/passwords.js';
import { createSecretBox } from './lib/secret-box.js';
import type { ServerSecrets } from './lib/secret-files.js';
import { createAuditRepo } from './modules/audit/audit.repo.js';
import { auditRoutes } from './modules/audit/audit.routes.js';
import { createAuditService } from './modules/audit/audit.service.js';
import { authRoutes } from './modules/auth/auth.routes.js';
import { createAuthService } from './modules/auth/auth.service.js';
import { createCredentialsRepo } from './modules/auth/credentials.repo.js';
import { CLOSE, Hub } from './modules/hub/hub.js';
import { hubRoutes } from './modules/hub/hub.routes.js';
import { createSettingsRepo } from './modules/settings/settings.repo.js';
import { settingsRoutes } from './modules/settings/settings.routes.js';
import { createSettingsService } from './modules/settings/settings.service.js';
import { systemRoutes } from './modules/system/system.routes.js';
import { createUsersRepo } from './modules/users/users.repo.js';
import { usersRoutes } from './modules/users/users.routes.js';
import { createUsersService } from './modules/users/users.service.js';
import { VERSION } from './version.js';

export interface AppDeps {
  config: AppConfig;
  database: DatabaseHandle;
  secrets: ServerSecrets;
  clock?: Clock;
  hasher?: PasswordHasher;
  /** A pino instance, or Fastify logger options; defaults to JSON at the configured level. */
  logger?: FastifyBaseLogger | FastifyServerOptions['logger'];
}

export type App = Awaited<ReturnType<typeof buildApp>>;

const API = '/api/v1';

/** Pino paths never written to logs, whatever a caller logs by mistake. */
export const LOG_REDACT = [
  'req.headers.authorization',
  'req.headers.cookie',
  'headers.authorization',
  '*.password',
  '*.newPassword',
  '*.currentPassword',
  '*.token',
  '*.secret',
  '*.privateKey',
  '*.passphrase',
];

/** Builds the whole application from its dependencies. Listening is server.ts's job. */
export async function buildApp(deps: AppDeps) {
  const { config, database } = deps;
  const clock = deps.clock ?? systemClock;
  const hasher = deps.hasher ?? argon2Hasher;
  const loggerOption = deps.logger ?? { level: config.log.level, redact: LOG_REDACT };
  const isLoggerInstance = typeof loggerOption === 'object' && loggerOption !== null && 'child' in loggerOption;

  const app: FastifyInstance = Fastify({
    ...(isLoggerInstance ? { loggerInstance: loggerOption } : { logger: loggerOption as FastifyServerOptions['logger'] }),
    // One line per request comes from request-log.ts instead of Fastify's two.
    logController: new LogController({ disableRequestLogging: true, requestIdLogLabel: 'requestId' }),
    genReqId,
    bodyLimit: config.server.bodyLimit,
    requestTimeout: config.server.readTimeoutMs,
    connectionTimeout: config.server.writeTimeoutMs,
    trustProxy: config.server.trustProxy,
    routerOptions: { maxParamLength: 200 },
    frameworkErrors,
    forceCloseConnections: 'idle',
  });
  const api = app.withTypeProvider<TypeBoxTypeProvider>();
  app.setValidatorCompiler(validatorCompiler);

  // Composition root: repositories, then services, each given only what it uses.
  const hub = new Hub({ clock, maxBufferedBytes: config.hub.maxBufferedBytes, maxLaggedMessages: config.hub.maxLaggedMessages });
  const secretBox = createSecretBox(deps.secrets.masterKey);
  const usersRepo = createUsersRepo(database.db);
  const credentialsRepo = createCredentialsRepo(database.db);
  const audit = createAuditService({ auditRepo: createAuditRepo(database.db), publisher: hub, clock, retentionDays: config.audit.retentionDays });
  const auth = createAuthService({
    usersRepo,
    credentialsRepo,
    audit,
    hasher,
    clock,
    jwtSecret: deps.secrets.jwtSecret,
    jwtExpiryMs: config.jwt.expiryMs,
    loginMaxFailures: config.auth.loginMaxFailures,
    loginWindowMs: config.auth.loginWindowMs,
  });
  auth.onRevocation((revocation) => hub.revoke(revocation));
  const users = createUsersService({ db: database.db, usersRepo, audit, auth, hasher, clock });
  const settings = createSettingsService({ db: database.db, settingsRepo: createSettingsRepo(database.db), secretBox, audit, clock });

  const routeRules: RouteRule[] = [];
  registerErrorHandling(app);
  registerRequestLog(app);
  // Before registerAuth: their onRequest hooks must run before a refusal (401/403) ends the
  // request, or those answers go out without security headers and without CORS headers.
  await app.register(helmet, { contentSecurityPolicy: false });
  await app.register(cors, {
    origin: config.allowOrigins.includes('*') ? true : [...config.allowOrigins],
    // @fastify/cors allows only GET, HEAD and POST unless told otherwise.
    methods: ['GET', 'HEAD', 'POST', 'PUT', 'DELETE'],
    credentials: false,
    maxAge: 600,
  });
  // Before registerAuth: @fastify/websocket's onRequest hook marks upgrade requests, and only a
  // marked request has its socket destroyed after a refusal. An upgrade refused with 401 would
  // otherwise leave its server socket open for good, and app.close() would never finish.
  await app.register(websocket, {
    options: {
      maxPayload: 64 * 1024,
      // Browsers pass the token as a subprotocol `bearer.<token>` next to `pbfleet`.
      handleProtocols: (protocols: Set<string>) => (protocols.has('pbfleet') ? 'pbfleet' : false),
    },
    // Shutdown closes sockets itself (1001) in preClose below.
    preClose: () => undefined,
  });
  registerAuth(app, auth, routeRules);
  app.addSchema(ErrorEnvelope);

  await app.register(swagger, {
    openapi: {
      openapi: '3.0.3',
      info: { title: 'pbfleet API', version: VERSION, description: 'Control plane for Passivbot fleets' },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer', description: 'A session JWT from /auth/login or an API token (pbf_...)' } } },
    },
  });
  await app.register(swaggerUi, { routePrefix: '/docs' });

  await api.register(systemRoutes, { prefix: API, version: VERSION, startedAt: Date.now(), ping: () => database.ping(), dialect: database.dialect });
  await api.register(authRoutes, { prefix: API, auth, usersRepo });
  await api.register(usersRoutes, { prefix: API, users });
  await api.register(auditRoutes, { prefix: API, audit });
  await api.register(settingsRoutes, { prefix: API, settings });
  await api.register(hubRoutes, { hub, allowOrigins: config.allowOrigins });

  const loops = new Loops(app.log);
  app.addHook('onReady', async () => {
    loops.every('hub-heartbeat', config.hub.heartbeatIntervalMs, () => hub.tick());
    loops.every('audit-purge', config.audit.purgeIntervalMs, async () => {
      const purged = await audit.purge();
      if (purged > 0) app.log.info({ purged }, 'audit entries past retention deleted');
    });
    loops.every('session-purge', 3_600_000, () => auth.purgeExpiredSessions());
    loops.every('login-throttle-prune', 60_000, () => auth.pruneThrottle());
  });
  app.addHook('preClose', async () => {
    loops.stopAll();
    hub.closeAll(CLOSE.goingAway, 'server shutting down');
  });

  return { app, hub, routeRules, services: { audit, auth, users, settings } };
}
