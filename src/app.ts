import cors from '@fastify/cors';
import helmet from '@fastify/helmet';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import websocket from '@fastify/websocket';
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance, type FastifyServerOptions } from 'fastify';
import type { AppConfig } from './config/config.js';
import type { DatabaseHandle } from './db/database.js';
import { registerAuth, type RouteRule } from './http/auth.js';
import { registerBodyParsing } from './http/body-parsing.js';
import { frameworkErrors, registerErrorHandling } from './http/error-handler.js';
import { registerOpenApi } from './http/openapi.js';
import { genReqId, registerRequestLog } from './http/request-log.js';
import { DataVersion, ResponseCache } from './http/response-cache.js';
import { ErrorEnvelope } from './http/schemas.js';
import { staticUi } from './http/static-ui.js';
import { validatorCompiler } from './http/validation.js';
import { systemClock, type Clock } from './lib/clock.js';
import { Lifecycle } from './lib/lifecycle.js';
import { argon2Hasher, type PasswordHasher } from './lib/passwords.js';
import { createSecretBox } from './lib/secret-box.js';
import type { ServerSecrets } from './lib/secret-files.js';
import { createAccountsModule } from './modules/accounts/accounts.module.js';
import { createAuditModule } from './modules/audit/audit.module.js';
import { createAuthModule } from './modules/auth/auth.module.js';
import { createDashboardModule } from './modules/dashboard/dashboard.module.js';
import type { Core } from './modules/core.js';
import { createEnvironmentsModule } from './modules/environments/environments.module.js';
import { createHealthModule } from './modules/health/health.module.js';
import { createHubModule } from './modules/hub/hub.module.js';
import { createInstancesModule } from './modules/instances/instances.module.js';
import { createJobsModule } from './modules/jobs/jobs.module.js';
import { createSettingsModule } from './modules/settings/settings.module.js';
import { createSystemModule } from './modules/system/system.module.js';
import { createUsersModule } from './modules/users/users.module.js';
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
  // An exchange account's private_key (its secret and passphrase are covered above). Not `*.key`: too many harmless things are called key.
  '*.private_key',
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
    // Node's own header timeout (60 s) and check interval (30 s) would let a client that trickles
    // headers hold a connection for nearly a minute: both follow server.readTimeout instead.
    http: { headersTimeout: config.server.readTimeoutMs, requestTimeout: config.server.readTimeoutMs, connectionsCheckingInterval: Math.min(1000, Math.max(100, Math.round(config.server.readTimeoutMs / 10))) },
    trustProxy: config.server.trustProxy,
    routerOptions: { maxParamLength: 200 },
    frameworkErrors,
    forceCloseConnections: 'idle',
  });
  const api = app.withTypeProvider<TypeBoxTypeProvider>();
  app.setValidatorCompiler(validatorCompiler);
  registerBodyParsing(app);

  // Composition root: the shared core, then each feature module in dependency order. A module
  // wires its own repository, services, hub topics and background work from what it is given;
  // its start and shutdown steps run in this order (see Lifecycle).
  const lifecycle = new Lifecycle(app.log);
  const hub = createHubModule({ config, clock, lifecycle });
  const dataVersion = new DataVersion();
  const secretBox = createSecretBox(deps.secrets.masterKey, deps.secrets.previousMasterKeys);
  const core: Core = { config, db: database.db, clock, log: app.log, hub: hub.hub, secretBox, lifecycle, listCache: new ResponseCache(dataVersion) };

  const system = createSystemModule({ database });
  const audit = createAuditModule({ ...core, dataVersion });
  const auth = createAuthModule({ ...core, audit: audit.service, hasher, jwtSecret: deps.secrets.jwtSecret });
  const users = createUsersModule({ ...core, audit: audit.service, auth: auth.service, hasher });
  const settings = createSettingsModule({ ...core, audit: audit.service });
  const accounts = createAccountsModule({ ...core, audit: audit.service });
  // Environments and health, environments and bots, need each other: the later module is reached through a function, called once the app runs.
  const environments = createEnvironmentsModule({
    ...core,
    audit: audit.service,
    settings: settings.service,
    checkNow: (id) => health.scheduler.runNow(id),
    instancesOn: { count: (id) => instances.countOn(id), removeAll: (id, actor) => instances.service.removeAllOn(id, actor) },
  });
  const health = createHealthModule({ ...core, audit: audit.service, environments: environments.service, sshPool: environments.sshPool, guard: environments.guard });
  const instances = createInstancesModule({
    ...core,
    audit: audit.service,
    settings: settings.service,
    accounts: accounts.service,
    environments: environments.service,
    operations: environments.operations,
    sshPool: environments.sshPool,
    addBacklog: hub.addBacklog,
  });
  const jobs = createJobsModule({ ...core, audit: audit.service, environments: environments.service, instances: instances.service, hostFor: instances.hostFor, addLogSink: instances.addLogSink, addBacklog: hub.addBacklog });
  const dashboard = createDashboardModule({ ...core, environments: environments.service, sshPool: environments.sshPool, hostFor: instances.hostFor });

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
  registerAuth(app, auth.service, routeRules, { allowOrigins: config.allowOrigins });
  app.addSchema(ErrorEnvelope);

  await registerOpenApi(app, VERSION);

  for (const module of [system, auth, users, audit, settings, hub, environments, accounts, instances, jobs, health, dashboard]) await module.routes(api);
  // Last: the web UI answers only what no route above claims.
  await app.register(staticUi, { dir: config.ui.dir });

  app.addHook('onReady', () => lifecycle.start());
  app.addHook('preClose', () => lifecycle.stop());

  return {
    app,
    hub: hub.hub,
    routeRules,
    sshPool: environments.sshPool,
    health: health.scheduler,
    recorder: health.recorder,
    services: {
      audit: audit.service,
      auth: auth.service,
      users: users.service,
      settings: settings.service,
      accounts: accounts.service,
      environments: environments.service,
      operations: environments.operations,
      instances: instances.service,
      supervisor: instances.supervisor,
      logs: instances.logs,
      jobs: jobs.service,
      jobQueue: jobs.jobQueue,
      dashboard: dashboard.service,
    },
  };
}
