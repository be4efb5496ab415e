import type { FastifyBaseLogger } from 'fastify';
import type { Clock } from '../../../lib/clock.js';
import { SshConnectError, ExecTimeoutError, HostKeyMismatchError } from '../../ssh/ssh.errors.js';
import type { BotHost, ProbeResult } from '../hosts/bot-host.js';
import { botFiles, coinListFiles, type BotLayout } from '../hosts/bot-layout.fns.js';
import type { InstancePatch } from '../instances.repo.js';
import type { BotProcess, InstanceRecord } from '../instances.types.js';
import type { LogStreams } from '../logs/log-streams.js';
import { crashReason, nextBackoffMs, recentCrashes } from './supervisor.fns.js';

/** Where the supervisor reads and writes instances; `update` also tells subscribers. */
export interface InstanceStore {
  get(id: string): Promise<InstanceRecord | undefined>;
  update(id: string, patch: InstancePatch): Promise<InstanceRecord | undefined>;
  all(): Promise<InstanceRecord[]>;
  byEnvironment(environmentId: string): Promise<InstanceRecord[]>;
  accountsOnEnvironment(environmentId: string): Promise<string[]>;
}

export interface SupervisorPolicy {
  maxCrashesPerHour: number;
  stopTimeoutSeconds: number;
  logMaxMegabytes: number;
  logGenerations: number;
}

export interface SupervisorTiming {
  backoffBaseMs: number;
  backoffMaxMs: number;
  /** How often bots that are not our children (remote, adopted) are checked. */
  probeIntervalMs: number;
  /** A bot that has not printed READY by then counts as running if it is alive. */
  readyTimeoutMs: number;
  /** How often bot logs are checked against the rotation size. */
  logRotateIntervalMs: number;
}

export interface SupervisorDeps {
  store: InstanceStore;
  hostFor(environmentId: string): Promise<BotHost>;
  logs: LogStreams;
  apiKeysFor(accounts: readonly string[]): Promise<Record<string, unknown>>;
  policy(): Promise<SupervisorPolicy>;
  onError(instance: InstanceRecord, reason: string): void;
  clock: Clock;
  log: FastifyBaseLogger;
  timing: SupervisorTiming;
}

interface Watch {
  environmentId: string;
  proc: BotProcess | null;
  layout: BotLayout | null;
  /** Our child: its exit arrives as an event; otherwise it is probed. */
  direct: boolean;
  stopping: boolean;
  restartTimer: NodeJS.Timeout | null;
  unfollowTimer: NodeJS.Timeout | null;
  exitWaiters: (() => void)[];
}

export const isUnreachable = (error: unknown) => error instanceof SshConnectError || error instanceof ExecTimeoutError || error instanceof HostKeyMismatchError;
const messageOf = (error: unknown) => (error instanceof Error ? error.message : String(error)).slice(0, 1000);
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * The desired-state reconciler: starts bots that should run, restarts crashed ones with
 * backoff (and gives up into `error` past the hourly limit), stops with SIGINT then SIGKILL,
 * re-adopts bots that outlived a pbfleet restart, and marks bots of an unreachable host
 * `unknown`. Work on one bot is serialised; bots are independent of each other.
 */
export class Supervisor {
  private readonly watches = new Map<string, Watch>();
  private readonly chains = new Map<string, Promise<unknown>>();
  private readonly unreachable = new Set<string>();
  private timer: NodeJS.Timeout | null = null;
  private stopped = false;

  constructor(private readonly deps: SupervisorDeps) {}

  private watch(id: string, environmentId: string): Watch {
    let w = this.watches.get(id);
    if (!w) {
      w = { environmentId, proc: null, layout: null, direct: false, stopping: false, restartTimer: null, unfollowTimer: null, exitWaiters: [] };
      this.watches.set(id, w);
    }
    return w;
  }

  /** Runs `task` after every earlier task of the same bot. */
  private exclusive<T>(id: string, task: () => Promise<T>): Promise<T> {
    const previous = this.chains.get(id) ?? Promise.resolve();
    const next = previous.then(task, task);
    const settled = next.catch(() => undefined);
    this.chains.set(id, settled);
    void settled.then(() => {
      if (this.chains.get(id) === settled) this.chains.delete(id);
    });
    return next;
  }

  private update(id: string, patch: InstancePatch) {
    return this.deps.store.update(id, patch);
  }

  isRunning(id: string): boolean {
    return Boolean(this.watches.get(id)?.proc);
  }

  /** Starts the bot if it should run and does not. Failures become its status, not exceptions. */
  start(id: string, reason: 'user' | 'restart' | 'crash' | 'recover' = 'user'): Promise<void> {
    return this.exclusive(id, () => this.launch(id, reason));
  }

  stop(id: string): Promise<void> {
    return this.exclusive(id, () => this.terminate(id));
  }

  restart(id: string): Promise<void> {
    return this.exclusive(id, async () => {
      await this.terminate(id);
      await this.launch(id, 'restart');
    });
  }

  /** Writes a new config's coin lists where the running bot re-reads them. */
  async applyCoinLists(instance: InstanceRecord): Promise<boolean> {
    const w = this.watches.get(instance.id);
    if (!w?.proc || !w.layout) return false;
    const host = await this.deps.hostFor(instance.environmentId);
    await host.writeFiles(coinListFiles(instance.config, w.layout));
    return true;
  }

  /** Rewrites api-keys.json on an environment: exactly the accounts its bots use. */
  async syncApiKeys(environmentId: string, anyInstance?: Pick<InstanceRecord, 'id' | 'runtime'>): Promise<void> {
    const host = await this.deps.hostFor(environmentId);
    const instances = await this.deps.store.byEnvironment(environmentId);
    const sample = instances[0] ?? anyInstance;
    if (!sample) return;
    const layout = await host.layout(sample.id, sample.runtime);
    await host.writeFiles([await this.apiKeysFile(environmentId, layout)]);
  }

  private async apiKeysFile(environmentId: string, layout: BotLayout) {
    const keys = await this.deps.apiKeysFor(await this.deps.store.accountsOnEnvironment(environmentId));
    return { path: layout.apiKeys, content: `${JSON.stringify(keys, null, 2)}\n`, mode: 0o600 };
  }

  private async launch(id: string, reason: 'user' | 'restart' | 'crash' | 'recover'): Promise<void> {
    const instance = await this.deps.store.get(id);
    if (!instance || instance.desiredState !== 'running') return;
    const w = this.watch(id, instance.environmentId);
    if (w.proc) return;
    this.clearRestart(w);
    try {
      const host = await this.deps.hostFor(instance.environmentId);
      const layout = await host.layout(id, instance.runtime);
      const apiKeys = await this.apiKeysFile(instance.environmentId, layout);
      if (!(instance.account in JSON.parse(apiKeys.content))) throw new Error(`account ${instance.account} does not exist`);
      await host.prepare(layout, [apiKeys, ...botFiles(instance.config, layout)]);
      await this.update(id, { status: 'starting' });
      this.follow(id, host, layout, instance);
      // Before the launch: a READY printed at once must not be wiped by the reset.
      this.deps.logs.resetSummary(id);
      const launched = await host.launch(layout);
      const proc = { pid: launched.pid, start: launched.start };
      Object.assign(w, { proc, layout, direct: Boolean(launched.exited), stopping: false });
      this.unreachable.delete(instance.environmentId);
      await this.update(id, {
        pid: proc.pid,
        processStart: proc.start,
        startedAt: this.deps.clock.now().toISOString(),
        runningConfigVersion: instance.configVersion,
        restartCount: reason === 'user' || reason === 'recover' ? instance.restartCount : instance.restartCount + 1,
      });
      void launched.exited?.then((exit) => this.exited(id, proc, { state: 'exited', ...exit }));
      // READY may have been read while the launch was being recorded.
      if (this.deps.logs.summaryOf(id)?.ready) await this.markRunning(id, proc);
      const readyTimer = setTimeout(() => void this.markRunning(id, proc), this.deps.timing.readyTimeoutMs);
      readyTimer.unref();
    } catch (error) {
      const unreachable = isUnreachable(error);
      this.deps.log.warn({ err: error, instanceId: id }, 'bot not started');
      await this.update(id, { status: unreachable ? 'unknown' : 'error', lastError: `start failed: ${messageOf(error)}` });
      if (!unreachable) {
        const failed = await this.deps.store.get(id);
        if (failed) this.deps.onError(failed, `start failed: ${messageOf(error)}`);
      }
    }
  }

  private follow(id: string, host: BotHost, layout: BotLayout, instance: InstanceRecord): void {
    const w = this.watch(id, instance.environmentId);
    if (w.unfollowTimer) clearTimeout(w.unfollowTimer);
    w.unfollowTimer = null;
    const from = this.deps.logs.open(id, instance.logOffset, instance.summary);
    host.follower.follow(id, layout.log, from);
  }

  /** `[boot] READY` seen, or the ready timeout passed with the process alive. */
  onReady(id: string): void {
    const w = this.watches.get(id);
    if (w?.proc) void this.markRunning(id, w.proc);
  }

  private async markRunning(id: string, proc: BotProcess): Promise<void> {
    const w = this.watches.get(id);
    if (w?.proc !== proc || w.stopping) return;
    const instance = await this.deps.store.get(id);
    if (instance?.status === 'starting' || instance?.status === 'unknown') await this.update(id, { status: 'running' });
  }

  private async terminate(id: string): Promise<void> {
    const w = this.watches.get(id);
    if (w) this.clearRestart(w);
    const instance = await this.deps.store.get(id);
    if (!instance) return;
    if (!w?.proc) {
      if (instance.status !== 'stopped' && instance.status !== 'error') await this.update(id, { status: 'stopped', pid: null, processStart: null });
      return;
    }
    const proc = w.proc;
    w.stopping = true;
    await this.update(id, { status: 'stopping' });
    const host = await this.deps.hostFor(w.environmentId);
    const { stopTimeoutSeconds } = await this.deps.policy();
    await host.signal(proc, 'SIGINT');
    if (!(await this.waitExit(id, w, host, proc, stopTimeoutSeconds * 1000))) {
      this.deps.log.warn({ instanceId: id, pid: proc.pid }, 'bot ignored SIGINT; sending SIGKILL to its process group');
      await host.signal(proc, 'SIGKILL');
      if (!(await this.waitExit(id, w, host, proc, 10_000))) {
        w.stopping = false;
        await this.update(id, { status: 'unknown', lastError: `pid ${proc.pid} did not end after SIGKILL` });
      }
    }
  }

  /** Resolves true once the process has exited (event or probe), false after `ms`. */
  private async waitExit(id: string, w: Watch, host: BotHost, proc: BotProcess, ms: number): Promise<boolean> {
    const deadline = Date.now() + ms;
    const exited = new Promise<void>((resolve) => w.exitWaiters.push(resolve));
    let done = false;
    void exited.then(() => (done = true));
    while (!done && Date.now() < deadline) {
      if (!w.direct && w.layout) {
        const result = await host.probe([{ instanceId: id, proc, layout: w.layout }]).catch(() => null);
        const state = result?.get(id);
        if (state?.state === 'exited') await this.exited(id, proc, state);
      }
      await Promise.race([exited, sleep(w.direct ? Math.min(1000, ms) : 250)]);
    }
    return done || w.proc !== proc;
  }

  /** A process ended (event, probe or adoption). Idempotent per process. */
  private async exited(id: string, proc: BotProcess, exit: Extract<ProbeResult, { state: 'exited' }>, note?: string): Promise<void> {
    const w = this.watches.get(id);
    if (!w || w.proc !== proc) return;
    w.proc = null;
    const stopping = w.stopping;
    w.stopping = false;
    this.scheduleUnfollow(id, w);
    try {
      await this.afterExit(id, w, exit, stopping, note);
    } finally {
      // Whoever waits for the exit (a stop) sees the final status.
      for (const resolve of w.exitWaiters.splice(0)) resolve();
    }
  }

  private async afterExit(id: string, w: Watch, exit: Extract<ProbeResult, { state: 'exited' }>, stopping: boolean, note: string | undefined): Promise<void> {
    const instance = await this.deps.store.get(id);
    if (!instance) return;
    const base = { pid: null, processStart: null, lastExitCode: exit.exitCode };
    if (stopping || instance.desiredState === 'stopped') {
      await this.update(id, { ...base, status: 'stopped' });
      return;
    }
    const now = this.deps.clock.now().getTime();
    const crashTimes = [...recentCrashes(instance.crashTimes, now), now];
    const reason = note ?? crashReason(exit, this.deps.logs.summaryOf(id)?.lastError ?? instance.summary.lastError);
    const { maxCrashesPerHour } = await this.deps.policy();
    if (crashTimes.length > maxCrashesPerHour) {
      const lastError = `${reason}; crashed ${crashTimes.length} times within an hour, so it is not restarted (start it again once fixed)`;
      const updated = await this.update(id, { ...base, status: 'error', crashTimes, lastError });
      if (updated) this.deps.onError(updated, lastError);
      return;
    }
    const delay = note ? 0 : nextBackoffMs(crashTimes.length, this.deps.timing.backoffBaseMs, this.deps.timing.backoffMaxMs);
    await this.update(id, { ...base, status: 'crashed', crashTimes: note ? instance.crashTimes : crashTimes, lastError: reason });
    if (this.stopped) return;
    w.restartTimer = setTimeout(() => {
      w.restartTimer = null;
      void this.start(id, note ? 'recover' : 'crash');
    }, delay);
    w.restartTimer.unref();
  }

  private scheduleUnfollow(id: string, w: Watch): void {
    // Read the last lines the bot wrote before it ended, then let the file go.
    if (w.unfollowTimer) clearTimeout(w.unfollowTimer);
    w.unfollowTimer = setTimeout(() => {
      w.unfollowTimer = null;
      if (w.proc) return;
      void this.deps.hostFor(w.environmentId).then((host) => host.follower.unfollow(id), () => undefined);
    }, 3000);
    w.unfollowTimer.unref();
  }

  private clearRestart(w: Watch): void {
    if (w.restartTimer) clearTimeout(w.restartTimer);
    w.restartTimer = null;
  }

  /** Stops watching a deleted bot (it was stopped first). */
  async forget(id: string): Promise<void> {
    const w = this.watches.get(id);
    if (!w) return;
    this.clearRestart(w);
    if (w.unfollowTimer) clearTimeout(w.unfollowTimer);
    this.watches.delete(id);
    this.deps.logs.close(id);
    const host = await this.deps.hostFor(w.environmentId).catch(() => null);
    host?.follower.unfollow(id);
  }

  /**
   * After a pbfleet (re)start: bots with a recorded process are probed and, when that exact
   * process still runs, adopted (log tailing resumes at the saved offset); bots that should
   * run and do not are started; nothing is started twice.
   */
  async recover(): Promise<void> {
    const instances = await this.deps.store.all();
    const byEnvironment = new Map<string, InstanceRecord[]>();
    for (const instance of instances) {
      const list = byEnvironment.get(instance.environmentId) ?? [];
      list.push(instance);
      byEnvironment.set(instance.environmentId, list);
    }
    await Promise.all([...byEnvironment].map(([environmentId, list]) => this.recoverEnvironment(environmentId, list)));
    this.timer = setInterval(() => void this.tick().catch((err: unknown) => this.deps.log.error({ err }, 'supervisor tick failed')), this.deps.timing.probeIntervalMs);
    this.timer.unref();
  }

  private async recoverEnvironment(environmentId: string, instances: InstanceRecord[]): Promise<void> {
    const host = await this.deps.hostFor(environmentId).catch(() => null);
    if (!host) return;
    const recorded: { instance: InstanceRecord; proc: BotProcess; layout: BotLayout }[] = [];
    for (const instance of instances) {
      const w = this.watch(instance.id, environmentId);
      if (instance.pid !== null && instance.processStart !== null) {
        const layout = await host.layout(instance.id, instance.runtime).catch(() => null);
        if (!layout) continue;
        w.proc = { pid: instance.pid, start: instance.processStart };
        w.layout = layout;
        recorded.push({ instance, proc: w.proc, layout });
      }
    }
    let results: Map<string, ProbeResult>;
    try {
      results = await host.probe(recorded.map(({ instance, proc, layout }) => ({ instanceId: instance.id, proc, layout })));
    } catch (error) {
      if (!isUnreachable(error)) throw error;
      this.unreachable.add(environmentId);
      for (const { instance } of recorded) await this.update(instance.id, { status: 'unknown' });
      return;
    }
    for (const { instance, proc, layout } of recorded) {
      const result = results.get(instance.id) ?? { state: 'exited', exitCode: null, signal: null };
      this.follow(instance.id, host, layout, instance);
      if (result.state === 'alive') {
        if (instance.desiredState === 'stopped') void this.stop(instance.id);
        else if (instance.status !== 'running' && instance.status !== 'starting') await this.update(instance.id, { status: 'running' });
      } else {
        await this.exited(instance.id, proc, result, 'the bot ended while pbfleet was not running (exit code unknown)');
      }
    }
    const absent = instances.filter((i) => i.pid === null);
    for (const instance of absent) {
      if (instance.desiredState === 'running' && instance.status !== 'error') void this.start(instance.id, 'recover');
      else if (instance.desiredState === 'stopped' && instance.status !== 'stopped' && instance.status !== 'error') await this.update(instance.id, { status: 'stopped' });
    }
  }

  /**
   * Periodic: probes bots that are not our children (remote, adopted), notices unreachable
   * hosts (their bots become `unknown`) and their return, retries starts that failed because
   * a host was down, and rotates logs.
   */
  async tick(): Promise<void> {
    const byEnvironment = new Map<string, [string, Watch][]>();
    for (const entry of this.watches) {
      const list = byEnvironment.get(entry[1].environmentId) ?? [];
      list.push(entry);
      byEnvironment.set(entry[1].environmentId, list);
    }
    await Promise.all([...byEnvironment].map(([environmentId, list]) => this.tickEnvironment(environmentId, list)));
  }

  /** Environments whose tick is still running: a slow host (a login shell that takes seconds) never gets a second probe on top. */
  private readonly ticking = new Set<string>();

  private async tickEnvironment(environmentId: string, watches: [string, Watch][]): Promise<void> {
    if (this.ticking.has(environmentId)) return;
    this.ticking.add(environmentId);
    try {
      await this.tickEnvironmentOnce(environmentId, watches);
    } finally {
      this.ticking.delete(environmentId);
    }
  }

  private async tickEnvironmentOnce(environmentId: string, watches: [string, Watch][]): Promise<void> {
    const host = await this.deps.hostFor(environmentId).catch(() => null);
    if (!host) return;
    const probed = watches.filter(([, w]) => w.proc && w.layout && !w.direct && !w.stopping);
    try {
      const results = await host.probe(probed.map(([id, w]) => ({ instanceId: id, proc: w.proc as BotProcess, layout: w.layout as BotLayout })));
      const wasUnreachable = this.unreachable.delete(environmentId);
      for (const [id, w] of probed) {
        const result = results.get(id);
        const proc = w.proc as BotProcess;
        if (result?.state === 'exited') await this.exited(id, proc, result);
        else if (wasUnreachable) await this.markRunning(id, proc);
      }
      if (wasUnreachable) await this.retryStarts(environmentId);
    } catch (error) {
      if (!isUnreachable(error)) throw error;
      if (!this.unreachable.has(environmentId)) {
        this.unreachable.add(environmentId);
        this.deps.log.warn({ environmentId, err: error }, 'host unreachable: its bots are marked unknown');
      }
      for (const [id, w] of watches) {
        if (w.proc) await this.markUnknown(id);
      }
      return;
    }
    await this.rotateLogs(host, watches);
  }

  private async markUnknown(id: string): Promise<void> {
    const instance = await this.deps.store.get(id);
    if (instance && instance.status !== 'unknown' && instance.status !== 'stopping') await this.update(id, { status: 'unknown' });
  }

  private async retryStarts(environmentId: string): Promise<void> {
    for (const instance of await this.deps.store.byEnvironment(environmentId)) {
      if (instance.desiredState === 'running' && instance.status === 'unknown' && !this.watches.get(instance.id)?.proc) void this.start(instance.id, 'recover');
    }
  }

  private readonly lastRotation = new Map<string, number>();

  private async rotateLogs(host: BotHost, watches: [string, Watch][]): Promise<void> {
    const now = Date.now();
    if (now - (this.lastRotation.get(host.environmentId) ?? 0) < this.deps.timing.logRotateIntervalMs) return;
    this.lastRotation.set(host.environmentId, now);
    const { logMaxMegabytes, logGenerations } = await this.deps.policy();
    const logs = watches.filter(([, w]) => w.layout).map(([, w]) => (w.layout as BotLayout).log);
    const rotated = await host.rotate(logs, logMaxMegabytes * 1024 * 1024, logGenerations);
    if (rotated.length) this.deps.log.info({ environmentId: host.environmentId, rotated }, 'bot logs rotated');
  }

  /** Shutdown: bots keep running; timers stop; the next start adopts them. */
  shutdown(): void {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    for (const w of this.watches.values()) {
      this.clearRestart(w);
      if (w.unfollowTimer) clearTimeout(w.unfollowTimer);
    }
  }
}
