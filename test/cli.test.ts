import { once } from 'node:events';
import { existsSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { childEnv, freePort, killAll, runCli, startServer, type ServerProcess } from './helpers/process.js';

const ADMIN_PASSWORD = 'the configured admin pw';
const PROCESS_TEST_MS = 90_000;

let dir: string;
let dataDir: string;
let port: number;

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'pbfleet-cli-'));
  dataDir = join(dir, 'data');
  port = await freePort();
});
afterEach(async () => {
  await killAll();
  rmSync(dir, { recursive: true, force: true });
});

/** How every process in these tests runs: its own cwd and data dir, on 127.0.0.1 only. */
const options = (vars: Record<string, string> = {}) => ({
  cwd: dir,
  env: childEnv({ PBFLEET_DATA_DIR: dataDir, PBFLEET_PORT: String(port), PBFLEET_HOST: '127.0.0.1', PBFLEET_LOG_LEVEL: 'info', ...vars }),
});

async function login(server: ServerProcess, username: string, password: string) {
  const res = await fetch(`${server.baseUrl}/api/v1/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username, password }),
  });
  return { status: res.status, body: (await res.json()) as { token: string; user: { id: string; username: string; role: string; active: boolean } } };
}

async function loginToken(server: ServerProcess, username: string, password: string): Promise<string> {
  const res = await login(server, username, password);
  expect(res.status, `login as ${username}`).toBe(200);
  return res.body.token;
}

async function meStatus(server: ServerProcess, token: string): Promise<number> {
  const res = await fetch(`${server.baseUrl}/api/v1/auth/me`, { headers: { authorization: `Bearer ${token}` } });
  await res.body?.cancel();
  return res.status;
}

async function stop(server: ServerProcess, signal: NodeJS.Signals = 'SIGTERM') {
  server.signal(signal);
  return server.waitForExit(20_000);
}

/** Resolves with the error code of a TCP connection attempt to the port (undefined if it connected). */
async function connectError(to: number): Promise<string | undefined> {
  const socket = connect({ host: '127.0.0.1', port: to });
  try {
    await once(socket, 'connect');
    return undefined;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code;
  } finally {
    socket.destroy();
  }
}

const countOf = (text: string, needle: string) => text.split(needle).length - 1;

describe('pbfleet configuration errors', () => {
  it(
    'exit with code 2 and one line on stderr naming the key',
    async () => {
      writeFileSync(join(dir, 'bad.yaml'), 'server:\n  prot: 8080\n');
      const [port70000, portAbc, unknownVar, badFile, usersCmd] = await Promise.all([
        runCli(['serve'], options({ PBFLEET_PORT: '70000' })),
        runCli([], options({ PBFLEET_PORT: 'abc' })),
        runCli(['serve'], options({ PBFLEET_PROT: '8080' })),
        runCli(['serve'], options({ PBFLEET_CONFIG: 'bad.yaml' })),
        runCli(['users', 'create', 'bob', '--password', 'long enough pw'], options({ PBFLEET_PORT: '70000' })),
      ]);
      const cases = [
        [port70000, 'server.port: must be an integer 1-65535'],
        [portAbc, 'server.port: must be an integer 1-65535'],
        [unknownVar, 'PBFLEET_PROT: unknown environment variable'],
        [badFile, 'server.prot: unknown key'],
        [usersCmd, 'server.port: must be an integer 1-65535'],
      ] as const;
      for (const [result, message] of cases) {
        expect(result.code, result.stderr).toBe(2);
        const lines = result.stderr.split('\n').filter((line) => line.trim() !== '');
        expect(lines, result.stderr).toHaveLength(1);
        expect(lines[0]).toContain(message);
        expect(result.stdout).toBe('');
      }
      // Nothing was written: configuration is checked before the data dir is touched.
      expect(existsSync(dataDir)).toBe(false);
    },
    PROCESS_TEST_MS,
  );
});

describe('pbfleet serve: first admin', () => {
  it(
    'prints the generated admin password once on the first start; it logs in; the next start prints none',
    async () => {
      const first = await startServer(port, options());
      const match = /created user "admin" with password: (\S+)/.exec(first.stdout);
      expect(match, first.stdout).not.toBeNull();
      const password = match![1]!;
      await loginToken(first, 'admin', password);
      expect(countOf(first.stdout + first.stderr, password)).toBe(1);
      expect(await stop(first)).toEqual({ code: 0, signal: null });
      // Logging in must not have written the password anywhere either.
      expect(countOf(first.stdout + first.stderr, password)).toBe(1);

      // Secrets were generated into the data dir, readable by the owner only.
      for (const file of ['jwt.secret', 'master.key']) expect(statSync(join(dataDir, file)).mode & 0o777).toBe(0o600);

      const second = await startServer(port, options());
      expect(second.stdout).not.toMatch(/password/i);
      await loginToken(second, 'admin', password);
    },
    PROCESS_TEST_MS,
  );

  it(
    'with PBFLEET_ADMIN_PASSWORD on a fresh data dir, that password works and nothing is printed',
    async () => {
      const server = await startServer(port, options({ PBFLEET_ADMIN_PASSWORD: ADMIN_PASSWORD }));
      expect(server.stdout).not.toMatch(/password/i);
      expect(server.stdout + server.stderr).not.toContain(ADMIN_PASSWORD);
      const res = await login(server, 'admin', ADMIN_PASSWORD);
      expect(res.status).toBe(200);
      expect(res.body.user).toMatchObject({ username: 'admin', role: 'admin', active: true });
      expect((await login(server, 'admin', 'some other password')).status).toBe(401);
    },
    PROCESS_TEST_MS,
  );

  it(
    'with users but no active admin (created from the CLI before the first start), warns how to create one',
    async () => {
      const bob = await runCli(['users', 'create', 'bob', '--role', 'operator', '--password', 'long enough pw'], options());
      expect(bob.code, bob.stderr).toBe(0);

      const server = await startServer(port, options({ PBFLEET_ADMIN_PASSWORD: ADMIN_PASSWORD }));
      const warnings = server.stderr.split('\n').filter((line) => line.includes('no active admin'));
      expect(warnings, server.stderr).toHaveLength(1);
      expect(warnings[0]).toContain('run `pbfleet users create <name> --role admin`');
      // No admin appears by itself: bob is the only user.
      expect(server.stdout).not.toMatch(/created user/);
      expect((await login(server, 'admin', ADMIN_PASSWORD)).status).toBe(401);
      expect((await login(server, 'bob', 'long enough pw')).status).toBe(200);
      expect(await stop(server)).toEqual({ code: 0, signal: null });

      const root = await runCli(['users', 'create', 'root', '--role', 'admin', '--password', 'a root password'], options());
      expect(root.code, root.stderr).toBe(0);
      const again = await startServer(port, options());
      expect(again.stdout + again.stderr).not.toContain('no active admin');
      await loginToken(again, 'root', 'a root password');
    },
    PROCESS_TEST_MS,
  );

  it(
    'a session survives a restart on the same data dir',
    async () => {
      const first = await startServer(port, options({ PBFLEET_ADMIN_PASSWORD: ADMIN_PASSWORD }));
      const token = await loginToken(first, 'admin', ADMIN_PASSWORD);
      expect(await meStatus(first, token)).toBe(200);
      expect(await stop(first)).toEqual({ code: 0, signal: null });

      const second = await startServer(port, options({ PBFLEET_ADMIN_PASSWORD: ADMIN_PASSWORD }));
      expect(await meStatus(second, token)).toBe(200);
    },
    PROCESS_TEST_MS,
  );
});

describe('pbfleet users', () => {
  it(
    'users create: with a password, with a generated one, and refusing bad input with code 2',
    async () => {
      const server = await startServer(port, options({ PBFLEET_ADMIN_PASSWORD: ADMIN_PASSWORD }));

      const bob = await runCli(['users', 'create', 'bob', '--role', 'operator', '--email', 'Bob@Example.com', '--password', 'long enough pw'], options());
      expect(bob.code, bob.stderr).toBe(0);
      expect(bob.stdout).toContain('created operator bob');
      expect(bob.stdout).not.toContain('long enough pw');
      const bobLogin = await login(server, 'bob', 'long enough pw');
      expect(bobLogin.status).toBe(200);
      expect(bobLogin.body.user).toMatchObject({ username: 'bob', role: 'operator', active: true });

      const carol = await runCli(['users', 'create', 'carol'], options());
      expect(carol.code, carol.stderr).toBe(0);
      expect(carol.stdout).toContain('created viewer carol');
      const generated = /^password: (\S+)$/m.exec(carol.stdout)?.[1];
      expect(generated, carol.stdout).toBeDefined();
      expect((await login(server, 'carol', generated!)).body.user).toMatchObject({ username: 'carol', role: 'viewer' });

      const [duplicate, badRole, shortPassword, noName] = await Promise.all([
        runCli(['users', 'create', 'bob', '--password', 'another long pw'], options()),
        runCli(['users', 'create', 'dave', '--role', 'superuser', '--password', 'long enough pw'], options()),
        runCli(['users', 'create', 'erin', '--password', 'short'], options()),
        runCli(['users', 'create'], options()),
      ]);
      expect(duplicate.code).toBe(2);
      expect(duplicate.stderr).toContain('user with username "bob" already exists');
      expect(badRole.code).toBe(2);
      expect(badRole.stderr).toContain('--role: must be one of');
      expect(shortPassword.code).toBe(2);
      expect(shortPassword.stderr).toContain('--password: must be at least 8 characters');
      expect(noName.code).toBe(2);

      // The rules the API applies, with one clean line each and no stack trace.
      const [badName, shortName, badEmail, sameEmail] = await Promise.all([
        runCli(['users', 'create', 'Bad Name!', '--password', 'long enough pw'], options()),
        runCli(['users', 'create', 'x', '--password', 'long enough pw'], options()),
        runCli(['users', 'create', 'frank', '--email', 'not-an-email', '--password', 'long enough pw'], options()),
        runCli(['users', 'create', 'grace', '--email', 'BOB@example.com', '--password', 'long enough pw'], options()),
      ]);
      for (const [result, message] of [
        [badName, 'username: must be letters, digits, . _ or -, starting with a letter or digit'],
        [shortName, 'username: must be 2-64 characters'],
        [badEmail, '--email: must be an email address'],
        [sameEmail, 'user with email "bob@example.com" already exists'],
      ] as const) {
        expect(result.code, result.stderr).toBe(2);
        expect(result.stderr).toBe(`pbfleet: ${message}\n`);
        expect(result.stdout).toBe('');
      }

      // The refused ones were not created; bob's password is unchanged.
      expect((await login(server, 'dave', 'long enough pw')).status).toBe(401);
      expect((await login(server, 'bob', 'another long pw')).status).toBe(401);
      expect((await login(server, 'bob', 'long enough pw')).status).toBe(200);
      for (const name of ['bad name!', 'x', 'frank', 'grace']) expect((await login(server, name, 'long enough pw')).status).toBe(401);

      // Audited like the API's creations, by the command line.
      const adminToken = await loginToken(server, 'admin', ADMIN_PASSWORD);
      const res = await fetch(`${server.baseUrl}/api/v1/logs?action=user_create`, { headers: { authorization: `Bearer ${adminToken}` } });
      const created = ((await res.json()) as { logs: { username: string | null; message: string }[] }).logs.filter((l) => l.username === 'cli').map((l) => l.message);
      expect(created.sort()).toEqual(['user bob created with role operator', 'user carol created with role viewer']);
    },
    PROCESS_TEST_MS,
  );

  it(
    'users reset-password: prints a new password, ends the sessions and their sockets, and re-activates the user',
    async () => {
      writeFileSync(join(dir, 'config.yaml'), 'hub:\n  heartbeatInterval: 200ms\n');
      const server = await startServer(port, options({ PBFLEET_ADMIN_PASSWORD: ADMIN_PASSWORD }));
      const oldToken = await loginToken(server, 'admin', ADMIN_PASSWORD);
      expect(await meStatus(server, oldToken)).toBe(200);
      const ws = new WebSocket(`ws://127.0.0.1:${port}/ws`, { headers: { authorization: `Bearer ${oldToken}` } });
      const closed = once(ws, 'close') as Promise<[number, Buffer]>;
      const [welcome] = (await once(ws, 'message')) as [Buffer];
      expect(JSON.parse(welcome.toString('utf8'))).toMatchObject({ type: 'welcome' });

      // While the server runs: the old token stops working within the server's one-second
      // credential cache, and its socket is closed at the next heartbeat, though the reset
      // happened in another process.
      const reset = await runCli(['users', 'reset-password', 'admin'], options());
      expect(reset.code, reset.stderr).toBe(0);
      expect(reset.stdout).toContain('password of admin reset');
      const newPassword = /^password: (\S+)$/m.exec(reset.stdout)?.[1];
      expect(newPassword, reset.stdout).toBeDefined();
      const resetAt = Date.now();
      let status = await meStatus(server, oldToken);
      while (status !== 401 && Date.now() - resetAt < 1500) {
        await new Promise((r) => setTimeout(r, 100));
        status = await meStatus(server, oldToken);
      }
      expect(status).toBe(401);
      expect(Date.now() - resetAt).toBeLessThan(1500);
      const [code, reason] = await Promise.race([
        closed,
        new Promise<never>((_, reject) => setTimeout(() => reject(new Error('the socket was still open 10s after the reset')), 10_000).unref()),
      ]);
      expect({ code, reason: reason.toString('utf8') }).toEqual({ code: 4001, reason: 'credential revoked' });
      expect((await login(server, 'admin', ADMIN_PASSWORD)).status).toBe(401);
      await loginToken(server, 'admin', newPassword!);

      // A deactivated admin is let back in by a reset.
      const root = await runCli(['users', 'create', 'root2', '--role', 'admin', '--password', 'second admin pw'], options());
      expect(root.code, root.stderr).toBe(0);
      const rootToken = await loginToken(server, 'root2', 'second admin pw');
      const users = (await (await fetch(`${server.baseUrl}/api/v1/users`, { headers: { authorization: `Bearer ${rootToken}` } })).json()) as {
        users: { id: string; username: string }[];
      };
      const adminId = users.users.find((u) => u.username === 'admin')?.id;
      expect(adminId).toBeDefined();
      const deactivate = await fetch(`${server.baseUrl}/api/v1/users/${adminId}`, {
        method: 'PUT',
        headers: { authorization: `Bearer ${rootToken}`, 'content-type': 'application/json' },
        body: JSON.stringify({ active: false }),
      });
      expect(deactivate.status).toBe(200);
      expect((await login(server, 'admin', newPassword!)).status).toBe(401);

      // With the server stopped this time, and a password given: nothing printed but the notice.
      expect(await stop(server)).toEqual({ code: 0, signal: null });
      const again = await runCli(['users', 'reset-password', 'admin', '--password', 'back in business'], options());
      expect(again.code, again.stderr).toBe(0);
      expect(again.stdout).not.toMatch(/^password:/m);
      const restarted = await startServer(port, options({ PBFLEET_ADMIN_PASSWORD: ADMIN_PASSWORD }));
      const back = await login(restarted, 'admin', 'back in business');
      expect(back.status).toBe(200);
      expect(back.body.user).toMatchObject({ username: 'admin', active: true });

      const missing = await runCli(['users', 'reset-password', 'nobody'], options());
      expect(missing.code).toBe(2);
      expect(missing.stderr).toContain('user nobody not found');
    },
    PROCESS_TEST_MS,
  );
});

describe.each(['SIGTERM', 'SIGINT'] as const)('graceful shutdown on %s', (signal) => {
  it(
    'closes WebSockets with 1001, finishes the request in flight, exits 0 and stops listening',
    async () => {
      const server = await startServer(port, options({ PBFLEET_ADMIN_PASSWORD: ADMIN_PASSWORD }));
      const token = await loginToken(server, 'admin', ADMIN_PASSWORD);

      const ws = new WebSocket(`ws://127.0.0.1:${port}/ws`, { headers: { authorization: `Bearer ${token}` } });
      const closed = once(ws, 'close') as Promise<[number, Buffer]>;
      const [welcome] = (await once(ws, 'message')) as [Buffer];
      expect(JSON.parse(welcome.toString('utf8'))).toMatchObject({ type: 'welcome' });

      // A login whose headers the server has accepted (it answered 100 Continue) but whose body
      // only arrives once shutdown has begun: it must still be answered.
      const body = JSON.stringify({ username: 'admin', password: ADMIN_PASSWORD });
      const inFlight = httpRequest({
        host: '127.0.0.1',
        port,
        method: 'POST',
        path: '/api/v1/auth/login',
        agent: false,
        headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), expect: '100-continue' },
      });
      const response = once(inFlight, 'response') as Promise<[IncomingMessage]>;
      await once(inFlight, 'continue');

      server.signal(signal);
      const [code, reason] = await closed;
      expect(code).toBe(1001);
      expect(reason.toString('utf8')).toBe('server shutting down');

      inFlight.end(body);
      const [res] = await response;
      let text = '';
      for await (const chunk of res) text += String(chunk);
      expect(res.statusCode, text).toBe(200);
      expect(JSON.parse(text)).toMatchObject({ token: expect.any(String) });

      // The default server.shutdownTimeout is 10s; past it the process would exit 1 on its own.
      expect(await server.waitForExit(20_000)).toEqual({ code: 0, signal: null });
      expect(server.stdout).toContain(`"signal":"${signal}"`);
      expect(await connectError(port)).toBe('ECONNREFUSED');
      await expect(fetch(`${server.baseUrl}/api/v1/health`)).rejects.toThrow();
    },
    PROCESS_TEST_MS,
  );
});
