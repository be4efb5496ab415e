/**
 * npm run bench:jobs — the job queue with the stand-in Passivbot, through the built server
 * running as its own process (SQLite), against the same commands run from a shell loop:
 *
 * 1. Shell baseline: the same short backtests (`_standin: {slow_s: 0, n_fills: 50,
 *    equity_points: 100}`, a config file each with its own base_dir, the same command line as
 *    pbfleet's, output to a log file) run SLOTS at a time by `xargs -P`, timed from start to end.
 * 2. Embedded queue: BENCH_JOBS (1,000) POST /backtest/run, BENCH_ENQUEUE_CONCURRENCY in
 *    flight, with `jobs.slots` = SLOTS; timed until every job is recorded finished. Throughput is
 *    compared with (1). Scheduling overhead per job: process start - the moment the job could
 *    have started (see `slotWaits`).
 * 3. One backtest with 100,000 fills and 500,000 equity rows: how long after the process exits
 *    the server records it, the server's peak RSS meanwhile, the result routes' times, and
 *    readBacktestResult (the parser the server runs) timed in a process of its own, with its
 *    peak RSS.
 * 4. BullMQ (`redis.url` + `pbfleet worker`): run 2 again when this build has it; otherwise says so.
 *
 * Process start and end times come from a wrapper that every run goes through (pbfleet's
 * pythonPath and the shell loop's command alike): bash records $EPOCHREALTIME (µs), runs python3,
 * then appends `start end exit-code config-path` to a file. Job times (createdAt, startedAt,
 * finishedAt) come from the API (ms).
 *
 * Server and worker CPU and RSS include their process helper (the child that starts jobs).
 *
 * Targets: scheduling overhead p99 < 50 ms (embedded); throughput >= 0.9x the shell loop.
 *
 * Warm-up: before each measured part, BENCH_WARMUP (100) of the same backtests run the same way and
 * are not counted: a freshly started server spends its first few hundred jobs compiling its hot
 * paths (V8's optimizing compiler, on its worker threads), which a long-running server has done.
 *
 * Knobs (environment): BENCH_JOBS (1000), BENCH_WARMUP (100), BENCH_SLOTS (2), BENCH_ENQUEUE_CONCURRENCY (16),
 * BENCH_BIG_FILLS (100000), BENCH_BIG_EQUITY_POINTS (500000), BENCH_REDIS_URL
 * (redis://127.0.0.1:6379; the run uses a key prefix of its own, deleted after),
 * BENCH_SERVER_FLAGS (extra node flags for the server, e.g. `--cpu-prof --cpu-prof-dir=/tmp/prof`),
 * BENCH_SKIP (comma-separated parts left out: shell, big, bullmq; e.g. to profile the embedded queue alone).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { availableParallelism, cpus, loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { Job } from '../src/modules/jobs/jobs.types.js';
import { jsonClient } from '../test/helpers/http.js';
import { killAllWith } from '../test/helpers/instances.js';
import { makePassivbotCheckout, standinConfig, type PassivbotCheckout } from '../test/helpers/passivbot.js';
import { freePort, machineCpuSeconds, mapPool, pbfleetCpuSeconds, pbfleetPeakRssMb, pbfleetRssMb, percentile, startFlags, table, waitFor } from './lib.js';

const JOBS = Number(process.env.BENCH_JOBS ?? 1000);
const SLOTS = Number(process.env.BENCH_SLOTS ?? 2);
const ENQUEUE_CONCURRENCY = Number(process.env.BENCH_ENQUEUE_CONCURRENCY ?? 16);
/** Runs before each measured part, not counted: the same backtests, so caches and the server's JIT are warm. */
const WARMUP = Number(process.env.BENCH_WARMUP ?? 100);
const BIG_FILLS = Number(process.env.BENCH_BIG_FILLS ?? 100_000);
const BIG_EQUITY_POINTS = Number(process.env.BENCH_BIG_EQUITY_POINTS ?? 500_000);
const REDIS_URL = process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379';
/** Keys of this run only (redis.prefix): other users of the same Redis are not touched. */
const REDIS_PREFIX = `pbfleet-bench-jobs-${process.pid}`;
const SERVER_FLAGS = (process.env.BENCH_SERVER_FLAGS ?? '').split(/\s+/).filter(Boolean);
const SKIP = new Set((process.env.BENCH_SKIP ?? '').split(',').map((part) => part.trim()).filter(Boolean));
const TARGETS = { overheadP99Ms: 50, throughputRatio: 0.9 };
const PASSWORD = 'bench password 1';
const root = fileURLToPath(new URL('..', import.meta.url));
const cli = join(root, 'dist', 'cli.js');
const SHORT_STANDIN = { slow_s: 0, n_fills: 50, equity_points: 100 };
const SHORT = standinConfig({ standin: SHORT_STANDIN });
const BIG = standinConfig({ standin: { slow_s: 0, n_fills: BIG_FILLS, equity_points: BIG_EQUITY_POINTS } });
const FINISHED_STATUSES = ['completed', 'failed', 'cancelled', 'interrupted'];

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const fmt = (n: number | null | undefined, digits = 0) => (n === null || n === undefined || !Number.isFinite(n) ? '-' : n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits }));
const met = (ok: boolean) => (ok ? 'met' : 'NOT MET');
const progress = (text: string) => process.stderr.write(`[bench:jobs] ${text}\n`);

/** Every process this bench starts (servers, workers, xargs), ended at exit whatever happens. */
const children = new Set<ChildProcess>();
/** Every temporary dir (the checkout, the runs, data dirs), removed at exit whatever happens. */
const tempDirs = new Set<string>();

// ---------------------------------------------------------------------------------------------
// Process times: a wrapper around python3.

interface ProcessTimes {
  /** Epoch ms (µs precision): the wrapper started (after fork + exec of bash), and python3 ended. */
  start: number;
  end: number;
  exitCode: number;
  config: string;
}

/**
 * Writes `<checkout>/venv/bin/timed-python`: records when each run starts and ends. bash's
 * EPOCHREALTIME is read without forking; the one append per run happens after python3 exits.
 */
function writeTimedPython(checkout: PassivbotCheckout, timesFile: string): string {
  const path = join(checkout.dir, 'venv', 'bin', 'timed-python');
  const script = [
    '#!/bin/bash',
    '# bench:jobs: start and end of each run (epoch seconds, µs), its exit code and config path.',
    's=$EPOCHREALTIME',
    'python3 "$@"',
    'rc=$?',
    `printf '%s %s %s %s\\n' "$s" "$EPOCHREALTIME" "$rc" "$3" >> '${timesFile}'`,
    'exit $rc',
    '',
  ].join('\n');
  writeFileSync(path, script, { mode: 0o755 });
  return path;
}

function readTimes(timesFile: string): ProcessTimes[] {
  if (!existsSync(timesFile)) return [];
  return readFileSync(timesFile, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((line) => {
      const [start = '', end = '', code = '', ...config] = line.split(' ');
      // EPOCHREALTIME uses the locale's decimal separator.
      const ms = (text: string) => Number(text.replace(',', '.')) * 1000;
      return { start: ms(start), end: ms(end), exitCode: Number(code), config: config.join(' ') };
    });
}

/** The process times of pbfleet jobs, by job id (their config is `<workDir>/jobs/<id>/config.json`). */
function timesByJob(timesFile: string): Map<string, ProcessTimes> {
  const byJob = new Map<string, ProcessTimes>();
  for (const t of readTimes(timesFile)) {
    const id = /\/jobs\/([^/]+)\/config\.json$/.exec(t.config)?.[1];
    if (id) byJob.set(id, t);
  }
  return byJob;
}

// ---------------------------------------------------------------------------------------------
// Scheduling analysis.

interface SlotRun {
  /** When the job was queued (pbfleet: createdAt; shell: when xargs started). */
  ready: number;
  /** When its process started (the wrapper's first line). */
  start: number;
  /** When pbfleet claimed it (startedAt); the shell has no claim. */
  claimed: number | null;
  /** When its process ended: its slot is free from then on (pbfleet frees it at the exit, before reading results). */
  end: number;
  /** When the job was recorded finished (pbfleet: finishedAt, results read; shell: the process end). */
  recorded: number;
}

interface SlotWaits {
  /** process start - max(ready, end of the previous process in the slot it took): the scheduling overhead. */
  toStart: number[];
  /** That max(...), the moment each could have started (same order as toStart). */
  couldAt: number[];
  /** claimed - the same moment (pbfleet only). */
  toClaim: number[];
  /** process start - claimed (pbfleet only): config written, checks, spawn, bash start. */
  claimToStart: number[];
  /** recorded - end: from a process's exit until its job is recorded finished (results read). */
  recordedAfterExit: number[];
}

/**
 * Replays the slots: runs in order of process start; each takes the slot whose process ended
 * first (FIFO, all the same priority and size, as the queue does), so it could have started at
 * max(its ready time, that process's end). Slots start free.
 */
function slotWaits(runs: readonly SlotRun[], slots: number): SlotWaits {
  const free = Array.from({ length: slots }, () => Number.NEGATIVE_INFINITY);
  const out: SlotWaits = { toStart: [], couldAt: [], toClaim: [], claimToStart: [], recordedAfterExit: [] };
  for (const run of [...runs].sort((a, b) => a.start - b.start)) {
    free.sort((a, b) => a - b);
    const could = Math.max(run.ready, free.shift()!);
    out.toStart.push(run.start - could);
    out.couldAt.push(could);
    if (run.claimed !== null) {
      out.toClaim.push(run.claimed - could);
      out.claimToStart.push(run.start - run.claimed);
    }
    out.recordedAfterExit.push(run.recorded - run.end);
    free.push(run.end);
  }
  return out;
}

interface Spread {
  p50: number | null;
  p99: number | null;
  max: number | null;
}

const spread = (values: readonly number[]): Spread => ({ p50: percentile(values, 50), p99: percentile(values, 99), max: values.length ? Math.max(...values) : null });

// ---------------------------------------------------------------------------------------------
// 1. The shell loop.

interface ShellRun {
  wallMs: number;
  runs: SlotRun[];
  machinePercent: number;
}

function jobConfig(config: Record<string, unknown>, baseDir: string): Record<string, unknown> {
  return { ...config, backtest: { ...(config.backtest as Record<string, unknown>), base_dir: baseDir } };
}

/** `count` run dirs named `<prefix>-<n>`, each with the config pbfleet would write. */
function shellRunDirs(runsDir: string, prefix: string, count: number): string[] {
  const dirs = Array.from({ length: count }, (_, i) => join(runsDir, `${prefix}-${i + 1}`));
  for (const dir of dirs) {
    mkdirSync(dir, { recursive: true });
    // As pbfleet writes it (job-executor.ts): pretty-printed, base_dir of its own.
    writeFileSync(join(dir, 'config.json'), `${JSON.stringify(jobConfig(SHORT, join(dir, 'backtests')), null, 2)}\n`);
  }
  return dirs;
}

/** Runs the dirs' backtests SLOTS at a time with xargs; resolves with its exit code. */
async function xargs(checkout: PassivbotCheckout, wrapper: string, runsDir: string, dirs: string[]): Promise<number | null> {
  const list = join(runsDir, `dirs-${Date.now()}.txt`);
  writeFileSync(list, `${dirs.join('\n')}\n`);
  const script = join(checkout.dir, 'src', 'backtest.py');
  const input = openSync(list, 'r');
  try {
    return await new Promise<number | null>((resolve, reject) => {
      // xargs keeps SLOTS commands running; each is `timed-python -u src/backtest.py <dir>/config.json -dp > <dir>/job.log 2>&1`.
      const child = spawn('xargs', ['-P', String(SLOTS), '-d', '\n', '-I{}', 'sh', '-c', 'exec "$0" -u "$1" "$2/config.json" -dp >"$2/job.log" 2>&1', wrapper, script, '{}'], {
        cwd: checkout.dir,
        stdio: [input, 'ignore', 'inherit'],
      });
      children.add(child);
      child.once('error', reject);
      child.once('exit', (exitCode) => {
        children.delete(child);
        resolve(exitCode);
      });
    });
  } finally {
    closeSync(input);
  }
}

async function shellLoop(checkout: PassivbotCheckout, wrapper: string, timesFile: string, runsDir: string): Promise<ShellRun> {
  if (WARMUP > 0) await xargs(checkout, wrapper, runsDir, shellRunDirs(runsDir, 'warm-up', WARMUP));
  const dirs = shellRunDirs(runsDir, 'shell', JOBS);
  const machine0 = machineCpuSeconds();
  const t0 = Date.now();
  const code = await xargs(checkout, wrapper, runsDir, dirs);
  const wallMs = Date.now() - t0;
  const machinePercent = ((machineCpuSeconds() - machine0) / (wallMs / 1000)) * 100;
  const times = readTimes(timesFile).filter((t) => t.config.startsWith(`${runsDir}/shell-`));
  const failed = times.filter((t) => t.exitCode !== 0);
  if (code !== 0 || times.length !== JOBS || failed.length) {
    throw new Error(`shell loop: xargs exited ${code}, ${times.length}/${JOBS} runs recorded, ${failed.length} failed${failed[0] ? ` (e.g. ${dirname(failed[0].config)}/job.log)` : ''}`);
  }
  return { wallMs, machinePercent, runs: times.map((t) => ({ ready: t0, start: t.start, claimed: null, end: t.end, recorded: t.end })) };
}

// ---------------------------------------------------------------------------------------------
// pbfleet: a server (and workers), the API.

const apiClient = (base: string, token: string) => jsonClient(() => base, () => token);
type Api = ReturnType<typeof apiClient>;

interface Pbfleet {
  server: ChildProcess;
  pid: number;
  api: Api;
  dataDir: string;
  workers: ChildProcess[];
}

function launch(args: string[], env: NodeJS.ProcessEnv): ChildProcess {
  const child = spawn(process.execPath, args, { env, stdio: ['ignore', 'ignore', 'inherit'] });
  children.add(child);
  child.once('exit', () => children.delete(child));
  return child;
}

/** A server with a fresh data dir and `config.yaml`, logged in, the stand-in checkout and the timing wrapper as its Passivbot. */
async function startPbfleet(label: string, configYaml: string, checkout: PassivbotCheckout, wrapper: string, workers = 0): Promise<Pbfleet> {
  const dataDir = mkdtempSync(join(tmpdir(), `pbfleet-bench-jobs-${label}-`));
  tempDirs.add(dataDir);
  writeFileSync(join(dataDir, 'config.yaml'), configYaml);
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const env = {
    PATH: process.env.PATH,
    PBFLEET_CONFIG: join(dataDir, 'config.yaml'),
    PBFLEET_DATA_DIR: dataDir,
    PBFLEET_PORT: String(port),
    PBFLEET_HOST: '127.0.0.1',
    PBFLEET_ADMIN_PASSWORD: PASSWORD,
  };
  const server = launch([...startFlags(), ...SERVER_FLAGS, cli, 'serve'], env);
  const started: Pbfleet = { server, pid: server.pid ?? 0, api: apiClient(base, ''), dataDir, workers: [] };
  await waitFor(`${base}/api/v1/ready`);
  const login = await fetch(`${base}/api/v1/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: 'admin', password: PASSWORD }) });
  const { token } = (await login.json()) as { token: string };
  started.api = apiClient(base, token);
  await started.api.put('/settings/paths', { passivbotDir: checkout.dir, pythonPath: wrapper, passivbotKind: 'v7' });
  for (let i = 0; i < workers; i++) {
    const args = ['--passivbot-dir', checkout.dir, '--python', wrapper, '--kind', 'v7', '--slots', String(SLOTS), '--name', `bench-worker-${i + 1}`, '--work-dir', join(dataDir, `worker-${i + 1}`)];
    started.workers.push(launch([...startFlags(), cli, 'worker', ...args], env));
  }
  return started;
}

async function stopPbfleet(p: Pbfleet): Promise<void> {
  for (const child of [...p.workers, p.server]) {
    if (child.exitCode !== null || child.signalCode !== null) continue;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    if ((await Promise.race([exited.then(() => true), sleep(10_000).then(() => false)])) === false) child.kill('SIGKILL');
  }
  rmSync(p.dataDir, { recursive: true, force: true });
  tempDirs.delete(p.dataDir);
}

const countWith = async (api: Api, status: string) => (await api.get<{ pagination: { total: number } }>(`/jobs?status=${status}&limit=1`)).pagination.total;

async function allJobs(api: Api): Promise<Job[]> {
  const jobs: Job[] = [];
  for (let page = 1; ; page++) {
    const res = await api.get<{ jobs: Job[]; pagination: { totalPages: number } }>(`/jobs?limit=500&page=${page}`);
    jobs.push(...res.jobs);
    if (page >= res.pagination.totalPages) return jobs;
  }
}

// ---------------------------------------------------------------------------------------------
// 2. (and 4.) The queue: 1,000 backtests through the API.

interface QueueRun {
  /** First POST sent -> the last job recorded finished (its finishedAt). */
  wallMs: number;
  /** First POST sent -> the last POST answered. */
  enqueueMs: number;
  /** When the last POST was answered (epoch ms). */
  enqueueEnd: number;
  postMs: number[];
  runs: SlotRun[];
  failed: { count: number; example: string | null };
  runners: string[];
  /** Server RSS (MB) before the first POST and once every job had finished. */
  serverRssBeforeMb: number;
  serverRssAfterMb: number;
  serverCpuSeconds: number;
  workerCpuSeconds: number;
  machinePercent: number;
}

/** Every job queued so far has ended (or a worker died, or nothing moved for 60 s: thrown). */
async function settled(p: Pbfleet, label: string, total: number, t0: number): Promise<void> {
  let lastReport = Date.now();
  let lastDone = -1;
  let lastChange = Date.now();
  for (;;) {
    const [queued, running] = await Promise.all([countWith(p.api, 'queued'), countWith(p.api, 'running')]);
    if (queued + running === 0) return;
    const done = total - queued - running;
    if (done !== lastDone) [lastDone, lastChange] = [done, Date.now()];
    if (Date.now() - lastReport > 15_000) {
      lastReport = Date.now();
      progress(`${label}: ${done}/${total} finished after ${fmt((Date.now() - t0) / 1000)} s`);
    }
    const deadWorker = p.workers.find((w) => w.exitCode !== null || w.signalCode !== null);
    if (deadWorker) throw new Error(`${label}: a worker exited (${deadWorker.exitCode ?? deadWorker.signalCode}) with ${queued} queued and ${running} running`);
    if (Date.now() - lastChange > 60_000) throw new Error(`${label}: no job finished for 60 s (${done} finished, ${queued} queued, ${running} running)`);
    await sleep(250);
  }
}

async function runQueued(p: Pbfleet, timesFile: string, label: string): Promise<QueueRun> {
  if (WARMUP > 0) {
    progress(`${label}: ${WARMUP} warm-up backtests first (not counted)`);
    const warm0 = Date.now();
    await mapPool(Array.from({ length: WARMUP }, (_, i) => i), ENQUEUE_CONCURRENCY, (i) => p.api.post<Job>('/backtest/run', { config: SHORT, name: `warm-up ${i + 1}` }));
    await settled(p, `${label} warm-up`, WARMUP, warm0);
  }
  const serverRssBeforeMb = pbfleetRssMb(p.pid);
  const serverCpu0 = pbfleetCpuSeconds(p.pid);
  const workerCpu0 = p.workers.reduce((sum, w) => sum + pbfleetCpuSeconds(w.pid ?? 0), 0);
  const machine0 = machineCpuSeconds();
  const postMs: number[] = [];
  const t0 = Date.now();
  const ids = await mapPool(
    Array.from({ length: JOBS }, (_, i) => i),
    ENQUEUE_CONCURRENCY,
    async (i) => {
      const sent = performance.now();
      const job = await p.api.post<Job>('/backtest/run', { config: SHORT, name: `bench ${i + 1}` });
      postMs.push(performance.now() - sent);
      return job.id;
    },
  );
  const enqueueMs = Date.now() - t0;
  await settled(p, label, JOBS, t0);
  const serverCpuSeconds = pbfleetCpuSeconds(p.pid) - serverCpu0;
  const workerCpuSeconds = p.workers.reduce((sum, w) => sum + pbfleetCpuSeconds(w.pid ?? 0), 0) - workerCpu0;
  const machineSeconds = machineCpuSeconds() - machine0;
  const wanted = new Set(ids);
  const jobs = (await allJobs(p.api)).filter((j) => wanted.has(j.id));
  const times = timesByJob(timesFile);
  const failed = jobs.filter((j) => j.status !== 'completed');
  // What the timing wrapper saw of a failed job's process: did it run, how long, with what exit code?
  const failedProcess = (job: Job) => {
    const t = times.get(job.id);
    return t ? `its process ran ${fmt(t.end - t.start)} ms and exited ${t.exitCode}` : 'no process recorded';
  };
  const runs: SlotRun[] = [];
  for (const job of jobs) {
    const t = times.get(job.id);
    if (job.status !== 'completed' || !t || !job.startedAt || !job.finishedAt) continue;
    runs.push({ ready: Date.parse(job.createdAt), start: t.start, claimed: Date.parse(job.startedAt), end: t.end, recorded: Date.parse(job.finishedAt) });
  }
  const lastFinished = Math.max(...jobs.map((j) => (j.finishedAt ? Date.parse(j.finishedAt) : 0)));
  const wallMs = lastFinished - t0;
  return {
    wallMs,
    enqueueMs,
    enqueueEnd: t0 + enqueueMs,
    postMs,
    runs,
    failed: { count: failed.length, example: failed[0] ? `${failed[0].status}: ${failed[0].error} (${failedProcess(failed[0])})` : null },
    runners: [...new Set(jobs.map((j) => j.runner ?? 'none'))],
    serverRssBeforeMb,
    serverRssAfterMb: pbfleetRssMb(p.pid),
    serverCpuSeconds,
    workerCpuSeconds,
    machinePercent: (machineSeconds / (wallMs / 1000)) * 100,
  };
}

// ---------------------------------------------------------------------------------------------
// 3. A 100k-fill result.

interface ParseChild {
  ms: number;
  rssBeforeMb: number;
  peakRssMb: number;
  fillsCount: number;
  equityRows: number;
  points: number;
}

interface BigResult {
  fills: number;
  /** The stand-in's own run time (process start to exit). */
  processMs: number;
  /** Process exit -> the job recorded finished (finishedAt): the executor's wait, parse, database write. */
  exitToRecordedMs: number;
  serverRssBeforeMb: number;
  /** Sampled every 10 ms from POST to finished; VmHWM after resetting it (null when it could not be reset). */
  serverRssMaxSampledMb: number;
  serverPeakRssMb: number | null;
  serverCpuSeconds: number;
  summaryMs: number;
  page900Ms: number[];
  page900Rows: number;
  parse: ParseChild;
  resultMb: number;
}

/** Resets a process's VmHWM to its current RSS (Linux >= 4.0, our own child). */
function resetPeakRss(pid: number): boolean {
  try {
    writeFileSync(`/proc/${pid}/clear_refs`, '5');
    return true;
  } catch {
    return false;
  }
}

/** readBacktestResult from dist (the code the server runs) in a node process of its own, with the server's node flags. */
function parseInChild(dir: string): ParseChild {
  const moduleUrl = pathToFileURL(join(root, 'dist', 'modules', 'jobs', 'results', 'backtest-results.js')).href;
  const code = `
    import { readFileSync } from 'node:fs';
    const [moduleUrl, dir] = process.argv.slice(1);
    const status = (key) => Number(new RegExp(key + ':\\\\s+(\\\\d+)').exec(readFileSync('/proc/self/status', 'utf8'))[1]) / 1024;
    const { readBacktestResult } = await import(moduleUrl);
    const rssBeforeMb = status('VmRSS');
    const started = performance.now();
    const summary = await readBacktestResult(dir);
    const ms = performance.now() - started;
    process.stdout.write(JSON.stringify({ ms, rssBeforeMb, peakRssMb: status('VmHWM'), fillsCount: summary.fillsCount, equityRows: summary.equity.sourceRows, points: summary.equity.points.length }));
  `;
  const result = spawnSync(process.execPath, [...startFlags(), '--input-type=module', '-e', code, moduleUrl, dir], { encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`parse child: exit ${result.status}: ${result.stderr}`);
  return JSON.parse(result.stdout) as ParseChild;
}

function resultDirOf(jobDir: string): string {
  const backtests = join(jobDir, 'backtests');
  for (const exchange of readdirSync(backtests)) {
    const runs = readdirSync(join(backtests, exchange)).sort();
    if (runs.length) return join(backtests, exchange, runs.at(-1)!);
  }
  throw new Error(`no result dir under ${backtests}`);
}

const dirMb = (dir: string) => readdirSync(dir, { withFileTypes: true }).reduce((sum, e) => (e.isFile() ? sum + readFileSync(join(dir, e.name)).length : sum), 0) / 1024 / 1024;

async function bigResult(p: Pbfleet, timesFile: string): Promise<BigResult> {
  const reset = resetPeakRss(p.pid);
  const serverRssBeforeMb = pbfleetRssMb(p.pid);
  let maxSampled = serverRssBeforeMb;
  const sampler = setInterval(() => {
    maxSampled = Math.max(maxSampled, pbfleetRssMb(p.pid));
  }, 10);
  const cpu0 = pbfleetCpuSeconds(p.pid);
  let job: Job;
  try {
    job = await p.api.post<Job>('/backtest/run', { config: BIG, name: `bench ${BIG_FILLS} fills` });
    const t0 = Date.now();
    while (!FINISHED_STATUSES.includes(job.status)) {
      if (Date.now() - t0 > 5 * 60_000) throw new Error(`the ${BIG_FILLS}-fill backtest is ${job.status} after 5 min`);
      await sleep(20);
      job = await p.api.get<Job>(`/jobs/${job.id}`);
    }
  } finally {
    clearInterval(sampler);
  }
  const serverCpuSeconds = pbfleetCpuSeconds(p.pid) - cpu0;
  const serverPeakRssMb = reset ? pbfleetPeakRssMb(p.pid) : null;
  if (job.status !== 'completed') throw new Error(`the ${BIG_FILLS}-fill backtest ${job.status}: ${job.error}`);
  const times = timesByJob(timesFile).get(job.id);
  if (!times) throw new Error(`no process times for job ${job.id}`);

  const timed = async <T>(path: string): Promise<[number, T]> => {
    const started = performance.now();
    const body = await p.api.get<T>(path);
    return [performance.now() - started, body];
  };
  const [summaryMs, summary] = await timed<{ fillsCount: number }>(`/backtest/results/${job.id}`);
  if (summary.fillsCount !== BIG_FILLS) throw new Error(`the result has ${summary.fillsCount} fills, not ${BIG_FILLS}`);
  const page900Ms: number[] = [];
  let page900Rows = 0;
  for (let i = 0; i < 3; i++) {
    const [ms, page] = await timed<{ fills?: { rows: unknown[] } }>(`/backtest/results/${job.id}?fills=900`);
    page900Ms.push(ms);
    page900Rows = page.fills?.rows.length ?? 0;
  }
  const dir = resultDirOf(dirname(times.config));
  return {
    fills: summary.fillsCount,
    processMs: times.end - times.start,
    exitToRecordedMs: Date.parse(job.finishedAt!) - times.end,
    serverRssBeforeMb,
    serverRssMaxSampledMb: maxSampled,
    serverPeakRssMb,
    serverCpuSeconds,
    summaryMs,
    page900Ms,
    page900Rows,
    parse: parseInChild(dir),
    resultMb: dirMb(dir),
  };
}

// ---------------------------------------------------------------------------------------------
// 4. BullMQ mode, when this build has it.

/** Sends commands to Redis (RESP), resolves with the replies' text once `commands.length` replies arrived. */
function redis(url: string, commands: string[][], timeoutMs = 2000): Promise<string[]> {
  const parsed = new URL(url);
  const db = parsed.pathname.replace('/', '');
  const all = [...(parsed.password ? [['AUTH', ...(parsed.username ? [decodeURIComponent(parsed.username)] : []), decodeURIComponent(parsed.password)]] : []), ...(db ? [['SELECT', db]] : []), ...commands];
  return new Promise((resolve, reject) => {
    const socket = connect(Number(parsed.port || 6379), parsed.hostname);
    let text = '';
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no answer from ${url} within ${timeoutMs} ms`));
    }, timeoutMs);
    socket.once('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    socket.on('data', (chunk) => {
      text += chunk.toString('utf8');
      const replies = text.split('\r\n').filter(Boolean);
      if (replies.length < all.length) return;
      clearTimeout(timer);
      socket.end();
      resolve(replies.slice(all.length - commands.length));
    });
    socket.write(all.map((c) => `*${c.length}\r\n${c.map((a) => `$${Buffer.byteLength(a)}\r\n${a}\r\n`).join('')}`).join(''));
  });
}

/** Why BullMQ mode cannot run here, or null when it can: a `worker` command in the build and a Redis that answers. */
async function bullmqUnavailable(): Promise<string | null> {
  const help = spawnSync(process.execPath, [cli, '--help'], { encoding: 'utf8' }).stdout ?? '';
  if (!/^\s*pbfleet worker\b/m.test(help)) return 'not available in this build (no `pbfleet worker` in dist/cli.js --help)';
  try {
    const [pong] = await redis(REDIS_URL, [['PING']]);
    if (pong !== '+PONG') return `Redis at ${REDIS_URL} answered ${pong}`;
  } catch (error) {
    return `no Redis at ${REDIS_URL} (${(error as Error).message})`;
  }
  return null;
}

/** Deletes this run's keys (KEYS is fine on a test Redis); resolves with how many. */
const DELETE_PREFIX = "local n = 0 for _, k in ipairs(redis.call('KEYS', ARGV[1])) do redis.call('DEL', k) n = n + 1 end return n";
const deleteRedisKeys = () => redis(REDIS_URL, [['EVAL', DELETE_PREFIX, '0', `${REDIS_PREFIX}:*`]]);

/**
 * 4. The same jobs in distributed mode: `redis.url` (and a `redis.prefix` of this run's own) in
 * config.yaml, one `pbfleet worker --slots SLOTS` running them, the stand-in as its Passivbot.
 */
async function runBullmq(checkout: PassivbotCheckout, wrapper: string, timesFile: string): Promise<QueueRun> {
  const p = await startPbfleet('bullmq', `log:\n  level: warn\njobs:\n  slots: ${SLOTS}\nredis:\n  url: ${REDIS_URL}\n  prefix: ${REDIS_PREFIX}\n`, checkout, wrapper, 1);
  try {
    const run = await runQueued(p, timesFile, 'BullMQ');
    if (run.runners.includes('server')) throw new Error(`redis.url is set but jobs ran in the server (runner ${run.runners.join(', ')}): not distributed`);
    return run;
  } finally {
    await stopPbfleet(p);
    await deleteRedisKeys().catch(() => undefined);
  }
}

// ---------------------------------------------------------------------------------------------

function machineNote(): string {
  const model = cpus()[0]?.model.trim() ?? 'unknown CPU';
  return `${availableParallelism()} cores (${model}), load average ${loadavg().map((l) => l.toFixed(2)).join(' ')}`;
}

const ms = (n: number | null) => (n === null ? '-' : n >= 100 ? fmt(n) : fmt(n, 1));
const spreadCells = (values: readonly number[]) => {
  const s = spread(values);
  return { p50: `${ms(s.p50)} ms`, p99: `${ms(s.p99)} ms`, max: `${ms(s.max)} ms` };
};
const throughput = (jobs: number, wallMs: number) => jobs / (wallMs / 1000);

async function main(): Promise<void> {
  const benchStarted = Date.now();
  const machineBefore = machineNote();
  const build = spawnSync('npx', ['tsc', '-p', 'tsconfig.build.json'], { cwd: root, stdio: 'inherit' });
  if (build.status !== 0) progress('the build reported errors (src/ is being edited?); dist/ as emitted is what runs');
  const checkout = await makePassivbotCheckout();
  const benchDir = mkdtempSync(join(tmpdir(), 'pbfleet-bench-jobs-'));
  tempDirs.add(checkout.dir).add(benchDir);
  const timesFile = join(benchDir, 'times.log');
  const wrapper = writeTimedPython(checkout, timesFile);
  const servers: Pbfleet[] = [];
  // Jobs run detached (their own process groups): nothing ends them with this process but this.
  const cleanUp = () => {
    for (const child of children) child.kill('SIGKILL');
    killAllWith(checkout.dir);
    for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true });
  };
  const onSignal = () => {
    cleanUp();
    process.exit(130);
  };
  process.once('SIGINT', onSignal).once('SIGTERM', onSignal);
  try {
    let shell: ShellRun | null = null;
    if (!SKIP.has('shell')) {
      progress(`shell loop: ${JOBS} backtests, ${SLOTS} at a time (xargs -P ${SLOTS})`);
      shell = await shellLoop(checkout, wrapper, timesFile, join(benchDir, 'shell'));
      progress(`shell loop: ${fmt(shell.wallMs / 1000, 1)} s`);
    }
    const shellRate = shell ? throughput(JOBS, shell.wallMs) : null;
    const vsShell = (wallMs: number) => (shellRate ? throughput(JOBS, wallMs) / shellRate : null);

    progress(`embedded: ${JOBS} backtests through POST /backtest/run, ${SLOTS} slots`);
    const embeddedServer = await startPbfleet('embedded', `log:\n  level: warn\njobs:\n  slots: ${SLOTS}\n`, checkout, wrapper);
    servers.push(embeddedServer);
    const embedded = await runQueued(embeddedServer, timesFile, 'embedded');
    progress(`embedded: ${fmt(embedded.wallMs / 1000, 1)} s`);
    let big: BigResult | null = null;
    if (!SKIP.has('big')) {
      progress(`one backtest with ${fmt(BIG_FILLS)} fills`);
      big = await bigResult(embeddedServer, timesFile);
    }
    await stopPbfleet(embeddedServer);
    servers.pop();

    let bullmq: QueueRun | null = null;
    let bullmqError: string | null = SKIP.has('bullmq') ? 'skipped (BENCH_SKIP)' : await bullmqUnavailable();
    if (!bullmqError) {
      progress(`BullMQ: ${JOBS} backtests, redis.url ${REDIS_URL}, one pbfleet worker`);
      try {
        bullmq = await runBullmq(checkout, wrapper, timesFile);
      } catch (error) {
        bullmqError = `failed: ${(error as Error).message}`;
      }
    }

    const embeddedWaits = slotWaits(embedded.runs, SLOTS);
    const bullmqWaits = bullmq ? slotWaits(bullmq.runs, SLOTS) : null;
    const processMs = (runs: SlotRun[]) => percentile(runs.map((r) => r.end - r.start), 50);

    console.log(`\nbench:jobs — ${fmt(JOBS)} short stand-in backtests (_standin ${JSON.stringify(SHORT_STANDIN)}), ${SLOTS} slots, each part after ${fmt(WARMUP)} warm-up runs that are not counted; ${machineBefore} at the start`);
    console.log("\n1) throughput (wall: shell = xargs start to exit; pbfleet = first POST sent to the last job's finishedAt; slots busy = python run time / (wall x slots))\n");
    const rateRow = (run: string, wallMs: number, runs: SlotRun[], machinePercent: number, note: string) => ({
      run,
      wall: `${fmt(wallMs / 1000, 1)} s`,
      'jobs/s': fmt(throughput(JOBS, wallMs), 2),
      'x shell': fmt(vsShell(wallMs), 2),
      'python run p50': `${ms(processMs(runs))} ms`,
      'slots busy': `${fmt((runs.reduce((sum, r) => sum + r.end - r.start, 0) / (wallMs * SLOTS)) * 100)}%`,
      'machine CPU': `${fmt(machinePercent)}% of ${availableParallelism() * 100}`,
      note,
    });
    const none = (run: string, note: string) => ({ run, wall: '-', 'jobs/s': '-', 'x shell': '-', 'python run p50': '-', 'slots busy': '-', 'machine CPU': '-', note });
    const serverNote = (run: QueueRun) =>
      `enqueue ${fmt(run.enqueueMs / 1000, 1)} s; server CPU ${fmt(run.serverCpuSeconds, 1)} s (${fmt((run.serverCpuSeconds * 1000) / JOBS, 1)} ms/job)${run.workerCpuSeconds ? `, worker CPU ${fmt(run.workerCpuSeconds, 1)} s` : ''}; server RSS ${fmt(run.serverRssBeforeMb)} -> ${fmt(run.serverRssAfterMb)} MB` +
      (run.failed.count ? `; ${run.failed.count} NOT completed, e.g. ${run.failed.example}` : '');
    console.log(
      table([
        shell ? rateRow(`shell loop (xargs -P ${SLOTS})`, shell.wallMs, shell.runs, shell.machinePercent, '') : none('shell loop', 'skipped (BENCH_SKIP)'),
        rateRow('pbfleet embedded', embedded.wallMs, embedded.runs, embedded.machinePercent, serverNote(embedded)),
        bullmq ? rateRow('pbfleet BullMQ', bullmq.wallMs, bullmq.runs, bullmq.machinePercent, serverNote(bullmq)) : none('pbfleet BullMQ', `BullMQ mode: ${bullmqError}`),
      ]),
    );

    console.log("\n2) scheduling, per job: process start = the timing wrapper's first line; could-start = max(createdAt, exit of the previous process in the slot it took)");
    console.log('   (slots replayed in process-start order, FIFO; a slot is free when its process exits, before the results are read)\n');
    const waitRows = (label: string, w: SlotWaits, queued: QueueRun) => [
      { measure: `${label}: overhead, could-start -> process start`, ...spreadCells(w.toStart) },
      { measure: `${label}:   of jobs that could start after the last POST was answered`, ...spreadCells(w.toStart.filter((_, i) => w.couldAt[i]! > queued.enqueueEnd)) },
      ...(label === 'BullMQ'
        ? [{ measure: `${label}:   process start -> startedAt (the server hears 'started')`, ...spreadCells(w.claimToStart.map((v) => -v)) }]
        : [
            { measure: `${label}:   could-start -> claimed (startedAt)`, ...spreadCells(w.toClaim) },
            { measure: `${label}:   claimed -> process start (config, prepare, spawn)`, ...spreadCells(w.claimToStart) },
          ]),
      { measure: `${label}: process exit -> its job's finishedAt (results read; the slot is already free)`, ...spreadCells(w.recordedAfterExit) },
      { measure: `${label}: POST /backtest/run (${ENQUEUE_CONCURRENCY} in flight)`, ...spreadCells(queued.postMs) },
    ];
    console.log(
      table([
        ...waitRows('embedded', embeddedWaits, embedded),
        ...(bullmq && bullmqWaits ? waitRows('BullMQ', bullmqWaits, bullmq) : []),
        ...(shell ? [{ measure: 'shell: could-start -> process start (xargs, sh, bash)', ...spreadCells(slotWaits(shell.runs, SLOTS).toStart) }] : []),
      ]),
    );

    if (big) {
      console.log(`\n3) one backtest with ${fmt(big.fills)} fills and ${fmt(BIG_EQUITY_POINTS)} equity rows (${fmt(big.resultMb, 1)} MB of result files), embedded server\n`);
      console.log(
        table([
          { measure: 'stand-in run (process start -> exit)', value: `${fmt(big.processMs)} ms` },
          { measure: 'process exit -> job finishedAt (executor wait + parse + database)', value: `${fmt(big.exitToRecordedMs)} ms` },
          { measure: 'server RSS: before / peak sampled every 10 ms / VmHWM', value: `${fmt(big.serverRssBeforeMb)} / ${fmt(big.serverRssMaxSampledMb)} / ${big.serverPeakRssMb === null ? '- (VmHWM not resettable)' : fmt(big.serverPeakRssMb)} MB` },
          { measure: 'server CPU, POST -> finished', value: `${fmt(big.serverCpuSeconds, 2)} s` },
          { measure: 'GET /backtest/results/:id', value: `${fmt(big.summaryMs)} ms` },
          { measure: `GET /backtest/results/:id?fills=900 (${big.page900Rows} rows), 3 calls`, value: big.page900Ms.map((m) => `${fmt(m)} ms`).join(', ') },
          { measure: 'readBacktestResult alone, own node process (dist, server flags)', value: `${fmt(big.parse.ms)} ms; RSS ${fmt(big.parse.rssBeforeMb)} MB before, peak ${fmt(big.parse.peakRssMb)} MB (${fmt(big.parse.fillsCount)} fills, ${fmt(big.parse.equityRows)} equity rows -> ${big.parse.points} points)` },
        ]),
      );
    }

    const overheadP99 = spread(embeddedWaits.toStart).p99 ?? Infinity;
    const ratioRow = (target: string, wallMs: number) => {
      const ratio = vsShell(wallMs);
      return { target, measured: ratio === null ? '-' : `${fmt(ratio, 2)}x`, goal: `>= ${TARGETS.throughputRatio}x`, result: ratio === null ? '-' : met(ratio >= TARGETS.throughputRatio) };
    };
    console.log('\ntargets\n');
    console.log(
      table([
        { target: 'scheduling overhead p99, embedded', measured: `${ms(overheadP99)} ms`, goal: `< ${TARGETS.overheadP99Ms} ms`, result: met(overheadP99 < TARGETS.overheadP99Ms) },
        ratioRow('throughput vs shell loop, embedded', embedded.wallMs),
        ...(bullmq ? [ratioRow('throughput vs shell loop, BullMQ', bullmq.wallMs)] : [{ target: 'BullMQ mode', measured: bullmqError ?? '-', goal: '-', result: '-' }]),
      ]),
    );
    console.log(`\nmachine: ${machineNote()} at the end; the bench took ${fmt((Date.now() - benchStarted) / 1000)} s`);
    if (embedded.failed.count || bullmq?.failed.count) process.exitCode = 1;
  } finally {
    for (const server of servers) await stopPbfleet(server).catch(() => undefined);
    cleanUp();
    process.off('SIGINT', onSignal).off('SIGTERM', onSignal);
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
