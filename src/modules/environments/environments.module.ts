import type { Actor } from '../auth/auth.types.js';
import type { AuditService } from '../audit/audit.service.js';
import { API_PREFIX, type Api, type Core } from '../core.js';
import { localRunner, sshRunner, type HostRunner } from '../hosts/host-runner.js';
import { createNetGuard } from '../../lib/net-guard.js';
import { createOperationsRepo } from '../operations/operations.repo.js';
import { createOperationsService, type OperationsServiceDeps } from '../operations/operations.service.js';
import type { SettingsService } from '../settings/settings.service.js';
import { SshPool } from '../ssh/ssh-pool.js';
import { VERSION } from '../../version.js';
import { createEnvironmentsRepo, type EnvironmentRecord } from './environments.repo.js';
import { environmentsRoutes } from './environments.routes.js';
import { createEnvironmentsService } from './environments.service.js';
import { createSystemInfoRefresher } from './system-info.js';
import { vpsRoutes } from './vps.routes.js';

export interface EnvironmentsModuleDeps extends Pick<Core, 'config' | 'db' | 'clock' | 'log' | 'hub' | 'secretBox' | 'lifecycle'> {
  audit: Pick<AuditService, 'record' | 'list'>;
  settings: Pick<SettingsService, 'view'>;
  /** The bots on an environment; built after this module, so called only once the app runs. */
  instancesOn: { count(environmentId: string): Promise<number>; removeAll(environmentId: string, actor: Actor): Promise<void> };
  /** Runs an environment's health check now (the health module, built after this one). */
  checkNow: OperationsServiceDeps['checkNow'];
}

/**
 * The fleet: environments reached over SSH (or this machine), the SSH connections to them,
 * their system info, and the operations run on them (restart, upgrade, deploy, check now).
 */
export function createEnvironmentsModule(deps: EnvironmentsModuleDeps) {
  const { config, clock, log, hub, lifecycle, audit } = deps;
  const environments = createEnvironmentsService({
    repo: createEnvironmentsRepo(deps.db),
    secretBox: deps.secretBox,
    settings: deps.settings,
    audit,
    publisher: hub,
    clock,
    dataDir: config.dataDir,
    countInstances: (id) => deps.instancesOn.count(id),
    deleteInstances: (id, actor) => deps.instancesOn.removeAll(id, actor),
  });
  const sshPool = new SshPool({
    maxChannelsPerHost: config.ssh.maxChannelsPerHost,
    connectTimeoutMs: config.ssh.connectTimeoutMs,
    keepaliveIntervalMs: config.ssh.keepaliveIntervalMs,
    onHostKey: (event) => void environments.onHostKey(event).catch((err: unknown) => log.error({ err, environmentId: event.id }, 'recording a host key failed')),
  });
  // A changed target or credential is noticed by the pool itself (it compares on every use).
  environments.observe({ changed: () => undefined, removed: (id) => sshPool.invalidate(id) });
  const guard = createNetGuard(config.network.allowTargets);
  const runnerFor = async (record: EnvironmentRecord): Promise<HostRunner> =>
    record.kind === 'local' ? localRunner(record.id, config.ssh.commandTimeoutMs) : sshRunner(sshPool, environments.sshTarget(record), config.ssh.commandTimeoutMs);
  const systemInfo = createSystemInfoRefresher({ environments, runnerFor, dataDir: config.dataDir, log });
  const operations = createOperationsService({
    repo: createOperationsRepo(deps.db),
    environments,
    runnerFor,
    checkNow: deps.checkNow,
    collectSystemInfo: systemInfo.collect,
    guard,
    audit,
    publisher: hub,
    clock,
    commandTimeoutMs: config.ssh.commandTimeoutMs,
    serverVersion: VERSION,
  });

  lifecycle.on('recover', () => environments.ensureLocal());
  lifecycle.on('recover', () => environments.sealPlainSecrets());
  lifecycle.on('recover', () => operations.recoverInterrupted());
  // Collected once at start too, so no page waits a whole interval for its first figures.
  let firstSystemInfo: Promise<void> | undefined;
  lifecycle.on('start', () => {
    firstSystemInfo = systemInfo.refreshAll().catch((err: unknown) => log.warn({ err }, 'system info not collected at start'));
  });
  lifecycle.every('system-info', config.systemInfo.intervalMs, () => systemInfo.refreshAll());
  lifecycle.every('ssh-idle-sweep', 60_000, () => sshPool.sweepIdle());
  lifecycle.on('drain', () => operations.drain());
  lifecycle.on('drain', () => firstSystemInfo);
  lifecycle.on('release', () => sshPool.closeAll());

  return {
    service: environments,
    operations,
    sshPool,
    guard,
    routes: async (api: Api) => {
      await api.register(environmentsRoutes, { prefix: API_PREFIX, environments, operations, audit, refreshSystemInfo: systemInfo.refresh });
      await api.register(vpsRoutes, { prefix: API_PREFIX, environments, operations });
    },
  };
}
