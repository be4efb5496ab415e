import type { AccountsService } from '../accounts/accounts.service.js';
import type { AuditService } from '../audit/audit.service.js';
import { API_PREFIX, type Api, type Core } from '../core.js';
import type { EnvironmentsService } from '../environments/environments.service.js';
import { localRunner } from '../hosts/host-runner.js';
import type { Backlog } from '../hub/hub.module.js';
import type { OperationsService } from '../operations/operations.service.js';
import type { SettingsService } from '../settings/settings.service.js';
import type { SshPool } from '../ssh/ssh-pool.js';
import type { LogSink } from './hosts/bot-host.js';
import { createBotHosts } from './hosts/bot-hosts.js';
import { createInstanceFiles } from './instance-files.js';
import { instanceLogsRoutes, sendLogBacklog } from './logs/instance-logs.routes.js';
import { createInstancesRepo } from './instances.repo.js';
import { instancesRoutes } from './instances.routes.js';
import { createInstancesService, createInstanceStore, toPublic } from './instances.service.js';
import { LogStreams } from './logs/log-streams.js';
import { Supervisor, type SupervisorPolicy } from './supervisor/supervisor.js';

export interface InstancesModuleDeps extends Pick<Core, 'config' | 'db' | 'clock' | 'log' | 'hub' | 'lifecycle'> {
  audit: Pick<AuditService, 'record'>;
  settings: Pick<SettingsService, 'view'>;
  accounts: Pick<AccountsService, 'apiKeysFor' | 'getByName' | 'onChange'>;
  environments: Pick<EnvironmentsService, 'getRecord' | 'sshTarget' | 'exists' | 'observe'>;
  operations: Pick<OperationsService, 'registerDeployFiles'>;
  sshPool: SshPool;
  addBacklog: (backlog: Backlog) => void;
}

/**
 * Bots: a supervisor runs them on any environment (this machine or over SSH); one log reader
 * per bot feeds the hub and the bot's summary. Other modules that run processes on the same
 * hosts (jobs) use its hosts and add their own log sink.
 */
export function createInstancesModule(deps: InstancesModuleDeps) {
  const { config, db, clock, log, hub, lifecycle, audit, accounts, environments } = deps;
  const repo = createInstancesRepo(db);
  const store = createInstanceStore({ repo, publisher: hub, clock });
  const logs = new LogStreams({ publisher: hub, clock, onReady: (id) => supervisor.onReady(id) });
  // Bot logs and other processes' output come through the same followers; each sink ignores ids it does not know.
  const sinks: LogSink[] = [logs];
  const sink: LogSink = {
    data: (id, chunk, offset) => {
      for (const s of sinks) s.data(id, chunk, offset);
    },
    reset: (id) => {
      for (const s of sinks) s.reset(id);
    },
  };
  const botHosts = createBotHosts({
    getRecord: (id) => environments.getRecord(id),
    sshTarget: (record) => environments.sshTarget(record),
    pool: deps.sshPool,
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
    policy: async () => (await deps.settings.view(['instances'])).instances as unknown as SupervisorPolicy,
    onError: (instance, reason) => {
      store.notify('instance_error', toPublic(instance));
      void audit
        .record({ type: 'error', level: 'error', action: 'instance_error', message: `bot ${instance.name} stopped restarting: ${reason}`, environmentId: instance.environmentId, details: { instanceId: instance.id, instance: instance.name } })
        .catch((err: unknown) => log.error({ err }, 'audit of a bot error failed'));
    },
    clock,
    log,
    timing: {
      backoffBaseMs: config.supervisor.restartBackoffMs,
      backoffMaxMs: config.supervisor.maxRestartBackoffMs,
      probeIntervalMs: config.supervisor.probeIntervalMs,
      readyTimeoutMs: config.supervisor.readyTimeoutMs,
      logRotateIntervalMs: config.supervisor.logRotateIntervalMs,
    },
  });
  const files = createInstanceFiles({ repo, botHosts, apiKeysFor: (names) => accounts.apiKeysFor(names), isRunning: (id) => supervisor.isRunning(id) });
  const instances = createInstancesService({ db, repo, store, supervisor, environments, accounts, removeFiles: (record) => files.remove(record), logs, audit, clock });

  // A changed or removed account reaches every host whose bots use it.
  accounts.onChange((event) => {
    void (async () => {
      const names = [event.name, ...(event.previousName ? [event.previousName] : [])];
      const environmentIds = new Set((await Promise.all(names.map((n) => repo.environmentsUsingAccount(n)))).flat());
      for (const environmentId of environmentIds) await supervisor.syncApiKeys(environmentId);
    })().catch((err: unknown) => log.warn({ err, account: event.name }, 'api-keys.json not rewritten on every host'));
  });
  deps.operations.registerDeployFiles((record) => files.deployFiles(record));
  deps.addBacklog((client, topic) => sendLogBacklog(hub, logs, client, topic));

  /** Saves the summaries and log offsets that changed since the last call. */
  const flushSummaries = async () => {
    for (const { instanceId, summary, offset } of logs.takeDirty()) {
      const record = await repo.update(instanceId, { summary, logOffset: offset }, clock.now().toISOString());
      if (record) store.notify('instance_summary', { id: instanceId, summary, status: record.status });
    }
  };
  lifecycle.on('recover', () => supervisor.recover());
  lifecycle.every('instance-summaries', 2000, flushSummaries);
  // Bots keep running; the next start adopts them and resumes their logs where this stops.
  lifecycle.on('drain', () => supervisor.shutdown());
  lifecycle.on('release', async () => {
    await flushSummaries().catch((err: unknown) => log.warn({ err }, 'bot summaries not saved'));
    botHosts.closeAll();
  });

  return {
    service: instances,
    supervisor,
    logs,
    hostFor: (environmentId: string) => botHosts.hostFor(environmentId),
    /** Another reader of the output followed on bot hosts (a job's log). */
    addLogSink: (extra: LogSink) => void sinks.push(extra),
    countOn: (environmentId: string) => repo.countByEnvironment(environmentId),
    routes: async (api: Api) => {
      await api.register(instancesRoutes, { prefix: API_PREFIX, instances });
      await api.register(instanceLogsRoutes, { prefix: API_PREFIX, hub, logs, instances, openLog: (id) => files.openLog(id) });
    },
  };
}
