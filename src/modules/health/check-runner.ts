import type { NetGuard } from '../../lib/net-guard.js';
import { shellQuote } from '../../lib/shell.js';
import type { EnvironmentRecord } from '../environments/environments.repo.js';
import { parseHostPort } from '../environments/environments.fns.js';
import type { HostRunner } from '../hosts/host-runner.js';
import type { ExecResult, SshPool, SshTarget } from '../ssh/ssh-pool.js';
import { outcomeFromError, type CheckOutcome } from './health.fns.js';
import type { HealthSubject } from './health-scheduler.js';
import { httpProbe, tcpProbe } from './probes.js';

/** The default ssh probe: cheap, and proves a shell runs. */
const DEFAULT_SSH_PROBE = 'true';
/** The default local probe: this machine starts a process (what every bot needs) and pbfleet's data directory takes writes. */
const localProbe = (dataDir: string) => `probe=${shellQuote(dataDir)}/.pbfleet-health-$$ && : > "$probe" && rm -f "$probe"`;

/**
 * Turns a health-check configuration into a probe: http and tcp through the SSRF guard,
 * ssh by running the probe command over the pooled connection (exit 0 is healthy).
 */
export function createCheckRunner(deps: {
  targetOf(id: string): EnvironmentRecord | undefined;
  sshTargetOf(record: EnvironmentRecord): SshTarget;
  sshPool: Pick<SshPool, 'exec'>;
  /** Runs the local environment's probe on this machine. */
  local: Pick<HostRunner, 'exec'>;
  /** pbfleet's data directory, which the default local probe writes to. */
  dataDir: string;
  guard: NetGuard;
}) {
  /** Times a probe command; exit 0 is healthy. */
  const probe = async (what: string, run: () => Promise<ExecResult>): Promise<CheckOutcome> => {
    const started = performance.now();
    try {
      const result = await run();
      const responseTimeMs = Math.round(performance.now() - started);
      if (result.exitCode === 0) return { ok: true, responseTimeMs, message: `${what} probe ok` };
      const stderr = result.stderr.trim().split('\n').slice(-1)[0] ?? '';
      return { ok: false, responseTimeMs, message: `probe exited ${result.exitCode ?? result.signal ?? '?'}${stderr ? `: ${stderr}` : ''}` };
    } catch (error) {
      return outcomeFromError(error, Math.round(performance.now() - started));
    }
  };
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
      return probe('SSH', () => deps.sshPool.exec(deps.sshTargetOf(record), { script: check.command ?? DEFAULT_SSH_PROBE }, { timeoutMs }));
    }
    if (check.type === 'local') return probe('local', () => deps.local.exec({ script: check.command ?? localProbe(deps.dataDir) }, { timeoutMs }));
    return { ok: true, responseTimeMs: 0, message: 'no check configured' };
  };
}
