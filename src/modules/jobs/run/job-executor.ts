import { mkdir, writeFile } from 'node:fs/promises';
import { join, posix } from 'node:path';
import type { BotHost, ProbeResult } from '../../instances/hosts/bot-host.js';
import type { BotProcess } from '../../instances/instances.types.js';
import { readBacktestResult } from '../results/backtest-results.js';
import { readParetoFront } from '../results/pareto.js';
import { jobLayout, runConfig, type JobLayout } from '../jobs.fns.js';
import type { JobOutput } from './job-output.js';
import type { JobProgress, JobRecord, JobStatus } from '../jobs.types.js';

export interface JobOutcome {
  status: Extract<JobStatus, 'completed' | 'failed' | 'cancelled' | 'interrupted'>;
  error: string | null;
  result: Record<string, unknown> | null;
  resultDir: string | null;
}

export interface JobStarted {
  pid: number;
  processStart: string;
  workDir: string;
  logPath: string;
}

export interface JobExecutorDeps {
  hostFor(environmentId: string): Promise<BotHost>;
  output: JobOutput;
  /** Where results are read by this process: a job's files are copied here from a remote host. */
  resultsRoot: string;
  stopTimeoutMs: number;
  probeIntervalMs: number;
  /** A job whose host does not answer this long is given up as interrupted. */
  unreachableLimitMs: number;
}

export interface RunCallbacks {
  started(info: JobStarted): Promise<void>;
  progress(progress: JobProgress): void;
  /** The process ended: its CPU slots are free, while results are still being collected. */
  exited?(): void;
}

interface Running {
  host: BotHost;
  proc: BotProcess;
  cancelled: boolean;
  exited: boolean;
}

const BACKTEST_FILES = ['analysis.json', 'config.json', 'fills.csv', 'balance_and_equity.csv.gz', 'balance_and_equity.csv'];
/** How a job's process ended; `lost` when its host stopped answering for good. */
type Exit = Extract<ProbeResult, { state: 'exited' }> & { lost?: string };
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
const messageOf = (error: unknown) => (error instanceof Error ? error.message : String(error)).slice(0, 1000);

/**
 * Runs one backtest or optimization on a host, the same code for the embedded queue and for
 * `pbfleet worker`: writes the job's config, starts Passivbot detached (so a pbfleet restart
 * does not kill it), reads its output for progress, waits for the exit, then finds, copies
 * (from a remote host) and parses the results.
 */
export class JobExecutor {
  private readonly running = new Map<string, Running>();

  constructor(private readonly deps: JobExecutorDeps) {}

  isRunning(id: string): boolean {
    return this.running.has(id);
  }

  async run(job: JobRecord, callbacks: RunCallbacks): Promise<JobOutcome> {
    let host: BotHost | undefined;
    let layout: JobLayout;
    let before: string[] = [];
    try {
      host = await this.deps.hostFor(job.environmentId);
      const runtime = await host.runtime();
      layout = jobLayout(runtime, runtime.kind, await host.workDir(), job.id, job.type, Boolean(job.params.seedConfig));
      const files = [{ path: layout.config, content: `${JSON.stringify(runConfig(job.params.effective, layout, job.type), null, 2)}\n`, mode: 0o640 }];
      if (job.params.seedConfig) files.push({ path: layout.seed, content: JSON.stringify(job.params.seedConfig), mode: 0o640 });
      if (job.type === 'optimize') before = await host.listDir(layout.optimizeResults);
      await host.prepare(layout, files);
      this.openOutput(job, callbacks);
      host.follower.follow(job.id, layout.log, 0);
      const launched = await host.launch(layout);
      const entry: Running = { host, proc: { pid: launched.pid, start: launched.start }, cancelled: false, exited: false };
      this.running.set(job.id, entry);
      await callbacks.started({ pid: launched.pid, processStart: launched.start, workDir: layout.dir, logPath: layout.log });
      let freed = false;
      const free = () => {
        if (!freed) callbacks.exited?.();
        freed = true;
      };
      // The slot is free the moment the process is gone, before its exit code is read.
      void launched.gone?.then(free);
      const exit = launched.exited ? { state: 'exited' as const, ...(await launched.exited) } : await this.pollExit(job.id, host, entry.proc, layout);
      free();
      return await this.finish(job, host, layout, exit, before);
    } catch (error) {
      this.deps.output.close(job.id);
      this.running.delete(job.id);
      host?.follower.unfollow(job.id);
      return { status: 'failed', error: `could not run: ${messageOf(error)}`, result: null, resultDir: null };
    }
  }

  /**
   * A job whose process outlived a pbfleet restart: waits for it again, or, when it already
   * ended, reads what it left. Results present means it finished; otherwise it was interrupted.
   */
  async resume(job: JobRecord, callbacks: Pick<RunCallbacks, 'progress' | 'exited'>): Promise<JobOutcome> {
    try {
      return await this.readopt(job, callbacks);
    } catch (error) {
      this.deps.output.close(job.id);
      this.running.delete(job.id);
      return { status: 'interrupted', error: `could not check the job after a restart: ${messageOf(error)}`, result: null, resultDir: null };
    }
  }

  private async readopt(job: JobRecord, callbacks: Pick<RunCallbacks, 'progress' | 'exited'>): Promise<JobOutcome> {
    const host = await this.deps.hostFor(job.environmentId);
    const runtime = await host.runtime();
    const layout = jobLayout(runtime, runtime.kind, posix.dirname(posix.dirname(job.workDir ?? '/x/jobs/x')), job.id, job.type, Boolean(job.params.seedConfig));
    const proc = { pid: job.pid ?? 0, start: job.processStart ?? '' };
    const probe = (await this.probeUntilReachable(host, job.id, proc, layout)).get(job.id);
    this.openOutput(job, callbacks);
    host.follower.follow(job.id, layout.log, 0);
    let exit: Exit;
    if (probe?.state === 'alive') {
      const entry: Running = { host, proc, cancelled: false, exited: false };
      this.running.set(job.id, entry);
      exit = await this.pollExit(job.id, host, proc, layout);
    } else exit = probe?.state === 'exited' ? probe : { state: 'exited', exitCode: null, signal: null };
    callbacks.exited?.();
    const outcome = await this.finish(job, host, layout, exit, null);
    // Killed (or gone without a trace) while nobody watched, with no results: interrupted, not failed.
    if (outcome.status === 'failed' && probe?.state !== 'alive' && (exit.exitCode === null || exit.signal !== null)) {
      return { ...outcome, status: 'interrupted', error: 'the job ended while pbfleet was not running, without results' };
    }
    return outcome;
  }

  /** SIGINT to the job's process group (an optimization keeps what it found), SIGKILL after the timeout. */
  async cancel(id: string): Promise<boolean> {
    const entry = this.running.get(id);
    if (!entry) return false;
    entry.cancelled = true;
    try {
      await entry.host.signal(entry.proc, 'SIGINT');
    } catch {
      // The host cannot be reached: nothing was stopped, so nothing is cancelled.
      entry.cancelled = false;
      return false;
    }
    const deadline = Date.now() + this.deps.stopTimeoutMs;
    while (!entry.exited && Date.now() < deadline) await sleep(100);
    if (!entry.exited) await entry.host.signal(entry.proc, 'SIGKILL').catch(() => undefined);
    return true;
  }

  private openOutput(job: JobRecord, callbacks: Pick<RunCallbacks, 'progress'>): void {
    const optimize = job.params.effective.optimize as Record<string, unknown> | undefined;
    const backtest = job.params.effective.backtest as Record<string, unknown> | undefined;
    const iters = typeof optimize?.iters === 'number' ? optimize.iters : undefined;
    const exchanges = Array.isArray(backtest?.exchanges) ? backtest.exchanges.length : undefined;
    this.deps.output.open(job.id, job.type, { ...(iters !== undefined && { iters }), ...(exchanges !== undefined && { exchanges }) }, callbacks.progress);
  }

  private async pollExit(id: string, host: BotHost, proc: BotProcess, layout: JobLayout): Promise<Exit> {
    for (;;) {
      await sleep(this.deps.probeIntervalMs);
      try {
        const state = (await this.probeUntilReachable(host, id, proc, layout)).get(id);
        if (state?.state === 'exited') return state;
      } catch (error) {
        return { state: 'exited', exitCode: null, signal: null, lost: messageOf(error) };
      }
    }
  }

  /**
   * A host that does not answer is asked again (backing off); after `unreachableLimitMs` the
   * job is given up as interrupted rather than left `running` forever.
   */
  private async probeUntilReachable(host: BotHost, id: string, proc: BotProcess, layout: JobLayout): Promise<Map<string, ProbeResult>> {
    const since = Date.now();
    for (let attempt = 0; ; attempt++) {
      try {
        return await host.probe([{ instanceId: id, proc, layout }]);
      } catch (error) {
        if (Date.now() - since > this.deps.unreachableLimitMs) throw new Error(`host unreachable for ${Math.round((Date.now() - since) / 1000)} s: ${messageOf(error)}`);
        await sleep(Math.min(30_000, this.deps.probeIntervalMs * 2 ** Math.min(attempt, 6)));
      }
    }
  }

  private async finish(job: JobRecord, host: BotHost, layout: JobLayout, exit: Exit, before: string[] | null): Promise<JobOutcome> {
    const entry = this.running.get(job.id);
    if (entry) entry.exited = true;
    // The last lines (the error, "Optimization complete.") are read before the verdict.
    await host.follower.settle(job.id);
    host.follower.unfollow(job.id);
    const lastError = this.deps.output.close(job.id);
    this.running.delete(job.id);
    const cancelled = entry?.cancelled ?? false;
    let resultDir: string | null = null;
    let result: Record<string, unknown> | null = null;
    let readError: string | null = null;
    try {
      resultDir = await this.collect(job, host, layout, before);
      if (resultDir) result = await this.parse(job, resultDir);
    } catch (error) {
      readError = messageOf(error);
    }
    if (cancelled) return { status: 'cancelled', error: null, result, resultDir };
    if (exit.lost) return { status: 'interrupted', error: `lost track of the job: ${exit.lost}`, result, resultDir };
    const exitText = exit.signal ? `killed by ${exit.signal}` : exit.exitCode === null ? 'ended (exit code unknown)' : `exited with code ${exit.exitCode}`;
    if (exit.exitCode === 0 && result) return { status: 'completed', error: null, result, resultDir };
    // Passivbot v7 optimize exits 0 after a caught error: no results means it failed.
    const why = exit.exitCode === 0 ? `no results were written${readError ? ` (${readError})` : ''}` : exitText;
    return { status: 'failed', error: lastError ? `${why}: ${lastError}` : why, result, resultDir };
  }

  /** Finds the run's result dir and, for a remote host, copies it here. Null when there is none. */
  private async collect(job: JobRecord, host: BotHost, layout: JobLayout, before: string[] | null): Promise<string | null> {
    let remoteDir: string | null = null;
    if (job.type === 'backtest') {
      // <base_dir>/<exchange|combined>/<YYYY-MM-DDTHH_MM_SS>/: the job's own base_dir holds one run.
      for (const exchange of (await host.listDir(layout.backtests)).sort()) {
        const runs = (await host.listDir(posix.join(layout.backtests, exchange))).sort();
        const latest = runs.at(-1);
        if (latest) remoteDir = posix.join(layout.backtests, exchange, latest);
      }
    } else {
      const after = await host.listDir(layout.optimizeResults);
      const known = new Set(before ?? []);
      const startedAt = (job.startedAt ?? job.createdAt).replace(/:/g, '_').slice(0, 19);
      // New since the start; after a restart (no listing from before), those named after the start time.
      const fresh = after.filter((name) => (before ? !known.has(name) : name.slice(0, 19) >= startedAt)).sort();
      // Every optimization on a checkout writes to the same optimize_results/: the job's run is
      // the one whose pareto configs carry this job's own backtest.base_dir.
      for (const name of fresh.reverse()) {
        const dir = posix.join(layout.optimizeResults, name);
        if (await this.ranHere(host, dir, layout)) {
          remoteDir = dir;
          break;
        }
      }
    }
    if (!remoteDir || host.local) return remoteDir;
    const local = join(this.deps.resultsRoot, job.id);
    await mkdir(local, { recursive: true });
    if (job.type === 'backtest') {
      const present = new Set(await host.listDir(remoteDir));
      for (const name of BACKTEST_FILES.filter((f) => present.has(f))) await writeFile(join(local, name), await host.readFile(posix.join(remoteDir, name)));
    } else {
      await mkdir(join(local, 'pareto'), { recursive: true });
      for (const name of (await host.listDir(posix.join(remoteDir, 'pareto'))).filter((n) => n.endsWith('.json'))) {
        await writeFile(join(local, 'pareto', name), await host.readFile(posix.join(remoteDir, 'pareto', name)));
      }
    }
    return local;
  }

  private async ranHere(host: BotHost, dir: string, layout: JobLayout): Promise<boolean> {
    const first = (await host.listDir(posix.join(dir, 'pareto'))).find((n) => n.endsWith('.json'));
    if (!first) return false;
    try {
      const entry = JSON.parse((await host.readFile(posix.join(dir, 'pareto', first))).toString('utf8')) as { backtest?: { base_dir?: unknown } };
      return entry.backtest?.base_dir === layout.backtests;
    } catch {
      return false;
    }
  }

  private async parse(job: JobRecord, dir: string): Promise<Record<string, unknown>> {
    if (job.type === 'backtest') {
      const summary = await readBacktestResult(dir);
      return { ...summary };
    }
    const optimize = job.params.effective.optimize as Record<string, unknown> | undefined;
    const scoring = Array.isArray(optimize?.scoring) ? optimize.scoring : undefined;
    // Configs stay in the result files (a front can hold hundreds); the summary keeps the ranking.
    const front = (await readParetoFront(dir, scoring)).map(({ config: _config, ...entry }) => entry);
    return { front, frontSize: front.length };
  }
}
