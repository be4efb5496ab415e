import type { FastifyBaseLogger } from 'fastify';
import { ConflictError } from '../../lib/errors.js';
import type { HostRunner } from '../hosts/host-runner.js';
import { ExecTimeoutError, SshConnectError } from '../ssh/ssh.errors.js';
import type { EnvironmentRecord } from './environments.repo.js';
import type { Runtime } from './environments.types.js';
import { SYSTEM_INFO_BEGIN, parseSystemInfo, systemInfoCommand, unavailableSystemInfo, type SystemInfo } from './system-info.fns.js';

export { SystemInfoSchema, type SystemInfo } from './system-info.fns.js';

export interface CollectSystemInfoOptions {
  /** The whole collection; default 20 s. */
  timeoutMs?: number;
  now?: () => Date;
}

export const SYSTEM_INFO_TIMEOUT_MS = 20_000;

/**
 * Collects a host's system info with one command. A host that cannot be reached, or does not
 * finish in time, throws the runner's error (SshConnectError, ExecTimeoutError): the caller
 * decides what that means. A host that answers always yields a SystemInfo, with null items
 * and reasons for whatever it could not report.
 */
export async function collectSystemInfo(
  runner: Pick<HostRunner, 'exec'>,
  input: { dataPath: string; runtime: Pick<Runtime, 'passivbotDir' | 'pythonPath' | 'kind'> },
  options: CollectSystemInfoOptions = {},
): Promise<SystemInfo> {
  const result = await runner.exec(systemInfoCommand(input.dataPath, input.runtime), {
    timeoutMs: options.timeoutMs ?? SYSTEM_INFO_TIMEOUT_MS,
    maxOutputBytes: 256 * 1024,
  });
  const collectedAt = (options.now?.() ?? new Date()).toISOString();
  if (!result.stdout.split('\n').some((line) => line.replace(/\r$/, '') === SYSTEM_INFO_BEGIN)) {
    const exit = result.exitCode === null ? `signal ${result.signal ?? 'unknown'}` : `exit ${result.exitCode}`;
    return unavailableSystemInfo(`the collector did not run (${exit}): ${result.stderr.trim() || '(no error output)'}`, collectedAt);
  }
  return parseSystemInfo(result.stdout, collectedAt);
}

export interface SystemInfoRefresherDeps {
  environments: { getRecord(id: string): Promise<EnvironmentRecord>; setSystemInfo(id: string, info: SystemInfo): Promise<void>; all(): Promise<EnvironmentRecord[]> };
  runnerFor: (record: EnvironmentRecord) => Promise<HostRunner>;
  /** Where this machine keeps pbfleet's data: the local environment's data path. */
  dataDir: string;
  log: Pick<FastifyBaseLogger, 'debug'>;
}

/** Collects and stores environments' system info: one on request, all of them in the background. */
export function createSystemInfoRefresher({ environments, runnerFor, dataDir, log }: SystemInfoRefresherDeps) {
  const collect = (record: EnvironmentRecord, runner: HostRunner) =>
    collectSystemInfo(runner, { dataPath: record.kind === 'local' ? dataDir : record.runtime.workDir, runtime: record.runtime });

  /** One collection per environment at a time, stored in the order asked for: the last asked is the one kept. */
  const queues = new Map<string, Promise<unknown>>();
  const refresh = (id: string): Promise<SystemInfo> => {
    const next = (queues.get(id) ?? Promise.resolve()).catch(() => undefined).then(() => refreshNow(id));
    queues.set(id, next);
    void next.catch(() => undefined).finally(() => {
      if (queues.get(id) === next) queues.delete(id);
    });
    return next;
  };

  const refreshNow = async (id: string): Promise<SystemInfo> => {
    const record = await environments.getRecord(id);
    const info = await collect(record, await runnerFor(record)).catch((error: unknown) => {
      // An unreachable or hung host is the environment's state, not a server fault: say why.
      if (error instanceof SshConnectError || error instanceof ExecTimeoutError) throw new ConflictError(`system info of ${record.name} not collected: ${error.message}`);
      throw error;
    });
    await environments.setSystemInfo(id, info);
    return info;
  };

  /** Refreshes every environment's system info, a few hosts at a time; unreachable hosts keep their last facts. */
  const refreshAll = async (): Promise<void> => {
    const queue = (await environments.all()).filter((r) => r.status.health !== 'host_key_mismatch');
    const worker = async () => {
      for (let record = queue.shift(); record; record = queue.shift()) {
        await refresh(record.id).catch((err: unknown) => log.debug({ err, environmentId: record.id }, 'system info not collected'));
      }
    };
    await Promise.all(Array.from({ length: 4 }, worker));
  };

  return { collect, refresh, refreshAll };
}
