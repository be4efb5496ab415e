/**
 * npm run bench:ui — the bot page's live log viewer in Chromium while the bot writes 20,000
 * lines/s, against the built server running as its own process (the stand-in Passivbot's
 * `flood_lines_per_s`).
 *
 * Two phases on the same page, each BENCH_SECONDS (30) long, during one continuous flood:
 *   1. baseline: the bot page with the log panel closed (no log subscription);
 *   2. the log panel open, following: every line reaches the viewer over the hub.
 * Per phase: frames rendered per second (a requestAnimationFrame counter in the page; mean and
 * the worst one-second window), the longest main-thread task and the time spent in long tasks
 * (PerformanceObserver 'longtask'), lines the viewer took (its data-received counter), how far
 * behind the newest drawn line is (its flood `t=` write time against the page clock) and the
 * tab's JS heap at the end (CDP Performance.getMetrics JSHeapUsedSize; also after a forced GC).
 *
 * Target: >= 30 frames/s with the log open.
 *
 * Then the backtest result page with 100,000 fills and a 500,000-row equity file against a small
 * result (bench/ui-results.ts). Target: opens (chart drawn, first fills page shown) in < 1 s.
 *
 * Knobs (environment): BENCH_SECONDS (30), BENCH_FLOOD_RATE (20000), BENCH_NO_BUILD=1 (server: use dist/ as built),
 * BENCH_PROFILE=1 (print where the page's main thread spends its time, per phase), BENCH_PARTS (log,results),
 * BENCH_RESULT_RUNS (5 page loads per result).
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import type { Instance } from '../src/modules/instances/instances.types.js';
import { jsonClient, loginToken, type JsonClient } from '../test/helpers/http.js';
import { killAllWith } from '../test/helpers/instances.js';
import { makePassivbotCheckout, standinConfig } from '../test/helpers/passivbot.js';
import { freePort, start, startFlags, table, waitFor } from './lib.js';
import { benchResults, median, RESULT_TARGET_MS } from './ui-results.js';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 30);
const PARTS = new Set((process.env.BENCH_PARTS ?? 'log,results').split(',').map((p) => p.trim()));
const FLOOD_LINES_PER_S = Number(process.env.BENCH_FLOOD_RATE ?? 20_000);
const TARGET_FPS = 30;
const PASSWORD = 'bench password 1';
const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];
const root = fileURLToPath(new URL('..', import.meta.url));
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Installed once in the page: a frame counter, per-second frame windows and long tasks. */
const PROBE = `(() => {
  const b = (window.__bench = { frames: 0, total: 0, windows: [], longest: 0, longTotal: 0, longCount: 0, lags: [] });
  const tick = () => { b.frames++; b.total++; requestAnimationFrame(tick); };
  requestAnimationFrame(tick);
  let last = b.total;
  setInterval(() => {
    b.windows.push(b.total - last);
    last = b.total;
    const rows = document.querySelectorAll('[role=log] [data-seq]');
    const text = rows.length ? rows[rows.length - 1].textContent || '' : '';
    const m = / t=(\\d+)/.exec(text);
    if (m) b.lags.push(Date.now() - Number(m[1]));
  }, 1000);
  new PerformanceObserver((list) => {
    for (const e of list.getEntries()) {
      b.longest = Math.max(b.longest, e.duration);
      b.longTotal += e.duration;
      b.longCount++;
    }
  }).observe({ type: 'longtask', buffered: false });
})()`;

const RESET = `(() => { const b = window.__bench; b.frames = 0; b.windows = []; b.longest = 0; b.longTotal = 0; b.longCount = 0; b.lags = []; })()`;
const READ = `(() => {
  const b = window.__bench;
  const log = document.querySelector('[role=log]');
  return { frames: b.frames, windows: b.windows.slice(), longest: b.longest, longTotal: b.longTotal, longCount: b.longCount, lags: b.lags.slice(), received: log ? Number(log.getAttribute('data-received')) : 0, rows: document.querySelectorAll('[role=log] [data-seq]').length };
})()`;

interface PhaseResult {
  label: string;
  fps: number;
  worstWindowFps: number;
  longestTaskMs: number;
  longTaskMs: number;
  longTasks: number;
  linesPerS: number;
  lagP50Ms: number | null;
  lagMaxMs: number | null;
  heapMb: number;
  heapAfterGcMb: number;
  domRows: number;
}

interface Reading {
  frames: number;
  windows: number[];
  longest: number;
  longTotal: number;
  longCount: number;
  lags: number[];
  received: number;
  rows: number;
}

async function heapMb(page: Page, gc: boolean): Promise<number> {
  const cdp = await page.context().newCDPSession(page);
  try {
    await cdp.send('Performance.enable');
    if (gc) await cdp.send('HeapProfiler.collectGarbage');
    const { metrics } = await cdp.send('Performance.getMetrics');
    const used = metrics.find((m) => m.name === 'JSHeapUsedSize')?.value ?? 0;
    return Math.round((used / 1024 / 1024) * 10) / 10;
  } finally {
    await cdp.detach();
  }
}

/** Self time per function over a CPU profile, the top `n` (BENCH_PROFILE=1). */
function topFunctions(profile: { nodes: { id: number; callFrame: { functionName: string; url: string; lineNumber: number } }[]; samples?: number[]; timeDeltas?: number[] }, n = 15): string {
  const self = new Map<number, number>();
  (profile.samples ?? []).forEach((id, i) => self.set(id, (self.get(id) ?? 0) + (profile.timeDeltas?.[i] ?? 0)));
  const byName = new Map<string, number>();
  for (const node of profile.nodes) {
    const { functionName, url, lineNumber } = node.callFrame;
    const name = `${functionName || '(anonymous)'} ${url.split('/').pop() ?? ''}:${lineNumber}`;
    byName.set(name, (byName.get(name) ?? 0) + (self.get(node.id) ?? 0));
  }
  const total = [...byName.values()].reduce((a, b) => a + b, 0) || 1;
  return [...byName.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, n)
    .map(([name, us]) => `  ${((us / total) * 100).toFixed(1).padStart(5)}%  ${(us / 1000).toFixed(0).padStart(6)} ms  ${name}`)
    .join('\n');
}

async function phase(page: Page, label: string): Promise<PhaseResult> {
  const before = await page.evaluate<Reading>(READ);
  await page.evaluate(RESET);
  const started = performance.now();
  const profiling = process.env.BENCH_PROFILE === '1' ? await page.context().newCDPSession(page) : null;
  if (profiling) {
    await profiling.send('Profiler.enable');
    await profiling.send('Profiler.start');
  }
  await sleep(SECONDS * 1000);
  if (profiling) {
    const { profile } = await profiling.send('Profiler.stop');
    console.log(`\nCPU profile, ${label} (self time):\n${topFunctions(profile)}`);
    await profiling.detach();
  }
  const r = await page.evaluate<Reading>(READ);
  const seconds = (performance.now() - started) / 1000;
  const heap = await heapMb(page, false);
  const heapAfterGc = await heapMb(page, true);
  const lags = r.lags.slice().sort((a, b) => a - b);
  return {
    label,
    fps: r.frames / seconds,
    worstWindowFps: r.windows.length ? Math.min(...r.windows) : 0,
    longestTaskMs: r.longest,
    longTaskMs: r.longTotal,
    longTasks: r.longCount,
    linesPerS: (r.received - before.received) / seconds,
    lagP50Ms: lags.length ? (lags[Math.floor(lags.length / 2)] ?? null) : null,
    lagMaxMs: lags.length ? (lags[lags.length - 1] ?? null) : null,
    heapMb: heap,
    heapAfterGcMb: heapAfterGc,
    domRows: r.rows,
  };
}

const fmt = (n: number | null, digits = 0) => (n === null ? '-' : n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits }));

/** The bot page's log viewer during a flood: closed (baseline), then open. */
async function benchLog(api: JsonClient, browser: Browser, base: string, cookieLogin: (context: BrowserContext) => Promise<void>, machine: string): Promise<void> {
  const bot = await api.post<Instance>('/instances', {
    name: 'flood',
    environmentId: 'local',
    account: 'bybit_01',
    config: standinConfig({ standin: { flood_lines_per_s: FLOOD_LINES_PER_S, health_interval_s: 1, fill_interval_s: 2, order_interval_s: 1 } }),
  });

  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  await cookieLogin(context);
  const page = await context.newPage();
  await page.goto(`${base}/bots/${bot.id}`);
  await page.getByRole('heading', { name: 'flood' }).waitFor();
  await page.getByRole('button', { name: 'Hide log' }).click();
  await page.evaluate(PROBE);

  await api.post(`/instances/${bot.id}/start`);
  for (let i = 0; ; i++) {
    if ((await api.get<Instance>(`/instances/${bot.id}`)).status === 'running') break;
    if (i > 100) throw new Error('the flood bot did not reach running');
    await sleep(200);
  }
  await sleep(2000); // the flood is under way

  const closed = await phase(page, 'log panel closed (baseline)');
  await page.getByRole('button', { name: 'Show log' }).click();
  await page.locator('[role=log] [data-seq]').first().waitFor();
  const open = await phase(page, 'log panel open, following');
  await api.post(`/instances/${bot.id}/stop`);

  console.log(`\nbench:ui — the bot page's log viewer in Chromium (headless, software rendering) while a stand-in bot writes ${fmt(FLOOD_LINES_PER_S)} lines/s; ${SECONDS} s per phase; ${machine}\n`);
  console.log(
    table(
      [closed, open].map((p) => ({
        page: p.label,
        'frames/s mean (worst 1 s)': `${fmt(p.fps, 1)} (${fmt(p.worstWindowFps)})`,
        'longest task ms': fmt(p.longestTaskMs),
        'long tasks (total ms)': `${fmt(p.longTasks)} (${fmt(p.longTaskMs)})`,
        'lines/s into the viewer': fmt(p.linesPerS),
        'newest drawn line behind ms p50 (max)': p.lagP50Ms === null ? '-' : `${fmt(p.lagP50Ms)} (${fmt(p.lagMaxMs)})`,
        'JS heap MB (after GC)': `${fmt(p.heapMb, 1)} (${fmt(p.heapAfterGcMb, 1)})`,
        'rows in DOM': fmt(p.domRows),
      })),
    ),
  );
  const verdict = open.fps >= TARGET_FPS ? 'met' : 'NOT met';
  console.log(`\ntarget: >= ${TARGET_FPS} frames/s with the log open: ${verdict} (${fmt(open.fps, 1)})`);
  await context.close();
}

async function main(): Promise<void> {
  const machine = `${availableParallelism()} cores (${cpus()[0]?.model.trim() ?? 'unknown CPU'}), load average ${loadavg().map((l) => l.toFixed(2)).join(' ')}`;
  const uiDir = mkdtempSync(join(tmpdir(), 'pbfleet-bench-ui-web-'));
  if (process.env.BENCH_NO_BUILD !== '1') execFileSync('npx', ['tsc', '-p', 'tsconfig.build.json'], { cwd: root, stdio: 'inherit' });
  // Its own production build of the UI (whatever NODE_ENV says, and away from dist/web, which tests rebuild).
  process.env.NODE_ENV = 'production';
  const { build } = await import('vite');
  await build({ configFile: join(root, 'web/vite.config.ts'), mode: 'production', logLevel: 'warn', build: { outDir: uiDir, emptyOutDir: true } });
  const checkout = await makePassivbotCheckout();
  const dataDir = mkdtempSync(join(tmpdir(), 'pbfleet-bench-ui-'));
  writeFileSync(join(dataDir, 'config.yaml'), 'log:\n  level: warn\n');
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const server = start(process.execPath, [...startFlags(), join(root, 'dist/cli.js'), 'serve'], {
    PATH: process.env.PATH,
    PBFLEET_CONFIG: join(dataDir, 'config.yaml'),
    PBFLEET_DATA_DIR: dataDir,
    PBFLEET_PORT: String(port),
    PBFLEET_HOST: '127.0.0.1',
    PBFLEET_ADMIN_PASSWORD: PASSWORD,
    PBFLEET_UI_DIR: uiDir,
  });
  const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: CHROMIUM_ARGS });
  const cleanUp = () => {
    killAllWith(checkout.dir);
    server.kill('SIGTERM');
  };
  process.once('SIGINT', () => {
    cleanUp();
    process.exit(130);
  });
  try {
    await waitFor(`${base}/api/v1/ready`);
    const token = await loginToken(base, 'admin', PASSWORD);
    const api = jsonClient(() => base, () => token);
    await api.put('/settings/paths', { passivbotDir: checkout.dir, pythonPath: checkout.python, passivbotKind: 'v7' });
    await api.put('/settings', { instances: { stopTimeoutSeconds: 5, logMaxMegabytes: 1000 } });
    await api.post('/accounts', { name: 'bybit_01', exchange: 'bybit', key: 'bench-key', secret: 'bench-secret' });
    const cookieLogin = async (context: BrowserContext) => {
      const login = await context.request.post(`${base}/api/v1/auth/login`, { data: { username: 'admin', password: PASSWORD, cookie: true }, headers: { 'X-PBFleet-CSRF': '1', origin: base } });
      if (!login.ok()) throw new Error(`cookie login: ${login.status()} ${await login.text()}`);
    };
    if (PARTS.has('log')) await benchLog(api, browser, base, cookieLogin, machine);
    if (PARTS.has('results')) {
      const results = await benchResults(api, browser, base, cookieLogin);
      console.log(`\nbench:ui — the backtest result page in Chromium: navigation start to equity chart drawn + first fills page shown, median of ${results[0]?.openMs.length ?? 0} loads; server calls once each; ${machine}\n`);
      console.log(
        table(
          results.map((r) => ({
            result: r.label,
            'fills / equity rows (points drawn)': `${fmt(r.fills)} / ${fmt(r.equityRows)} (${fmt(r.equityPoints)})`,
            'page open ms median (max)': `${fmt(median(r.openMs))} (${fmt(Math.max(...r.openMs))})`,
            'GET result ms': fmt(r.resultApiMs, 1),
            'fills page ms': fmt(r.fillsPageMs, 1),
            'sorted page ms first (cached)': `${fmt(r.sortedFirstMs, 1)} (${fmt(r.sortedCachedMs, 1)})`,
            'PnL per coin ms first (cached)': `${fmt(r.coinsFirstMs, 1)} (${fmt(r.coinsCachedMs, 1)})`,
          })),
        ),
      );
      const large = results.at(-1)!;
      console.log(`\ntarget: the large result opens in < ${RESULT_TARGET_MS} ms: ${median(large.openMs) < RESULT_TARGET_MS ? 'met' : 'NOT met'} (${fmt(median(large.openMs))} ms)`);
    }
  } finally {
    await browser.close();
    cleanUp();
    rmSync(dataDir, { recursive: true, force: true });
    rmSync(uiDir, { recursive: true, force: true });
    rmSync(checkout.dir, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
