import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Job } from '../../src/modules/jobs/jobs.types.js';
import { killAllWith } from '../helpers/instances.js';
import { makePassivbotCheckout, standinConfig, type PassivbotCheckout } from '../helpers/passivbot.js';
import { eventually, expectAxeClean, launchBrowser, newPage, shots, signIn, startBrowserApp, type BrowserApp, type TestPage } from './helpers.js';

/**
 * The result pages against a real pbfleet running the stand-in Passivbot: a finished backtest
 * draws its equity curve, lists and sorts its fills and exports the same rows as the API; two
 * backtests compare; an optimization's pareto scatter has every entry, and "create a bot" makes a
 * stopped bot with that entry's config. A viewer sees results without the queue or create buttons.
 */

type Row = Record<string, string | number | null>;
interface FillsResult {
  fillsCount: number;
  fills: { total: number; columns: string[]; rows: Row[] };
}
interface Entry {
  id: string;
  rank: number;
  config: Record<string, unknown>;
}

/** Pixels of a canvas that are not transparent (uPlot draws on a transparent canvas). */
async function drawnPixels(page: Page, selector: string): Promise<number> {
  return page.evaluate<number>(`(() => {
    const canvas = document.querySelector(${JSON.stringify(`${selector} canvas`)});
    const ctx = canvas && canvas.getContext('2d');
    if (!ctx || canvas.width === 0) return 0;
    const { data } = ctx.getImageData(0, 0, canvas.width, canvas.height);
    let n = 0;
    for (let i = 3; i < data.length; i += 4) if (data[i] > 0) n++;
    return n;
  })()`);
}

describe('web UI: backtest and optimization results', { timeout: 240_000 }, () => {
  let ui: BrowserApp;
  let browser: Browser;
  let checkout: PassivbotCheckout;
  let operator: TestPage;
  let backtest: Job;
  let other: Job;
  let optimization: Job;

  const arrange = async <T>(method: string, path: string, body?: unknown): Promise<T> => {
    const res = await ui.api<T>('admin', method, `/api/v1${path}`, body);
    if (res.status >= 300) throw new Error(`${method} ${path}: ${res.status} ${JSON.stringify(res.body)}`);
    return res.body;
  };
  /** Polls a job until it ends (expect.poll only works inside a test). */
  const finished = async (id: string): Promise<Job> => {
    for (const until = Date.now() + 90_000; Date.now() < until; await new Promise((resolve) => setTimeout(resolve, 200))) {
      const job = await arrange<Job>('GET', `/jobs/${id}`);
      if (job.status === 'completed') return job;
      if (job.finishedAt) throw new Error(`job ${job.name} ended ${job.status}: ${job.error ?? ''}`);
    }
    throw new Error(`job ${id} did not finish`);
  };

  beforeAll(async () => {
    [ui, browser, checkout] = await Promise.all([startBrowserApp({ overrides: { jobs: { slots: 4 } } }), launchBrowser(), makePassivbotCheckout()]);
    await arrange('PUT', '/settings/paths', { passivbotDir: checkout.dir, pythonPath: checkout.python, passivbotKind: 'v7' });
    await arrange('POST', '/accounts', { name: 'bybit_01', exchange: 'bybit', key: 'ui-key', secret: 'ui-secret' });
    const config = (standin: Record<string, unknown>) => standinConfig({ coins: ['BTC', 'ETH', 'SOL'], standin: { slow_s: 0, ...standin } });
    const queued = await Promise.all([
      arrange<Job>('POST', '/backtest/run', { config: config({ n_fills: 730, equity_points: 6000 }), name: 'three coins' }),
      arrange<Job>('POST', '/backtest/run', { config: config({ n_fills: 120, equity_points: 800 }), name: 'the other one', overrides: { starting_balance: 5000 } }),
      arrange<Job>('POST', '/optimize/run', { config: config({ n_pareto: 7 }), name: 'front of seven', overrides: { iters: 40, population_size: 10, n_cpus: 1 } }),
    ]);
    [backtest, other, optimization] = (await Promise.all(queued.map((job) => finished(job.id)))) as [Job, Job, Job];
    operator = await newPage(browser, ui);
    await operator.context().grantPermissions(['clipboard-read', 'clipboard-write'], { origin: ui.baseUrl });
  });

  afterAll(async () => {
    await browser?.close();
    await ui?.close();
    if (checkout) killAllWith(checkout.dir);
  });

  it('a finished backtest draws its equity curve, sums PnL per coin and lists its fills', async () => {
    await signIn(operator, 'operator');
    await operator.goto(`/results/backtest/${backtest.id}`);
    await operator.getByRole('heading', { name: 'three coins', level: 1 }).waitFor();
    const chart = operator.getByTestId('equity-chart');
    await eventually(() => chart.getAttribute('data-drawn')).toBe('true');
    const api = (await arrange<{ equity: { points: unknown[]; sourceRows: number } } & FillsResult>('GET', `/backtest/results/${backtest.id}?fills=1&limit=50`));
    expect(api.equity.sourceRows).toBe(6000);
    expect(Number(await chart.getAttribute('data-points'))).toBe(api.equity.points.length);
    expect(api.equity.points.length).toBeGreaterThan(100);
    expect(await drawnPixels(operator, '[data-testid="equity-chart"]')).toBeGreaterThan(500);
    await expect.poll(() => operator.getByText('Worst drawdown').first().isVisible()).toBe(true);
    // Every key of analysis.json is in the metrics table.
    const metricsText = await operator.getByTestId('metrics-table').textContent();
    const metrics = (await arrange<{ metrics: Record<string, unknown> }>('GET', `/backtest/results/${backtest.id}`)).metrics;
    for (const key of Object.keys(metrics)) expect(metricsText).toContain(key);

    // PnL per coin: the three coins with their fill counts adding up.
    const coinRows = operator.getByTestId('coin-pnl').locator('tbody tr');
    await eventually(() => coinRows.count()).toBe(3);
    const counts = await coinRows.locator('td:nth-child(2)').allTextContents();
    expect(counts.reduce((sum, c) => sum + Number(c.replaceAll(',', '')), 0)).toBe(730);

    // The first page of fills as the API has it; then sorted by pnl descending.
    const table = operator.getByTestId('fills-table');
    await eventually(() => table.locator('tbody tr').count()).toBe(50);
    expect(await operator.getByTestId('fills-count').textContent()).toContain('730 fill(s)');
    const firstRow = await table.locator('tbody tr').first().locator('td').allTextContents();
    expect(firstRow[api.fills.columns.indexOf('coin')]).toBe(api.fills.rows[0]!.coin);
    await operator.getByRole('button', { name: 'Sort by pnl' }).click();
    await operator.getByRole('button', { name: 'Sort by pnl' }).click();
    await eventually(() => operator.getByTestId('fills-count').textContent()).toContain('by pnl descending');
    const sorted = await arrange<FillsResult>('GET', `/backtest/results/${backtest.id}?fills=1&limit=50&sort=pnl&order=desc`);
    const pnlAt = api.fills.columns.indexOf('pnl');
    await eventually(async () => Number(await table.locator('tbody tr').first().locator('td').nth(pnlAt).textContent())).toBeCloseTo(Number(sorted.fills.rows[0]!.pnl), 6);
    // Filter to one coin: the count is that coin's.
    await operator.getByRole('combobox', { name: 'Coin' }).click();
    await operator.getByRole('option', { name: 'ETH', exact: true }).click();
    const eth = await arrange<FillsResult>('GET', `/backtest/results/${backtest.id}?fills=1&limit=1&coin=ETH`);
    await eventually(() => operator.getByTestId('fills-count').textContent()).toContain(`${eth.fills.total} fill(s) of 730`);
    await expectAxeClean(operator);
    await shots(operator, 'results-backtest');
  });

  it('the CSV export downloads the same rows as the API', async () => {
    const [download] = await Promise.all([operator.waitForEvent('download'), operator.getByTestId('fills-export').click()]);
    const path = await download.path();
    const { readFileSync } = await import('node:fs');
    const lines = readFileSync(path, 'utf8').trim().split('\n');
    const all = await arrange<FillsResult>('GET', `/backtest/results/${backtest.id}?fills=1&limit=5000`);
    expect(lines).toHaveLength(731);
    expect(lines[0]!.split(',')).toEqual(all.fills.columns);
    lines.slice(1).forEach((line, i) => {
      const fields = line.split(',');
      all.fills.columns.forEach((column, k) => {
        const value = all.fills.rows[i]![column];
        expect(typeof value === 'number' ? Number(fields[k]) : fields[k]).toBe(value ?? '');
      });
    });
  });

  it('compares two backtests: a metrics row each, the best marked, both curves drawn', async () => {
    await operator.getByRole('button', { name: 'Compare with…' }).click();
    await operator.getByRole('combobox', { name: 'Finished backtests' }).click();
    await operator.getByRole('option', { name: /^the other one/ }).click();
    await operator.keyboard.press('Escape');
    await operator.getByRole('button', { name: 'Compare 2 backtests' }).click();
    await operator.waitForURL(/\/results\/compare\?ids=/);
    const table = operator.getByTestId('compare-table');
    await table.waitFor();
    expect(await table.locator('thead th').allTextContents()).toEqual(['Metric', 'three coins', 'the other one']);
    const gainRow = table.locator('tbody tr', { hasText: 'gain_usd' }).first();
    expect(await gainRow.locator('[data-best]').count()).toBe(1);
    const chart = operator.getByTestId('compare-chart');
    await eventually(() => chart.getAttribute('data-drawn')).toBe('true');
    expect(await drawnPixels(operator, '[data-testid="compare-chart"]')).toBeGreaterThan(500);
    await expectAxeClean(operator);
    await shots(operator, 'results-compare');
  });

  it('an optimization: the scatter has every pareto entry, hover shows parameters, create a bot yields a stopped bot with its config', async () => {
    const front = (await arrange<{ front: Entry[] }>('GET', `/optimize/results/${optimization.id}`)).front;
    expect(front).toHaveLength(7);
    await operator.goto(`/results/optimize/${optimization.id}`);
    const scatter = operator.getByTestId('pareto-scatter');
    await eventually(() => scatter.getAttribute('data-drawn')).toBe('true');
    expect(Number(await scatter.getAttribute('data-points'))).toBe(7);
    expect(await drawnPixels(operator, '[data-testid="pareto-scatter"]')).toBeGreaterThan(100);
    expect(await operator.getByTestId('pareto-table').locator('tbody tr').count()).toBe(7);

    // Hovering the points: some entry's parameters appear.
    const box = (await scatter.locator('.u-over').boundingBox())!;
    for (let i = 0; i <= 40 && !(await operator.getByTestId('hovered-entry').isVisible()); i++) {
      for (let j = 0; j <= 10 && !(await operator.getByTestId('hovered-entry').isVisible()); j++) await operator.mouse.move(box.x + (box.width * i) / 40, box.y + (box.height * j) / 10);
    }
    await expect.poll(() => operator.getByTestId('hovered-entry').textContent()).toMatch(/long\.\w+ = /);

    // Copy config: the clipboard holds the entry's config.
    const third = front[2]!;
    const row = operator.locator(`tr[data-entry="${third.id}"]`);
    await row.getByRole('button', { name: `Copy config of entry ${third.rank}` }).click();
    await eventually(async () => JSON.parse(await operator.evaluate<string>('navigator.clipboard.readText()')) as unknown).toEqual(third.config);

    // Backtest this entry: queued, then a link to its job.
    await row.getByRole('button', { name: 'Backtest' }).click();
    await row.getByRole('link', { name: 'Backtest queued: open' }).waitFor();

    await row.getByRole('button', { name: 'Create bot' }).click();
    const dialog = operator.getByRole('dialog', { name: 'Create a bot from this entry' });
    await dialog.getByRole('combobox', { name: 'Account' }).click();
    await operator.getByRole('option', { name: 'bybit_01 (bybit)' }).click();
    await dialog.getByRole('textbox', { name: 'Name' }).fill('bad name!');
    await dialog.getByRole('button', { name: 'Create bot' }).click();
    await dialog.getByText('Some fields need a change.').waitFor();
    await dialog.getByRole('textbox', { name: 'Name' }).fill('from-pareto');
    await expectAxeClean(operator);
    await dialog.getByRole('button', { name: 'Create bot' }).click();
    await operator.waitForURL(/\/bots\/[A-Za-z0-9_-]+$/);
    const botId = operator.url().split('/').pop()!;
    const bot = await arrange<{ name: string; status: string; account: string; config: Record<string, unknown> }>('GET', `/instances/${botId}`);
    expect(bot).toMatchObject({ name: 'from-pareto', status: 'stopped', account: 'bybit_01' });
    const { backtest: entryBacktest, ...entryRest } = third.config as { backtest: Record<string, unknown> };
    const { backtest: botBacktest, ...botRest } = bot.config as { backtest: Record<string, unknown> };
    expect(botRest).toMatchObject(entryRest);
    expect({ ...botBacktest, base_dir: undefined }).toEqual({ ...entryBacktest, base_dir: undefined });

    await operator.goto(`/results/optimize/${optimization.id}`);
    await eventually(() => scatter.getAttribute('data-drawn')).toBe('true');
    await expectAxeClean(operator);
    await shots(operator, 'results-optimize');
  });

  it('a viewer sees results but no queue or create buttons', async () => {
    const viewer = await newPage(browser, ui);
    await signIn(viewer, 'viewer');
    await viewer.goto(`/results/optimize/${optimization.id}`);
    await viewer.getByTestId('pareto-table').waitFor();
    expect(await viewer.getByRole('button', { name: /^Copy config/ }).count()).toBe(7);
    expect(await viewer.getByRole('button', { name: 'Backtest', exact: true }).count()).toBe(0);
    expect(await viewer.getByRole('button', { name: 'Create bot' }).count()).toBe(0);
    await viewer.goto(`/results/backtest/${other.id}`);
    await eventually(() => viewer.getByTestId('equity-chart').getAttribute('data-drawn')).toBe('true');
    await viewer.getByTestId('fills-table').waitFor();
    await viewer.goto(`/results/backtest/${optimization.id}`);
    await viewer.getByText('No result to show').waitFor();
    await expectAxeClean(viewer);
    await viewer.context().close();
  });
});
