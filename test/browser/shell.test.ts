import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, expectAxeClean, launchBrowser, newPage, PASSWORD, shots, signIn, startBrowserApp, type BrowserApp, type TestPage } from './helpers.js';

const ROLES = ['viewer', 'operator', 'admin'] as const;

describe('web UI: sign-in and the shell', { timeout: 90_000 }, () => {
  let ui: BrowserApp;
  let browser: Browser;
  const pages: TestPage[] = [];
  const page = async () => {
    const p = await newPage(browser, ui);
    pages.push(p);
    return p;
  };

  beforeAll(async () => {
    [ui, browser] = await Promise.all([startBrowserApp(), launchBrowser()]);
  });
  afterAll(async () => {
    await browser?.close();
    await ui?.close();
  });

  it('sends a visitor to sign-in, and says so when the password is wrong', async () => {
    const p = await page();
    await p.goto('/fleet');
    await p.waitForURL(/\/sign-in\?redirect=%2Ffleet$/);
    await eventually(() => p.getByRole('heading', { name: 'Sign in to pbfleet' }).isVisible()).toBe(true);
    await expectAxeClean(p);
    await shots(p, 'sign-in');

    await p.getByLabel(/^Username/).fill('operator1');
    await p.getByLabel(/^Password/).fill('not the password');
    await p.getByRole('button', { name: 'Sign in' }).click();
    await eventually(() => p.getByRole('alert').textContent()).toContain('Wrong username or password.');
    expect(p.url()).toMatch(/\/sign-in\?redirect=%2Ffleet$/);
    await shots(p, 'sign-in-wrong-password');
    expect(p.consoleErrors.filter((e) => /Content Security Policy/i.test(e))).toEqual([]);
  });

  it.each(ROLES)('shows the shell to a %s: navigation, user and role, live hub', async (role) => {
    const p = await page();
    await signIn(p, role);
    await p.waitForURL(/\/fleet$/);
    for (const name of ['Fleet', 'Bots', 'Accounts']) await eventually(() => p.getByRole('link', { name }).isVisible()).toBe(true);
    expect(await p.getByTestId('user-name').textContent()).toBe(`${role}1`);
    await eventually(() => p.getByTestId('hub-status').getAttribute('data-status')).toBe('connected');
    await p.getByRole('link', { name: 'Bots' }).click();
    await p.waitForURL(/\/bots$/);
    if (role === 'operator') {
      await expectAxeClean(p);
      await p.getByRole('link', { name: 'Fleet' }).click();
      await shots(p, 'shell');
    }
    // A reload keeps the session (cookie) and the client route.
    await p.reload();
    await p.getByTestId('user-name').waitFor();
    expect(new URL(p.url()).pathname).toBe(role === 'operator' ? '/fleet' : '/bots');
    expect(p.consoleErrors.filter((e) => /Content Security Policy/i.test(e))).toEqual([]);
  });

  it('switches between light and dark themes and keeps the choice', async () => {
    const p = await page();
    await signIn(p, 'viewer');
    const scheme = () => p.locator('html').getAttribute('data-mantine-color-scheme');
    const first = await scheme();
    const toggle = p.getByRole('button', { name: /Switch to (light|dark) theme/ });
    await toggle.click();
    await eventually(scheme).not.toBe(first);
    const chosen = await scheme();
    await expectAxeClean(p);
    await shots(p, `shell-${chosen ?? 'other'}`);
    await p.reload();
    await p.getByTestId('user-name').waitFor();
    expect(await scheme()).toBe(chosen);
  });

  it('fits a 375 px phone: the navigation opens from the burger', async () => {
    const p = await newPage(browser, ui, { width: 375, height: 812 });
    pages.push(p);
    await signIn(p, 'operator');
    const nav = p.getByRole('link', { name: 'Accounts' });
    // The collapsed navbar is moved off screen, not removed.
    const onScreen = async () => {
      const box = await nav.boundingBox();
      return box !== null && box.x >= 0 && box.x + box.width <= 375;
    };
    expect(await onScreen()).toBe(false);
    await p.getByRole('button', { name: 'Open navigation' }).click();
    await eventually(onScreen).toBe(true);
    await expectAxeClean(p);
    await nav.click();
    await p.waitForURL(/\/accounts$/);
    await eventually(onScreen).toBe(false);
    const overflow = await p.evaluate<number>('document.documentElement.scrollWidth - document.documentElement.clientWidth');
    expect(overflow).toBeLessThanOrEqual(0);
  });

  it('signs out: back on sign-in with "Signed out", and the pages need a sign-in again', async () => {
    const p = await page();
    await signIn(p, 'operator');
    await p.getByRole('button', { name: 'Sign out' }).click();
    await p.waitForURL(/\/sign-in\?reason=signed-out$/);
    await eventually(() => p.getByRole('status').filter({ hasText: 'Signed out.' }).isVisible()).toBe(true);
    await p.goto('/bots');
    await p.waitForURL(/\/sign-in\?redirect=%2Fbots$/);
    // The cookie is gone: the API refuses this browser too.
    expect(await p.evaluate(async () => (await fetch('/api/v1/auth/me')).status)).toBe(401);
  });

  it('returns to sign-in with "session expired" when the session is revoked', async () => {
    const created = await ui.api<{ id: string }>('admin', 'POST', '/api/v1/users', { username: 'expiring1', password: PASSWORD, role: 'viewer' });
    expect(created.status).toBe(201);
    const p = await page();
    await p.goto('/sign-in');
    await p.getByLabel(/^Username/).fill('expiring1');
    await p.getByLabel(/^Password/).fill(PASSWORD);
    await p.getByRole('button', { name: 'Sign in' }).click();
    await eventually(() => p.getByTestId('hub-status').getAttribute('data-status')).toBe('connected');
    await p.getByRole('link', { name: 'Accounts' }).click();
    await p.waitForURL(/\/accounts$/);

    // An admin resets the password: every session of that user ends at once.
    const reset = await ui.api('admin', 'POST', `/api/v1/users/${created.body.id}/password/reset`, { newPassword: `${PASSWORD} 2` });
    expect(reset.status).toBe(200);
    await p.waitForURL(/\/sign-in\?reason=expired&redirect=%2Faccounts$/);
    await eventually(() => p.getByRole('status').filter({ hasText: 'Your session has expired' }).isVisible()).toBe(true);
    await shots(p, 'sign-in-expired');

    // Signing in again returns to the page the session ended on, not the default page.
    await p.getByLabel(/^Username/).fill('expiring1');
    await p.getByLabel(/^Password/).fill(`${PASSWORD} 2`);
    await p.getByRole('button', { name: 'Sign in' }).click();
    await p.waitForURL(/\/accounts$/);
    await eventually(() => p.getByRole('heading', { name: 'Exchange accounts' }).isVisible()).toBe(true);
  });

  it('a deep link opened while signed out is where sign-in lands, with its search', async () => {
    const p = await page();
    await p.goto('/bots?sort=crashes&dir=desc');
    await p.waitForURL(/\/sign-in\?redirect=%2Fbots%3Fsort%3Dcrashes%26dir%3Ddesc$/);
    await p.getByLabel(/^Username/).fill('viewer1');
    await p.getByLabel(/^Password/).fill(PASSWORD);
    await p.getByRole('button', { name: 'Sign in' }).click();
    await p.waitForURL(/\/bots\?sort=crashes&dir=desc$/);
    await p.getByTestId('user-name').waitFor();
    await eventually(() => p.getByRole('heading', { name: 'Bots', level: 1 }).isVisible()).toBe(true);
    await shots(p, 'sign-in-deep-link');
  });

  it.each([
    ['another origin', 'https://evil.example/bots'],
    ['a protocol-relative URL', '//evil.example/bots'],
    ['a backslash host', '/\\evil.example'],
    ['a javascript: URL', 'javascript:alert(1)'],
  ])('never follows a return path to %s: sign-in lands on the fleet', async (_what, target) => {
    const p = await page();
    await p.goto(`/sign-in?redirect=${encodeURIComponent(target)}`);
    await p.getByLabel(/^Username/).fill('viewer1');
    await p.getByLabel(/^Password/).fill(PASSWORD);
    await p.getByRole('button', { name: 'Sign in' }).click();
    await p.waitForURL(/\/fleet$/);
    expect(new URL(p.url()).origin).toBe(ui.baseUrl);
    await p.context().close();
  });

  it('without the hub, the next page load after the session ended lands on sign-in with the message', async () => {
    const created = await ui.api<{ id: string }>('admin', 'POST', '/api/v1/users', { username: 'expiring2', password: PASSWORD, role: 'viewer' });
    const p = await page();
    // The hub would notice first (close 4001): keep this tab's socket away from the server.
    await p.routeWebSocket(/\/ws$/, () => undefined);
    await p.goto('/sign-in');
    await p.getByLabel(/^Username/).fill('expiring2');
    await p.getByLabel(/^Password/).fill(PASSWORD);
    await p.getByRole('button', { name: 'Sign in' }).click();
    await p.getByTestId('user-name').waitFor();
    await ui.api('admin', 'POST', `/api/v1/users/${created.body.id}/password/reset`, { newPassword: `${PASSWORD} 2` });
    // The next page load asks the server who is signed in, and hears 401.
    await p.reload();
    await p.waitForURL(/\/sign-in\?reason=expired&redirect=%2Ffleet$/);
    await eventually(() => p.getByText('Your session has expired').isVisible()).toBe(true);
  });

  it('shows the hub reconnecting while the server restarts, then live again', async () => {
    const p = await page();
    await signIn(p, 'viewer');
    const status = () => p.getByTestId('hub-status').getAttribute('data-status');
    await eventually(status).toBe('connected');
    await ui.stopServer();
    try {
      await eventually(status).toBe('reconnecting');
      expect(await p.getByTestId('hub-status').textContent()).toBe('Reconnecting');
    } finally {
      await ui.startServer();
    }
    await eventually(status).toBe('connected');
    // Still signed in after the restart: the session survived it.
    await p.getByRole('link', { name: 'Accounts' }).click();
    await p.waitForURL(/\/accounts$/);
    expect(await p.getByTestId('user-name').textContent()).toBe('viewer1');
  });

  describe('a forged cross-site request', () => {
    let evil: Server;
    let evilUrl = '';
    beforeAll(async () => {
      // Another origin on the same host (same site for the cookie: only the port differs).
      evil = createServer((req, res) => {
        const target = ui.baseUrl;
        res.setHeader('content-type', 'text/html');
        if (req.url === '/form') {
          res.end(`<!doctype html><form id="f" method="POST" action="${target}/api/v1/auth/logout"></form><script>document.getElementById('f').submit()</script>`);
        } else {
          res.end(`<!doctype html><title>evil</title><script>
            window.forged = fetch('${target}/api/v1/auth/tokens', { method: 'POST', mode: 'no-cors', credentials: 'include',
              headers: { 'content-type': 'text/plain' }, body: JSON.stringify({ name: 'forged' }) }).then(() => 'answered', () => 'answer withheld');
          </script>`);
        }
      });
      await new Promise<void>((done) => evil.listen(0, '127.0.0.1', done));
      evilUrl = `http://127.0.0.1:${(evil.address() as AddressInfo).port}`;
    });
    afterAll(async () => {
      await new Promise((done) => evil?.close(done));
    });

    it('is refused although the browser sends the session cookie', async () => {
      const p = await page();
      await signIn(p, 'operator');

      // A form posted from the other origin: the server answers 403, the session stays.
      await p.goto(`${evilUrl}/form`);
      await p.waitForURL(`${ui.baseUrl}/api/v1/auth/logout`);
      expect(await p.textContent('body')).toContain('cross-site request refused');

      // A script on the other origin posting with credentials creates nothing.
      await p.goto(`${evilUrl}/script`);
      // (Its answer is withheld from the script by Cross-Origin-Resource-Policy; the request went out.)
      expect(['answered', 'answer withheld']).toContain(await p.evaluate<string>('window.forged'));
      const tokens = await ui.api<{ tokens: { name: string }[] }>('operator', 'GET', '/api/v1/auth/tokens');
      expect(tokens.body.tokens.map((t) => t.name)).not.toContain('forged');

      await p.goto(`${ui.baseUrl}/fleet`);
      await p.getByTestId('user-name').waitFor();
      expect(await p.getByTestId('user-name').textContent()).toBe('operator1');
    });
  });
});

describe('web UI: sign-in throttle', { timeout: 90_000 }, () => {
  let ui: BrowserApp;
  let browser: Browser;
  beforeAll(async () => {
    [ui, browser] = await Promise.all([startBrowserApp({ overrides: { auth: { loginMaxFailures: 2, loginWindow: '10m' } } }), launchBrowser()]);
  });
  afterAll(async () => {
    await browser?.close();
    await ui?.close();
  });

  it('shows how long to wait when sign-in is throttled', async () => {
    const p = await newPage(browser, ui);
    await p.goto('/sign-in');
    await p.getByLabel(/^Username/).fill('viewer1');
    const alert = p.getByRole('alert');
    for (let attempt = 0; attempt < 5; attempt++) {
      await p.getByLabel(/^Password/).fill(`wrong ${attempt}`);
      await p.getByRole('button', { name: 'Sign in' }).click();
      await eventually(() => alert.isVisible()).toBe(true);
      await eventually(async () => (await p.getByRole('button', { name: 'Sign in' }).isEnabled()) || (await alert.textContent())?.includes('Too many')).toBeTruthy();
      if ((await alert.textContent())?.includes('Too many')) break;
    }
    const text = await alert.textContent();
    expect(text).toContain('Too many sign-in attempts.');
    expect(text).toMatch(/Try again in \d+ (min|s)/);
    expect(await p.getByRole('button', { name: 'Sign in' }).isDisabled()).toBe(true);
    await shots(p, 'sign-in-throttled');
  });
});
