/**
 * The backtest result page with a large result: 100,000 fills and a 500,000-row equity file,
 * written by a real backtest job (the stand-in Passivbot's n_fills / equity_points) into the
 * job's own result dir; the baseline is the same page for a small result (200 fills, 1,000
 * rows) from the same run. Per page: the time from navigation start until the equity chart has
 * drawn and the first page of fills is in the table (in the page's clock), over RUNS fresh
 * loads. Server side: the result call (the downsampled curve stored when the job finished, so
 * 500k rows are never read again), the first fills page, a sorted page (first and cached) and
 * PnL per coin (first and cached).
 */
import type { Browser } from 'playwright-core';
import type { Job } from '../src/modules/jobs/jobs.types.js';
import type { JsonClient } from '../test/helpers/http.js';
import { standinConfig } from '../test/helpers/passivbot.js';
import { percentile } from './lib.js';

interface PageDocument {
  querySelector(selector: string): { getAttribute(name: string): string | null } | null;
  querySelectorAll(selector: string): { length: number };
}

const RUNS = Number(process.env.BENCH_RESULT_RUNS ?? 5);
export const RESULT_TARGET_MS = 1000;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export interface ResultBench {
  label: string;
  fills: number;
  equityRows: number;
  equityPoints: number;
  /** Navigation start to chart drawn + first fills page shown, ms, per run. */
  openMs: number[];
  resultApiMs: number;
  fillsPageMs: number;
  sortedFirstMs: number;
  sortedCachedMs: number;
  coinsFirstMs: number;
  coinsCachedMs: number;
}

async function finishedJob(api: JsonClient, id: string, timeoutMs = 300_000): Promise<Job> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const job = await api.get<Job>(`/jobs/${id}`);
    if (job.status === 'completed') return job;
    if (['failed', 'cancelled', 'interrupted'].includes(job.status)) throw new Error(`backtest ${job.name} ${job.status}: ${job.error ?? ''}`);
    if (Date.now() > until) throw new Error(`backtest ${job.name} still ${job.status}`);
    await sleep(500);
  }
}

async function timed<T>(fn: () => Promise<T>): Promise<[number, T]> {
  const start = performance.now();
  const value = await fn();
  return [performance.now() - start, value];
}

/** Queues both backtests, waits for them, then measures each result page. */
export async function benchResults(api: JsonClient, browser: Browser, base: string, cookieLogin: (context: Awaited<ReturnType<Browser['newContext']>>) => Promise<void>): Promise<ResultBench[]> {
  const sizes = [
    { label: 'small result (baseline)', n_fills: 200, equity_points: 1000 },
    { label: '100,000 fills, 500,000 equity rows', n_fills: 100_000, equity_points: 500_000 },
  ];
  const jobs: Job[] = [];
  for (const size of sizes) {
    const config = standinConfig({ coins: ['BTC', 'ETH', 'SOL', 'XRP', 'DOGE'], standin: { slow_s: 0, n_fills: size.n_fills, equity_points: size.equity_points } });
    jobs.push(await api.post<Job>('/backtest/run', { config, name: size.label }));
  }
  const done = await Promise.all(jobs.map((job) => finishedJob(api, job.id)));
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  await cookieLogin(context);
  const page = await context.newPage();
  const out: ResultBench[] = [];
  for (const [i, job] of done.entries()) {
    const path = `/backtest/results/${job.id}`;
    const [resultApiMs, summary] = await timed(() => api.get<{ fillsCount: number; equity: { points: unknown[]; sourceRows: number } }>(path));
    const [fillsPageMs] = await timed(() => api.get(`${path}?fills=1&limit=50`));
    const [sortedFirstMs] = await timed(() => api.get(`${path}?fills=1&limit=50&sort=pnl&order=desc`));
    const [sortedCachedMs] = await timed(() => api.get(`${path}?fills=7&limit=50&sort=pnl&order=desc`));
    const [coinsFirstMs] = await timed(() => api.get(`${path}/coins`));
    const [coinsCachedMs] = await timed(() => api.get(`${path}/coins`));
    const openMs: number[] = [];
    for (let run = 0; run < RUNS + 1; run++) {
      await page.goto('about:blank');
      await page.goto(`${base}/results/backtest/${job.id}`);
      // A function, not a string: the page's CSP has no 'unsafe-eval'. (No DOM types here: the shape it uses.)
      const handle = await page.waitForFunction(
        () => {
          const doc = (globalThis as unknown as { document: PageDocument }).document;
          const chart = doc.querySelector('[data-testid="equity-chart"]');
          const rows = doc.querySelectorAll('[data-testid="fills-table"] tbody tr').length;
          return chart?.getAttribute('data-drawn') === 'true' && rows > 0 ? performance.now() : null;
        },
        undefined,
        { polling: 'raf', timeout: 30_000 },
      );
      const ms = (await handle.jsonValue()) as number;
      if (run > 0) openMs.push(ms); // the first load also fills the browser's cache of the app's chunks
    }
    out.push({ label: sizes[i]!.label, fills: summary.fillsCount, equityRows: summary.equity.sourceRows, equityPoints: summary.equity.points.length, openMs, resultApiMs, fillsPageMs, sortedFirstMs, sortedCachedMs, coinsFirstMs, coinsCachedMs });
  }
  await context.close();
  return out;
}

export const median = (values: readonly number[]): number => percentile(values, 50) ?? Number.NaN;
