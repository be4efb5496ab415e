import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, expectAxeClean, launchBrowser, newPage, PASSWORD, shots, signIn, startBrowserApp, type BrowserApp, type TestPage } from './helpers.js';

describe('web UI: users, my account, audit log and settings', { timeout: 240_000 }, () => {
  let ui: BrowserApp;
  let browser: Browser;
  const page = () => newPage(browser, ui);

  beforeAll(async () => {
    [ui, browser] = await Promise.all([startBrowserApp(), launchBrowser()]);
  });
  afterAll(async () => {
    await browser?.close();
    await ui?.close();
  });

  /** Signs in through the sign-in page as any user. */
  const signInAs = async (p: TestPage, username: string, password = PASSWORD) => {
    await p.goto('/sign-in');
    await p.getByLabel(/^Username/).fill(username);
    await p.getByLabel(/^Password/).fill(password);
    await p.getByRole('button', { name: 'Sign in' }).click();
    await p.getByTestId('user-name').waitFor();
  };

  it('an admin adds a viewer, who signs in and sees no admin control', async () => {
    const admin = await page();
    await signIn(admin, 'admin');
    await admin.getByRole('link', { name: 'Users' }).click();
    await admin.waitForURL(/\/users$/);
    await admin.locator('[data-user="viewer1"]').waitFor();
    await expectAxeClean(admin);
    await shots(admin, 'users');

    await admin.getByRole('button', { name: 'Add user' }).click();
    const dialog = admin.getByRole('dialog', { name: 'Add user' });
    await dialog.getByLabel(/^Username/).fill('bad name!');
    await dialog.getByLabel(/^Password/).fill(PASSWORD);
    await dialog.getByRole('button', { name: 'Add user' }).click();
    // The API's refusal is shown at the field.
    await eventually(() => dialog.getByLabel(/^Username/).getAttribute('aria-invalid')).toBe('true');
    await expectAxeClean(admin);
    await shots(admin, 'users-add');
    await dialog.getByLabel(/^Username/).fill('newviewer');
    await dialog.getByRole('button', { name: 'Add user' }).click();
    const row = admin.locator('[data-user="newviewer"]');
    await row.waitFor();
    expect(await row.getByTestId('role').textContent()).toBe('viewer');

    const viewer = await page();
    await signInAs(viewer, 'newviewer');
    expect(await viewer.getByTestId('user-role').textContent()).toBe('viewer');
    expect(await viewer.getByRole('link', { name: 'Users' }).count()).toBe(0);
    await viewer.goto('/users');
    await eventually(() => viewer.getByText('Only admins manage users.').isVisible()).toBe(true);
    expect(await viewer.getByRole('button', { name: 'Add user' }).count()).toBe(0);

    await viewer.getByRole('link', { name: 'Settings' }).click();
    await viewer.locator('[data-section="instances"]').waitFor();
    expect(await viewer.getByRole('button', { name: /^Save/ }).count()).toBe(0);
    expect(await viewer.getByLabel('Stop timeout (seconds)').getAttribute('readonly')).not.toBeNull();
    await expectAxeClean(viewer);
    await shots(viewer, 'settings-viewer');

    await viewer.getByRole('link', { name: 'Audit log' }).click();
    await viewer.getByRole('table', { name: 'Audit entries' }).waitFor();
    expect(await viewer.getByRole('button', { name: /Pause live tail/ }).isVisible()).toBe(true);
    await expectAxeClean(viewer);
    await shots(viewer, 'audit-viewer');

    // The user name in the header leads to My account, which every role has.
    await viewer.getByTestId('user-name').click();
    await viewer.waitForURL(/\/account$/);
    await viewer.getByRole('table', { name: 'My sessions' }).waitFor();
    await expectAxeClean(viewer);
  });

  it('says plainly when a change would leave no active admin', async () => {
    const admin = await page();
    await signIn(admin, 'admin');
    await admin.goto('/users');
    await admin.getByRole('button', { name: 'Edit admin1' }).click();
    const dialog = admin.getByRole('dialog', { name: 'Edit admin1' });
    await dialog.getByLabel(/^Role/).click();
    await admin.getByRole('option', { name: 'operator' }).click();
    await dialog.getByRole('button', { name: 'Save changes' }).click();
    await eventually(() => dialog.getByRole('alert').textContent()).toContain('this is the last active admin; promote another user first');
    await shots(admin, 'users-last-admin');
    await dialog.getByRole('button', { name: 'Cancel' }).click();
    expect(await admin.locator('[data-user="admin1"]').getByTestId('role').textContent()).toBe('admin');
    expect((await ui.api<{ role: string }>('admin', 'GET', `/api/v1/users/${ui.userIds.admin}`)).body.role).toBe('admin');
  });

  it('creates an API token shown once, which works with a plain fetch until it is revoked', async () => {
    const p = await page();
    await signIn(p, 'operator');
    await p.getByTestId('user-name').click();
    await p.waitForURL(/\/account$/);
    await p.getByLabel(/^Token name/).fill('ci deploy');
    await p.getByRole('button', { name: 'Create token' }).click();
    const token = (await p.getByTestId('token-value').textContent()) ?? '';
    expect(token).toMatch(/^pbf_[A-Za-z0-9_-]{20,}$/);
    expect(await p.getByRole('button', { name: 'Copy' }).isVisible()).toBe(true);
    await expectAxeClean(p);
    await shots(p, 'account-new-token');

    const me = await fetch(`${ui.baseUrl}/api/v1/auth/me`, { headers: { authorization: `Bearer ${token}` } });
    expect(me.status).toBe(200);
    expect(((await me.json()) as { user: { username: string } }).user.username).toBe('operator1');

    // Shown once: gone when dismissed and after a reload; the list shows only its first characters.
    await p.getByRole('button', { name: 'I have stored it' }).click();
    await p.locator('[data-token="ci deploy"]').waitFor();
    await p.reload();
    await p.locator('[data-token="ci deploy"]').waitFor();
    expect(await p.content()).not.toContain(token);

    await p.getByRole('button', { name: 'Revoke ci deploy' }).click();
    await p.getByRole('dialog', { name: 'Revoke "ci deploy"?' }).getByRole('button', { name: 'Revoke' }).click();
    await eventually(() => p.locator('[data-token="ci deploy"]').count()).toBe(0);
    const after = await fetch(`${ui.baseUrl}/api/v1/auth/me`, { headers: { authorization: `Bearer ${token}` } });
    expect(after.status).toBe(401);
    await expectAxeClean(p);
    await shots(p, 'account');
  });

  it('a wrong current password is shown at its field', async () => {
    const p = await page();
    await signIn(p, 'viewer');
    await p.goto('/account');
    await p.getByLabel(/^Current password/).fill('not my password');
    await p.getByLabel(/^New password/).fill('another long secret');
    await p.getByLabel(/^Repeat the new password/).fill('another long secret');
    await p.getByRole('button', { name: 'Change password' }).click();
    await eventually(() => p.getByText('does not match your current password').isVisible()).toBe(true);
    // At the field it concerns, not in a banner.
    expect(await p.locator('.mantine-PasswordInput-root', { hasText: 'Current password' }).locator('.mantine-PasswordInput-error').textContent()).toBe('does not match your current password');
    expect(await p.getByRole('alert').count()).toBe(0);
    expect(await p.getByText(/signs out your other sessions\. Your API tokens are revoked too/).isVisible()).toBe(true);
  });

  it('signing out another session from My account signs that browser out', async () => {
    const other = await page();
    await signIn(other, 'operator');
    await eventually(() => other.getByTestId('hub-status').getAttribute('data-status')).toBe('connected');
    const otherId = await other.evaluate(async () => ((await (await fetch('/api/v1/auth/me')).json()) as { credential: { id: string } }).credential.id);

    const p = await page();
    await signIn(p, 'operator');
    await p.goto('/account');
    const row = p.locator(`[data-session="${otherId}"]`);
    await row.waitFor();
    expect(await p.locator('[data-current]').getByText('this browser').isVisible()).toBe(true);
    await expectAxeClean(p);
    await shots(p, 'account-sessions');
    await row.getByRole('button', { name: /^Sign out/ }).click();
    await p.getByRole('dialog', { name: 'Sign out this session?' }).getByRole('button', { name: 'Sign out' }).click();
    await eventually(() => row.count()).toBe(0);

    // The other browser's live connection is closed and it lands on sign-in, told why.
    await other.waitForURL(/\/sign-in/);
    await eventually(() => other.getByText('Your session has expired. Sign in again.').isVisible()).toBe(true);
    // This browser's session is untouched.
    await p.reload();
    await p.getByTestId('user-name').waitFor();
  });

  it('the audit log shows new entries live, keeps filters in the URL and shows an entry in full', async () => {
    const p = await page();
    await signIn(p, 'admin');
    await p.getByRole('link', { name: 'Audit log' }).click();
    await p.getByRole('table', { name: 'Audit entries' }).waitFor();
    await eventually(() => p.getByTestId('hub-status').getAttribute('data-status')).toBe('connected');
    const totalBefore = await p.getByTestId('audit-total').textContent();

    expect((await ui.api('admin', 'PUT', '/api/v1/settings', { general: { siteName: 'Live fleet' } })).status).toBe(200);
    const firstRow = p.getByRole('table', { name: 'Audit entries' }).locator('tbody tr').first();
    await eventually(() => firstRow.textContent()).toContain('settings changed: general.siteName');
    expect(await firstRow.getAttribute('data-fresh')).toBe('true');
    expect(await p.getByTestId('audit-total').textContent()).not.toBe(totalBefore);
    await expectAxeClean(p);
    await shots(p, 'audit');

    // Paused: counted, not shown, until resumed.
    await p.getByRole('button', { name: 'Pause live tail' }).click();
    await ui.api('admin', 'PUT', '/api/v1/settings', { general: { siteName: 'Paused fleet' } });
    await eventually(() => p.getByRole('button', { name: '1 new entry: show' }).isVisible()).toBe(true);
    expect(await firstRow.textContent()).not.toContain('Paused fleet');
    await p.getByRole('button', { name: '1 new entry: show' }).click();
    await eventually(() => p.getByRole('table', { name: 'Audit entries' }).locator('tbody tr').count()).toBeGreaterThan(1);

    // Filters live in the URL and survive a reload.
    await p.getByRole('textbox', { name: 'Text' }).fill('siteName');
    await p.getByRole('textbox', { name: 'Text' }).press('Enter');
    await p.waitForURL(/q=siteName/);
    await p.locator('[data-stat="level:success"]').click();
    await p.waitForURL(/level=success/);
    await p.reload();
    await p.getByRole('table', { name: 'Audit entries' }).waitFor();
    expect(await p.getByRole('textbox', { name: 'Text' }).inputValue()).toBe('siteName');
    await eventually(() => p.getByRole('table', { name: 'Audit entries' }).locator('tbody tr').count()).toBe(2);

    // A new entry that does not match the filters stays out.
    await ui.api('admin', 'POST', '/api/v1/auth/tokens', { name: 'unrelated' });
    await ui.api('admin', 'PUT', '/api/v1/settings', { general: { siteName: 'Third fleet' } });
    await eventually(() => p.getByRole('table', { name: 'Audit entries' }).locator('tbody tr').count()).toBe(3);

    await p.getByRole('table', { name: 'Audit entries' }).locator('tbody tr').first().getByRole('button').click();
    await p.waitForURL(/entry=/);
    const details = p.getByTestId('audit-details');
    await eventually(() => details.textContent()).toContain('"general.siteName": "Third fleet"');
    await expectAxeClean(p);
    await shots(p, 'audit-entry');
    await p.getByRole('button', { name: 'Close details' }).click();
    await eventually(() => new URL(p.url()).searchParams.has('entry')).toBe(false);
  });

  it('settings: each save lists what changed, secrets only as changed, bad values at their field', async () => {
    const p = await page();
    await signIn(p, 'admin');
    await p.getByRole('link', { name: 'Settings' }).click();
    const policy = p.locator('[data-section="instances"]');
    await policy.waitFor();
    await expectAxeClean(p);
    await shots(p, 'settings');

    await policy.getByLabel('Stop timeout (seconds)').fill('45');
    await policy.getByLabel('Log generations').fill('5');
    await policy.getByRole('button', { name: 'Save Instance policy' }).click();
    const saved = p.getByTestId('saved-instances');
    await eventually(() => saved.textContent()).toContain('instances.stopTimeoutSeconds: 30 → 45');
    expect(await saved.textContent()).toContain('instances.logGenerations: 3 → 5');
    expect(await saved.textContent()).not.toContain('maxCrashesPerHour');
    const stored = await ui.api<{ instances: { stopTimeoutSeconds: number; logGenerations: number } }>('viewer', 'GET', '/api/v1/settings');
    expect(stored.body.instances).toMatchObject({ stopTimeoutSeconds: 45, logGenerations: 5 });

    const notifications = p.locator('[data-section="notifications"]');
    await notifications.getByLabel(/^Telegram bot token/).fill('123456:very-secret-token');
    await notifications.getByRole('button', { name: 'Save Notifications' }).click();
    await eventually(() => p.getByTestId('saved-notifications').textContent()).toContain('notifications.telegramBotToken: changed');
    await eventually(() => p.getByTestId('telegramBotToken-state').textContent()).toBe('set');
    expect(await p.content()).not.toContain('very-secret-token');

    const paths = p.locator('[data-section="paths"]');
    await paths.getByLabel('Python interpreter').fill('not a path!');
    await paths.getByRole('button', { name: 'Save Passivbot paths' }).click();
    await eventually(() => paths.getByLabel('Python interpreter').getAttribute('aria-invalid')).toBe('true');
    expect(await paths.getByRole('alert').isVisible()).toBe(true);
    await shots(p, 'settings-saved');

    // Another admin's change arrives without a reload (through the audit topic).
    await ui.api('admin', 'PUT', '/api/v1/settings', { instances: { maxCrashesPerHour: 9 } });
    await eventually(() => policy.getByLabel('Crash limit (per hour)').inputValue()).toBe('9');
  });
});
