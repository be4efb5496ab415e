import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SYSTEM_ACTOR } from '../src/modules/auth/auth.types.js';
import { createTestApp, login, PASSWORD, type TestApp } from './helpers/app.js';
import { testDatabases } from './helpers/databases.js';

interface UserView {
  id: string;
  username: string;
  email: string | null;
  role: string;
  active: boolean;
}

interface LogView {
  action: string | null;
  level: string;
  userId: string | null;
  username: string | null;
  requestId: string | null;
  message: string;
  details: Record<string, unknown> | null;
}

/** The fields a 400 or 409 names. */
const fieldsOf = (res: { json<T>(): T }) => res.json<{ error: { details: { fields: { field: string }[] } } }>().error.details.fields.map((f) => f.field);

const HASH_OR_PASSWORD = /argon2|password_?hash|"password"/i;

describe.each(testDatabases)('users on $name', (database) => {
  let t: TestApp;
  beforeEach(async () => {
    t = await createTestApp(database);
  });
  afterEach(async () => {
    await t.close();
  });

  const inject = (method: 'GET' | 'POST' | 'PUT' | 'DELETE', url: string, payload?: object, role: 'admin' | 'operator' | 'viewer' = 'admin') =>
    t.app.inject({ method, url: `/api/v1${url}`, headers: t.auth(role), ...(payload && { payload }) });

  const createUser = async (body: Record<string, unknown>) => {
    const res = await inject('POST', '/users', { password: 'a long enough secret', role: 'viewer', ...body });
    expect(res.statusCode, res.body).toBe(201);
    return res.json<UserView>();
  };

  const logs = async (query: string) => {
    const res = await inject('GET', `/logs?${query}`);
    expect(res.statusCode).toBe(200);
    return { entries: res.json<{ logs: LogView[] }>().logs, body: res.body };
  };

  describe('access', () => {
    it('is admin only: operators and viewers get 403, anonymous callers 401', async () => {
      const routes: ['GET' | 'POST' | 'PUT' | 'DELETE', string, object?][] = [
        ['GET', '/users'],
        ['POST', '/users', { username: 'sneaky', password: 'a long enough secret', role: 'admin' }],
        ['GET', `/users/${t.userIds.viewer}`],
        ['PUT', `/users/${t.userIds.operator}`, { role: 'admin' }],
        ['DELETE', `/users/${t.userIds.viewer}`],
        ['POST', `/users/${t.userIds.viewer}/password/reset`, {}],
      ];
      for (const [method, url, payload] of routes) {
        for (const role of ['operator', 'viewer'] as const) {
          const res = await inject(method, url, payload, role);
          expect(res.statusCode, `${role} ${method} ${url}`).toBe(403);
          expect(res.json().error.code).toBe('FORBIDDEN');
        }
        const anonymous = await t.app.inject({ method, url: `/api/v1${url}`, ...(payload && { payload }) });
        expect(anonymous.statusCode, `anonymous ${method} ${url}`).toBe(401);
      }
      // Nothing any of them tried happened.
      const list = await inject('GET', '/users');
      expect(list.json<{ users: UserView[] }>().users.map((u) => [u.username, u.role])).toEqual([
        ['admin1', 'admin'],
        ['operator1', 'operator'],
        ['viewer1', 'viewer'],
      ]);
    });
  });

  describe('list', () => {
    beforeEach(async () => {
      // Created directly so the list tests can use names the API would refuse.
      for (const [username, email, role, active] of [
        ['alice', 'Alice@Example.com', 'viewer', true],
        ['bob_x', null, 'operator', true],
        ['bobyx', 'percent%sign@example.org', 'viewer', false],
        ['carol', 'carol@corp.example', 'admin', false],
      ] as const) {
        await t.services.users.create({ username, email, password: PASSWORD, role, active }, SYSTEM_ACTOR);
      }
    });

    it('returns users sorted by name with pagination, never a hash', async () => {
      const res = await inject('GET', '/users');
      expect(res.statusCode).toBe(200);
      const body = res.json<{ users: (UserView & { lastLogin: string | null })[]; pagination: unknown }>();
      expect(body.pagination).toEqual({ page: 1, limit: 50, total: 7, totalPages: 1 });
      expect(body.users.map((u) => u.username)).toEqual(['admin1', 'alice', 'bob_x', 'bobyx', 'carol', 'operator1', 'viewer1']);
      expect(body.users[1]).toEqual({
        id: expect.any(String),
        username: 'alice',
        email: 'alice@example.com',
        role: 'viewer',
        active: true,
        lastLogin: null,
        createdAt: expect.any(String),
        updatedAt: expect.any(String),
      });
      expect(body.users[0]?.lastLogin).toEqual(expect.any(String));
      expect(res.body).not.toMatch(HASH_OR_PASSWORD);
    });

    it('pages through with page and limit', async () => {
      const pages: string[][] = [];
      for (const page of [1, 2, 3, 4]) {
        const res = await inject('GET', `/users?page=${page}&limit=3`);
        expect(res.statusCode).toBe(200);
        expect(res.json().pagination).toEqual({ page, limit: 3, total: 7, totalPages: 3 });
        pages.push(res.json<{ users: UserView[] }>().users.map((u) => u.username));
      }
      expect(pages).toEqual([['admin1', 'alice', 'bob_x'], ['bobyx', 'carol', 'operator1'], ['viewer1'], []]);
    });

    it('filters by role, active flag and text in username or email', async () => {
      const names = async (query: string) => {
        const res = await inject('GET', `/users?${query}`);
        expect(res.statusCode, res.body).toBe(200);
        const body = res.json<{ users: UserView[]; pagination: { total: number } }>();
        expect(body.pagination.total).toBe(body.users.length);
        return body.users.map((u) => u.username);
      };
      expect(await names('role=admin')).toEqual(['admin1', 'carol']);
      expect(await names('role=operator')).toEqual(['bob_x', 'operator1']);
      expect(await names('active=false')).toEqual(['bobyx', 'carol']);
      expect(await names('active=true&role=admin')).toEqual(['admin1']);
      expect(await names('q=ALI')).toEqual(['alice']);
      expect(await names('q=example.com')).toEqual(['alice']);
      expect(await names('q=EXAMPLE')).toEqual(['alice', 'bobyx', 'carol']);
      expect(await names('q=1')).toEqual(['admin1', 'operator1', 'viewer1']);
      // LIKE wildcards in the search text match themselves only.
      expect(await names(`q=${encodeURIComponent('bob_')}`)).toEqual(['bob_x']);
      expect(await names(`q=${encodeURIComponent('%')}`)).toEqual(['bobyx']);
      expect(await names('q=nobody')).toEqual([]);
      const paged = await inject('GET', '/users?q=o&page=2&limit=2');
      expect(paged.json().pagination).toEqual({ page: 2, limit: 2, total: 5, totalPages: 3 });
      expect(paged.json<{ users: UserView[] }>().users.map((u) => u.username)).toEqual(['bobyx', 'carol']);
    });

    it('refuses bad query parameters', async () => {
      for (const query of ['limit=0', 'limit=501', 'page=0', 'page=x', 'role=root', 'active=maybe', 'sort=name', 'q=a%00b', 'q=a%7Fb', 'q=a%C2%85b', 'q=a%C2%9Fb']) {
        const res = await inject('GET', `/users?${query}`);
        expect(res.statusCode, query).toBe(400);
        expect(res.json().error.code).toBe('VALIDATION_ERROR');
        expect(res.json().error.details.fields[0].field).toBe(query.split('=')[0]);
      }
    });
  });

  describe('create', () => {
    it('creates a user (201), lowercasing username and email, and never echoes the password', async () => {
      const res = await inject('POST', '/users', { username: 'New.User', email: 'New.User@Example.COM', password: 'my very secret pw', role: 'operator' });
      expect(res.statusCode).toBe(201);
      const user = res.json<UserView>();
      expect(user).toMatchObject({ username: 'new.user', email: 'new.user@example.com', role: 'operator', active: true });
      expect(res.body).not.toContain('my very secret pw');
      expect(res.body).not.toMatch(HASH_OR_PASSWORD);

      const fetched = await inject('GET', `/users/${user.id}`);
      expect(fetched.json()).toEqual(user);
      const row = await t.database.db.selectFrom('users').select('password_hash').where('id', '=', user.id).executeTakeFirstOrThrow();
      expect(row.password_hash).toMatch(/^\$argon2id\$/);
      expect(row.password_hash).not.toContain('my very secret pw');

      // The new user can log in with any capitalisation of the name.
      await expect(login(t.app, 'NEW.USER', 'my very secret pw')).resolves.toEqual(expect.any(String));
    });

    it('creates an inactive user that cannot log in', async () => {
      await createUser({ username: 'dormant', active: false });
      await expect(login(t.app, 'dormant', 'a long enough secret')).rejects.toThrow(/401/);
    });

    it('refuses a duplicate username or email with 409 ALREADY_EXISTS naming the field', async () => {
      await createUser({ username: 'taken', email: 'taken@example.com' });

      const sameName = await inject('POST', '/users', { username: 'TAKEN', password: 'a long enough secret', role: 'viewer' });
      expect(sameName.statusCode).toBe(409);
      expect(sameName.json().error).toMatchObject({ code: 'ALREADY_EXISTS', details: { fields: [{ field: 'username' }] } });
      expect(sameName.json().error.message).toContain('username');

      const sameEmail = await inject('POST', '/users', { username: 'other', email: 'Taken@Example.com', password: 'a long enough secret', role: 'viewer' });
      expect(sameEmail.statusCode).toBe(409);
      expect(sameEmail.json().error).toMatchObject({ code: 'ALREADY_EXISTS', details: { fields: [{ field: 'email' }] } });

      const list = await inject('GET', '/users?q=other');
      expect(list.json().pagination.total).toBe(0);
    });

    it('refuses invalid bodies, naming the field', async () => {
      const cases: [Record<string, unknown>, string][] = [
        [{ username: 'x', password: 'a long enough secret', role: 'viewer' }, 'username'],
        [{ username: 'bad name', password: 'a long enough secret', role: 'viewer' }, 'username'],
        [{ username: '-dash', password: 'a long enough secret', role: 'viewer' }, 'username'],
        [{ username: 'shorty', password: 'short', role: 'viewer' }, 'password'],
        [{ username: 'noRole', password: 'a long enough secret' }, 'role'],
        [{ username: 'root', password: 'a long enough secret', role: 'root' }, 'role'],
        [{ username: 'mail', email: 'not-an-email', password: 'a long enough secret', role: 'viewer' }, 'email'],
        [{ username: 'extra', password: 'a long enough secret', role: 'viewer', passwordHash: 'x' }, 'passwordHash'],
        [{ username: 'typed', password: 'a long enough secret', role: 'viewer', active: 'yes' }, 'active'],
      ];
      for (const [body, field] of cases) {
        const res = await inject('POST', '/users', body);
        expect(res.statusCode, JSON.stringify(body)).toBe(400);
        expect(res.json().error.code).toBe('VALIDATION_ERROR');
        expect(fieldsOf(res)).toContain(field);
        expect(res.body).not.toContain('a long enough secret');
      }
      expect((await inject('GET', '/users')).json().pagination.total).toBe(3);
    });

    it('the service applies the same rules to callers without a schema in front (the CLI)', async () => {
      const users = t.services.users;
      const refused = { code: 'VALIDATION_ERROR' };
      const field = (name: string) => ({ ...refused, details: { fields: [expect.objectContaining({ field: name })] } });
      await expect(users.create({ username: 'Bad Name!', password: 'a long enough secret', role: 'viewer' }, SYSTEM_ACTOR)).rejects.toMatchObject(field('username'));
      await expect(users.create({ username: 'x', password: 'a long enough secret', role: 'viewer' }, SYSTEM_ACTOR)).rejects.toMatchObject(field('username'));
      await expect(users.create({ username: 'mail', email: 'not-an-email', password: 'a long enough secret', role: 'viewer' }, SYSTEM_ACTOR)).rejects.toMatchObject(field('email'));
      await expect(users.create({ username: 'mail', email: '', password: 'a long enough secret', role: 'viewer' }, SYSTEM_ACTOR)).rejects.toMatchObject(field('email'));
      await expect(users.create({ username: 'shorty', password: 'short', role: 'viewer' }, SYSTEM_ACTOR)).rejects.toMatchObject(field('password'));
      await expect(users.update(t.userIds.viewer, { email: 'nope' }, SYSTEM_ACTOR)).rejects.toMatchObject(field('email'));
      await expect(users.resetPassword(t.userIds.viewer, 'short', SYSTEM_ACTOR)).rejects.toMatchObject(field('newPassword'));
      expect((await inject('GET', '/users')).json().pagination.total).toBe(3);
      expect((await inject('GET', `/users/${t.userIds.viewer}`)).json().email).toBeNull();
      await expect(login(t.app, 'viewer1')).resolves.toEqual(expect.any(String));
    });

    it('audits the creation with the acting admin, without the password', async () => {
      const user = await createUser({ username: 'audited', password: 'audit-me-not-123' });
      const { entries, body } = await logs('action=user_create');
      const entry = entries.find((e) => e.details?.userId === user.id);
      expect(entry).toMatchObject({ level: 'success', userId: t.userIds.admin, username: 'admin1', requestId: expect.any(String) });
      expect(entry?.message).toContain('audited');
      expect(body).not.toContain('audit-me-not-123');
      expect(body).not.toMatch(/argon2/);
    });
  });

  describe('get, update, delete', () => {
    it('answers 404 for an unknown user on every route, and 400 for a malformed id', async () => {
      const unknown = '01900000-0000-7000-8000-000000000000';
      for (const [method, url, payload] of [
        ['GET', `/users/${unknown}`],
        ['PUT', `/users/${unknown}`, { role: 'viewer' }],
        ['DELETE', `/users/${unknown}`],
        ['POST', `/users/${unknown}/password/reset`, {}],
      ] as const) {
        const res = await inject(method, url, payload);
        expect(res.statusCode, `${method} ${url}`).toBe(404);
        expect(res.json().error.code).toBe('NOT_FOUND');
      }
      const malformed = await inject('GET', '/users/not%20an%20id');
      expect(malformed.statusCode).toBe(400);
    });

    it('updates email, role and active flag, keeping what is not given', async () => {
      const res = await inject('PUT', `/users/${t.userIds.viewer}`, { email: 'Viewer@Example.com', role: 'operator' });
      expect(res.statusCode).toBe(200);
      expect(res.json()).toMatchObject({ id: t.userIds.viewer, username: 'viewer1', email: 'viewer@example.com', role: 'operator', active: true });
      expect(res.body).not.toMatch(HASH_OR_PASSWORD);

      // The new role applies to the running session at once.
      const me = await t.app.inject({ method: 'GET', url: '/api/v1/auth/me', headers: t.auth('viewer') });
      expect(me.json().role).toBe('operator');

      const cleared = await inject('PUT', `/users/${t.userIds.viewer}`, { email: null });
      expect(cleared.json()).toMatchObject({ email: null, role: 'operator', active: true });
      expect((await inject('GET', `/users/${t.userIds.viewer}`)).json()).toMatchObject({ email: null, role: 'operator' });
    });

    it('refuses an empty or invalid update and an email someone else has', async () => {
      await createUser({ username: 'owner', email: 'owner@example.com' });
      for (const body of [{}, { role: 'root' }, { username: 'renamed' }, { active: 'no' }, { email: 'nope' }]) {
        const res = await inject('PUT', `/users/${t.userIds.viewer}`, body);
        expect(res.statusCode, JSON.stringify(body)).toBe(400);
      }
      const dup = await inject('PUT', `/users/${t.userIds.viewer}`, { email: 'OWNER@example.com' });
      expect(dup.statusCode).toBe(409);
      expect(dup.json().error).toMatchObject({ code: 'ALREADY_EXISTS', details: { fields: [{ field: 'email' }] } });
      expect((await inject('GET', `/users/${t.userIds.viewer}`)).json()).toMatchObject({ email: null, role: 'viewer' });
    });

    it('deactivating a user ends their sessions; reactivating lets them log in again', async () => {
      const off = await inject('PUT', `/users/${t.userIds.operator}`, { active: false });
      expect(off.json().active).toBe(false);
      expect((await t.app.inject({ method: 'GET', url: '/api/v1/auth/me', headers: t.auth('operator') })).statusCode).toBe(401);
      await expect(login(t.app, 'operator1')).rejects.toThrow(/401/);
      await inject('PUT', `/users/${t.userIds.operator}`, { active: true });
      await expect(login(t.app, 'operator1')).resolves.toEqual(expect.any(String));
    });

    it('deletes a user: gone from the API, their token stops working', async () => {
      const res = await inject('DELETE', `/users/${t.userIds.operator}`);
      expect(res.statusCode).toBe(200);
      expect(res.json()).toEqual({ ok: true });
      expect((await inject('GET', `/users/${t.userIds.operator}`)).statusCode).toBe(404);
      expect((await t.app.inject({ method: 'GET', url: '/api/v1/auth/me', headers: t.auth('operator') })).statusCode).toBe(401);
      expect((await inject('DELETE', `/users/${t.userIds.operator}`)).statusCode).toBe(404);
      // The name is free again.
      await createUser({ username: 'operator1' });
    });

    it('an admin cannot delete themself', async () => {
      await createUser({ username: 'admin2', role: 'admin' });
      const res = await inject('DELETE', `/users/${t.userIds.admin}`);
      expect(res.statusCode).toBe(409);
      expect(res.json().error.code).toBe('CONFLICT');
      expect((await inject('GET', `/users/${t.userIds.admin}`)).statusCode).toBe(200);
    });
  });

  describe('the last active admin', () => {
    it('cannot be demoted or deactivated (409), also not by themself', async () => {
      for (const body of [{ role: 'operator' }, { role: 'viewer' }, { active: false }, { role: 'viewer', active: false }]) {
        const res = await inject('PUT', `/users/${t.userIds.admin}`, body);
        expect(res.statusCode, JSON.stringify(body)).toBe(409);
        expect(res.json().error.code).toBe('CONFLICT');
        expect(res.json().error.message).toMatch(/last active admin/);
      }
      expect((await inject('GET', `/users/${t.userIds.admin}`)).json()).toMatchObject({ role: 'admin', active: true });
      // Changes that keep them an active admin are fine.
      expect((await inject('PUT', `/users/${t.userIds.admin}`, { email: 'root@example.com', role: 'admin', active: true })).statusCode).toBe(200);
    });

    it('cannot be deleted', async () => {
      await expect(t.services.users.delete(t.userIds.admin, SYSTEM_ACTOR)).rejects.toMatchObject({ code: 'CONFLICT' });
      expect((await inject('GET', `/users/${t.userIds.admin}`)).statusCode).toBe(200);
    });

    it('an inactive admin does not count; once another admin is active, the first can be demoted', async () => {
      const second = await createUser({ username: 'admin2', role: 'admin', active: false });
      expect((await inject('PUT', `/users/${t.userIds.admin}`, { role: 'operator' })).statusCode).toBe(409);

      expect((await inject('PUT', `/users/${second.id}`, { active: true })).statusCode).toBe(200);
      const demoted = await inject('PUT', `/users/${t.userIds.admin}`, { role: 'operator' });
      expect(demoted.statusCode).toBe(200);
      expect(demoted.json().role).toBe('operator');
      // admin1's own session is now an operator's.
      expect((await inject('GET', '/users')).statusCode).toBe(403);

      // admin2 is now the last one and is protected in turn.
      const token2 = await login(t.app, 'admin2', 'a long enough secret');
      const self = await t.app.inject({ method: 'PUT', url: `/api/v1/users/${second.id}`, headers: { authorization: `Bearer ${token2}` }, payload: { active: false } });
      expect(self.statusCode).toBe(409);
    });

    it('two admins demoting or deleting each other at the same time leave one admin', async () => {
      const activeAdmins = () => t.database.db.selectFrom('users').select('id').where('role', '=', 'admin').where('active', '=', 1).execute();
      // Only the two rivals of each round are admins.
      await t.database.db.updateTable('users').set({ role: 'viewer' }).where('id', '=', t.userIds.admin).execute();
      for (let round = 0; round < 8; round++) {
        const [a, b] = await Promise.all(
          ['a', 'b'].map((side) => t.services.users.create({ username: `rival-${side}${round}`, password: PASSWORD, role: 'admin' }, SYSTEM_ACTOR)),
        );
        const headersOf = async (name: string) => ({ authorization: `Bearer ${await login(t.app, name)}` });
        const [asA, asB] = [await headersOf(`rival-a${round}`), await headersOf(`rival-b${round}`)];
        const deleting = round % 2 === 1;
        const attack = (headers: Record<string, string>, target: string) =>
          deleting
            ? t.app.inject({ method: 'DELETE', url: `/api/v1/users/${target}`, headers })
            : t.app.inject({ method: 'PUT', url: `/api/v1/users/${target}`, headers, payload: round % 4 === 0 ? { role: 'operator' } : { active: false } });
        const results = await Promise.all([attack(asA, b!.id), attack(asB, a!.id)]);
        // One wins; the other is refused as the last admin, or (when it came second) no longer is one.
        const statuses = results.map((r) => r.statusCode).sort();
        expect(statuses[0], `round ${round}`).toBe(200);
        expect([401, 403, 409], `round ${round}: ${statuses.join(', ')}`).toContain(statuses[1]);
        const left = await activeAdmins();
        expect(left, `round ${round}`).toHaveLength(1);
        await t.database.db.updateTable('users').set({ role: 'viewer' }).where('id', '=', left[0]!.id).execute();
      }
    });

    it('can be deactivated or deleted once another admin exists', async () => {
      const second = await createUser({ username: 'admin2', role: 'admin' });
      const token2 = await login(t.app, 'admin2', 'a long enough secret');
      const as2 = { authorization: `Bearer ${token2}` };
      const deleted = await t.app.inject({ method: 'DELETE', url: `/api/v1/users/${t.userIds.admin}`, headers: as2 });
      expect(deleted.statusCode).toBe(200);
      expect((await t.app.inject({ method: 'GET', url: '/api/v1/users', headers: t.auth('admin') })).statusCode).toBe(401);
      const remaining = await t.app.inject({ method: 'GET', url: '/api/v1/users?role=admin', headers: as2 });
      expect(remaining.json<{ users: UserView[] }>().users.map((u) => u.id)).toEqual([second.id]);
    });
  });

  describe('password reset', () => {
    it('with a given password: that one works, the old one and old sessions do not', async () => {
      const second = await login(t.app, 'operator1');
      const res = await inject('POST', `/users/${t.userIds.operator}/password/reset`, { newPassword: 'chosen by the admin' });
      expect(res.statusCode).toBe(200);
      expect(res.json()).toEqual({ ok: true });
      expect(res.body).not.toContain('chosen by the admin');

      for (const token of [t.tokens.operator, second]) {
        expect((await t.app.inject({ method: 'GET', url: '/api/v1/auth/me', headers: { authorization: `Bearer ${token}` } })).statusCode).toBe(401);
      }
      await expect(login(t.app, 'operator1')).rejects.toThrow(/401/);
      await expect(login(t.app, 'operator1', 'chosen by the admin')).resolves.toEqual(expect.any(String));
      // Other users' sessions are untouched.
      expect((await t.app.inject({ method: 'GET', url: '/api/v1/auth/me', headers: t.auth('viewer') })).statusCode).toBe(200);
    });

    it('without a password: a generated one is returned once and works for login', async () => {
      const res = await inject('POST', `/users/${t.userIds.viewer}/password/reset`, {});
      expect(res.statusCode).toBe(200);
      const { temporaryPassword } = res.json<{ ok: true; temporaryPassword: string }>();
      expect(temporaryPassword).toEqual(expect.any(String));
      expect(temporaryPassword.length).toBeGreaterThanOrEqual(16);
      expect((await t.app.inject({ method: 'GET', url: '/api/v1/auth/me', headers: t.auth('viewer') })).statusCode).toBe(401);
      await expect(login(t.app, 'viewer1')).rejects.toThrow(/401/);
      await expect(login(t.app, 'viewer1', temporaryPassword)).resolves.toEqual(expect.any(String));

      // A second reset generates a different one; the first stops working.
      const again = await inject('POST', `/users/${t.userIds.viewer}/password/reset`, {});
      const next = again.json().temporaryPassword as string;
      expect(next).not.toBe(temporaryPassword);
      await expect(login(t.app, 'viewer1', temporaryPassword)).rejects.toThrow(/401/);

      // The generated password is nowhere in the audit log or the user record.
      const { body } = await logs('action=password_reset');
      expect(body).not.toContain(temporaryPassword);
      expect(body).not.toContain(next);
      expect((await inject('GET', `/users/${t.userIds.viewer}`)).body).not.toContain(next);
    });

    it('refuses a too short password or unknown fields, changing nothing', async () => {
      for (const body of [{ newPassword: 'short' }, { newPassword: 'long enough but', extra: 1 }, { newPassword: 12345678 }]) {
        const res = await inject('POST', `/users/${t.userIds.viewer}/password/reset`, body);
        expect(res.statusCode, JSON.stringify(body)).toBe(400);
      }
      await expect(login(t.app, 'viewer1')).resolves.toEqual(expect.any(String));
      expect((await t.app.inject({ method: 'GET', url: '/api/v1/auth/me', headers: t.auth('viewer') })).statusCode).toBe(200);
    });
  });

  it('audits every mutation, with the acting admin and never a password', async () => {
    const created = await createUser({ username: 'lifecycle', email: 'life@example.com', password: 'first-password-1' });
    await inject('PUT', `/users/${created.id}`, { role: 'operator', active: false });
    await inject('POST', `/users/${created.id}/password/reset`, { newPassword: 'second-password-2' });
    const generated = (await inject('POST', `/users/${created.id}/password/reset`, {})).json().temporaryPassword as string;
    await inject('DELETE', `/users/${created.id}`);

    const all = await logs('limit=500');
    for (const secret of ['first-password-1', 'second-password-2', generated]) expect(all.body).not.toContain(secret);
    expect(all.body).not.toMatch(/argon2/);

    const mine = all.entries.filter((e) => e.details?.userId === created.id).reverse();
    expect(mine.map((e) => [e.action, e.level])).toEqual([
      ['user_create', 'success'],
      ['user_update', 'success'],
      ['password_reset', 'warning'],
      ['password_reset', 'warning'],
      ['user_delete', 'warning'],
    ]);
    for (const entry of mine) expect(entry).toMatchObject({ userId: t.userIds.admin, username: 'admin1', requestId: expect.any(String) });
    expect(mine[1]?.details).toEqual({ userId: created.id, changes: { role: 'operator', active: false } });
    expect(mine[2]?.details).toMatchObject({ generated: false });
    expect(mine[3]?.details).toMatchObject({ generated: true });

    // Each action can be found by the filter the UI uses.
    for (const action of ['user_create', 'user_update', 'password_reset', 'user_delete']) {
      const { entries } = await logs(`action=${action}`);
      expect(entries.some((e) => e.details?.userId === created.id), action).toBe(true);
      expect(entries.every((e) => e.action === action)).toBe(true);
    }
  });

  it('refused mutations leave no audit entry', async () => {
    const before = (await logs('limit=500')).entries.length;
    await inject('PUT', `/users/${t.userIds.admin}`, { role: 'viewer' });
    await inject('POST', '/users', { username: 'admin1', password: 'a long enough secret', role: 'viewer' });
    await inject('DELETE', `/users/${t.userIds.admin}`);
    await inject('POST', '/users', { username: 'sneaky', password: 'a long enough secret', role: 'admin' }, 'operator');
    expect((await logs('limit=500')).entries.length).toBe(before);
  });
});
