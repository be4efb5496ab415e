import { writeFileSync } from 'node:fs';
import type { Browser, Locator, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LOOPBACK_ALLOWED, sshEnvironmentBody } from '../helpers/environments.js';
import { sshdAvailable, useSshd } from '../helpers/sshd.js';
import type { Environment } from '../../src/modules/environments/environments.types.js';
import type { Operation } from '../../src/modules/operations/operations.repo.js';
import { expectAxeClean, launchBrowser, newPage, shots, signIn, startBrowserApp, type BrowserApp, type TestPage } from './helpers.js';

/** The error Mantine shows under an input, found through the input's aria-describedby. */
async function errorOf(page: Page, input: Locator): Promise<string> {
  const errorId = async () => ((await input.getAttribute('aria-describedby')) ?? '').split(' ').find((id) => id.endsWith('-error'));
  // The API's answer can take a while on a busy machine.
  await expect.poll(errorId, { timeout: 15_000 }).toBeTruthy();
  return (await page.locator(`[id="${(await errorId()) ?? 'none'}"]`).textContent()) ?? '';
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
    await expectAxeClean(p);
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
    await expectAxeClean(p);
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
    await expectAxeClean(p);
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
    await expectAxeClean(p);
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
    await expectAxeClean(p);
    await shots(p, 'account-form');
    await form.getByRole('button', { name: 'Add account' }).click();

    const row = p.locator('tr[data-account="main-okx"]');
    await expect.poll(() => row.textContent()).toMatch(/okx.*API key: set.*API secret: set.*Passphrase: set.*no bots/s);
    const html = await p.content();
    for (const secret of ['okx-key-1234567890', 'okx-secret-abcdefghij', 'okx-pass-klmnop']) expect(html).not.toContain(secret);
    await expectAxeClean(p);
    await shots(p, 'accounts');

    await row.getByRole('button', { name: 'Edit main-okx' }).click();
    const edit = p.getByRole('form', { name: 'Edit account main-okx' });
    await edit.waitFor();
    expect(await edit.getByLabel(/^API key/).inputValue()).toBe('');
    expect(await edit.textContent()).toContain('Stored; leave empty to keep it.');
    await edit.getByRole('button', { name: 'Cancel' }).click();
  });

  it('shows the local environment checked for real: health from a probe on this host, a last check time and its system info', async () => {
    const p = admin;
    await p.goto('/fleet');
    const row = p.locator('tr[data-environment="local"]');
    await expect.poll(() => row.textContent(), { timeout: 20_000 }).toMatch(/healthy.*ms.*CPU.*Memory.*Disk/s);
    expect(await row.textContent()).not.toMatch(/never/);
    await p.goto('/fleet/local');
    await expect.poll(() => healthOf(p), { timeout: 20_000 }).toBe('healthy: local probe ok');
    const info = p.getByTestId('system-info');
    await expect.poll(async () => (await info.isVisible()) && (await info.textContent()), { timeout: 20_000 }).toMatch(/OS.*Linux/s);
    expect(await p.getByRole('main').textContent()).not.toMatch(/last check never|no system info yet/i);
    await expectAxeClean(p);
    await shots(p, 'environment-local');
  });

  it('edits HTTP headers, a command body and metadata, and removes a stored password: they round-trip, secrets never shown', async () => {
    const p = admin;
    const created = await ui.api<Environment>('admin', 'POST', '/api/v1/environments', {
      ...sshEnvironmentBody(sshd(), 'form-edit', {
        credentials: { type: 'key', username: sshd().username, privateKey: sshd().privateKey, password: 'old-password-4711' },
        healthCheck: { enabled: false, type: 'http', endpoint: 'http://127.0.0.1:9/health', method: 'GET', interval: 60, timeout: 10, retries: 0, headers: { 'x-keep': 'kept-value-1', 'x-drop': 'dropped-value-2' } },
        commands: { type: 'http', restart: { enabled: true, url: 'http://127.0.0.1:9/restart', method: 'POST' } },
      }),
    });
    expect(created.status).toBe(201);
    expect(created.body.credentials?.hasPassword).toBe(true);
    const id = created.body.id;
    await p.goto(`/fleet/${id}`);
    await p.getByRole('button', { name: 'Edit' }).click();
    const form = p.getByRole('form', { name: 'Edit form-edit' });
    await form.waitFor();

    // Stored headers show their names, "set", and no value.
    const checkHeaders = form.getByRole('group', { name: 'Health check headers' });
    expect(await checkHeaders.getByRole('textbox', { name: 'Header name' }).all().then((inputs) => Promise.all(inputs.map((i) => i.inputValue())))).toEqual(['x-keep', 'x-drop']);
    expect(await checkHeaders.getByLabel('Value of x-keep').inputValue()).toBe('');
    await checkHeaders.getByRole('checkbox', { name: 'Remove header x-drop' }).check();
    await checkHeaders.getByRole('button', { name: 'Add header' }).click();
    await checkHeaders.getByRole('textbox', { name: 'Header name' }).nth(2).fill('X-Api-Key');
    await checkHeaders.getByLabel('Value of X-Api-Key').fill('api-secret-7777');

    const restartHeaders = form.getByRole('group', { name: 'Restart headers' });
    await restartHeaders.getByRole('button', { name: 'Add header' }).click();
    await restartHeaders.getByRole('textbox', { name: 'Header name' }).fill('Authorization');
    await restartHeaders.getByLabel('Value of Authorization').fill('Bearer restart-token-8888');
    await form.getByLabel('Restart body (JSON)').fill('{"action": "restart", "graceful": true}');

    // Broken JSON is named at its field before anything is sent.
    const metadata = form.getByLabel('Metadata (JSON)');
    await metadata.fill('{"region": ');
    await form.getByRole('button', { name: 'Save changes' }).click();
    expect(await errorOf(p, metadata)).toMatch(/not valid JSON/);
    await metadata.fill('{"region": "eu", "tier": 2}');
    await form.getByRole('checkbox', { name: 'Remove the stored password' }).check();
    await expectAxeClean(p);
    await shots(p, 'environment-form-edit');
    await form.getByRole('button', { name: 'Save changes' }).click();
    await form.waitFor({ state: 'detached' });

    const saved = (await ui.api<Environment>('admin', 'GET', `/api/v1/environments/${id}`)).body;
    expect(saved.healthCheck.headers).toEqual({ 'x-keep': { set: true }, 'X-Api-Key': { set: true } });
    expect(saved.commands?.restart).toMatchObject({ headers: { Authorization: { set: true } }, body: { action: 'restart', graceful: true } });
    expect(saved.metadata).toEqual({ region: 'eu', tier: 2 });
    expect(saved.credentials).toMatchObject({ hasPassword: false, hasPrivateKey: true });
    // The sealed values are still the ones typed (x-keep kept as stored).
    const stored = await ui.services.environments.getRecord(id);
    expect(ui.services.environments.openHealthCheck(stored).headers).toEqual({ 'x-keep': 'kept-value-1', 'X-Api-Key': 'api-secret-7777' });
    expect(ui.services.environments.openCommand(stored, 'restart')?.headers).toEqual({ Authorization: 'Bearer restart-token-8888' });

    // Opened again: the names, "set", the body and the labels; no secret in the page.
    await p.getByRole('button', { name: 'Edit' }).click();
    await form.waitFor();
    expect(await form.getByRole('group', { name: 'Health check headers' }).getByRole('textbox', { name: 'Header name' }).all().then((inputs) => Promise.all(inputs.map((i) => i.inputValue())))).toEqual(['x-keep', 'X-Api-Key']);
    expect(JSON.parse(await form.getByLabel('Restart body (JSON)').inputValue())).toEqual({ action: 'restart', graceful: true });
    expect(JSON.parse(await form.getByLabel('Metadata (JSON)').inputValue())).toEqual({ region: 'eu', tier: 2 });
    expect(await form.getByRole('checkbox', { name: 'Remove the stored password' }).count()).toBe(0);
    const html = await p.content();
    for (const secret of ['kept-value-1', 'api-secret-7777', 'restart-token-8888', 'old-password-4711']) expect(html).not.toContain(secret);
    await form.getByRole('button', { name: 'Cancel' }).click();
  });

  it('shows an operation\'s output live while it runs, to operators; a viewer sees its status only', async () => {
    const s = sshd();
    const gate = `/tmp/pbfleet-live-gate-${process.pid}-${Date.now()}`;
    const created = await ui.api<Environment>('admin', 'POST', '/api/v1/environments', {
      ...sshEnvironmentBody(s, 'live-output', { commands: { type: 'ssh', restart: { enabled: true, command: `echo restarting step 1; echo password=hunter2-live; while [ ! -e ${gate} ]; do sleep 0.1; done; echo restart finished; rm -f ${gate}` } } }),
    });
    expect(created.status).toBe(201);
    const id = created.body.id;
    const operator = await newPage(browser, ui);
    await signIn(operator, 'operator');
    await operator.goto(`/fleet/${id}`);
    await operator.getByRole('button', { name: 'Restart', exact: true }).click();
    await operator.getByRole('dialog').getByRole('button', { name: 'Restart' }).click();
    const output = operator.getByTestId('operation-output');
    // The first lines appear while the command still waits for the gate.
    await expect.poll(() => output.textContent().catch(() => ''), { timeout: 20_000 }).toContain('restarting step 1');
    expect(await output.textContent()).toContain('password=[redacted]');
    expect(await output.textContent()).not.toContain('hunter2-live');
    expect(await output.getAttribute('aria-label')).toBe('Operation output (live)');
    const running = (await ui.api<{ operations: Operation[] }>('operator', 'GET', `/api/v1/operations?environmentId=${id}`)).body.operations;
    expect(running.map((o) => o.status)).toEqual(['in_progress']);

    // A viewer on the same page meanwhile: status, never the output.
    const viewer = await newPage(browser, ui);
    await signIn(viewer, 'viewer');
    await viewer.goto(`/fleet/${id}`);
    await viewer.getByRole('table', { name: 'Recent operations' }).waitFor();
    expect(await viewer.getByTestId('operation-output').count()).toBe(0);
    await expectAxeClean(operator);
    await shots(operator, 'environment-operation-live');

    writeFileSync(gate, '');
    await expect.poll(() => operator.getByTestId('current-operation').textContent(), { timeout: 20_000 }).toContain('succeeded');
    expect(await output.textContent()).toMatch(/restarting step 1\npassword=\[redacted\]\nrestart finished/);
    expect(await output.getAttribute('aria-label')).toBe('Operation output');
    await expect.poll(() => viewer.getByRole('table', { name: 'Recent operations' }).textContent()).toMatch(/succeeded/);
    expect(await viewer.content()).not.toContain('restarting step 1');
    await operator.close();
    await viewer.close();
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
    await expectAxeClean(viewer);
    await shots(viewer, 'environment-viewer');
    await viewer.goto('/accounts');
    await viewer.getByText('Exchange accounts are shown to operators and admins.').waitFor();
    expect(await viewer.getByRole('button', { name: 'Add account' }).count()).toBe(0);
    await expectAxeClean(viewer);

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
