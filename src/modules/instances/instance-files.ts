import type { Readable } from 'node:stream';
import { NotFoundError } from '../../lib/errors.js';
import type { EnvironmentRecord } from '../environments/environments.repo.js';
import type { DeployFile } from '../operations/operations.service.js';
import { botFiles } from './hosts/bot-layout.fns.js';
import type { BotHosts } from './hosts/bot-hosts.js';
import type { InstancesRepo } from './instances.repo.js';
import type { InstanceRecord } from './instances.types.js';

export interface InstanceFilesDeps {
  repo: Pick<InstancesRepo, 'get' | 'byEnvironment'>;
  botHosts: Pick<BotHosts, 'hostFor'>;
  apiKeysFor: (accounts: readonly string[]) => Promise<Record<string, unknown>>;
  isRunning: (instanceId: string) => boolean;
}

/** A bot's files on its host: its log, its removal, and what a deploy writes there. */
export function createInstanceFiles({ repo, botHosts, apiKeysFor, isRunning }: InstanceFilesDeps) {
  const layoutOf = async (id: string | InstanceRecord) => {
    const record = typeof id === 'string' ? await repo.get(id) : id;
    if (!record) throw new NotFoundError('instance', typeof id === 'string' ? id : id.id);
    const host = await botHosts.hostFor(record.environmentId);
    return { host, layout: await host.layout(record.id, record.runtime) };
  };

  return {
    async remove(record: InstanceRecord): Promise<void> {
      const { host, layout } = await layoutOf(record);
      await host.removeFiles(layout);
    },

    /** The bot's whole current log file. */
    async openLog(id: string): Promise<Readable> {
      const { host, layout } = await layoutOf(id);
      return host.download(layout).catch((error: unknown) => {
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') throw new NotFoundError('log of instance', id);
        throw error;
      });
    },

    /**
     * What a deploy writes to a host: its api-keys.json and the files of its stopped bots (a
     * running bot keeps the files it started with until it is restarted).
     */
    async deployFiles(record: EnvironmentRecord): Promise<DeployFile[]> {
      const onHost = await repo.byEnvironment(record.id);
      if (onHost.length === 0) return [];
      const host = await botHosts.hostFor(record.id);
      const keys = await apiKeysFor([...new Set(onHost.map((i) => i.account))]);
      const files: DeployFile[] = [{ path: (await host.layout(onHost[0]!.id, onHost[0]!.runtime)).apiKeys, content: `${JSON.stringify(keys, null, 2)}\n`, mode: 0o600 }];
      for (const instance of onHost.filter((i) => !isRunning(i.id))) files.push(...botFiles(instance.config, await host.layout(instance.id, instance.runtime)));
      return files;
    },
  };
}
