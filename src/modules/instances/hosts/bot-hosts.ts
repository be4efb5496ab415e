import type { EnvironmentObserver } from '../../environments/environments.service.js';
import type { EnvironmentRecord } from '../../environments/environments.repo.js';
import type { HostRunner } from '../../hosts/host-runner.js';
import type { SshPool, SshTarget } from '../../ssh/ssh-pool.js';
import type { BotHost, LogSink } from './bot-host.js';
import { createLocalBotHost } from './local-bot-host.js';
import { createRemoteBotHost } from './remote-bot-host.js';

export interface BotHostsDeps {
  getRecord(id: string): Promise<EnvironmentRecord>;
  sshTarget(record: EnvironmentRecord): SshTarget;
  pool: SshPool;
  localRunner(environmentId: string): HostRunner;
  sink: LogSink;
  commandTimeoutMs: number;
}

/**
 * One BotHost per environment, made on first use and kept current: a remote host reads its
 * target and runtime from the latest record, so an edited environment applies at once.
 */
export function createBotHosts(deps: BotHostsDeps) {
  const hosts = new Map<string, BotHost>();
  const records = new Map<string, EnvironmentRecord>();
  const pending = new Map<string, Promise<BotHost>>();

  function make(record: EnvironmentRecord): BotHost {
    if (record.kind === 'local') {
      return createLocalBotHost({
        environmentId: record.id,
        runtime: async () => (await deps.getRecord(record.id)).runtime,
        runner: deps.localRunner(record.id),
        sink: deps.sink,
      });
    }
    records.set(record.id, record);
    const current = () => records.get(record.id) ?? record;
    return createRemoteBotHost({
      environmentId: record.id,
      pool: deps.pool,
      target: () => deps.sshTarget(current()),
      runtime: () => current().runtime,
      sink: deps.sink,
      commandTimeoutMs: deps.commandTimeoutMs,
    });
  }

  const observer: EnvironmentObserver = {
    changed: (record) => {
      if (records.has(record.id)) records.set(record.id, record);
    },
    removed: (id) => {
      hosts.get(id)?.close();
      hosts.delete(id);
      records.delete(id);
    },
  };

  return {
    observer,
    async hostFor(environmentId: string): Promise<BotHost> {
      const existing = hosts.get(environmentId);
      if (existing) return existing;
      let making = pending.get(environmentId);
      if (!making) {
        making = deps.getRecord(environmentId).then((record) => {
          const host = make(record);
          hosts.set(environmentId, host);
          return host;
        });
        pending.set(environmentId, making);
        void making.finally(() => pending.delete(environmentId)).catch(() => undefined);
      }
      return making;
    },
    closeAll(): void {
      for (const host of hosts.values()) host.close();
      hosts.clear();
    },
  };
}

export type BotHosts = ReturnType<typeof createBotHosts>;
