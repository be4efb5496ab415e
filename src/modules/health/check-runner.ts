import type { NetGuard } from '../../lib/net-guard.js';
import type { EnvironmentRecord } from '../environments/environments.repo.js';
import { parseHostPort } from '../environments/environments.fns.js';
import type { SshPool, SshTarget } from '../ssh/ssh-pool.js';
import { outcomeFromError, type CheckOutcome } from './health.fns.js';
import type { HealthSubject } from './health-scheduler.js';
import { httpProbe, tcpProbe } from './probes.js';

/** The default ssh probe: cheap, and proves a shell runs. */
const DEFAULT_SSH_PROBE = 'true';

/**
 * Turns a health-check configuration into a probe: http and tcp through the SSRF guard,
 * ssh by running the probe command over the pooled connection (exit 0 is healthy).
 */
export function createCheckRunner(deps: {
  targetOf(id: string): EnvironmentRecord | undefined;
  sshTargetOf(record: EnvironmentRecord): SshTarget;
  sshPool: Pick<SshPool, 'exec'>;
  guard: NetGuard;
}) {
  return async (subject: HealthSubject, _signal: AbortSignal): Promise<CheckOutcome> => {
    const check = subject.healthCheck;
    const timeoutMs = check.timeout * 1000;
    const record = deps.targetOf(subject.id);
    // A refused host key holds the environment at host_key_mismatch whatever the check type:
    // a passing http or tcp check must not paper over it until an admin accepts the key.
    const mismatch = record?.hostKey?.mismatch;
    if (mismatch) return { ok: false, responseTimeMs: 0, hostKeyMismatch: true, message: `host key changed to ${mismatch.fingerprint}; an admin must accept it` };
    if (check.type === 'http') {
      return httpProbe({ url: check.endpoint ?? '', method: check.method ?? 'GET', headers: check.headers ?? {}, timeoutMs, validation: check.validation }, deps.guard);
    }
    if (check.type === 'tcp') {
      const target = check.endpoint ? parseHostPort(check.endpoint) : record?.target ? { host: record.target.host, port: record.target.port } : undefined;
      if (!target) return { ok: false, responseTimeMs: 0, message: 'no tcp endpoint: set healthCheck.endpoint to host:port' };
      return tcpProbe(target.host, target.port, timeoutMs, deps.guard);
    }
    if (check.type === 'ssh') {
      if (!record) return { ok: false, responseTimeMs: 0, message: 'environment not loaded' };
      const started = performance.now();
      try {
        const result = await deps.sshPool.exec(deps.sshTargetOf(record), { script: check.command ?? DEFAULT_SSH_PROBE }, { timeoutMs });
        const responseTimeMs = Math.round(performance.now() - started);
        if (result.exitCode === 0) return { ok: true, responseTimeMs, message: 'SSH probe ok' };
        const stderr = result.stderr.trim().split('\n').slice(-1)[0] ?? '';
        return { ok: false, responseTimeMs, message: `probe exited ${result.exitCode ?? result.signal ?? '?'}${stderr ? `: ${stderr}` : ''}` };
      } catch (error) {
        return outcomeFromError(error, Math.round(performance.now() - started));
      }
    }
    return { ok: true, responseTimeMs: 0, message: 'no check configured' };
  };
}
