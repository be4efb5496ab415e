import type { Browser, Locator, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Job } from '../../src/modules/jobs/jobs.types.js';
import { FAST_SUPERVISOR, killAllWith } from '../helpers/instances.js';
import { makePassivbotCheckout, standinConfig, type PassivbotCheckout } from '../helpers/passivbot.js';
import { eventually, expectAxeClean, launchBrowser, newPage, shots, signIn, startBrowserApp, type BrowserApp, type TestPage } from './helpers.js';

/**
 * The Jobs pages against a real pbfleet running the stand-in Passivbot on this machine: an
 * operator queues a backtest from a bot's config with the form, watches its progress move on the
 * queue page until it completes and follows "Open result"; reads the job's page (its output in
 * the log viewer); loads Passivbot's template; sees the API's refusal at the CPUs field, queues an
 * optimization and cancels it after confirming. A viewer sees the jobs without a control to run,
 * reorder or cancel them.
 */

/** Picks an option of a Mantine Select by its label. */
async function choose(page: Page, label: string, option: string | RegExp): Promise<void> {
  await page.getByRole('combobox', { name: label, exact: true }).click();
  await page.getByRole('option', { name: option }).first().click();
}

const row = (page: Page, name: string): Locator => page.locator(`tr[data-job="${name}"]`);
const COINS = ['BTC', 'ETH', 'SOL', 'XRP', 'DOGE', 'ADA', 'LINK', 'LTC'];

describe('web UI: jobs queue, new job form and job page', { timeout: 240_000 }, () => {
  let ui: BrowserApp;
  let browser: Browser;
  let checkout: PassivbotCheckout;
  let operator: TestPage;
  let backtestId = '';

  beforeAll(async () => {
    [ui, browser, checkout] = await Promise.all([startBrowserApp({ overrides: FAST_SUPERVISOR }), launchBrowser(), makePassivbotCheckout()]);
    const arrange = async (method: string, path: string, body: unknown) => {
      const res = await ui.api('admin', method, `/api/v1${path}`, body);
      if (res.status >= 300) throw new Error(`${method} ${path}: ${res.status} ${JSON.stringify(res.body)}`);
      return res.body;
    };
    await arrange('PUT', '/settings/paths', { passivbotDir: checkout.dir, pythonPath: checkout.python, passivbotKind: 'v7' });
    await arrange('POST', '/accounts', { name: 'bybit_01', exchange: 'bybit', key: 'ui-key', secret: 'ui-secret' });
    // Candle fetching spread over 6 s (one step per coin), and 6 s per optimizer generation:
    // slow enough to see the progress move, and to cancel a running optimization.
    await arrange('POST', '/instances', { name: 'slow-bot', environmentId: 'local', account: 'bybit_01', config: standinConfig({ coins: COINS, standin: { slow_s: 6 } }) });
    operator = await newPage(browser, ui);
  });

  afterAll(async () => {
    await browser?.close();
    await ui?.close();
    if (checkout) killAllWith(checkout.dir);
  });

  it("queues a backtest from a bot's config; its progress moves on the queue until it completes; Open result goes to its result", async () => {
    const p = operator;
    await signIn(p, 'operator');
    await p.goto('/jobs');
    await eventually(() => p.getByText(/Nothing running or queued/).isVisible()).toBe(true);
    await eventually(() => p.getByText('local: 2 of 2 slots free').isVisible()).toBe(true);
    await expectAxeClean(p);
    await shots(p, 'jobs-empty');

    await p.getByRole('button', { name: 'New job' }).click();
    await p.getByRole('menuitem', { name: 'Backtest' }).click();
    await p.getByRole('heading', { name: 'New backtest' }).waitFor();
    await choose(p, 'Start from', "A bot's current config");
    await choose(p, 'Bot', 'slow-bot');
    await eventually(() => p.getByTestId('config-source').textContent()).toBe('Config from bot slow-bot, config v1');
    await eventually(() => p.getByRole('textbox', { name: 'Config (JSON)' }).textContent()).toContain('"slow_s": 6');
    expect(p.url()).toContain('from=bot');
    // The target shows its free slots.
    await eventually(() => p.getByRole('combobox', { name: 'Run on', exact: true }).inputValue()).toBe('local (2 of 2 slots free)');
    await p.getByRole('textbox', { name: 'Name', exact: true }).fill('ui backtest');
    await p.getByRole('textbox', { name: 'Starting balance' }).fill('2500');
    await p.getByRole('checkbox', { name: /Requeue on interrupt/ }).check();
    await expectAxeClean(p);
    await shots(p, 'jobs-new-backtest');
    await p.getByRole('button', { name: 'Queue backtest' }).click();

    await p.waitForURL(/\/jobs$/);
    const r = row(p, 'ui backtest');
    await r.waitFor();
    // Every job, so the row stays when it finishes.
    await p.getByText('All', { exact: true }).click();
    await eventually(() => r.getByText('requeue on interrupt').isVisible()).toBe(true);
    // Candle fetching, as Passivbot reports it: the fraction climbs while the row stays on screen.
    const seen = new Set<string>();
    await eventually(async () => {
      const bar = r.getByTestId('job-progress');
      if ((await bar.count()) && (await bar.getAttribute('data-stage')) === 'fetching candles') seen.add((await bar.getAttribute('data-fraction')) ?? '');
      return [...seen].filter((f) => Number(f) > 0 && Number(f) < 1).length;
    }, 30_000).toBeGreaterThanOrEqual(2);
    await eventually(() => r.getByRole('progressbar').count()).toBe(1);
    await eventually(() => p.getByText('local: 1 of 2 slots free').isVisible()).toBe(true);
    await shots(p, 'jobs-running');
    await eventually(() => r.getAttribute('data-status'), 60_000)
      .toBe('completed');

    const job = (await ui.api<{ jobs: Job[] }>('operator', 'GET', '/api/v1/jobs')).body.jobs.find((j) => j.name === 'ui backtest');
    expect(job).toMatchObject({ status: 'completed', type: 'backtest', requeueOnInterrupt: true, requestedBy: 'operator1' });
    backtestId = job?.id ?? '';
    const full = (await ui.api<Job>('operator', 'GET', `/api/v1/jobs/${backtestId}`)).body;
    expect(full.params.overrides).toEqual({ starting_balance: 2500 });
    expect((full.params.config.live as { approved_coins: string[] }).approved_coins).toEqual(COINS);

    await p.getByText('Finished (1)', { exact: true }).click();
    await expectAxeClean(p);
    await shots(p, 'jobs-finished');
    const open = r.getByRole('link', { name: 'Open result of ui backtest' });
    expect(await open.getAttribute('href')).toBe(`/results/backtest/${backtestId}`);
    await open.click();
    await p.waitForURL(new RegExp(`/results/backtest/${backtestId}$`));
  });

  it("the job page: status, parameters, the job's output in the log viewer, Open result and Backtest again", async () => {
    const p = operator;
    await p.goto(`/jobs/${backtestId}`);
    await p.getByRole('heading', { name: 'ui backtest' }).waitFor();
    const log = p.getByRole('log', { name: 'Output of ui backtest' });
    // The finished job's output comes from its log file (the hub backlog), numbered like a bot's.
    await eventually(() => log.textContent()).toContain('fetching candles');
    await eventually(() => log.textContent()).toContain('seconds elapsed for backtest');
    expect(await p.locator('[data-card="Requested by"]').textContent()).toBe('operator1');
    expect(await p.getByRole('row', { name: /starting_balance/ }).textContent()).toContain('2500');
    expect(await p.getByRole('link', { name: 'Open result of ui backtest' }).getAttribute('href')).toBe(`/results/backtest/${backtestId}`);
    expect(await p.getByRole('button', { name: 'Cancel ui backtest' }).count()).toBe(0);
    await expectAxeClean(p);
    await shots(p, 'job-detail');

    await p.getByRole('link', { name: 'Backtest again' }).click();
    await p.waitForURL(/\/jobs\/new\?/);
    await eventually(() => p.getByTestId('config-source').textContent()).toBe('Config from backtest ui backtest');
    await eventually(() => p.getByRole('textbox', { name: 'Config (JSON)' }).textContent()).toContain('"starting_balance": 2500');
  });

  it("loads Passivbot's template, shows the API's refusal at the CPUs field, queues an optimization and cancels it after confirming", async () => {
    const p = operator;
    await p.goto('/jobs/new?type=optimize&from=template');
    await p.getByRole('heading', { name: 'New optimization' }).waitFor();
    await eventually(() => p.getByTestId('config-source').textContent()).toBe(`Config from Passivbot's template (${checkout.dir}/configs/template.json on local)`);
    // The template's bounds fill the table, long and short side by side.
    await eventually(() => p.getByRole('textbox', { name: 'long_n_positions high' }).inputValue()).toBe('20');

    await choose(p, 'Start from', "A bot's current config");
    await choose(p, 'Bot', 'slow-bot');
    await eventually(() => p.getByTestId('config-source').textContent()).toBe('Config from bot slow-bot, config v1');
    await p.getByRole('textbox', { name: 'Name', exact: true }).fill('ui optimization');
    await p.getByRole('textbox', { name: 'Iterations' }).fill('100000');
    const cpus = p.getByRole('textbox', { name: 'CPUs' });
    await cpus.fill('64');
    await p.getByRole('button', { name: 'Queue optimization' }).click();
    // The server's answer, at the field it names.
    await eventually(() => cpus.getAttribute('aria-invalid')).toBe('true');
    await eventually(() => p.getByText('needs 64 CPU slots; environment local has 2').isVisible()).toBe(true);
    await eventually(() => p.getByRole('alert').filter({ hasText: 'Some fields need a change.' }).isVisible()).toBe(true);
    await expectAxeClean(p);
    await shots(p, 'jobs-new-optimize-error');

    await cpus.fill('1');
    await p.getByRole('button', { name: 'Queue optimization' }).click();
    await p.waitForURL(/\/jobs$/);
    const r = row(p, 'ui optimization');
    await p.getByText('All', { exact: true }).click();
    await eventually(() => r.getAttribute('data-status'), 30_000).toBe('running');
    // Generations against iterations, once the optimizer reports them.
    await eventually(() => r.getByTestId('job-progress').getAttribute('data-stage'), 30_000).toBe('evaluating');
    await eventually(() => r.getByTestId('job-progress').textContent()).toMatch(/\/ 100,000 evaluations/);
    await shots(p, 'jobs-optimizing');

    await r.getByRole('button', { name: 'Cancel ui optimization' }).click();
    const dialog = p.getByRole('dialog', { name: 'Cancel ui optimization?' });
    await dialog.getByText(/SIGINT, then SIGKILL/).waitFor();
    await expectAxeClean(p);
    await dialog.getByRole('button', { name: 'Cancel', exact: true }).click();
    await dialog.waitFor({ state: 'hidden' });
    expect(await r.getAttribute('data-status')).toBe('running');

    await r.getByRole('button', { name: 'Cancel ui optimization' }).click();
    await dialog.getByRole('button', { name: 'Cancel job' }).click();
    await eventually(() => r.getAttribute('data-status'), 30_000).toBe('cancelled');
    const cancelled = (await ui.api<{ jobs: Job[] }>('operator', 'GET', '/api/v1/jobs?type=optimize')).body.jobs[0];
    expect(cancelled).toMatchObject({ name: 'ui optimization', status: 'cancelled' });
  });

  it('a viewer sees the jobs, their pages and output, but no control to run, reorder or cancel', async () => {
    // A queued job behind a busy slot gives the viewer a row where an operator would see move buttons.
    const config = standinConfig({ coins: COINS, standin: { slow_s: 30 } });
    const queued = await Promise.all(
      ['busy 1', 'busy 2', 'waiting 1', 'waiting 2'].map((name) => ui.api<Job>('operator', 'POST', '/api/v1/backtest/run', { config, name })),
    );
    expect(queued.map((q) => q.status)).toEqual([202, 202, 202, 202]);
    const viewer = await newPage(browser, ui);
    await signIn(viewer, 'viewer');
    await viewer.goto('/jobs');
    await eventually(() => row(viewer, 'waiting 2').getAttribute('data-status')).toBe('queued');
    await eventually(() => row(viewer, 'busy 1').getAttribute('data-status')).toBe('running');
    for (const name of ['New job', /^Cancel/, /^Move/]) expect(await viewer.getByRole('button', { name }).count()).toBe(0);
    await expectAxeClean(viewer);
    await shots(viewer, 'jobs-viewer');

    // The operator sees the same queue with the controls and moves the last job up; the viewer's
    // queue follows live.
    const queueOrder = async (page: Page) => Promise.all((await page.locator('tr[data-status="queued"]').all()).map((r) => r.getAttribute('data-job')));
    await operator.goto('/jobs');
    await eventually(() => queueOrder(operator)).toEqual(['waiting 1', 'waiting 2']);
    expect(await row(operator, 'waiting 1').getByRole('button', { name: 'Move waiting 1 up' }).isDisabled()).toBe(true);
    expect(await row(operator, 'waiting 2').getByRole('button', { name: 'Cancel waiting 2' }).count()).toBe(1);
    await row(operator, 'waiting 2').getByRole('button', { name: 'Move waiting 2 up' }).click();
    await eventually(() => queueOrder(operator)).toEqual(['waiting 2', 'waiting 1']);
    await eventually(() => queueOrder(viewer)).toEqual(['waiting 2', 'waiting 1']);
    const moved = (await ui.api<Job>('operator', 'GET', `/api/v1/jobs/${queued[3]?.body.id}`)).body;
    expect(moved.priority).toBe(1);

    await viewer.goto(`/jobs/${backtestId}`);
    await eventually(() => viewer.getByRole('log', { name: 'Output of ui backtest' }).textContent()).toContain('fetching candles');
    for (const name of [/^Cancel/, 'Backtest again', 'Optimize from this']) {
      expect(await viewer.getByRole('button', { name }).count()).toBe(0);
      expect(await viewer.getByRole('link', { name }).count()).toBe(0);
    }
    expect(await viewer.getByRole('link', { name: 'Open result of ui backtest' }).count()).toBe(1);
    await expectAxeClean(viewer);
    await viewer.goto('/jobs/new?type=backtest');
    await viewer.getByText('Queueing jobs needs the operator role.').waitFor();
    expect(await viewer.getByRole('button', { name: 'Queue backtest' }).count()).toBe(0);
    await viewer.close();
    for (const q of queued) await ui.api('operator', 'DELETE', `/api/v1/backtest/jobs/${q.body.id}`);
  });
});
