import type { HostRunner } from '../hosts/host-runner.js';
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
