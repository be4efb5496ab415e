import type { Clock } from '../../lib/clock.js';
import { ConflictError, NotFoundError, ValidationError } from '../../lib/errors.js';
import { newId } from '../../lib/ids.js';
import type { NetGuard } from '../../lib/net-guard.js';
import { shellQuote } from '../../lib/shell.js';
import type { AuditService } from '../audit/audit.service.js';
import type { Actor } from '../auth/auth.types.js';
import { extractVersions } from '../environments/environments.fns.js';
import type { EnvironmentRecord } from '../environments/environments.repo.js';
import type { SystemInfo } from '../environments/system-info.fns.js';
import type { CommandDetails, HealthStatus } from '../environments/environments.types.js';
import { describeNetError, fetchOnce } from '../health/probes.js';
import type { HostRunner } from '../hosts/host-runner.js';
import type { Publisher } from '../hub/hub.js';
import { topics } from '../hub/topics.js';
import { roleAllows } from '../../lib/roles.js';
import { createLineRedactor, createLiveBuffer, createOutputLog, redactSecrets } from './operations.fns.js';
import type { Operation, OperationsRepo, OperationType } from './operations.repo.js';

const VERSION_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._+-]{0,63}$/;
/** Output of a running operation goes out at most this often (one hub message per interval). */
const LIVE_OUTPUT_INTERVAL_MS = 200;
/** Output is for operators and admins: the hub leaves viewers out of `operation_output`. */
const operatorsOnly = (principal: { role: Parameters<typeof roleAllows>[0] }) => roleAllows(principal.role, 'operator');

/** A file deploy writes on a host; later features (bots) add their own providers. */
export interface DeployFile {
  path: string;
  content: string | Buffer;
  mode: number;
}
export type DeployFileProvider = (record: EnvironmentRecord) => Promise<DeployFile[]>;

export interface OperationsServiceDeps {
  repo: OperationsRepo;
  environments: {
    getRecord(id: string): Promise<EnvironmentRecord>;
    setSystemInfo(id: string, info: SystemInfo): Promise<void>;
    openCommand(record: EnvironmentRecord, which: 'restart' | 'upgrade'): CommandDetails | undefined;
  };
  runnerFor(record: EnvironmentRecord): Promise<HostRunner>;
  checkNow(id: string): Promise<HealthStatus>;
  collectSystemInfo(record: EnvironmentRecord, runner: HostRunner): Promise<SystemInfo>;
  guard: NetGuard;
  audit: Pick<AuditService, 'record'>;
  publisher: Publisher;
  clock: Clock;
  commandTimeoutMs: number;
  serverVersion: string;
}

/** Where a running operation's output goes: every line is kept (capped) and sent live. */
type Log = (text: string) => void;

/** What a command answered, filled in while an operation runs. */
interface CommandResult {
  exitCode: number | null;
  httpStatus: number | null;
}

/** What viewers see of an operation: status, timings and exit code, never its output. */
export function viewerOperation(op: Operation): Omit<Operation, 'output'> {
  const { output: _output, ...rest } = op;
  return rest;
}

/**
 * Restart, upgrade, check-now and deploy run in the background: the caller gets the operation
 * id at once and follows it on the hub (`operation_update`) or GET /operations/:id. Operations
 * on one environment run one at a time, in order.
 */
export function createOperationsService(deps: OperationsServiceDeps) {
  const { repo, audit, publisher, clock } = deps;
  const queues = new Map<string, Promise<void>>();
  const inFlight = new Set<Promise<void>>();
  const deployProviders: DeployFileProvider[] = [];
  /** The output so far of the operations running in this process, for GET while they run. */
  const running = new Map<string, ReturnType<typeof createOutputLog>>();
  const now = () => clock.now().toISOString();

  async function publish(op: Operation): Promise<void> {
    // Any role may subscribe to these topics: output is read with GET /operations/:id (operator).
    const fresh = viewerOperation((await repo.findById(op.id)) ?? op);
    for (const topic of [topics.operations, topics.operation(op.id), topics.environment(op.environmentId)]) publisher.publish(topic, 'operation_update', fresh);
  }

  /** A running operation's output as it comes: redacted and capped, to operators only. */
  function liveOutput(op: Operation) {
    const pending = createLiveBuffer();
    let timer: NodeJS.Timeout | undefined;
    const flush = () => {
      clearTimeout(timer);
      timer = undefined;
      const text = pending.take();
      if (text === undefined) return;
      const payload = { operationId: op.id, environmentId: op.environmentId, text };
      for (const topic of [topics.operation(op.id), topics.environment(op.environmentId)]) publisher.publish(topic, 'operation_output', payload, operatorsOnly);
    };
    return {
      push(text: string): void {
        pending.push(text);
        timer ??= setTimeout(flush, LIVE_OUTPUT_INTERVAL_MS);
      },
      flush,
    };
  }

  /** The stored form of an operation; one still running here shows its output so far. */
  const withLiveOutput = (op: Operation): Operation => {
    const log = op.status === 'in_progress' ? running.get(op.id) : undefined;
    return log ? { ...op, output: log.text() } : op;
  };

  /** Records the operation, queues `work` behind the environment's other operations, returns at once. */
  async function start(record: EnvironmentRecord, type: OperationType, params: Record<string, unknown>, actor: Actor, force: boolean, work: (log: Log, result: CommandResult) => Promise<string | void>) {
    if (!force && queues.has(record.id)) throw new ConflictError(`another operation is running on ${record.name}; wait for it or pass force to queue behind it`);
    const op: Operation = { id: newId(), environmentId: record.id, type, status: 'in_progress', params, output: '', error: null, requestedBy: actor.username, startedAt: now(), finishedAt: null, exitCode: null, httpStatus: null };
    await repo.insert(op);
    await audit.record({ type: 'action', level: 'info', action: type, message: `${type.replace('_', ' ')} of ${record.name} started`, environmentId: record.id, environmentName: record.name, details: { operationId: op.id, ...params }, actor });
    await publish(op);

    const run = async () => {
      const collected = createOutputLog();
      const live = liveOutput(op);
      running.set(op.id, collected);
      const log: Log = (text) => live.push(collected.append(text));
      const result: CommandResult = { exitCode: null, httpStatus: null };
      try {
        const summary = await work(log, result);
        if (summary) log(summary);
        live.flush();
        await repo.update(op.id, { status: 'succeeded', output: collected.text(), finishedAt: now(), ...result });
        await audit.record({ type: 'action', level: 'success', action: type, message: `${type.replace('_', ' ')} of ${record.name} succeeded`, environmentId: record.id, environmentName: record.name, details: { operationId: op.id }, actor });
      } catch (error) {
        const reason = redactSecrets((error as Error).message || 'failed');
        live.flush();
        await repo.update(op.id, { status: 'failed', output: collected.text(), error: reason, finishedAt: now(), ...result });
        await audit.record({ type: 'action', level: 'error', action: type, message: `${type.replace('_', ' ')} of ${record.name} failed: ${reason}`, environmentId: record.id, environmentName: record.name, details: { operationId: op.id }, actor });
      }
      running.delete(op.id);
      await publish(op);
    };
    const previous = queues.get(record.id) ?? Promise.resolve();
    const next = previous.then(run, run);
    queues.set(record.id, next);
    const tracked = next.finally(() => {
      inFlight.delete(tracked);
      if (queues.get(record.id) === next) queues.delete(record.id);
    });
    inFlight.add(tracked);
    return { operationId: op.id, status: 'in_progress' as const, startedAt: op.startedAt };
  }

  async function httpCall(details: CommandDetails, log: Log, result: CommandResult, version?: string): Promise<void> {
    // {VERSION} goes into the URL URL-encoded and into the JSON body JSON-escaped, each as itself.
    const put = (text: string, encode: (v: string) => string) => (version === undefined ? text : text.replaceAll('{VERSION}', encode(version)));
    const url = new URL(put(details.url ?? '', encodeURIComponent));
    const body = details.body === undefined ? undefined : put(JSON.stringify(details.body), (v) => JSON.stringify(v).slice(1, -1));
    const headers = { ...(body !== undefined && { 'content-type': 'application/json' }), ...details.headers };
    try {
      const res = await fetchOnce(url, details.method ?? 'POST', headers, deps.guard, AbortSignal.timeout(deps.commandTimeoutMs), body);
      result.httpStatus = res.status;
      log(`HTTP ${res.status}`);
      if (res.body) log(res.body.slice(0, 4096));
      if (res.status < 200 || res.status >= 300) throw new Error(`HTTP ${res.status} from ${url.host}`);
    } catch (error) {
      if ((error as Error).message.startsWith('HTTP ')) throw error;
      throw new Error(`${url.host}: ${describeNetError(error, deps.commandTimeoutMs)}`, { cause: error });
    }
  }

  /** Runs an admin's command; its output is logged line by line as it comes. */
  async function runScript(record: EnvironmentRecord, script: string, log: Log, timeoutMs: number, commandResult: CommandResult): Promise<void> {
    const runner = await deps.runnerFor(record);
    const lines = { stdout: createLineRedactor(log), stderr: createLineRedactor(log) };
    try {
      const result = await runner.exec({ script }, { timeoutMs, onOutput: (stream, text) => lines[stream].write(text) });
      commandResult.exitCode = result.exitCode;
      if (result.exitCode !== 0) throw new Error(`exit code ${result.exitCode ?? result.signal ?? 'unknown'}: ${result.stderr.trim().split('\n').slice(-3).join(' | ') || '(no error output)'}`);
    } finally {
      lines.stdout.end();
      lines.stderr.end();
    }
  }

  async function fetchVersions(record: EnvironmentRecord): Promise<string[]> {
    const source = record.upgradeConfig?.versionListURL;
    if (!source) throw new ConflictError(`environment ${record.name} has no versionListURL in its upgrade configuration`);
    let res;
    try {
      res = await fetchOnce(new URL(source), 'GET', { accept: 'application/json' }, deps.guard, AbortSignal.timeout(10_000));
    } catch (error) {
      throw new ConflictError(`version list ${source} cannot be fetched: ${describeNetError(error, 10_000)}`);
    }
    if (res.status !== 200) throw new ConflictError(`version list ${source} answered HTTP ${res.status}`);
    let document: unknown;
    try {
      document = JSON.parse(res.body);
    } catch {
      throw new ConflictError(`version list ${source} is not JSON`);
    }
    return extractVersions(document, record.upgradeConfig?.versionPath).filter((v) => VERSION_PATTERN.test(v));
  }

  return {
    async get(id: string): Promise<Operation> {
      const op = await repo.findById(id);
      if (!op) throw new NotFoundError('operation', id);
      return withLiveOutput(op);
    },

    list: async (environmentId: string | undefined, limit: number) => (await repo.list({ environmentId, limit })).map(withLiveOutput),

    async restart(id: string, force: boolean, actor: Actor) {
      const record = await deps.environments.getRecord(id);
      const commands = record.commands;
      if (!commands?.restart.enabled) throw new ConflictError(`restart is not configured for ${record.name} (commands.restart)`);
      return start(record, 'restart', { force, via: commands.type }, actor, force, async (log, result) => {
        if (commands.type === 'ssh') await runScript(record, commands.restart.command ?? '', log, deps.commandTimeoutMs, result);
        else await httpCall(deps.environments.openCommand(record, 'restart') ?? { enabled: false }, log, result);
      });
    },

    versions: async (id: string) => {
      const record = await deps.environments.getRecord(id);
      return { versions: await fetchVersions(record), source: record.upgradeConfig?.versionListURL ?? '' };
    },

    async upgrade(id: string, version: string, actor: Actor) {
      const record = await deps.environments.getRecord(id);
      const upgrade = record.upgradeConfig;
      if (!upgrade?.enabled) throw new ConflictError(`upgrade is not configured for ${record.name} (upgradeConfig)`);
      if (!VERSION_PATTERN.test(version)) throw ValidationError.field('version', 'must be letters, digits, . _ + -');
      if (upgrade.versionListURL) {
        const known = await fetchVersions(record);
        if (!known.includes(version)) throw ValidationError.field('version', `is not in the published list (${known.slice(0, 10).join(', ')}${known.length > 10 ? ', …' : ''})`);
      }
      return start(record, 'upgrade', { version, via: upgrade.type }, actor, false, async (log, result) => {
        if (upgrade.type === 'ssh') {
          // The version is validated and quoted: the one value put into an admin's script.
          await runScript(record, (upgrade.command ?? '').replaceAll('{VERSION}', shellQuote(version)), log, Math.max(deps.commandTimeoutMs, 600_000), result);
        } else {
          await httpCall(deps.environments.openCommand(record, 'upgrade') ?? { enabled: false }, log, result, version);
        }
      });
    },

    async checkHealth(id: string, actor: Actor) {
      const record = await deps.environments.getRecord(id);
      return start(record, 'check_health', {}, actor, true, async () => {
        const status = await deps.checkNow(id);
        return `${status.health}: ${status.message}${status.responseTime === null ? '' : ` (${status.responseTime} ms)`}`;
      });
    },

    registerDeployFiles(provider: DeployFileProvider): void {
      deployProviders.push(provider);
    },

    /** Prepares a host for bots: dirs, Python, Passivbot, files, versions. Safe to run again. */
    async deploy(id: string, actor: Actor) {
      const record = await deps.environments.getRecord(id);
      return start(record, 'deploy', {}, actor, false, async (log) => {
        const runner = await deps.runnerFor(record);
        const { workDir, pythonPath, passivbotDir, kind } = record.runtime;
        await runner.execChecked(['mkdir', '-p', `${workDir}/instances`, `${workDir}/logs`, `${workDir}/jobs`, `${workDir}/run`]);
        log(`working dirs ready under ${workDir}`);
        const python = await runner.exec([pythonPath, '--version']);
        if (python.exitCode !== 0) throw new Error(`python at ${pythonPath} does not run: ${(python.stderr || python.stdout).trim() || `exit ${python.exitCode}`}`);
        log(`python: ${(python.stdout || python.stderr).trim()}`);
        const probe = kind === 'cli' ? ['test', '-x', `${pythonPath.replace(/\/python[\d.]*$/, '')}/passivbot`] : ['test', '-f', `${passivbotDir}/src/main.py`];
        if ((await runner.exec(probe)).exitCode !== 0) {
          throw new Error(kind === 'cli' ? `no passivbot command next to ${pythonPath}` : `no Passivbot checkout at ${passivbotDir} (src/main.py missing)`);
        }
        log(`passivbot (${kind}) found`);
        const files: DeployFile[] = [
          { path: `${workDir}/pbfleet-host.json`, mode: 0o644, content: `${JSON.stringify({ environmentId: record.id, name: record.name, managedBy: 'pbfleet', serverVersion: deps.serverVersion, deployedAt: now() }, null, 2)}\n` },
        ];
        for (const provider of deployProviders) files.push(...(await provider(record)));
        await runner.execChecked(['mkdir', '-p', ...new Set(files.map((f) => f.path.slice(0, f.path.lastIndexOf('/')) || '/'))]);
        for (const file of files) {
          await runner.writeFileAtomic(file.path, file.content, file.mode);
          log(`wrote ${file.path}`);
        }
        const info = await deps.collectSystemInfo(record, runner);
        await deps.environments.setSystemInfo(record.id, info);
        return 'versions recorded in system info';
      });
    },

    /** Marks operations of a previous process as failed; waits for ours on shutdown. */
    recoverInterrupted: () => repo.failInterrupted(now()),
    async drain(): Promise<void> {
      await Promise.allSettled([...inFlight]);
    },
  };
}

export type OperationsService = ReturnType<typeof createOperationsService>;
