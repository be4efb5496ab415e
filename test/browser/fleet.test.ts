import { AxeBuilder } from '@axe-core/playwright';
import type { Browser, Locator, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LOOPBACK_ALLOWED } from '../helpers/environments.js';
import { sshdAvailable, useSshd } from '../helpers/sshd.js';
import { launchBrowser, newPage, shots, signIn, startBrowserApp, type BrowserApp, type TestPage } from './helpers.js';

/** The error Mantine shows under an input, found through the input's aria-describedby. */
async function errorOf(page: Page, input: Locator): Promise<string> {
  const errorId = async () => ((await input.getAttribute('aria-describedby')) ?? '').split(' ').find((id) => id.endsWith('-error'));
  await expect.poll(errorId).toBeTruthy();
  return (await page.locator(`[id="${(await errorId()) ?? 'none'}"]`).textContent()) ?? '';
}

/**
 * axe on the page and its dialogs, without what the shell owns (checked by shell.test.ts): its
 * header, whose alert-tray indicator carries aria-expanded on a div, and the hub alert toasts
 * (close button without a name; this page's own toasts name theirs). Same rule as expectAxeClean otherwise.
 */
async function expectPageAxeClean(page: Page): Promise<void> {
  const result = await new AxeBuilder({ page }).exclude('.mantine-AppShell-header').exclude('.mantine-Notifications-root').analyze();
  const bad = result.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  const report = bad.map((v) => `${v.impact} ${v.id}: ${v.help}\n  ${v.nodes.map((n) => n.target.join(' ')).join('\n  ')}`).join('\n');
  expect(bad, report).toEqual([]);
}

/** A text input by its accessible name (a required field's label text also holds Mantine's " *"). */
const field = (scope: Page | Locator, name: string) => scope.getByRole('textbox', { name, exact: true });

/** The environment page's health badge and message, e.g. "healthy: ok". */
async function healthOf(page: Page): Promise<string> {
  const state = await page.getByRole('heading', { level: 1 }).locator('xpath=following-sibling::*[@data-status]').getAttribute('data-status');
  const message = await page.getByTestId('health-message').textContent({ timeout: 1000 }).catch(() => '');
  return `${state ?? '?'}: ${message ?? ''}`;
}

const MUTATIONS = ['Add environment', 'Edit', 'Remove', 'Check health now', 'Refresh system info', 'Deploy', 'Restart', 'Upgrade', 'Add account', 'Delete'];

describe.skipIf(!sshdAvailable)('web UI: fleet, environment detail and accounts', { timeout: 240_000 }, () => {
  const sshd = useSshd();
  let ui: BrowserApp;
  let browser: Browser;
  let admin: TestPage;
  let environmentId = '';

  beforeAll(async () => {
    [ui, browser] = await Promise.all([startBrowserApp({ overrides: LOOPBACK_ALLOWED }), launchBrowser()]);
    admin = await newPage(browser, ui);
  });
  afterAll(async () => {
    await browser?.close();
    await ui?.close();
  });

  it('adds the test sshd as an environment: a bad name is shown at the field, then it is healthy with system info and its host key', async () => {
    const p = admin;
    const s = sshd();
    await signIn(p, 'admin');
    await p.goto('/fleet');
    // pbfleet's own host is always there.
    await p.locator('tr[data-environment="local"]').waitFor();

    await p.getByRole('button', { name: 'Add environment' }).click();
    const form = p.getByRole('form', { name: 'Add environment' });
    await form.waitFor();
    await field(p, 'Name').fill('bad name!');
    await field(p, 'Host').fill(s.host);
    await p.getByLabel('SSH port', { exact: true }).fill(String(s.port));
    await field(p, 'User').fill(s.username);
    await p.getByLabel('Private key', { exact: true }).fill(s.privateKey);
    await expectPageAxeClean(p);
    await shots(p, 'environment-form');
    await form.getByRole('button', { name: 'Add environment' }).click();
    expect(await errorOf(p, field(p, 'Name'))).toMatch(/pattern|letters|must/i);
    await expect.poll(() => p.getByRole('alert').first().textContent()).toContain('Not saved');

    await field(p, 'Name').fill('sshd-test');
    await form.getByRole('button', { name: 'Add environment' }).click();
    await p.waitForURL(/\/fleet\/[^/]+$/);
    environmentId = new URL(p.url()).pathname.split('/').pop() ?? '';

    await p.getByRole('button', { name: 'Check health now' }).click();
    await expect.poll(() => healthOf(p), { timeout: 60_000 }).toMatch(/^healthy/);
    await p.getByRole('button', { name: 'Refresh system info' }).click();
    const info = p.getByTestId('system-info');
    await expect.poll(async () => (await info.isVisible()) && (await info.textContent()), { timeout: 20_000 }).toMatch(/OS.*Linux/s);
    await expect.poll(() => p.getByTestId('host-key').textContent()).toBe(s.fingerprint);
    // The operation's status arrives over the hub; its output is shown to operators and admins.
    await expect.poll(() => p.getByTestId('current-operation').textContent(), { timeout: 20_000 }).toContain('succeeded');
    await expectPageAxeClean(p);
    await shots(p, 'environment');

    // The stored key is write-only: the edit form says "set" and never shows it.
    await p.getByRole('button', { name: 'Edit' }).click();
    await p.getByRole('form', { name: 'Edit sshd-test' }).waitFor();
    expect(await p.getByLabel('Private key', { exact: false }).first().inputValue()).toBe('');
    expect(await p.content()).not.toContain(s.privateKey.split('\n')[1] ?? 'no key line');
    await p.getByRole('button', { name: 'Cancel' }).click();

    await p.goto('/fleet');
    const row = p.locator('tr[data-environment="sshd-test"]');
    await expect.poll(() => row.textContent(), { timeout: 20_000 }).toMatch(/healthy.*ms.*CPU.*Memory.*Disk/s);
    await expectPageAxeClean(p);
    await shots(p, 'fleet');
  });

  it('shows a changed host key to the admin, with old and new fingerprints, and accepting it makes the host healthy again', async () => {
    const p = admin;
    const s = sshd();
    const old = s.fingerprint;
    await s.rotateHostKey();
    await p.goto(`/fleet/${environmentId}`);
    await p.getByRole('button', { name: 'Check health now' }).click();
    await expect.poll(() => p.getByRole('alert').filter({ hasText: 'Host key changed' }).isVisible(), { timeout: 20_000 }).toBe(true);
    await p.getByRole('button', { name: 'Review and accept new key' }).click();
    const dialog = p.getByRole('dialog', { name: 'Accept the new host key?' });
    expect(await dialog.getByTestId('old-fingerprint').textContent()).toBe(old);
    expect(await dialog.getByTestId('new-fingerprint').textContent()).toBe(s.fingerprint);
    await expectPageAxeClean(p);
    await shots(p, 'environment-host-key-mismatch');
    await dialog.getByRole('button', { name: 'Accept new key' }).click();
    await expect.poll(() => p.getByTestId('host-key').textContent()).toBe(s.fingerprint);
    await p.getByRole('button', { name: 'Check health now' }).click();
    await expect.poll(() => healthOf(p), { timeout: 60_000 }).toMatch(/^healthy/);
  });

  it('creates an exchange account: the fields the exchange needs, secrets shown as "set" and never echoed', async () => {
    const p = admin;
    await p.goto('/accounts');
    await p.getByText('No exchange accounts yet.').waitFor();
    await p.getByRole('button', { name: 'Add account' }).click();
    const form = p.getByRole('form', { name: 'Add account' });
    await field(form, 'Name').fill('main-okx');
    await form.getByRole('combobox', { name: 'Exchange' }).click();
    await p.getByRole('option', { name: 'okx' }).click();
    await form.getByLabel(/^API key/).fill('okx-key-1234567890');
    await form.getByLabel(/^API secret/).fill('okx-secret-abcdefghij');
    // okx needs a passphrase too: left out, the server names the field.
    await form.getByRole('button', { name: 'Add account' }).click();
    expect(await errorOf(p, form.getByLabel(/^Passphrase/))).toMatch(/required/);
    await form.getByLabel(/^Passphrase/).fill('okx-pass-klmnop');
    await expectPageAxeClean(p);
    await shots(p, 'account-form');
    await form.getByRole('button', { name: 'Add account' }).click();

    const row = p.locator('tr[data-account="main-okx"]');
    await expect.poll(() => row.textContent()).toMatch(/okx.*API key: set.*API secret: set.*Passphrase: set.*no bots/s);
    const html = await p.content();
    for (const secret of ['okx-key-1234567890', 'okx-secret-abcdefghij', 'okx-pass-klmnop']) expect(html).not.toContain(secret);
    await expectPageAxeClean(p);
    await shots(p, 'accounts');

    await row.getByRole('button', { name: 'Edit main-okx' }).click();
    const edit = p.getByRole('form', { name: 'Edit account main-okx' });
    await edit.waitFor();
    expect(await edit.getByLabel(/^API key/).inputValue()).toBe('');
    expect(await edit.textContent()).toContain('Stored; leave empty to keep it.');
    await edit.getByRole('button', { name: 'Cancel' }).click();
  });

  it('shows a viewer the fleet and the environment without any mutation control, and operators no admin form', async () => {
    const viewer = await newPage(browser, ui);
    await signIn(viewer, 'viewer');
    await viewer.goto('/fleet');
    await viewer.locator('tr[data-environment="sshd-test"]').waitFor();
    await viewer.goto(`/fleet/${environmentId}`);
    await viewer.getByTestId('system-info').waitFor();
    await viewer.getByRole('table', { name: 'Recent operations' }).waitFor();
    for (const name of MUTATIONS) expect(await viewer.getByRole('button', { name, exact: true }).count(), name).toBe(0);
    await expectPageAxeClean(viewer);
    await shots(viewer, 'environment-viewer');
    await viewer.goto('/accounts');
    await viewer.getByText('Exchange accounts are shown to operators and admins.').waitFor();
    expect(await viewer.getByRole('button', { name: 'Add account' }).count()).toBe(0);
    await expectPageAxeClean(viewer);

    const operator = await newPage(browser, ui);
    await signIn(operator, 'operator');
    await operator.goto(`/fleet/${environmentId}`);
    await operator.getByRole('button', { name: 'Check health now' }).waitFor();
    for (const name of ['Edit', 'Remove']) expect(await operator.getByRole('button', { name, exact: true }).count(), name).toBe(0);
    await operator.goto('/accounts');
    await operator.locator('tr[data-account="main-okx"]').waitFor();
    expect(await operator.getByRole('button', { name: 'Add account' }).count()).toBe(0);
    expect(await operator.getByRole('button', { name: /^Edit / }).count()).toBe(0);
  });
});
