import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { createTestApp, login, manualClock, PASSWORD, type TestApp } from './helpers/app.js';
import { testDatabases } from './helpers/databases.js';

// Issue 10, points 1, 2 and 5: throttles that hold under concurrency, refusals that cannot flood
// the audit log, credentials that end together, auth entries for admins only.

const LIMIT = 10; // auth.loginMaxFailures, default
const WINDOW_MS = 10 * 60_000; // auth.loginWindow, default

type Injected = Awaited<ReturnType<TestApp['app']['inject']>>;

interface HubMsg {
  type: string;
  topic: string | null;
  payload: Record<string, unknown>;
}

/** Counts the answers by status code. */
function tally(responses: readonly Injected[]): Record<number, number> {
  const out: Record<number, number> = {};
  for (const r of responses) out[r.statusCode] = (out[r.statusCode] ?? 0) + 1;
  return out;
}

/** Runs `count` requests, `batch` at a time, all in flight together within a batch. */
async function inBatches(count: number, batch: number, send: (i: number) => Promise<Injected>): Promise<Injected[]> {
  const out: Injected[] = [];
  for (let start = 0; start < count; start += batch) {
    out.push(...(await Promise.all(Array.from({ length: Math.min(batch, count - start) }, (_, k) => send(start + k)))));
  }
  return out;
}

describe.each(testDatabases)('auth hardening on $name', (database) => {
  let t: TestApp;
  let clock: ReturnType<typeof manualClock>;
  const sockets: WebSocket[] = [];

  async function start(): Promise<TestApp> {
    clock = manualClock();
    t = await createTestApp(database, { clock });
    return t;
  }

  afterEach(async () => {
    for (const ws of sockets.splice(0)) ws.terminate();
    await t.close();
  });

  const loginAs = (username: string, password: string, remoteAddress = '203.0.113.7') =>
    t.app.inject({ method: 'POST', url: '/api/v1/auth/login', payload: { username, password }, remoteAddress });

  const authRows = (action: string) =>
    t.database.db.selectFrom('audit_logs').select(['message', 'details', 'username', 'ip']).where('type', '=', 'auth').where('action', '=', action).orderBy('ts').orderBy('id').execute();

  /** Login entries other than successes (the test app logs each role in at start). */
  const failedLoginRows = async () => (await authRows('login')).filter((r) => !r.message.endsWith('logged in'));

  const bearer = (token: string) => ({ authorization: `Bearer ${token}` });
  const me = (token: string) => t.app.inject({ method: 'GET', url: '/api/v1/auth/me', headers: bearer(token) });

  async function apiToken(role: 'viewer' | 'operator' | 'admin', name: string, session = t.tokens[role]): Promise<string> {
    const res = await t.app.inject({ method: 'POST', url: '/api/v1/auth/tokens', headers: bearer(session), payload: { name } });
    expect(res.statusCode).toBe(201);
    const token = res.json<{ token: string }>().token;
    expect(token).toMatch(/^pbf_/);
    expect((await me(token)).statusCode).toBe(200);
    return token;
  }

  describe('login throttle', () => {
    it('300 concurrent wrong passwords get at most the limit of password checks; the right one is refused until the window passes', async () => {
      await start();
      const answers = await Promise.all(Array.from({ length: 300 }, (_, i) => loginAs('operator1', `wrong-guess-${i}`)));
      const counts = tally(answers);
      expect(counts[401] ?? 0).toBeGreaterThan(0);
      expect(counts[401] ?? 0).toBeLessThanOrEqual(LIMIT);
      expect((counts[401] ?? 0) + (counts[429] ?? 0)).toBe(300);
      for (const refused of answers.filter((a) => a.statusCode === 429)) {
        expect(refused.json().error.code).toBe('RATE_LIMITED');
        const retryAfter = Number(refused.headers['retry-after']);
        expect(retryAfter).toBeGreaterThan(0);
        expect(retryAfter).toBeLessThanOrEqual(WINDOW_MS / 1000);
      }
      // Only the checked attempts were written as failed logins.
      expect((await authRows('login')).filter((r) => r.message.includes('login failed for operator1'))).toHaveLength(counts[401] ?? 0);

      const right = await loginAs('operator1', PASSWORD);
      expect(right.statusCode).toBe(429);
      expect(right.body).not.toContain('token');
      clock.advance(WINDOW_MS - 1_000);
      expect((await loginAs('operator1', PASSWORD)).statusCode).toBe(429);
      clock.advance(2_000);
      const after = await loginAs('operator1', PASSWORD);
      expect(after.statusCode).toBe(200);
      expect((await me(after.json<{ token: string }>().token)).json()).toMatchObject({ user: { username: 'operator1' } });
    });

    it('in a 60-request burst the right password, sent last, does not get in', async () => {
      await start();
      const burst = Array.from({ length: 59 }, (_, i) => loginAs('admin1', `burst-guess-${i}`));
      burst.push(loginAs('admin1', PASSWORD));
      const answers = await Promise.all(burst);
      const last = answers[answers.length - 1] as Injected;
      expect(last.statusCode).toBe(429);
      expect(answers.filter((a) => a.statusCode === 200)).toEqual([]);
      expect(tally(answers)[401] ?? 0).toBeLessThanOrEqual(LIMIT);
      // Nor from another address: the username itself is throttled.
      expect((await loginAs('admin1', PASSWORD, '198.51.100.9')).statusCode).toBe(429);
    });

    it('the throttle holds per IP across usernames under concurrency too', async () => {
      await start();
      const answers = await Promise.all(Array.from({ length: 100 }, (_, i) => loginAs(`nobody${i}`, 'whatever-guess', '192.0.2.44')));
      expect(tally(answers)[401] ?? 0).toBeLessThanOrEqual(LIMIT);
      expect((await loginAs('viewer1', PASSWORD, '192.0.2.44')).statusCode).toBe(429);
      // Another address is not locked out by it.
      expect((await loginAs('viewer1', PASSWORD, '192.0.2.45')).statusCode).toBe(200);
    });
  });

  describe('refused logins cannot flood the audit log', () => {
    it('5,000 refusals from one address write one entry when refusing starts and one count when the window ends', async () => {
      await start();
      for (let i = 0; i < LIMIT; i++) expect((await loginAs('viewer1', `wrong-${i}`)).statusCode).toBe(401);
      const refused = await inBatches(5_000, 250, (i) => loginAs('viewer1', i === 4_999 ? PASSWORD : `flood-${i}`));
      expect(tally(refused)).toEqual({ 429: 5_000 });

      const during = await failedLoginRows();
      expect(during.filter((r) => r.message.startsWith('login failed'))).toHaveLength(LIMIT);
      const refusalRows = during.filter((r) => r.message.includes('refused'));
      expect(refusalRows).toHaveLength(1);
      expect(refusalRows[0]?.message).toMatch(/further refusals are counted/);

      // The window ends; the periodic flush writes what was counted, as one entry.
      clock.advance(WINDOW_MS + 1_000);
      await t.services.auth.pruneThrottle();
      const after = await failedLoginRows();
      expect(after).toHaveLength(LIMIT + 2);
      const counted = after[after.length - 1];
      expect(counted?.message).toMatch(/^4999 login attempt\(s\) refused from 203\.0\.113\.7/);
      const details = JSON.parse(String(counted?.details)) as { refused: number; usernames: string[] };
      expect(details).toMatchObject({ refused: 4_999, usernames: ['viewer1'] });
      expect(counted?.ip).toBe('203.0.113.7');
      expect(JSON.stringify(after)).not.toContain(PASSWORD);
      // A second flush has nothing left to write.
      await t.services.auth.pruneThrottle();
      expect(await failedLoginRows()).toHaveLength(LIMIT + 2);
    });

    it('refusals of one throttled username from many addresses are one count too', async () => {
      await start();
      for (let i = 0; i < LIMIT; i++) expect((await loginAs('operator1', `wrong-${i}`, `10.0.0.${i + 1}`)).statusCode).toBe(401);
      const refused = await inBatches(2_000, 250, (i) => loginAs('operator1', `spray-${i}`, `10.${1 + Math.floor(i / 250)}.${i % 250}.1`));
      expect(tally(refused)).toEqual({ 429: 2_000 });
      clock.advance(WINDOW_MS + 1_000);
      await t.services.auth.pruneThrottle();
      const rows = await failedLoginRows();
      expect(rows).toHaveLength(LIMIT + 2);
      expect(rows[rows.length - 1]?.message).toMatch(/^1999 login attempt\(s\) refused for operator1/);
    });
  });

  describe('password change throttle', () => {
    const change = (currentPassword: string, newPassword = 'a brand new secret', token = t.tokens.viewer) =>
      t.app.inject({ method: 'POST', url: '/api/v1/users/password/change', headers: bearer(token), payload: { currentPassword, newPassword } });

    it('200 parallel wrong current passwords get at most the limit of checks; the right one is refused until the window passes', async () => {
      await start();
      const answers = await Promise.all(Array.from({ length: 200 }, (_, i) => change(`wrong-current-${i}`)));
      const counts = tally(answers);
      expect(counts[400] ?? 0).toBeGreaterThan(0);
      expect(counts[400] ?? 0).toBeLessThanOrEqual(LIMIT);
      expect((counts[400] ?? 0) + (counts[429] ?? 0)).toBe(200);
      for (const a of answers.filter((x) => x.statusCode === 400)) expect(a.json().error.details.fields[0].field).toBe('currentPassword');
      for (const a of answers.filter((x) => x.statusCode === 429)) expect(Number(a.headers['retry-after'])).toBeGreaterThan(0);

      const right = await change(PASSWORD);
      expect(right.statusCode).toBe(429);
      // Nothing changed: the old password still logs in (from elsewhere: the login throttle is not involved).
      expect(await login(t.app, 'viewer1')).toEqual(expect.any(String));

      // Refusals were audited once, not 190 times.
      const rows = await authRows('password_change');
      expect(rows.filter((r) => r.message.includes('wrong current password'))).toHaveLength(counts[400] ?? 0);
      expect(rows.filter((r) => r.message.includes('refused for viewer1: too many'))).toHaveLength(1);

      clock.advance(WINDOW_MS + 1_000);
      expect((await change(PASSWORD)).statusCode).toBe(200);
      await expect(login(t.app, 'viewer1')).rejects.toThrow(/401/);
      await expect(login(t.app, 'viewer1', 'a brand new secret')).resolves.toEqual(expect.any(String));
    });

    it("one user's wrong guesses do not lock another user's change", async () => {
      await start();
      await Promise.all(Array.from({ length: 30 }, (_, i) => change(`wrong-current-${i}`)));
      expect((await change(PASSWORD, 'another new secret', t.tokens.operator)).statusCode).toBe(200);
    });
  });

  describe('credentials end together', () => {
    it("a password change ends the user's API tokens and other sessions, keeping the session it was made with", async () => {
      await start();
      const token = await apiToken('operator', 'ci');
      const other = await login(t.app, 'operator1');
      const res = await t.app.inject({
        method: 'POST',
        url: '/api/v1/users/password/change',
        headers: t.auth('operator'),
        payload: { currentPassword: PASSWORD, newPassword: 'a brand new secret' },
      });
      expect(res.statusCode).toBe(200);
      expect((await me(token)).statusCode).toBe(401);
      expect((await me(other)).statusCode).toBe(401);
      expect((await me(t.tokens.operator)).statusCode).toBe(200);
      const list = await t.app.inject({ method: 'GET', url: '/api/v1/auth/tokens', headers: t.auth('operator') });
      expect(list.json().tokens).toEqual([]);
      // Others' credentials are untouched.
      expect((await me(t.tokens.viewer)).statusCode).toBe(200);
    });

    it('keepApiTokens: true keeps the API tokens but still ends the other sessions', async () => {
      await start();
      const token = await apiToken('viewer', 'dashboard');
      const other = await login(t.app, 'viewer1');
      const res = await t.app.inject({
        method: 'POST',
        url: '/api/v1/users/password/change',
        headers: t.auth('viewer'),
        payload: { currentPassword: PASSWORD, newPassword: 'a brand new secret', keepApiTokens: true },
      });
      expect(res.statusCode).toBe(200);
      expect((await me(token)).statusCode).toBe(200);
      expect((await me(other)).statusCode).toBe(401);
    });

    it('a change made with an API token ends that token too, unless keepApiTokens', async () => {
      await start();
      const token = await apiToken('viewer', 'script');
      const res = await t.app.inject({
        method: 'POST',
        url: '/api/v1/users/password/change',
        headers: bearer(token),
        payload: { currentPassword: PASSWORD, newPassword: 'a brand new secret' },
      });
      expect(res.statusCode).toBe(200);
      expect((await me(token)).statusCode).toBe(401);
      expect((await me(t.tokens.viewer)).statusCode).toBe(401);
    });

    it("an admin's password reset ends every session and every API token of that user", async () => {
      await start();
      const token = await apiToken('operator', 'deploy');
      const reset = await t.app.inject({ method: 'POST', url: `/api/v1/users/${t.userIds.operator}/password/reset`, headers: t.auth('admin'), payload: { newPassword: 'set by the admin' } });
      expect(reset.statusCode).toBe(200);
      expect((await me(token)).statusCode).toBe(401);
      expect((await me(t.tokens.operator)).statusCode).toBe(401);
      expect((await me(t.tokens.admin)).statusCode).toBe(200);
      const entry = (await authRows('password_reset'))[0];
      expect(entry?.message).toMatch(/1 session\(s\) and 1 API token\(s\) ended/);
      await expect(login(t.app, 'operator1', 'set by the admin')).resolves.toEqual(expect.any(String));
    });

    it('deactivate then reactivate: no session or API token comes back, only the password works', async () => {
      await start();
      const token = await apiToken('viewer', 'kiosk');
      const off = await t.app.inject({ method: 'PUT', url: `/api/v1/users/${t.userIds.viewer}`, headers: t.auth('admin'), payload: { active: false } });
      expect(off.statusCode).toBe(200);
      expect((await me(token)).statusCode).toBe(401);
      const on = await t.app.inject({ method: 'PUT', url: `/api/v1/users/${t.userIds.viewer}`, headers: t.auth('admin'), payload: { active: true } });
      expect(on.statusCode).toBe(200);
      expect((await me(token)).statusCode).toBe(401);
      expect((await me(t.tokens.viewer)).statusCode).toBe(401);
      const fresh = await login(t.app, 'viewer1');
      expect((await me(fresh)).statusCode).toBe(200);
      const list = await t.app.inject({ method: 'GET', url: '/api/v1/auth/tokens', headers: bearer(fresh) });
      expect(list.json().tokens).toEqual([]);
    });
  });

  describe('auth entries of the audit log are for admins only', () => {
    async function connect(token: string): Promise<{ received: HubMsg[]; sync(): Promise<void> }> {
      const port = (t.app.server.address() as AddressInfo).port;
      const ws = new WebSocket(`ws://127.0.0.1:${port}/ws?topics=audit`, { headers: bearer(token) });
      sockets.push(ws);
      const received: HubMsg[] = [];
      let onMessage = () => {};
      ws.on('message', (data: Buffer) => {
        received.push(JSON.parse(data.toString('utf8')) as HubMsg);
        onMessage();
      });
      const waitFor = (type: string, from: number) =>
        new Promise<void>((resolve, reject) => {
          const timer = setTimeout(() => reject(new Error(`no ${type} within 5s`)), 5_000);
          onMessage = () => {
            if (received.slice(from).some((m) => m.type === type)) {
              clearTimeout(timer);
              resolve();
            }
          };
          onMessage();
        });
      await waitFor('welcome', 0);
      return {
        received,
        sync: async () => {
          const from = received.length;
          ws.send(JSON.stringify({ type: 'ping' }));
          await waitFor('pong', from);
        },
      };
    }

    it('viewers and operators see no auth entry in lists, counts, stats, by id or on the hub; admins see them all', async () => {
      await start();
      await t.app.listen({ port: 0, host: '127.0.0.1' });
      const peers = { admin: await connect(t.tokens.admin), operator: await connect(t.tokens.operator), viewer: await connect(t.tokens.viewer) };

      // An auth entry carrying what a user typed, and an ordinary action entry.
      expect((await loginAs('admin1', 'typed-by-mistake')).statusCode).toBe(401);
      expect((await t.app.inject({ method: 'POST', url: '/api/v1/users', headers: t.auth('admin'), payload: { username: 'erin', password: 'a long enough secret', role: 'viewer' } })).statusCode).toBe(201);
      const authEntry = await t.database.db.selectFrom('audit_logs').select('id').where('type', '=', 'auth').where('message', 'like', '%wrong password%').executeTakeFirstOrThrow();
      const actionEntry = await t.database.db.selectFrom('audit_logs').select('id').where('action', '=', 'user_create').where('message', 'like', '%erin%').executeTakeFirstOrThrow();
      const totals = await t.database.db.selectFrom('audit_logs').select(['type']).execute();
      const authTotal = totals.filter((r) => r.type === 'auth').length;
      expect(authTotal).toBeGreaterThan(0);

      const get = (role: 'admin' | 'operator' | 'viewer', url: string) => t.app.inject({ method: 'GET', url: `/api/v1${url}`, headers: t.auth(role) });
      for (const role of ['viewer', 'operator'] as const) {
        const list = await get(role, '/logs?limit=200');
        expect(list.statusCode).toBe(200);
        const logs = list.json().logs as { type: string; id: string }[];
        expect(logs.map((l) => l.type)).not.toContain('auth');
        expect(logs.map((l) => l.id)).toContain(actionEntry.id);
        expect(list.body).not.toContain('typed-by-mistake');
        expect(list.json().pagination.total).toBe(totals.length - authTotal);
        expect((await get(role, '/logs?type=auth')).json().logs).toEqual([]);
        expect((await get(role, '/logs/count')).json()).toEqual({ count: totals.length - authTotal });
        expect((await get(role, '/logs/count?type=auth')).json()).toEqual({ count: 0 });
        const stats = (await get(role, '/logs/stats')).json();
        expect(stats.total).toBe(totals.length - authTotal);
        expect(stats.byType.auth ?? 0).toBe(0);
        expect((await get(role, `/logs/${authEntry.id}`)).statusCode).toBe(404);
        expect((await get(role, `/logs/${actionEntry.id}`)).statusCode).toBe(200);
      }

      const adminList = await get('admin', '/logs?limit=200');
      expect((adminList.json().logs as { id: string }[]).map((l) => l.id)).toContain(authEntry.id);
      expect(adminList.json().pagination.total).toBe(totals.length);
      expect((await get('admin', '/logs/count')).json()).toEqual({ count: totals.length });
      expect((await get('admin', '/logs/stats')).json().byType.auth).toBe(authTotal);
      expect((await get('admin', `/logs/${authEntry.id}`)).json()).toMatchObject({ type: 'auth', id: authEntry.id });

      await Promise.all(Object.values(peers).map((p) => p.sync()));
      const hubTypes = (peer: { received: HubMsg[] }) => peer.received.filter((m) => m.type === 'audit_entry').map((m) => m.payload.type);
      expect(hubTypes(peers.admin)).toEqual(['auth', 'action']);
      expect(hubTypes(peers.operator)).toEqual(['action']);
      expect(hubTypes(peers.viewer)).toEqual(['action']);
    });

    it('a cached list for an admin is never served to a viewer', async () => {
      await start();
      expect((await loginAs('admin1', 'typed-by-mistake')).statusCode).toBe(401);
      const admin = await t.app.inject({ method: 'GET', url: '/api/v1/logs', headers: t.auth('admin') });
      expect(admin.body).toContain('login failed for admin1');
      const viewer = await t.app.inject({ method: 'GET', url: '/api/v1/logs', headers: t.auth('viewer') });
      expect(viewer.statusCode).toBe(200);
      expect(viewer.body).not.toContain('login failed');
      expect((viewer.json().logs as { type: string }[]).map((l) => l.type)).not.toContain('auth');
    });
  });
});
