import { AxeBuilder } from '@axe-core/playwright';
import type { Browser, Locator, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Instance } from '../../src/modules/instances/instances.types.js';
import { FAST_SUPERVISOR, killAllWith } from '../helpers/instances.js';
import { makePassivbotCheckout, standinConfig, type PassivbotCheckout } from '../helpers/passivbot.js';
import { eventually, launchBrowser, newPage, PASSWORD, shots, startBrowserApp, usernameOf, type BrowserApp, type TestPage } from './helpers.js';

/**
 * The Bots pages against a real pbfleet running the stand-in Passivbot on this machine: an
 * operator creates a bot (a bad config value is shown at its JSON path, then a good config is
 * accepted), starts it, sees its live log, edits its coins (reviewing the diff) and stops it; a
 * viewer sees the same pages without a single control that changes anything.
 */

/** axe on the page and its dialogs, without the shell's header (checked by shell.test.ts). */
async function expectPageAxeClean(page: Page): Promise<void> {
  const result = await new AxeBuilder({ page }).exclude('.mantine-AppShell-header').analyze();
  const bad = result.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  const report = bad.map((v) => `${v.impact} ${v.id}: ${v.help}\n  ${v.nodes.map((n) => n.target.join(' ')).join('\n  ')}`).join('\n');
  expect(bad, report).toEqual([]);
}

async function signIn(page: Page, role: 'admin' | 'operator' | 'viewer'): Promise<void> {
  await page.goto('/sign-in');
  await page.getByRole('textbox', { name: 'Username' }).fill(usernameOf(role));
  await page.locator('input[autocomplete="current-password"]').fill(PASSWORD);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByTestId('user-name').waitFor();
}

/** Replaces the text of the CodeMirror editor the way a user would: select all, paste. */
async function setEditorText(page: Page, text: string): Promise<void> {
  const editor = page.getByRole('textbox', { name: 'Passivbot config (JSON)' });
  await editor.click();
  await page.keyboard.press('ControlOrMeta+a');
  await page.keyboard.press('Delete');
  await page.keyboard.insertText(text);
}

/** Picks an option of a Mantine Select (inside `scope`) by its label. */
async function choose(page: Page, scope: Locator, label: string, option: string): Promise<void> {
  await scope.getByRole('combobox', { name: label }).click();
  await page.getByRole('option', { name: option, exact: true }).click();
}

const MUTATIONS = ['New bot', 'Stop all', 'Start', 'Stop', 'Restart', 'Delete', 'Review and save', 'Save'];

describe('web UI: bots, bot detail and the live log', { timeout: 180_000 }, () => {
  let ui: BrowserApp;
  let browser: Browser;
  let checkout: PassivbotCheckout;
  let operator: TestPage;
  let botId = '';
  const config = (live: Record<string, unknown>) => {
    const base = standinConfig({ coins: ['BTC', 'ETH'] });
    return JSON.stringify({ ...base, live: { ...(base.live as Record<string, unknown>), ...live } }, null, 2);
  };

  beforeAll(async () => {
    [ui, browser, checkout] = await Promise.all([startBrowserApp({ overrides: FAST_SUPERVISOR }), launchBrowser(), makePassivbotCheckout()]);
    const arrange = async (method: string, path: string, body: unknown) => {
      const res = await ui.api('admin', method, `/api/v1${path}`, body);
      if (res.status >= 300) throw new Error(`${method} ${path}: ${res.status} ${JSON.stringify(res.body)}`);
    };
    await arrange('PUT', '/settings/paths', { passivbotDir: checkout.dir, pythonPath: checkout.python, passivbotKind: 'v7' });
    await arrange('PUT', '/settings', { instances: { stopTimeoutSeconds: 2 } });
    await arrange('POST', '/accounts', { name: 'bybit_01', exchange: 'bybit', key: 'ui-key', secret: 'ui-secret' });
    operator = await newPage(browser, ui);
    await signIn(operator, 'operator');
  });

  afterAll(async () => {
    if (botId) await ui?.api('admin', 'POST', '/api/v1/instances/stop-all').catch(() => undefined);
    await browser?.close();
    await ui?.close();
    if (checkout) killAllWith(checkout.dir);
  });

  it('creates a bot: a bad config value is shown at its JSON path, a good config creates it', async () => {
    const p = operator;
    await p.goto('/bots');
    await eventually(() => p.getByText('No bots yet.').isVisible()).toBe(true);
    await expectPageAxeClean(p);

    await p.getByRole('button', { name: 'New bot' }).click();
    const dialog = p.getByRole('dialog', { name: 'New bot' });
    await dialog.getByRole('textbox', { name: 'Name' }).fill('ui-bot');
    await choose(p, dialog, 'Environment', 'local');
    await choose(p, dialog, 'Exchange account', 'bybit_01 (bybit)');
    await setEditorText(p, config({ leverage: 'ten' }));
    await dialog.getByRole('button', { name: 'Create bot' }).click();

    // The API's issue is listed with its path and drawn in the editor at that value.
    const errors = dialog.getByRole('alert', { name: 'Config errors' });
    await eventually(() => errors.textContent()).toContain('live.leverage: must be a number, not a string');
    await eventually(() => dialog.locator('.cm-lintRange-error').count()).toBeGreaterThan(0);
    expect(await dialog.locator('.cm-lintRange-error').first().textContent()).toBe('"ten"');
    await eventually(() => dialog.getByText('The config has errors (marked in the editor).').isVisible()).toBe(true);
    await expectPageAxeClean(p);
    await shots(p, 'bot-create-error');

    // A broken JSON text is caught before it is sent.
    await setEditorText(p, '{"live": {');
    await eventually(() => dialog.getByText(/^JSON syntax error/).isVisible()).toBe(true);

    await setEditorText(p, config({ leverage: 10 }));
    await dialog.getByRole('button', { name: 'Create bot' }).click();
    await p.waitForURL(/\/bots\/[A-Za-z0-9_-]+$/);
    botId = p.url().split('/').pop() ?? '';
    await p.getByRole('heading', { name: 'ui-bot' }).waitFor();
    const created = await ui.api<Instance>('operator', 'GET', `/api/v1/instances/${botId}`);
    expect(created.body).toMatchObject({ name: 'ui-bot', environmentId: 'local', account: 'bybit_01', status: 'stopped', symbols: ['BTC', 'ETH'] });
  });

  it('starts the bot, shows its live log, edits its coins after reviewing the diff, and stops it', async () => {
    const p = operator;
    expect(botId).not.toBe('');
    await p.goto(`/bots/${botId}`);
    await p.getByRole('button', { name: 'Start' }).click();
    const status = p.locator('[data-card="Status"] [data-status]');
    await eventually(() => status.getAttribute('data-status')).toBe('running');
    const running = (await ui.api<Instance>('operator', 'GET', `/api/v1/instances/${botId}`)).body;

    // Backlog then live lines, in the log viewer; the health line fills the summary cards.
    const log = p.getByRole('log', { name: 'Log of ui-bot' });
    await eventually(() => log.textContent()).toContain('[boot] READY');
    await eventually(() => log.textContent()).toContain('[health]');
    await eventually(() => p.locator('[data-card="Balance"]').textContent()).toMatch(/\d+\.\d\d USDT/);
    // Search highlights, a level filter hides lower levels.
    await p.getByRole('textbox', { name: 'Search the log' }).fill('health');
    await eventually(() => log.locator('mark').first().textContent()).toBe('health');
    await p.getByRole('textbox', { name: 'Search the log' }).fill('');
    await expectPageAxeClean(p);
    await shots(p, 'bot-detail');

    // The table shows it live too.
    await p.getByRole('link', { name: '← Bots' }).click();
    const row = p.locator('tr[data-bot="ui-bot"]');
    await eventually(() => row.locator('[data-status]').first().getAttribute('data-status')).toBe('running');
    await eventually(() => row.textContent()).toMatch(/USDT/);
    await expectPageAxeClean(p);
    await shots(p, 'bots');

    // Edit the coins: the diff against the running config is shown before saving.
    await row.getByRole('link', { name: 'ui-bot' }).click();
    await p.getByRole('tab', { name: 'Edit config' }).click();
    const coins = p.getByRole('combobox', { name: 'Approved coins' });
    await coins.click();
    await coins.fill('SOL');
    await coins.press('Enter');
    await p.getByRole('button', { name: 'Review and save' }).click();
    const review = p.getByRole('dialog', { name: 'Changes to save' });
    await eventually(() => review.textContent()).toContain('live.approved_coins');
    expect(await review.textContent()).toContain('["BTC","ETH","SOL"]');
    await expectPageAxeClean(p);
    await review.getByRole('button', { name: 'Save' }).click();
    // Coins only: the page says it is saved, without a restart (no "(restart needed)", no badge).
    await eventually(() => p.getByText('Saved ui-bot: config v2', { exact: true }).isVisible()).toBe(true);
    expect(await p.getByText('restart needed').count()).toBe(0);
    await eventually(async () => (await ui.api<Instance>('operator', 'GET', `/api/v1/instances/${botId}`)).body.symbols).toEqual(['BTC', 'ETH', 'SOL']);
    const saved = (await ui.api<Instance>('operator', 'GET', `/api/v1/instances/${botId}`)).body;
    // Coins only: written to the file the running bot re-reads, so no restart is needed.
    expect(saved).toMatchObject({ configVersion: 2, runningConfigVersion: 2, restartNeeded: false, pid: running.pid });
    // Only the coin list changed (what the review showed).
    const diff = await ui.api<{ changes: { path: string }[] }>('operator', 'GET', `/api/v1/instances/${botId}/config/versions/2?against=1`);
    expect(diff.body.changes.map((c) => c.path)).toEqual(['live.approved_coins']);

    // History: v1 against the current version, with the coin change.
    await p.getByRole('tab', { name: 'History' }).click();
    await p.getByRole('button', { name: 'Compare v1 with the current version' }).click();
    await eventually(() => p.getByRole('tabpanel').textContent()).toContain('live.approved_coins');
    await shots(p, 'bot-history');

    await p.getByRole('tab', { name: 'Overview' }).click();
    await p.getByRole('button', { name: 'Stop' }).click();
    await eventually(() => status.getAttribute('data-status')).toBe('stopped');
    expect((await ui.api<Instance>('operator', 'GET', `/api/v1/instances/${botId}`)).body).toMatchObject({ status: 'stopped', pid: null });
    expect(p.consoleErrors.filter((e) => !/Failed to load resource/.test(e))).toEqual([]);
  });

  it('shows a viewer the bots and the bot without any control that changes them', async () => {
    expect(botId).not.toBe('');
    const p = await newPage(browser, ui);
    await signIn(p, 'viewer');
    await p.goto('/bots');
    await p.locator('tr[data-bot="ui-bot"]').waitFor();
    await eventually(() => p.getByRole('checkbox').count()).toBe(0);
    for (const name of MUTATIONS) expect(await p.getByRole('button', { name, exact: true }).count(), name).toBe(0);
    await expectPageAxeClean(p);

    await p.getByRole('link', { name: 'ui-bot' }).click();
    await p.getByRole('heading', { name: 'ui-bot' }).waitFor();
    await p.getByRole('log', { name: 'Log of ui-bot' }).waitFor();
    for (const name of MUTATIONS) expect(await p.getByRole('button', { name, exact: true }).count(), name).toBe(0);
    await p.getByRole('tab', { name: 'Config' }).click();
    const editor = p.getByRole('textbox', { name: 'Passivbot config (read-only)' });
    await editor.waitFor();
    expect(await editor.getAttribute('contenteditable')).toBe('false');
    for (const name of MUTATIONS) expect(await p.getByRole('button', { name, exact: true }).count(), name).toBe(0);
    await p.getByRole('tab', { name: 'History' }).click();
    await p.getByRole('button', { name: 'Compare v1 with the current version' }).click();
    await eventually(() => p.getByRole('tabpanel').textContent()).toContain('live.approved_coins');
    expect(await p.getByRole('button', { name: /^Restore/ }).count()).toBe(0);
    await expectPageAxeClean(p);
    await shots(p, 'bot-viewer');
    await p.context().close();
  });

  it('sorts the table by a column header: kept in the URL across a reload, with filters and live updates', async () => {
    expect(botId).not.toBe('');
    // Two more bots, stopped and never run (no balance); ui-bot kept the balance of its run.
    const arrange = async (method: string, path: string, body: unknown) => {
      const res = await ui.api<{ id: string }>('admin', method, `/api/v1${path}`, body);
      if (res.status >= 300) throw new Error(`${method} ${path}: ${res.status} ${JSON.stringify(res.body)}`);
      return res.body;
    };
    await arrange('POST', '/accounts', { name: 'okx_02', exchange: 'okx', key: 'ui-key-2', secret: 'ui-secret-2', passphrase: 'ui-pass-2' });
    await arrange('POST', '/instances', { name: 'alpha-bot', environmentId: 'local', account: 'okx_02', config: JSON.parse(config({ leverage: 5 })) });
    const zeta = await arrange('POST', '/instances', { name: 'zeta-bot', environmentId: 'local', account: 'bybit_01', config: JSON.parse(config({ leverage: 5 })) });
    expect((await ui.api<Instance>('operator', 'GET', `/api/v1/instances/${botId}`)).body.summary.balance).not.toBeNull();

    const p = operator;
    await p.goto('/bots');
    const order = async () => Promise.all((await p.locator('tbody tr[data-bot]').all()).map((row) => row.getAttribute('data-bot')));
    const sortOf = (column: string) => p.locator(`th[data-sort="${column}"]`).getAttribute('aria-sort');
    const sortBy = (label: string) => p.getByRole('button', { name: label, exact: true }).click();
    await eventually(order).toEqual(['alpha-bot', 'ui-bot', 'zeta-bot']);
    expect(await sortOf('name')).toBe('ascending');

    await sortBy('Bot');
    await eventually(order).toEqual(['zeta-bot', 'ui-bot', 'alpha-bot']);
    expect(new URL(p.url()).search).toBe('?dir=desc');
    expect(await sortOf('name')).toBe('descending');

    await sortBy('Account');
    await eventually(order).toEqual(['ui-bot', 'zeta-bot', 'alpha-bot']);
    expect(new URL(p.url()).search).toBe('?sort=account');

    // Largest balance first; bots without one stay last (by name) in either direction.
    await sortBy('Balance');
    await sortBy('Balance');
    await eventually(() => new URL(p.url()).search).toBe('?sort=balance&dir=desc');
    await eventually(order).toEqual(['ui-bot', 'alpha-bot', 'zeta-bot']);
    expect(await sortOf('balance')).toBe('descending');
    expect(await sortOf('name')).toBe('none');
    await expectPageAxeClean(p);
    await shots(p, 'bots-sorted');

    // A reload keeps the sort (it is in the URL).
    await p.reload();
    await eventually(order).toEqual(['ui-bot', 'alpha-bot', 'zeta-bot']);
    expect(await sortOf('balance')).toBe('descending');

    // With a filter, and live: a bot renamed elsewhere moves to its new place without a reload.
    await choose(p, p.locator('main'), 'Account', 'bybit_01');
    await eventually(order).toEqual(['ui-bot', 'zeta-bot']);
    await sortBy('Bot');
    await eventually(order).toEqual(['ui-bot', 'zeta-bot']);
    await arrange('PUT', `/instances/${zeta.id}`, { name: 'aardvark-bot' });
    await eventually(order).toEqual(['aardvark-bot', 'ui-bot']);
    expect(new URL(p.url()).search).toBe('');
  });
});
