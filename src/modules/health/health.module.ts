import type { NetGuard } from '../../lib/net-guard.js';
import type { AuditService } from '../audit/audit.service.js';
import { API_PREFIX, type Api, type Core } from '../core.js';
import type { EnvironmentRecord } from '../environments/environments.repo.js';
import { LOCAL_ENVIRONMENT_ID } from '../environments/environments.types.js';
import { localRunner } from '../hosts/host-runner.js';
import type { EnvironmentsService } from '../environments/environments.service.js';
import type { SshPool } from '../ssh/ssh-pool.js';
import { createCheckRunner } from './check-runner.js';
import { HealthRecorder } from './health-recorder.js';
import { HealthScheduler } from './health-scheduler.js';
import { createHealthRepo } from './health.repo.js';
import { healthRoutes } from './health.routes.js';
import { createHealthHistoryService } from './health.service.js';

export interface HealthModuleDeps extends Pick<Core, 'config' | 'db' | 'clock' | 'log' | 'hub' | 'lifecycle'> {
  audit: Pick<AuditService, 'record'>;
  environments: Pick<EnvironmentsService, 'observe' | 'all' | 'sshTarget' | 'exists' | 'openHealthCheck'>;
  sshPool: SshPool;
  guard: NetGuard;
}

/**
 * Health checks of every environment. Checks read their targets from memory, kept current by
 * observing environments, so a slow database never delays a check; results are written in
 * batches by the recorder.
 */
export function createHealthModule({ config, db, clock, log, hub, lifecycle, audit, environments, sshPool, guard }: HealthModuleDeps) {
  const healthRepo = createHealthRepo(db);
  const checkTargets = new Map<string, EnvironmentRecord>();
  const runCheck = createCheckRunner({
    targetOf: (id) => checkTargets.get(id),
    sshTargetOf: (r) => environments.sshTarget(r),
    sshPool,
    local: localRunner(LOCAL_ENVIRONMENT_ID, config.ssh.commandTimeoutMs),
    dataDir: config.dataDir,
    guard,
  });
  const recorder = new HealthRecorder({
    repo: healthRepo,
    publisher: hub,
    audit,
    clock,
    log,
    sampleRetentionMs: config.health.sampleRetentionMs,
    hourlyRetentionDays: config.health.hourlyRetentionDays,
  });
  const scheduler = new HealthScheduler({
    workers: config.health.workers,
    clock,
    degradedThresholdMs: config.health.degradedThresholdMs,
    runCheck,
    onResult: (subject, status, previous) => recorder.record(subject, status, previous),
    onError: (err, environmentId) => log.error({ err, environmentId }, 'health result handler failed'),
  });
  const follow = (record: EnvironmentRecord) => {
    checkTargets.set(record.id, record);
    scheduler.upsert({ id: record.id, name: record.name, healthCheck: environments.openHealthCheck(record), status: record.status });
  };
  environments.observe({
    changed: (record, { resetStatus }) => {
      if (resetStatus) scheduler.remove(record.id);
      follow(record);
    },
    removed: (id) => {
      checkTargets.delete(id);
      scheduler.remove(id);
    },
  });

  lifecycle.on('start', async () => {
    for (const record of await environments.all()) follow(record);
    scheduler.start();
    recorder.start();
    // This machine is checked at once (not after a random part of its interval): its page
    // shows a real result from the start. Not awaited: a slow probe does not hold the start.
    if (scheduler.has(LOCAL_ENVIRONMENT_ID)) void scheduler.runNow(LOCAL_ENVIRONMENT_ID).catch((err: unknown) => log.debug({ err }, 'first local health check not run'));
  });
  lifecycle.on('quiesce', () => scheduler.stop());
  lifecycle.on('release', () => recorder.stop());

  return {
    scheduler,
    recorder,
    routes: async (api: Api) => {
      const history = createHealthHistoryService({ healthRepo, clock });
      await api.register(healthRoutes, { prefix: API_PREFIX, history, exists: (id) => environments.exists(id), stats: () => ({ scheduler: scheduler.stats(), recorder: { ...recorder.stats() } }) });
    },
  };
}
