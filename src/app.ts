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
import { DataVersion, ResponseCache } from './http/response-cache.js';
import { ErrorEnvelope } from './http/schemas.js';
import { validatorCompiler } from './http/validation.js';
import { staticUi } from './http/static-ui.js';
import { systemClock, type Clock } from './lib/clock.js';
import { Loops } from './lib/loops.js';
import { argon2Hasher, type PasswordHasher } from './lib/passwords.js';
import { createSecretBox } from './lib/secret-box.js';
import type { ServerSecrets } from './lib/secret-files.js';
import { createAccountsRepo } from './modules/accounts/accounts.repo.js';
import { accountsRoutes } from './modules/accounts/accounts.routes.js';
import { createAccountsService } from './modules/accounts/accounts.service.js';
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
import { createNetGuard } from './lib/net-guard.js';
import { createEnvironmentsRepo, type EnvironmentRecord } from './modules/environments/environments.repo.js';
import { environmentsRoutes } from './modules/environments/environments.routes.js';
import { createEnvironmentsService } from './modules/environments/environments.service.js';
import { collectSystemInfo } from './modules/environments/system-info.js';
import { vpsRoutes } from './modules/environments/vps.routes.js';
import { localRunner, sshRunner, type HostRunner } from './modules/hosts/host-runner.js';
import { createOperationsRepo } from './modules/operations/operations.repo.js';
import { createOperationsService } from './modules/operations/operations.service.js';
import { SshPool } from './modules/ssh/ssh-pool.js';
import { ExecTimeoutError, SshConnectError } from './modules/ssh/ssh.errors.js';
import { ConflictError } from './lib/errors.js';
import { createCheckRunner } from './modules/health/check-runner.js';
import { HealthRecorder } from './modules/health/health-recorder.js';
import { createHealthRepo } from './modules/health/health.repo.js';
import { healthRoutes } from './modules/health/health.routes.js';
import { HealthScheduler } from './modules/health/health-scheduler.js';
import { createHealthHistoryService } from './modules/health/health.service.js';
import { createBotHosts } from './modules/instances/bot-hosts.js';
import { instanceLogsRoutes, sendLogBacklog } from './modules/instances/instance-logs.routes.js';
import { createInstancesRepo } from './modules/instances/instances.repo.js';
import { instancesRoutes } from './modules/instances/instances.routes.js';
import { createInstancesService, createInstanceStore, toPublic } from './modules/instances/instances.service.js';
import { LogStreams } from './modules/instances/log-streams.js';
import { botFiles } from './modules/instances/bot-layout.fns.js';
import type { InstanceRecord } from './modules/instances/instances.types.js';
import { Supervisor, type SupervisorPolicy } from './modules/instances/supervisor.js';
import { NotFoundError } from './lib/errors.js';
import { EmbeddedQueue, type JobQueue } from './modules/jobs/embedded-queue.js';
import { DistributedQueue } from './modules/jobs/distributed-queue.js';
import { LOCAL_ENVIRONMENT_ID } from './modules/environments/environments.types.js';
import { createFromResultService } from './modules/jobs/from-result.js';
import { JobExecutor } from './modules/jobs/job-executor.js';
import { JobOutput } from './modules/jobs/job-output.js';
import { createJobStore } from './modules/jobs/job-store.js';
import { createJobsRepo } from './modules/jobs/jobs.repo.js';
import { jobsRoutes } from './modules/jobs/jobs.routes.js';
import { createJobsService } from './modules/jobs/jobs.service.js';
import type { LogSink } from './modules/instances/bot-host.js';

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
    trustProxy: config.server.trustProxy,
    // Node's own header timeout (60 s) and check interval (30 s) would let a client that trickles
    // headers hold a connection for nearly a minute: both follow server.readTimeout instead.
    http: { headersTimeout: config.server.readTimeoutMs, requestTimeout: config.server.readTimeoutMs, connectionsCheckingInterval: Math.min(1000, Math.max(100, Math.round(config.server.readTimeoutMs / 10))) },
    routerOptions: { maxParamLength: 200 },
    frameworkErrors,
    forceCloseConnections: 'idle',
  });
  const api = app.withTypeProvider<TypeBoxTypeProvider>();
  app.setValidatorCompiler(validatorCompiler);
  app.removeContentTypeParser('text/plain'); // a text body on a JSON route is 415, not a confusing schema error

  // Composition root: repositories, then services, each given only what it uses.
  const hub = new Hub({ clock, maxBufferedBytes: config.hub.maxBufferedBytes, maxLaggedMessages: config.hub.maxLaggedMessages, maxConnectionsPerCredential: config.hub.maxConnectionsPerCredential });
  const secretBox = createSecretBox(deps.secrets.masterKey, deps.secrets.previousMasterKeys);
  const usersRepo = createUsersRepo(database.db);
  const credentialsRepo = createCredentialsRepo(database.db);
  const dataVersion = new DataVersion();
  const listCache = new ResponseCache(dataVersion);
  const audit = createAuditService({ auditRepo: createAuditRepo(database.db), publisher: hub, clock, retentionDays: config.audit.retentionDays, dataVersion });
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
  // Exchange accounts: the api-keys.json entries, sealed at rest.
  const accounts = createAccountsService({
    repo: createAccountsRepo(database.db),
    secretBox,
    audit,
    clock,
    onListenerError: (err, event) => app.log.error({ err, account: event.name }, 'account change listener failed'),
  });

  const instancesRepo = createInstancesRepo(database.db);

  // The fleet: environments reached over SSH (or this machine), their operations and facts.
  const environments = createEnvironmentsService({
    repo: createEnvironmentsRepo(database.db),
    secretBox,
    settings,
    audit,
    publisher: hub,
    clock,
    dataDir: config.dataDir,
    countInstances: (id) => instancesRepo.countByEnvironment(id),
    deleteInstances: (id, actor) => instances.removeAllOn(id, actor),
  });
  const sshPool = new SshPool({
    maxChannelsPerHost: config.ssh.maxChannelsPerHost,
    connectTimeoutMs: config.ssh.connectTimeoutMs,
    keepaliveIntervalMs: config.ssh.keepaliveIntervalMs,
    onHostKey: (event) => void environments.onHostKey(event).catch((err: unknown) => app.log.error({ err, environmentId: event.id }, 'recording a host key failed')),
  });
  const guard = createNetGuard(config.network.allowTargets);

  // Health: checks read their targets from memory, kept current by the observer below, so a
  // slow database never delays a check; results are written in batches by the recorder.
  const healthRepo = createHealthRepo(database.db);
  const checkTargets = new Map<string, EnvironmentRecord>();
  const runCheck = createCheckRunner({ targetOf: (id) => checkTargets.get(id), sshTargetOf: (r) => environments.sshTarget(r), sshPool, guard });
  const recorder = new HealthRecorder({
    repo: healthRepo,
    publisher: hub,
    audit,
    clock,
    log: app.log,
    sampleRetentionMs: config.health.sampleRetentionMs,
    hourlyRetentionDays: config.health.hourlyRetentionDays,
  });
  const health = new HealthScheduler({
    workers: config.health.workers,
    clock,
    degradedThresholdMs: config.health.degradedThresholdMs,
    runCheck,
    onResult: (subject, status, previous) => recorder.record(subject, status, previous),
    onError: (err, environmentId) => app.log.error({ err, environmentId }, 'health result handler failed'),
  });
  const follow = (record: EnvironmentRecord) => {
    checkTargets.set(record.id, record);
    health.upsert({ id: record.id, name: record.name, healthCheck: record.healthCheck, status: record.status });
  };
  environments.observe({
    changed: (record, { resetStatus }) => {
      if (resetStatus) health.remove(record.id);
      follow(record);
    },
    removed: (id) => {
      checkTargets.delete(id);
      health.remove(id);
      // A changed target or credential is noticed by the pool itself (it compares on every use).
      sshPool.invalidate(id);
    },
  });
  const runnerFor = async (record: EnvironmentRecord): Promise<HostRunner> =>
    record.kind === 'local' ? localRunner(record.id, config.ssh.commandTimeoutMs) : sshRunner(sshPool, environments.sshTarget(record), config.ssh.commandTimeoutMs);
  const collect = (record: EnvironmentRecord, runner: HostRunner) =>
    collectSystemInfo(runner, { dataPath: record.kind === 'local' ? config.dataDir : record.runtime.workDir, runtime: record.runtime });
  const refreshSystemInfo = async (id: string) => {
    const record = await environments.getRecord(id);
    const info = await collect(record, await runnerFor(record)).catch((error: unknown) => {
      // An unreachable or hung host is the environment's state, not a server fault: say why.
      if (error instanceof SshConnectError || error instanceof ExecTimeoutError) throw new ConflictError(`system info of ${record.name} not collected: ${error.message}`);
      throw error;
    });
    await environments.setSystemInfo(id, info);
    return info;
  };
  const operations = createOperationsService({
    repo: createOperationsRepo(database.db),
    environments,
    runnerFor,
    checkNow: (id) => health.runNow(id),
    collectSystemInfo: collect,
    guard,
    audit,
    publisher: hub,
    clock,
    commandTimeoutMs: config.ssh.commandTimeoutMs,
    serverVersion: VERSION,
  });

  // Bots: a supervisor runs them on any environment; one log reader per bot feeds the hub.
  const store = createInstanceStore({ repo: instancesRepo, publisher: hub, clock });
  const logs = new LogStreams({ publisher: hub, clock, onReady: (id) => supervisor.onReady(id) });
  const jobOutput = new JobOutput(hub);
  // Bot logs and job output come through the same followers; each reader ignores ids it does not know.
  const sink: LogSink = {
    data: (id, chunk, offset) => {
      logs.data(id, chunk, offset);
      jobOutput.data(id, chunk);
    },
    reset: (id) => {
      logs.reset(id);
      jobOutput.reset(id);
    },
  };
  const botHosts = createBotHosts({
    getRecord: (id) => environments.getRecord(id),
    sshTarget: (record) => environments.sshTarget(record),
    pool: sshPool,
    localRunner: (id) => localRunner(id, config.ssh.commandTimeoutMs),
    sink,
    commandTimeoutMs: config.ssh.commandTimeoutMs,
  });
  environments.observe(botHosts.observer);
  const supervisor: Supervisor = new Supervisor({
    store,
    hostFor: (id) => botHosts.hostFor(id),
    logs,
    apiKeysFor: (names) => accounts.apiKeysFor(names),
    policy: async () => (await settings.view(['instances'])).instances as unknown as SupervisorPolicy,
    onError: (instance, reason) => {
      store.notify('instance_error', toPublic(instance));
      void audit
        .record({ type: 'error', level: 'error', action: 'instance_error', message: `bot ${instance.name} stopped restarting: ${reason}`, environmentId: instance.environmentId, details: { instanceId: instance.id, instance: instance.name } })
        .catch((err: unknown) => app.log.error({ err }, 'audit of a bot error failed'));
    },
    clock,
    log: app.log,
    timing: {
      backoffBaseMs: config.supervisor.restartBackoffMs,
      backoffMaxMs: config.supervisor.maxRestartBackoffMs,
      probeIntervalMs: config.supervisor.probeIntervalMs,
      readyTimeoutMs: config.supervisor.readyTimeoutMs,
      logRotateIntervalMs: config.supervisor.logRotateIntervalMs,
    },
  });
  const layoutOf = async (id: string | InstanceRecord) => {
    const record = typeof id === 'string' ? await instancesRepo.get(id) : id;
    if (!record) throw new NotFoundError('instance', typeof id === 'string' ? id : id.id);
    const host = await botHosts.hostFor(record.environmentId);
    return { host, layout: await host.layout(record.id, record.runtime) };
  };
  const instances = createInstancesService({
    db: database.db,
    repo: instancesRepo,
    store,
    supervisor,
    environments,
    accounts,
    removeFiles: async (record) => {
      const { host, layout } = await layoutOf(record);
      await host.removeFiles(layout);
    },
    logs,
    audit,
    clock,
  });
  // A changed or removed account reaches every host whose bots use it.
  accounts.onChange((event) => {
    void (async () => {
      const names = [event.name, ...(event.previousName ? [event.previousName] : [])];
      const environmentIds = new Set((await Promise.all(names.map((n) => instancesRepo.environmentsUsingAccount(n)))).flat());
      for (const environmentId of environmentIds) await supervisor.syncApiKeys(environmentId);
    })().catch((err: unknown) => app.log.warn({ err, account: event.name }, 'api-keys.json not rewritten on every host'));
  });
  // Deploy writes each host's api-keys.json and the files of its stopped bots (a running bot
  // keeps the files it started with until it is restarted).
  operations.registerDeployFiles(async (record) => {
    const onHost = await instancesRepo.byEnvironment(record.id);
    if (onHost.length === 0) return [];
    const host = await botHosts.hostFor(record.id);
    const keys = await accounts.apiKeysFor([...new Set(onHost.map((i) => i.account))]);
    const files = [{ path: (await host.layout(onHost[0]!.id, onHost[0]!.runtime)).apiKeys, content: `${JSON.stringify(keys, null, 2)}\n`, mode: 0o600 }];
    for (const instance of onHost.filter((i) => !supervisor.isRunning(i.id))) files.push(...botFiles(instance.config, await host.layout(instance.id, instance.runtime)));
    return files;
  });
  // Backtests and optimizations: a queue in the database, run by this process on any environment.
  const jobsRepo = createJobsRepo(database.db);
  const jobStore = createJobStore({ repo: jobsRepo, publisher: hub, clock });
  const distributed = Boolean(config.redis.url);
  // Workers bring their own slots (a job larger than a worker runs there alone).
  const capacityOf = (environmentId: string) => (distributed && environmentId === LOCAL_ENVIRONMENT_ID ? 1024 : (config.jobs.environmentSlots[environmentId] ?? config.jobs.slots));
  const executor = new JobExecutor({
    hostFor: (id) => botHosts.hostFor(id),
    output: jobOutput,
    resultsRoot: `${config.dataDir}/jobs`,
    stopTimeoutMs: config.jobs.cancelTimeoutMs,
    probeIntervalMs: Math.min(1000, config.supervisor.probeIntervalMs),
    unreachableLimitMs: 600_000,
  });
  // With redis.url, jobs for `local` go to `pbfleet worker`s through BullMQ; SSH environments stay here.
  const embeddedQueue = new EmbeddedQueue({ repo: jobsRepo, store: jobStore, executor, capacityOf, clock, log: app.log, ...(distributed && { handles: (id: string) => id !== LOCAL_ENVIRONMENT_ID }) });
  const jobQueue: JobQueue = distributed
    ? new DistributedQueue({ url: config.redis.url, prefix: config.redis.prefix, repo: jobsRepo, store: jobStore, embedded: embeddedQueue, resultsRoot: `${config.dataDir}/jobs`, publisher: hub, clock, log: app.log })
    : embeddedQueue;
  const jobs = createJobsService({ repo: jobsRepo, store: jobStore, queue: jobQueue, environments, capacityOf, audit, clock });
  const fromResult = createFromResultService({ jobs, instances });
  const jobLogTail = async (id: string, count: number): Promise<string[]> => {
    const live = jobOutput.backlog(id);
    if (live) return count === 0 ? [] : live.slice(-count);
    const job = await jobs.record(id);
    if (!job.logPath || count === 0) return [];
    const host = await botHosts.hostFor(job.environmentId);
    const text = (await host.readFile(job.logPath).catch(() => Buffer.alloc(0))).toString('utf8');
    return text.split(/\r?\n/).filter(Boolean).slice(-count);
  };
  const flushSummaries = async () => {
    for (const { instanceId, summary, offset } of logs.takeDirty()) {
      const record = await instancesRepo.update(instanceId, { summary, logOffset: offset }, clock.now().toISOString());
      if (record) store.notify('instance_summary', { id: instanceId, summary, status: record.status });
    }
  };

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
  registerAuth(app, auth, routeRules, { allowOrigins: config.allowOrigins });
  app.addSchema(ErrorEnvelope);

  await app.register(swagger, {
    openapi: {
      openapi: '3.0.3',
      info: { title: 'pbfleet API', version: VERSION, description: 'Control plane for Passivbot fleets' },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer', description: 'A session JWT from /auth/login or an API token (pbf_...)' } } },
    },
  });
  // Its own CSP (the UI's is stricter than swagger-ui can live with).
  await app.register(swaggerUi, { routePrefix: '/docs', staticCSP: true });

  await api.register(systemRoutes, { prefix: API, version: VERSION, startedAt: Date.now(), ping: () => database.ping(), dialect: database.dialect });
  await api.register(authRoutes, { prefix: API, auth, usersRepo, allowOrigins: config.allowOrigins });
  await api.register(usersRoutes, { prefix: API, users, cache: listCache });
  await api.register(auditRoutes, { prefix: API, audit, cache: listCache });
  await api.register(settingsRoutes, { prefix: API, settings });
  await api.register(hubRoutes, { hub, allowOrigins: config.allowOrigins, backlog: (client, topic) => sendLogBacklog(hub, logs, client, topic) });
  await api.register(environmentsRoutes, { prefix: API, environments, operations, audit, refreshSystemInfo });
  await api.register(accountsRoutes, { prefix: API, accounts });
  await api.register(instancesRoutes, { prefix: API, instances });
  await api.register(jobsRoutes, { prefix: API, jobs, fromResult, hub, logTail: jobLogTail });
  await api.register(instanceLogsRoutes, {
    prefix: API,
    hub,
    logs,
    instances,
    openLog: async (id) => {
      const { host, layout } = await layoutOf(id);
      return host.download(layout).catch((error: unknown) => {
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') throw new NotFoundError('log of instance', id);
        throw error;
      });
    },
  });
  await api.register(vpsRoutes, { prefix: API, environments, operations });
  await api.register(healthRoutes, { prefix: API, history: createHealthHistoryService({ healthRepo, clock }), exists: (id) => environments.exists(id), stats: () => ({ scheduler: health.stats(), recorder: { ...recorder.stats() } }) });
  // Last: the web UI answers only what no route above claims.
  await app.register(staticUi, { dir: config.ui.dir });

  const loops = new Loops(app.log);
  app.addHook('onReady', async () => {
    await environments.ensureLocal();
    await operations.recoverInterrupted();
    await supervisor.recover();
    await jobQueue.start();
    loops.every('instance-summaries', 2000, flushSummaries);
    for (const record of await environments.all()) follow(record);
    health.start();
    recorder.start();
    loops.every('system-info', config.systemInfo.intervalMs, () => refreshAllSystemInfo());
    loops.every('ssh-idle-sweep', 60_000, () => sshPool.sweepIdle());
    loops.every('hub-heartbeat', config.hub.heartbeatIntervalMs, () => hub.tick());
    loops.every('hub-revalidate', config.hub.heartbeatIntervalMs, () => hub.revalidate(auth.endedCredentials)); // its own loop: a slow query never delays heartbeats
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
    health.stop();
    await operations.drain();
    // Bots keep running; the next start adopts them and resumes their logs where this stops.
    supervisor.shutdown();
    await jobQueue.stop();
    await flushSummaries().catch((err: unknown) => app.log.warn({ err }, 'bot summaries not saved'));
    botHosts.closeAll();
    await recorder.stop();
    sshPool.closeAll();
  });

  /** Refreshes every environment's system info, a few hosts at a time; unreachable hosts keep their last facts. */
  async function refreshAllSystemInfo(): Promise<void> {
    const records = (await environments.all()).filter((r) => r.status.health !== 'host_key_mismatch');
    const queue = [...records];
    const worker = async () => {
      for (let record = queue.shift(); record; record = queue.shift()) {
        await refreshSystemInfo(record.id).catch((err: unknown) => app.log.debug({ err, environmentId: record.id }, 'system info not collected'));
      }
    };
    await Promise.all(Array.from({ length: 4 }, worker));
  }

  return { app, hub, routeRules, sshPool, health, recorder, services: { audit, auth, users, settings, accounts, environments, operations, instances, supervisor, logs, jobs, jobQueue } };
}
