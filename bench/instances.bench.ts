/**
 * npm run bench:instances — bots on this machine (the stand-in Passivbot), driven through the
 * built server running as its own process, in two parts:
 *
 * 1. 100 bots started and stopped with POST /instances/bulk: seconds until all are `running`,
 *    the server's RSS with 100 supervised, seconds until all are `stopped`. Baseline: the same
 *    100 stand-ins spawned directly (no pbfleet) in the same run.
 * 2. One bot writing 20,000 lines/s for 30 s, read by 50 SSE subscribers (GET
 *    /instances/:id/logs?tail=0) and 50 WebSocket subscribers (/ws/instances/:id/logs). Baseline:
 *    a plain `tail -F` on the same bot.log in the same run. Each flood line carries its write
 *    time (`t=<epoch ms>`); latency is receipt time - t, for every line. Lost lines are gaps in
 *    the batches' line numbers (`payload.seq`), per subscriber; tail is checked with the
 *    stand-in's own `seq=`. The subscribers run in child processes (this file in `subscribers`
 *    mode) so that parsing ~2M lines/s is spread over the cores; their CPU and event-loop delay
 *    are printed, so a saturated measuring side shows.
 *
 * pbfleet's CPU and RSS are its server process's plus its process helper's (the child that
 * starts bots).
 *
 * Targets: start 100 < 10 s; RSS < 250 MB; p99 < 100 ms; zero lines lost for subscribers that
 * keep up (never told `lagged`, never closed by the server).
 *
 * Knobs (environment): BENCH_BOTS (100), BENCH_SECONDS (30), BENCH_FLOOD_RATE (20000), BENCH_SSE (50), BENCH_WS (50),
 * BENCH_SUBSCRIBER_PROCESSES (cores, 2-8), BENCH_LOG_MAX_MB (1000: no rotation during the run),
 * BENCH_SERVER_FLAGS (extra node flags for the server).
 */
import { closeSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { execFileSync, fork, spawn, type ChildProcess } from 'node:child_process';
import { get } from 'node:http';
import { availableParallelism, cpus, loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import WebSocket from 'ws';
import type { HubMessage } from '../src/modules/hub/hub.js';
import type { Instance } from '../src/modules/instances/instances.types.js';
import type { LogBatch } from '../src/modules/instances/logs/log-streams.js';
import { jsonClient } from '../test/helpers/http.js';
import { killAllWith, processesWith } from '../test/helpers/instances.js';
import { makePassivbotCheckout, standinConfig, writeApiKeys, type PassivbotCheckout } from '../test/helpers/passivbot.js';
import { cpuSeconds, freePort, groupPids, machineCpuSeconds, pbfleetCpuSeconds, pbfleetPeakRssMb, pbfleetPids, pbfleetRssMb, mapPool, start, startFlags, table, waitFor } from './lib.js';

const BOTS = Number(process.env.BENCH_BOTS ?? 100);
const FLOOD_SECONDS = Number(process.env.BENCH_SECONDS ?? 30);
const FLOOD_LINES_PER_S = Number(process.env.BENCH_FLOOD_RATE ?? 20_000);
const SSE_SUBSCRIBERS = Number(process.env.BENCH_SSE ?? 50);
const WS_SUBSCRIBERS = Number(process.env.BENCH_WS ?? 50);
const SUBSCRIBER_PROCESSES = Number(process.env.BENCH_SUBSCRIBER_PROCESSES ?? Math.min(8, Math.max(2, availableParallelism())));
/**
 * The flood writes ~2.4 MB/s, past the default 50 MB rotation size within the run; rotation
 * (copy, then truncate) is not what this measures, so the limit is raised unless asked.
 */
const LOG_MAX_MEGABYTES = Number(process.env.BENCH_LOG_MAX_MB ?? 1000);
/** Extra node flags for the server, e.g. `--cpu-prof --cpu-prof-dir=/tmp/prof` to see where its time goes. */
const SERVER_FLAGS = (process.env.BENCH_SERVER_FLAGS ?? '').split(/\s+/).filter(Boolean);
const TARGETS = { startSeconds: 10, rssMb: 250, p99Ms: 100 };
const PASSWORD = 'bench password 1';
const root = fileURLToPath(new URL('..', import.meta.url));
/** The 100 bots: slow intervals, a quiet log. */
const QUIET_BOT = standinConfig({ standin: { health_interval_s: 5, fill_interval_s: 10, order_interval_s: 5 } });
const FLOOD_BOT = standinConfig({ standin: { flood_lines_per_s: FLOOD_LINES_PER_S, health_interval_s: 1 } });

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

// ---------------------------------------------------------------------------------------------
// The measuring side: what one subscriber saw. Runs in the subscriber processes.

/** Flood lines received are counted per 100 ms of receipt time, to take the rate over the exact window. */
const TICK_MS = 100;
const FLOOD_MARK = '[flood] seq=';

/** Milliseconds in 1 ms buckets up to 10 s; the last bucket holds everything slower. */
class Histogram {
  static readonly MAX_MS = 10_000;
  readonly counts = new Uint32Array(Histogram.MAX_MS + 1);
  total = 0;

  add(ms: number, count = 1): void {
    this.counts[Math.min(Histogram.MAX_MS, Math.max(0, ms))]! += count;
    this.total += count;
  }

  /** Non-empty buckets as [ms, count], to send between processes. */
  sparse(): [number, number][] {
    const out: [number, number][] = [];
    this.counts.forEach((count, ms) => count && out.push([ms, count]));
    return out;
  }

  static merge(parts: readonly [number, number][][]): Histogram {
    const merged = new Histogram();
    for (const part of parts) for (const [ms, count] of part) merged.add(ms, count);
    return merged;
  }

  percentile(p: number): number | null {
    if (this.total === 0) return null;
    const rank = Math.ceil((this.total * p) / 100);
    let seen = 0;
    for (let ms = 0; ms < this.counts.length; ms++) {
      seen += this.counts[ms]!;
      if (seen >= rank) return ms;
    }
    return Histogram.MAX_MS;
  }

  max(): number | null {
    for (let ms = this.counts.length - 1; ms >= 0; ms--) if (this.counts[ms]) return ms;
    return null;
  }
}

type ReaderKind = 'sse' | 'ws' | 'tail';

interface TallyReport {
  kind: ReaderKind;
  lines: number;
  floodLines: number;
  /** Lines missing between the first and last line number seen (pbfleet's seq; the stand-in's for tail). */
  lost: number;
  /** Lines received twice (a batch starting before the end of the previous one). */
  duplicated: number;
  /** Gaps in the stand-in's own numbering (`seq=`): a cross-check of `lost`. */
  floodLost: number;
  floodFirst: number | null;
  floodLast: number | null;
  firstT: number | null;
  lastT: number | null;
  laggedNotices: number;
  skippedMessages: number;
  /** Why the server ended the stream, if it did (e.g. 1013 client too slow). */
  closed: string | null;
  /** Per flood line: write to receipt, and its two parts split at the hub message's `ts` (when pbfleet published it). */
  latency: [number, number][];
  toPublish: [number, number][];
  publishToReceipt: [number, number][];
  ticks: [number, number][];
}

/** What one reader saw. */
class Tally {
  lines = 0;
  floodLines = 0;
  lost = 0;
  duplicated = 0;
  floodLost = 0;
  floodFirst: number | null = null;
  floodLast: number | null = null;
  firstT = Number.POSITIVE_INFINITY;
  lastT = 0;
  laggedNotices = 0;
  skippedMessages = 0;
  closed: string | null = null;
  private nextSeq: number | null = null;
  private readonly latency = new Histogram();
  private readonly toPublish = new Histogram();
  private readonly publishToReceipt = new Histogram();
  private readonly ticks = new Map<number, number>();

  constructor(readonly kind: ReaderKind) {}

  /** One hub message, as sent on SSE (`data:`) and WebSocket. */
  message(text: string, now: number): void {
    const message = JSON.parse(text) as HubMessage;
    if (message.type === 'log') this.batch(message.payload as LogBatch, now, Date.parse(message.ts));
    else if (message.type === 'lagged') {
      this.laggedNotices += 1;
      this.skippedMessages += (message.payload as { skipped: number }).skipped;
    }
  }

  private batch(batch: LogBatch, now: number, publishedAt: number): void {
    if (batch.lines.length === 0) return;
    if (this.nextSeq !== null && batch.seq > this.nextSeq) this.lost += batch.seq - this.nextSeq;
    if (this.nextSeq !== null && batch.seq < this.nextSeq) this.duplicated += Math.min(batch.lines.length, this.nextSeq - batch.seq);
    this.nextSeq = Math.max(this.nextSeq ?? 0, batch.seq + batch.lines.length);
    // Backlog lines were written before the subscriber came: no latency for them.
    if (batch.backlog) this.take(batch.lines, now, null);
    else this.publishToReceipt.add(now - publishedAt, this.take(batch.lines, now, publishedAt));
  }

  /**
   * Lines as text: flood lines give their number and write time (digits read in place: this
   * runs ~2M times a second). `publishedAt` null: not timed. Returns the number of flood lines.
   */
  take(lines: readonly string[], now: number, publishedAt: number | null = now): number {
    this.lines += lines.length;
    let flood = 0;
    for (const line of lines) {
      const at = line.indexOf(FLOOD_MARK);
      if (at < 0) continue;
      let i = at + FLOOD_MARK.length;
      let c = 0;
      let seq = 0;
      let t = 0;
      while ((c = line.charCodeAt(i++)) >= 48 && c <= 57) seq = seq * 10 + c - 48;
      i += 2; // "t="
      while ((c = line.charCodeAt(i++)) >= 48 && c <= 57) t = t * 10 + c - 48;
      if (this.floodLast !== null && seq > this.floodLast + 1) this.floodLost += seq - this.floodLast - 1;
      this.floodFirst ??= seq;
      this.floodLast = Math.max(this.floodLast ?? 0, seq);
      if (t < this.firstT) this.firstT = t;
      if (t > this.lastT) this.lastT = t;
      if (publishedAt !== null) {
        this.latency.add(now - t);
        this.toPublish.add(publishedAt - t);
      }
      flood += 1;
    }
    this.floodLines += flood;
    const tick = Math.floor(now / TICK_MS);
    this.ticks.set(tick, (this.ticks.get(tick) ?? 0) + flood);
    return flood;
  }

  report(): TallyReport {
    return {
      kind: this.kind,
      lines: this.lines,
      floodLines: this.floodLines,
      // tail has no pbfleet numbering: its losses are the gaps in the stand-in's.
      lost: this.kind === 'tail' ? this.floodLost : this.lost,
      duplicated: this.duplicated,
      floodLost: this.floodLost,
      floodFirst: this.floodFirst,
      floodLast: this.floodLast,
      firstT: Number.isFinite(this.firstT) ? this.firstT : null,
      lastT: this.lastT || null,
      laggedNotices: this.laggedNotices,
      skippedMessages: this.skippedMessages,
      closed: this.closed,
      latency: this.latency.sparse(),
      toPublish: this.toPublish.sparse(),
      publishToReceipt: this.publishToReceipt.sparse(),
      ticks: [...this.ticks],
    };
  }
}

interface Subscription {
  /** Resolves once the server has subscribed this reader. */
  ready: Promise<void>;
  close(): void;
}

interface SubscriberSpec {
  base: string;
  token: string;
  instanceId: string;
  sse: number;
  ws: number;
  /** Run `tail -F` on this file instead of (or besides) hub subscribers. */
  tailFile?: string;
}

/** SSE: `data: <hub message>` events separated by blank lines; `: ping` comments between. */
function subscribeSse(spec: SubscriberSpec, tally: Tally): Subscription {
  let closing = false;
  let close = () => undefined as void;
  const ready = new Promise<void>((resolve, reject) => {
    const url = `${spec.base}/api/v1/instances/${spec.instanceId}/logs?tail=0`;
    const request = get(url, { agent: false, headers: { authorization: `Bearer ${spec.token}`, accept: 'text/event-stream' } }, (res) => {
      if (res.statusCode !== 200) return reject(new Error(`SSE ${url}: HTTP ${res.statusCode}`));
      resolve();
      res.setEncoding('utf8');
      let pending = '';
      res.on('data', (chunk: string) => {
        const now = Date.now();
        pending += chunk;
        let from = 0;
        for (let end = pending.indexOf('\n\n'); end >= 0; end = pending.indexOf('\n\n', from)) {
          const event = pending.slice(from, end);
          from = end + 2;
          if (event.startsWith('data: ')) tally.message(event.slice(6), now);
          else if (event.startsWith('event: close')) tally.closed = event.slice(event.indexOf('data: ') + 6);
        }
        pending = pending.slice(from);
      });
      res.on('close', () => {
        if (!closing) tally.closed ??= 'stream ended';
      });
    });
    request.on('error', (error) => (closing ? undefined : reject(error)));
    close = () => {
      closing = true;
      request.destroy();
    };
  });
  return { ready, close: () => close() };
}

/** WebSocket: one hub message per frame, a `welcome` first (the subscription is in place by then). */
function subscribeWs(spec: SubscriberSpec, tally: Tally): Subscription {
  let closing = false;
  const socket = new WebSocket(`${spec.base.replace(/^http/, 'ws')}/ws/instances/${spec.instanceId}/logs`, {
    headers: { authorization: `Bearer ${spec.token}` },
    perMessageDeflate: false,
  });
  const ready = new Promise<void>((resolve, reject) => {
    socket.once('message', () => resolve());
    socket.once('error', reject);
  });
  socket.on('message', (data: Buffer) => tally.message(data.toString('utf8'), Date.now()));
  socket.on('close', (code, reason) => {
    if (!closing) tally.closed ??= `${code} ${reason.toString()}`;
  });
  socket.on('error', () => undefined);
  return {
    ready,
    close: () => {
      closing = true;
      socket.terminate();
    },
  };
}

/** The baseline: `tail -F` from the first line; `--pid` ends it with this process, whatever happens. */
function followWithTail(file: string, tally: Tally): Subscription & { pid: number } {
  const tail = spawn('tail', ['-F', '-n', '+1', `--pid=${process.pid}`, file], { stdio: ['ignore', 'pipe', 'inherit'] });
  tail.stdout.setEncoding('utf8');
  let pending = '';
  tail.stdout.on('data', (chunk: string) => {
    const now = Date.now();
    const lines = (pending + chunk).split('\n');
    pending = lines.pop() ?? '';
    tally.take(lines, now);
  });
  // tail has nothing to say once it follows the (still empty) file: give it a moment to set up inotify.
  const ready = new Promise<void>((resolve, reject) => {
    tail.once('spawn', () => setTimeout(resolve, 300));
    tail.once('error', reject);
  });
  return { ready, close: () => tail.kill(), pid: tail.pid ?? 0 };
}

type ToSubscribers = { type: 'finish'; quietMs: number };
type FromSubscribers = { type: 'ready'; tailPid: number | null } | { type: 'report'; tallies: TallyReport[]; eventLoopP99Ms: number; eventLoopMaxMs: number };

/** `instances.bench.ts subscribers <spec>`: connects, says ready, and on `finish` reports once the streams go quiet. */
async function subscriberProcess(spec: SubscriberSpec): Promise<void> {
  const send = (message: FromSubscribers, then: () => void = () => undefined) => process.send?.(message, undefined, undefined, then);
  const tallies: Tally[] = [];
  const subscriptions: Subscription[] = [];
  const add = (kind: ReaderKind, open: (tally: Tally) => Subscription) => {
    const tally = new Tally(kind);
    tallies.push(tally);
    return subscriptions[subscriptions.push(open(tally)) - 1]!;
  };
  for (let i = 0; i < spec.sse; i++) add('sse', (tally) => subscribeSse(spec, tally));
  for (let i = 0; i < spec.ws; i++) add('ws', (tally) => subscribeWs(spec, tally));
  let tailPid: number | null = null;
  if (spec.tailFile) {
    const file = spec.tailFile;
    add('tail', (tally) => {
      const tail = followWithTail(file, tally);
      tailPid = tail.pid;
      return tail;
    });
  }
  process.on('disconnect', () => process.exit(1));
  await Promise.all(subscriptions.map((s) => s.ready));
  send({ type: 'ready', tailPid });

  const loop = monitorEventLoopDelay({ resolution: 10 });
  loop.enable();
  const finish = await new Promise<ToSubscribers>((resolve) => process.once('message', (m) => resolve(m as ToSubscribers)));
  // The bot has stopped: wait until nothing more arrives, then report.
  for (let seen = -1, total = 0; total !== seen; total = tallies.reduce((sum, t) => sum + t.lines, 0)) {
    seen = total;
    await sleep(finish.quietMs);
  }
  loop.disable();
  for (const s of subscriptions) s.close();
  send({ type: 'report', tallies: tallies.map((t) => t.report()), eventLoopP99Ms: loop.percentile(99) / 1e6, eventLoopMaxMs: loop.max / 1e6 }, () => process.exit(0));
}

// ---------------------------------------------------------------------------------------------
// The driving side.

interface SubscriberGroup {
  child: ChildProcess;
  ready: Promise<{ tailPid: number | null }>;
  finish(quietMs: number): Promise<Extract<FromSubscribers, { type: 'report' }>>;
}

function nextMessage<T extends FromSubscribers['type']>(child: ChildProcess, type: T): Promise<Extract<FromSubscribers, { type: T }>> {
  return new Promise((resolve, reject) => {
    const onMessage = (message: FromSubscribers) => {
      if (message.type !== type) return;
      off();
      resolve(message as Extract<FromSubscribers, { type: T }>);
    };
    const onExit = (code: number | null) => {
      off();
      reject(new Error(`a subscriber process exited (code ${code}) before sending ${type}`));
    };
    const off = () => {
      child.off('message', onMessage);
      child.off('exit', onExit);
    };
    child.on('message', onMessage);
    child.once('exit', onExit);
  });
}

/** This file in `subscribers` mode, with the same loader flags (tsx) as this process. */
function startSubscribers(spec: SubscriberSpec): SubscriberGroup {
  const child = fork(fileURLToPath(import.meta.url), ['subscribers', JSON.stringify(spec)], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  return {
    child,
    ready: nextMessage(child, 'ready'),
    finish: (quietMs) => {
      const report = nextMessage(child, 'report');
      child.send({ type: 'finish', quietMs } satisfies ToSubscribers);
      return report;
    },
  };
}

const apiClient = (base: string, token: string) => jsonClient(() => base, () => token);
type Api = ReturnType<typeof apiClient>;


const countWithStatus = async (api: Api, status: Instance['status']) => (await api.get<{ pagination: { total: number } }>(`/instances?status=${status}&limit=1`)).pagination.total;

/**
 * Polls the status filter until `count` bots have `status`, telling `progress` each count seen;
 * fails fast on bots in error. Returns the ms waited.
 */
async function waitForCount(api: Api, status: Instance['status'], count: number, timeoutMs = 60_000, progress?: (seen: number) => void): Promise<number> {
  const started = performance.now();
  for (let poll = 0; ; poll++) {
    const seen = await countWithStatus(api, status);
    progress?.(seen);
    if (seen >= count) return performance.now() - started;
    if (poll % 20 === 19 || performance.now() - started > timeoutMs) {
      const { instances } = await api.get<{ instances: Instance[] }>('/instances?limit=500');
      const failed = instances.filter((i) => i.status === 'error');
      const counts = new Map<string, number>();
      for (const i of instances) counts.set(i.status, (counts.get(i.status) ?? 0) + 1);
      const byStatus = [...counts].map(([s, n]) => `${n} ${s}`);
      if (failed.length || performance.now() - started > timeoutMs) {
        throw new Error(`waiting for ${count} ${status}: ${byStatus.join(', ')}${failed[0] ? `; e.g. ${failed[0].name}: ${failed[0].lastError}` : ''}`);
      }
    }
    await sleep(50);
  }
}

interface StartStop {
  startMs: number;
  stopMs: number;
}

/** The baseline for part 1: the same stand-ins spawned straight from here, until READY is in every log, then SIGINT. */
async function spawnDirectly(checkout: PassivbotCheckout): Promise<StartStop> {
  const dir = mkdtempSync(join(tmpdir(), 'pbfleet-bench-direct-'));
  try {
    await writeApiKeys(checkout.dir);
    const config = join(dir, 'config.json');
    writeFileSync(config, JSON.stringify(QUIET_BOT));
    const started = performance.now();
    const bots = Array.from({ length: BOTS }, (_, i) => {
      const log = join(dir, `bot-${i}.log`);
      const fd = openSync(log, 'a');
      try {
        return { log, child: spawn(checkout.python, ['-u', join(checkout.dir, 'src', 'main.py'), config], { cwd: checkout.dir, stdio: ['ignore', fd, fd] }) };
      } finally {
        closeSync(fd);
      }
    });
    const booting = new Set(bots);
    while (booting.size) {
      for (const bot of booting) if (readFileSync(bot.log, 'utf8').includes('[boot] READY')) booting.delete(bot);
      if (performance.now() - started > 60_000) throw new Error(`${booting.size} directly spawned stand-ins not READY after 60 s`);
      await sleep(20);
    }
    const startMs = performance.now() - started;
    const stopping = performance.now();
    await Promise.all(
      bots.map(({ child }) => new Promise((resolve) => (child.exitCode !== null ? resolve(null) : (child.once('exit', resolve), child.kill('SIGINT'))))),
    );
    return { startMs, stopMs: performance.now() - stopping };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

interface BulkResult {
  results: { id: string; ok: boolean; error?: string }[];
}

interface ManyResult extends StartStop {
  /** When the bulk start call returned, and when half and 90% of the bots were running (ms from the call). */
  bulkStartMs: number;
  halfMs: number;
  ninetyMs: number;
  /** CPU seconds the server used from the bulk call until all were running. */
  startCpuSeconds: number;
  rssMb: number;
  peakRssMb: number;
  leftover: number;
}

/** Part 1: 100 bots through the API. The running count is polled from the moment the bulk call is sent. */
async function startStopMany(api: Api, serverPid: number, checkout: PassivbotCheckout): Promise<ManyResult> {
  const names = Array.from({ length: BOTS }, (_, i) => `bench-${String(i + 1).padStart(3, '0')}`);
  const ids = await mapPool(names, 8, async (name) => (await api.post<Instance>('/instances', { name, environmentId: 'local', account: 'bybit_01', config: QUIET_BOT })).id);

  const cpuBefore = pbfleetCpuSeconds(serverPid);
  const started = performance.now();
  const reachedAt: number[] = []; // [n - 1]: ms until n bots were running
  const track = (seen: number) => {
    while (reachedAt.length < seen) reachedAt.push(performance.now() - started);
  };
  let bulkStartMs = 0;
  const bulkStart = async () => {
    const bulk = await api.post<BulkResult>('/instances/bulk', { action: 'start', ids });
    bulkStartMs = performance.now() - started;
    const refused = bulk.results.filter((r) => !r.ok);
    if (refused.length) throw new Error(`bulk start: ${refused.length} failed, e.g. ${refused[0]?.error}`);
  };
  await Promise.all([bulkStart(), waitForCount(api, 'running', BOTS, 60_000, track)]);
  const startMs = performance.now() - started;
  const startCpuSeconds = pbfleetCpuSeconds(serverPid) - cpuBefore;

  await sleep(2000);
  const supervisedRss = pbfleetRssMb(serverPid);

  const stopping = performance.now();
  await api.post<BulkResult>('/instances/bulk', { action: 'stop', ids });
  await waitForCount(api, 'stopped', BOTS);
  const stopMs = performance.now() - stopping;
  return {
    startMs,
    bulkStartMs,
    halfMs: reachedAt[Math.ceil(BOTS / 2) - 1] ?? startMs,
    ninetyMs: reachedAt[Math.ceil(BOTS * 0.9) - 1] ?? startMs,
    startCpuSeconds,
    stopMs,
    rssMb: supervisedRss,
    peakRssMb: pbfleetPeakRssMb(serverPid),
    leftover: processesWith(checkout.dir).length,
  };
}

interface FloodResult {
  windowStart: number;
  windowEnd: number;
  reports: TallyReport[];
  eventLoop: { p99Ms: number; maxMs: number }[];
  cpu: { label: string; percent: number }[];
  /** The whole machine, all processes, % of one core. */
  machinePercent: number;
  maxRssMb: number;
}

/** Part 2: one flooding bot, 100 hub subscribers and tail -F, all attached before the bot starts. */
async function flood(api: Api, base: string, token: string, dataDir: string, serverPid: number): Promise<FloodResult> {
  const bot = await api.post<Instance>('/instances', { name: 'flood', environmentId: 'local', account: 'bybit_01', config: FLOOD_BOT });
  // Where the local host puts the log when settings paths.dataDir is empty (bot-layout.fns.ts).
  // Made empty now, so tail -F follows it from the first line the bot writes.
  const log = join(dataDir, 'bots', 'instances', bot.id, 'bot.log');
  mkdirSync(dirname(log), { recursive: true });
  writeFileSync(log, '');

  const groups = Array.from({ length: SUBSCRIBER_PROCESSES }, (_, i) => {
    const share = (total: number) => Math.floor(total / SUBSCRIBER_PROCESSES) + (i < total % SUBSCRIBER_PROCESSES ? 1 : 0);
    return startSubscribers({ base, token, instanceId: bot.id, sse: share(SSE_SUBSCRIBERS), ws: share(WS_SUBSCRIBERS) });
  });
  // tail's reader gets a process of its own, so that it does not queue behind the hub subscribers.
  const tailGroup = startSubscribers({ base, token, instanceId: bot.id, sse: 0, ws: 0, tailFile: log });
  const all = [...groups, tailGroup];
  try {
    const { tailPid } = (await Promise.all(all.map((g) => g.ready)))[all.length - 1]!;

    await api.post(`/instances/${bot.id}/start`);
    await waitForCount(api, 'running', 1, 15_000);
    const windowStart = Date.now();
    const botPid = (await api.get<Instance>(`/instances/${bot.id}`)).pid ?? 0;
    const measured = [
      { label: 'pbfleet (server and process helper)', pids: pbfleetPids(serverPid) },
      { label: 'the flood bot (its process group)', pids: groupPids(botPid) },
      ...groups.map((g, i) => ({ label: `subscriber process ${i + 1}`, pids: [g.child.pid ?? 0] })),
      { label: 'tail -F + its reader', pids: [tailGroup.child.pid ?? 0, tailPid ?? 0] },
    ];
    const cpuNow = () => measured.map((m) => m.pids.reduce((sum, pid) => sum + cpuSeconds(pid), 0));
    const cpu0 = cpuNow();
    const machine0 = machineCpuSeconds();

    let maxRssMb = 0;
    while (Date.now() - windowStart < FLOOD_SECONDS * 1000) {
      await sleep(1000);
      maxRssMb = Math.max(maxRssMb, pbfleetRssMb(serverPid));
    }
    const windowEnd = Date.now();
    const cpu1 = cpuNow();
    const machine1 = machineCpuSeconds();
    const seconds = (windowEnd - windowStart) / 1000;

    await api.post(`/instances/${bot.id}/stop`);
    const reports = await Promise.all(all.map((g) => g.finish(1000)));
    return {
      windowStart,
      windowEnd,
      reports: reports.flatMap((r) => r.tallies),
      eventLoop: reports.slice(0, groups.length).map((r) => ({ p99Ms: r.eventLoopP99Ms, maxMs: r.eventLoopMaxMs })),
      cpu: measured.map((m, i) => ({ label: m.label, percent: ((cpu1[i]! - cpu0[i]!) / seconds) * 100 })),
      machinePercent: ((machine1 - machine0) / seconds) * 100,
      maxRssMb,
    };
  } finally {
    for (const g of all) g.child.kill();
  }
}

interface ReaderSummary {
  readers: number;
  /** Flood lines per second received within the window: mean and lowest over the readers. */
  rateMean: number;
  rateMin: number;
  latency: Histogram;
  toPublish: Histogram;
  publishToReceipt: Histogram;
  lost: number;
  lostKeptUp: number;
  keptUp: number;
  lagged: number;
  closed: number;
  duplicated: number;
  floodLost: number;
}

function summarize(reports: TallyReport[], windowStart: number, windowEnd: number): ReaderSummary {
  const [from, to] = [Math.ceil(windowStart / TICK_MS), Math.floor(windowEnd / TICK_MS)];
  const rates = reports.map((r) => r.ticks.reduce((sum, [tick, count]) => (tick >= from && tick < to ? sum + count : sum), 0) / (((to - from) * TICK_MS) / 1000));
  const keptUp = reports.filter((r) => r.laggedNotices === 0 && r.closed === null);
  const sum = (list: TallyReport[], key: 'lost' | 'duplicated' | 'floodLost') => list.reduce((s, r) => s + r[key], 0);
  return {
    readers: reports.length,
    rateMean: rates.reduce((a, b) => a + b, 0) / Math.max(1, rates.length),
    rateMin: Math.min(...rates),
    latency: Histogram.merge(reports.map((r) => r.latency)),
    toPublish: Histogram.merge(reports.map((r) => r.toPublish)),
    publishToReceipt: Histogram.merge(reports.map((r) => r.publishToReceipt)),
    lost: sum(reports, 'lost'),
    lostKeptUp: sum(keptUp, 'lost'),
    keptUp: keptUp.length,
    lagged: reports.filter((r) => r.laggedNotices > 0).length,
    closed: reports.filter((r) => r.closed !== null).length,
    duplicated: sum(reports, 'duplicated'),
    floodLost: sum(reports, 'floodLost'),
  };
}

const fmt = (n: number | null, digits = 0) => (n === null ? '-' : n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits }));
const ms = (n: number | null) => (n === null ? '-' : n >= Histogram.MAX_MS ? `>${Histogram.MAX_MS}` : String(n));
const met = (ok: boolean) => (ok ? 'met' : 'NOT MET');

function machineNote(): string {
  const model = cpus()[0]?.model.trim() ?? 'unknown CPU';
  return `${availableParallelism()} cores (${model}), load average ${loadavg().map((l) => l.toFixed(2)).join(' ')}`;
}

async function main(): Promise<void> {
  const machineBefore = machineNote();
  execFileSync('npx', ['tsc', '-p', 'tsconfig.build.json'], { cwd: root, stdio: 'inherit' });
  const checkout = await makePassivbotCheckout();
  const dataDir = mkdtempSync(join(tmpdir(), 'pbfleet-bench-instances-'));
  writeFileSync(join(dataDir, 'config.yaml'), 'log:\n  level: warn\n');
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const server = start(process.execPath, [...startFlags(), ...SERVER_FLAGS, join(root, 'dist/cli.js'), 'serve'], {
    PATH: process.env.PATH,
    PBFLEET_CONFIG: join(dataDir, 'config.yaml'),
    PBFLEET_DATA_DIR: dataDir,
    PBFLEET_PORT: String(port),
    PBFLEET_HOST: '127.0.0.1',
    PBFLEET_ADMIN_PASSWORD: PASSWORD,
  });
  const serverPid = server.pid as number;
  // Bots are detached (their own process groups): nothing ends them with this process but this.
  const cleanUp = () => {
    killAllWith(checkout.dir);
    server.kill('SIGTERM');
  };
  const onSignal = () => {
    cleanUp();
    process.exit(130);
  };
  process.once('SIGINT', onSignal).once('SIGTERM', onSignal);
  let api: Api | undefined;
  try {
    await waitFor(`${base}/api/v1/ready`);
    const direct = await spawnDirectly(checkout);

    const login = await fetch(`${base}/api/v1/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: 'admin', password: PASSWORD }) });
    const { token } = (await login.json()) as { token: string };
    api = apiClient(base, token);
    await api.put('/settings/paths', { passivbotDir: checkout.dir, pythonPath: checkout.python, passivbotKind: 'v7' });
    await api.put('/settings', { instances: { stopTimeoutSeconds: 5, logMaxMegabytes: LOG_MAX_MEGABYTES } });
    await api.post('/accounts', { name: 'bybit_01', exchange: 'bybit', key: 'bench-key', secret: 'bench-secret' });

    const many = await startStopMany(api, serverPid, checkout);
    const idleRss = pbfleetRssMb(serverPid);

    const result = await flood(api, base, token, dataDir, serverPid);
    const leftoverAfterFlood = processesWith(checkout.dir).length;

    const byKind = (kind: ReaderKind) => summarize(result.reports.filter((r) => r.kind === kind), result.windowStart, result.windowEnd);
    const [tail, sse, ws] = [byKind('tail'), byKind('sse'), byKind('ws')];
    const tailReport = result.reports.find((r) => r.kind === 'tail');
    const written = tailReport?.floodLast ?? 0;
    const writtenSeconds = tailReport?.firstT && tailReport.lastT ? (tailReport.lastT - tailReport.firstT) / 1000 : 0;

    console.log(`\nbench:instances — local stand-in bots through the built server (SQLite); ${machineBefore} at the start`);

    console.log(`\n1) ${BOTS} bots started and stopped with POST /instances/bulk (health every 5 s, a fill every 10 s)\n`);
    console.log(
      table([
        { run: `${BOTS} stand-ins spawned directly (baseline)`, 'start: all READY/running': `${fmt(direct.startMs / 1000, 1)} s`, 'stop: all exited/stopped': `${fmt(direct.stopMs / 1000, 1)} s`, 'pbfleet RSS': '-' },
        {
          run: `${BOTS} bots through pbfleet`,
          'start: all READY/running': `${fmt(many.startMs / 1000, 1)} s (half ${fmt(many.halfMs / 1000, 1)} s, 90% ${fmt(many.ninetyMs / 1000, 1)} s; bulk call ${fmt(many.bulkStartMs / 1000, 1)} s)`,
          'stop: all exited/stopped': `${fmt(many.stopMs / 1000, 1)} s`,
          'pbfleet RSS': `${many.rssMb} MB with ${BOTS} supervised (peak ${many.peakRssMb}, after stop ${idleRss})`,
        },
      ]),
    );
    console.log(`pbfleet CPU during the start: ${fmt(many.startCpuSeconds, 1)} s (${fmt((many.startCpuSeconds / many.startMs) * 100_000)}% of one core); stand-in processes left after the bulk stop: ${many.leftover}`);

    console.log(`\n2) one bot writing ${fmt(FLOOD_LINES_PER_S)} lines/s for ${FLOOD_SECONDS} s: it wrote ${fmt(written)} flood lines in ${fmt(writtenSeconds, 1)} s (${fmt(written / (writtenSeconds || 1))} lines/s)`);
    console.log(`   (delivered = flood lines received per second within the ${fmt((result.windowEnd - result.windowStart) / 1000, 1)} s window from running to the stop request, per reader)\n`);
    const readerRow = (name: string, kind: ReaderKind, s: ReaderSummary) => ({
      reader: name,
      'delivered lines/s mean (min)': `${fmt(s.rateMean)} (${fmt(s.rateMin)})`,
      'p50 ms': ms(s.latency.percentile(50)),
      'p99 ms': ms(s.latency.percentile(99)),
      'max ms': ms(s.latency.max()),
      'p99 to publish / publish to receipt': kind === 'tail' ? '-' : `${ms(s.toPublish.percentile(99))} / ${ms(s.publishToReceipt.percentile(99))}`,
      'lost lines: kept up (all)': `${fmt(s.lostKeptUp)} (${fmt(s.lost)})`,
      'kept up': `${s.keptUp}/${s.readers}`,
      'lagged / closed': `${s.lagged} / ${s.closed}`,
    });
    console.log(table([readerRow('tail -F (baseline)', 'tail', tail), readerRow(`${SSE_SUBSCRIBERS} SSE subscribers`, 'sse', sse), readerRow(`${WS_SUBSCRIBERS} WebSocket subscribers`, 'ws', ws)]));
    console.log('(latency is per flood line, receipt time - the t= the bot wrote; "to publish" ends at the hub message\'s ts, when pbfleet had read and published the line)');
    const cross = [sse, ws].map((s) => s.floodLost - s.lost).some((d) => d !== 0) || sse.duplicated + ws.duplicated > 0;
    if (cross) console.log(`note: seq= gaps in the text SSE ${sse.floodLost}, WS ${ws.floodLost}; duplicated lines SSE ${sse.duplicated}, WS ${ws.duplicated}`);
    const ours = result.cpu.reduce((sum, c) => sum + c.percent, 0);
    console.log(`\nCPU during the flood (% of one core): ${result.cpu.map((c) => `${c.label} ${fmt(c.percent)}`).join(', ')}`);
    console.log(`  whole machine ${fmt(result.machinePercent)} of ${availableParallelism() * 100}, of which other processes ${fmt(Math.max(0, result.machinePercent - ours))}`);
    console.log(
      `subscriber processes: ${SUBSCRIBER_PROCESSES}, ${fmt((SSE_SUBSCRIBERS + WS_SUBSCRIBERS) / SUBSCRIBER_PROCESSES, 1)} subscribers each; event-loop delay p99 ${result.eventLoop.map((e) => fmt(e.p99Ms, 1)).join(' / ')} ms, max ${result.eventLoop.map((e) => fmt(e.maxMs)).join(' / ')} ms`,
    );
    if (result.eventLoop.some((e) => e.p99Ms > 20)) {
      console.log('  note: the subscriber processes waited for CPU (event-loop delay p99 > 20 ms): part of the latency above is the measuring side and this machine, not pbfleet');
    }
    console.log(`pbfleet RSS during the flood: max ${fmt(result.maxRssMb)} MB; stand-in processes left after the stop: ${leftoverAfterFlood}`);

    const keptUpLost = sse.lostKeptUp + ws.lostKeptUp;
    const [sseP99, wsP99] = [sse.latency.percentile(99), ws.latency.percentile(99)];
    console.log('\ntargets\n');
    console.log(
      table([
        { target: `start ${BOTS} bots`, measured: `${fmt(many.startMs / 1000, 1)} s`, goal: `< ${TARGETS.startSeconds} s`, result: met(many.startMs < TARGETS.startSeconds * 1000) },
        { target: `pbfleet RSS, ${BOTS} supervised`, measured: `${many.rssMb} MB`, goal: `< ${TARGETS.rssMb} MB`, result: met(many.rssMb < TARGETS.rssMb) },
        { target: 'p99 write to receipt, SSE', measured: `${ms(sseP99)} ms`, goal: `< ${TARGETS.p99Ms} ms`, result: met((sseP99 ?? Infinity) < TARGETS.p99Ms) },
        { target: 'p99 write to receipt, WebSocket', measured: `${ms(wsP99)} ms`, goal: `< ${TARGETS.p99Ms} ms`, result: met((wsP99 ?? Infinity) < TARGETS.p99Ms) },
        { target: 'lines lost, subscribers that kept up', measured: `${fmt(keptUpLost)} (${sse.keptUp + ws.keptUp} of ${sse.readers + ws.readers} kept up)`, goal: '0', result: met(keptUpLost === 0 && sse.keptUp + ws.keptUp > 0) },
      ]),
    );
    console.log(`\n(tail -F on the same file, same run: p99 ${ms(tail.latency.percentile(99))} ms)`);
    console.log(`machine: ${machineNote()} at the end`);
  } finally {
    await api?.post('/instances/stop-all').catch(() => undefined);
    cleanUp();
    process.off('SIGINT', onSignal).off('SIGTERM', onSignal);
    rmSync(dataDir, { recursive: true, force: true });
    rmSync(checkout.dir, { recursive: true, force: true });
  }
}

if (process.argv[2] === 'subscribers') {
  subscriberProcess(JSON.parse(process.argv[3] ?? '{}') as SubscriberSpec).catch((error: unknown) => {
    console.error(error);
    process.exit(1);
  });
} else {
  main().catch((error: unknown) => {
    console.error(error);
    process.exit(1);
  });
}
