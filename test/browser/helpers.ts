/**
 * Browser tests: a real pbfleet listening on 127.0.0.1 and serving the built UI (dist/web,
 * built by test/browser/global-setup.ts when stale), driven by Debian's Chromium through
 * playwright-core. No browser download, no test-only code in the server.
 *
 *   const ui = await startBrowserApp();          // pbfleet + users admin1/operator1/viewer1
 *   const browser = await launchBrowser();
 *   const page = await newPage(browser, ui);     // base URL set, console errors collected
 *   await signIn(page, 'operator');
 *   await expectAxeClean(page);
 *   await shots(page, 'fleet');                  // test-results/screens/fleet-1280.png, -375.png
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { AxeBuilder } from '@axe-core/playwright';
import { chromium, type Browser, type Page } from 'playwright-core';
import { expect } from 'vitest';
import { buildApp } from '../../src/app.js';
import { loadConfig } from '../../src/config/config.js';
import { migrateToLatest } from '../../src/db/database.js';
import type { Role } from '../../src/lib/roles.js';
import { SYSTEM_ACTOR } from '../../src/modules/auth/auth.types.js';
import { WEB_OUT } from '../../scripts/build-web.js';
import { fastHasher, login, PASSWORD } from '../helpers/app.js';
import { testDatabases, type TestDatabase } from '../helpers/databases.js';

export { PASSWORD };
export const SCREENS_DIR = resolve(import.meta.dirname, '../../test-results/screens');
export const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];
export const usernameOf = (role: Role): string => `${role}1`;

export interface BrowserAppOptions {
  /** Config overrides (deep-merged by loadConfig), e.g. { auth: { loginMaxFailures: 2 } }. */
  overrides?: Record<string, unknown>;
  /** Defaults to SQLite; pass a PostgreSQL TestDatabase to run on it. */
  database?: TestDatabase;
}

export type BrowserApp = Awaited<ReturnType<typeof startBrowserApp>>;

/**
 * pbfleet on a fresh database with one user per role (`admin1`, `operator1`, `viewer1`,
 * password PASSWORD), listening on 127.0.0.1. `stopServer()` / `startServer()` close the app
 * and build a new one on the same port, database and secrets (a server restart: sessions
 * survive it); `close()` removes everything.
 */
export async function startBrowserApp(options: BrowserAppOptions = {}) {
  const database = options.database ?? testDatabases[0]!;
  const dataDir = mkdtempSync(join(tmpdir(), 'pbfleet-ui-'));
  const db = await database.create();
  const secrets = { jwtSecret: randomBytes(32), masterKey: randomBytes(32) };
  const config = loadConfig({
    env: {},
    cwd: dataDir,
    overrides: { dataDir, database: { url: db.url }, log: { level: 'silent' }, ui: { dir: WEB_OUT }, ...options.overrides },
  });
  let built: Awaited<ReturnType<typeof buildApp>> | undefined;
  let port = 0;

  const startServer = async (): Promise<void> => {
    if (built) return;
    const next = await buildApp({ config, database: db.handle, secrets, hasher: fastHasher, logger: false });
    await next.app.listen({ host: '127.0.0.1', port });
    port = (next.app.server.address() as { port: number }).port;
    built = next;
  };
  const stopServer = async (): Promise<void> => {
    const current = built;
    built = undefined;
    await current?.app.close();
  };
  const current = () => {
    if (!built) throw new Error('the pbfleet server is stopped');
    return built;
  };

  try {
    await migrateToLatest(db.handle.db);
    await startServer();
    const tokens = {} as Record<Role, string>;
    const userIds = {} as Record<Role, string>;
    for (const role of ['admin', 'operator', 'viewer'] as const) {
      const user = await current().services.users.create({ username: usernameOf(role), password: PASSWORD, role }, SYSTEM_ACTOR);
      userIds[role] = user.id;
      tokens[role] = await login(current().app, usernameOf(role));
    }
    const baseUrl = `http://127.0.0.1:${port}`;
    return {
      baseUrl,
      config,
      tokens,
      userIds,
      get app() {
        return current().app;
      },
      get services() {
        return current().services;
      },
      auth: (role: Role) => ({ authorization: `Bearer ${tokens[role]}` }),
      /** A JSON API call with a role's bearer token (arrange and check what the UI did). */
      api: async <T = unknown>(role: Role, method: string, path: string, body?: unknown): Promise<{ status: number; body: T }> => {
        const res = await fetch(`${baseUrl}${path}`, {
          method,
          headers: { authorization: `Bearer ${tokens[role]}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
          ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        });
        const text = await res.text();
        return { status: res.status, body: (text ? JSON.parse(text) : undefined) as T };
      },
      startServer,
      stopServer,
      close: async () => {
        await stopServer();
        await db.handle.close();
        await db.drop();
        rmSync(dataDir, { recursive: true, force: true });
      },
    };
  } catch (error) {
    await stopServer().catch(() => undefined);
    await db.handle.close().catch(() => undefined);
    await db.drop().catch(() => undefined);
    rmSync(dataDir, { recursive: true, force: true });
    throw error;
  }
}

/** expect.poll with a timeout for a busy machine (a page may take seconds to settle under load). */
export const eventually = <T>(fn: () => T | Promise<T>, timeout = 20_000) => expect.poll(fn, { timeout, interval: 100 });

export function launchBrowser(): Promise<Browser> {
  return chromium.launch({ executablePath: process.env.PBFLEET_CHROMIUM ?? '/usr/bin/chromium', args: CHROMIUM_ARGS });
}

export interface TestPage extends Page {
  /** Console errors and uncaught page errors seen so far (CSP violations show up here). */
  consoleErrors: string[];
}

/** A page in a context of its own (its own cookies), at 1280x800, with baseURL = the app. */
export async function newPage(browser: Browser, app: { baseUrl: string }, viewport = { width: 1280, height: 800 }): Promise<TestPage> {
  const context = await browser.newContext({ baseURL: app.baseUrl, viewport });
  context.setDefaultTimeout(20_000);
  const page = (await context.newPage()) as TestPage;
  page.consoleErrors = [];
  page.on('console', (m) => {
    if (m.type() === 'error') page.consoleErrors.push(m.text());
  });
  page.on('pageerror', (e) => page.consoleErrors.push(String(e)));
  return page;
}

/** Signs in through the sign-in page as `<role>1` and waits for the shell. */
export async function signIn(page: Page, role: Role, password = PASSWORD): Promise<void> {
  await page.goto('/sign-in');
  await page.getByLabel(/^Username/).fill(usernameOf(role));
  await page.getByLabel(/^Password/).fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByTestId('user-name').waitFor();
  await eventually(() => page.getByTestId('user-role').textContent()).toBe(role);
}

/** axe-core on the page as it is: no serious or critical violation (the list says which and where). */
export async function expectAxeClean(page: Page): Promise<void> {
  const result = await new AxeBuilder({ page }).analyze();
  const bad = result.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  const report = bad.map((v) => `${v.impact} ${v.id}: ${v.help}\n  ${v.nodes.map((n) => n.target.join(' ')).join('\n  ')}`).join('\n');
  expect(bad, report).toEqual([]);
}

/** Saves test-results/screens/<name>-1280.png, -1920.png and -375.png (full page), then restores the viewport. */
export async function shots(page: Page, name: string): Promise<void> {
  mkdirSync(SCREENS_DIR, { recursive: true });
  const before = page.viewportSize() ?? { width: 1280, height: 800 };
  for (const width of [1280, 1920, 375]) {
    await page.setViewportSize({ width, height: width === 375 ? 812 : width === 1920 ? 1080 : 800 });
    await page.waitForTimeout(150); // let Mantine's media queries and layout settle
    await page.screenshot({ path: join(SCREENS_DIR, `${name}-${width}.png`), fullPage: true });
  }
  await page.setViewportSize(before);
}
