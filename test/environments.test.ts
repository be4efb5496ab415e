import os from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LOG_REDACT } from '../src/app.js';
import type { Environment } from '../src/modules/environments/environments.types.js';
import { createTestApp, type TestApp } from './helpers/app.js';
import { testDatabases } from './helpers/databases.js';
import {
  apiClient,
  auditEntries,
  dumpDatabase,
  fingerprintOfFile,
  generateKey,
  hubSpy,
  keyMaterial,
  LOOPBACK_ALLOWED,
  NO_CHECK,
  QUIET_SSH_CHECK,
  sshEnvironmentBody,
  until,
  type ApiClient,
  type ErrorBody,
} from './helpers/environments.js';
import { startHttpTargets } from './helpers/http-targets.js';
import { PASSWORD_USER, ensurePasswordUser, isRoot, sshdAvailable, startSshd, useSshd } from './helpers/sshd.js';

/**
 * Environments end to end through the HTTP API: the built-in local environment, write-only
 * credentials sealed at rest, input validation, listing, the VPS routes, roles, and, against a
 * real sshd, host keys (trust on first use, pinning, rotation, acceptance), key, passphrase and
 * password authentication, and system info.
 */

const key = generateKey();
const encrypted = generateKey('a passphrase nobody guesses');
/** A host in TEST-NET-1: configured, never contacted. */
const ENV_HOST = '192.0.2.10';

const plainBody = (name: string, extra: Record<string, unknown> = {}): Record<string, unknown> => ({
  name,
  target: { host: ENV_HOST, port: 22 },
  credentials: { type: 'key', username: 'deploy', privateKey: key.privateKey },
  healthCheck: NO_CHECK,
  ...extra,
});

/** Sets a dotted path in a copy of the body. */
function withField(body: Record<string, unknown>, path: string, value: unknown): Record<string, unknown> {
  const copy = structuredClone(body);
  const keys = path.split('.');
  let node = copy;
  for (const k of keys.slice(0, -1)) node = (node[k] ??= {}) as Record<string, unknown>;
  node[keys.at(-1) as string] = value;
  return copy;
}

function expectFieldError(res: { statusCode: number; body: string; json: <T>() => T }, field: string, status = 400): void {
  expect(res.statusCode, res.body).toBe(status);
  const { error } = res.json<ErrorBody>();
  expect(error.code).toBe(status === 400 ? 'VALIDATION_ERROR' : 'ALREADY_EXISTS');
  expect(error.details?.fields?.map((f) => f.field), res.body).toContain(field);
  expect(error.message).toContain(field);
}

/** What a refused request must leave untouched. */
/**
 * What a request could have written. The local environment's own health check runs in the background (at start and
 * every minute) and audits its status changes: those rows are not the request's, so they are left out.
 */
async function rowCounts(t: TestApp): Promise<string> {
  const db = t.database.db;
  const count = async (table: 'environments' | 'operations') =>
    Number((await db.selectFrom(table).select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow()).n);
  const audited = Number(
    (await db.selectFrom('audit_logs').select((eb) => eb.fn.countAll().as('n')).where('type', '!=', 'health_check').executeTakeFirstOrThrow()).n,
  );
  return JSON.stringify([await count('environments'), audited, await count('operations')]);
}

describe.each(testDatabases)('environments on $name', (database) => {
  let t: TestApp;
  let api: ApiClient;

  beforeAll(async () => {
    t = await createTestApp(database, { overrides: LOOPBACK_ALLOWED });
    api = apiClient(t);
  });
  afterAll(async () => {
    await t?.close();
  });

  it('the built-in local environment is there, cannot be deleted, and takes its runtime from /settings/paths', async () => {
    const local = await api.environment('local');
    expect(local).toMatchObject({ id: 'local', name: 'local', kind: 'local', target: null, credentials: null, hostKey: null, healthCheck: { enabled: true, type: 'local' } });
    // This machine is checked at start, like a server: a real result, not "healthy" unchecked.
    const checked = await until(async () => {
      const { status } = await api.environment('local');
      return status.lastCheck ? status : undefined;
    }, 'the first local health check');
    expect(checked).toMatchObject({ health: 'healthy', message: 'local probe ok', consecutiveFailures: 0, lastHealthyAt: expect.any(String) });
    expect(checked.responseTime).toEqual(expect.any(Number));
    expect((await api.get('/environments?limit=500')).json<{ environments: Environment[] }>().environments.map((e) => e.id)).toContain('local');

    const before = await rowCounts(t);
    const refused = await api.del('/environments/local');
    expect(refused.statusCode).toBe(409);
    expect(refused.json<ErrorBody>().error.code).toBe('CONFLICT');
    expect((await api.del('/vps/servers/local')).statusCode).toBe(409);
    const runtime = await api.put('/environments/local', { runtime: { passivbotDir: '/opt/elsewhere' } });
    expectFieldError(runtime, 'runtime');
    expect(runtime.json<ErrorBody>().error.message).toContain('/settings/paths');
    expectFieldError(await api.put('/environments/local', { target: { host: 'example.com' } }), 'target');
    expect(await rowCounts(t)).toBe(before);

    const paths = { passivbotDir: '/opt/pb7', pythonPath: '/opt/pb7/venv/bin/python', passivbotKind: 'cli', dataDir: '/srv/pbfleet-bots', logDir: '' };
    expect((await api.put('/settings/paths', paths)).statusCode).toBe(200);
    expect((await api.environment('local')).runtime).toEqual({ passivbotDir: '/opt/pb7', pythonPath: '/opt/pb7/venv/bin/python', kind: 'cli', workDir: '/srv/pbfleet-bots' });
    expect((await api.put('/settings/paths', { ...paths, passivbotKind: 'v7', dataDir: '' })).statusCode).toBe(200);
    expect((await api.environment('local')).runtime).toEqual({ passivbotDir: '/opt/pb7', pythonPath: '/opt/pb7/venv/bin/python', kind: 'v7', workDir: `${t.config.dataDir}/bots` });

    const described = await api.put('/environments/local', { description: 'the control plane itself' });
    expect(described.statusCode, described.body).toBe(200);
    expect(described.json<Environment>().description).toBe('the control plane itself');
  });

  it("the local environment's check runs its probe on this machine: a failing probe is unhealthy with its error", async () => {
    const check = { enabled: true, type: 'local', interval: 60, timeout: 5, retries: 0 };
    const failing = await api.put('/environments/local', { healthCheck: { ...check, command: 'echo data disk gone >&2; exit 3' } });
    expect(failing.statusCode, failing.body).toBe(200);
    expect(await t.health.runNow('local')).toMatchObject({ health: 'unhealthy', message: 'probe exited 3: data disk gone' });
    const restored = await api.put('/environments/local', { healthCheck: check });
    expect(restored.statusCode, restored.body).toBe(200);
    expect(await t.health.runNow('local')).toMatchObject({ health: 'healthy', message: 'local probe ok' });
    // Only this machine runs local probes.
    expectFieldError(await api.put('/environments/local', { healthCheck: { ...check, type: 'ssh' } }), 'healthCheck.type');
    const remote = await api.post('/environments', plainBody('not-local-check', { healthCheck: check }), 'admin');
    expectFieldError(remote, 'healthCheck.type');
  });

  it('system info of the local environment is collected directly, with nulls and reasons for what is missing', async () => {
    expect((await api.post('/environments/local/system-info', undefined, 'viewer')).statusCode).toBe(403);
    const res = await api.post('/environments/local/system-info', undefined, 'operator');
    expect(res.statusCode, res.body).toBe(200);
    const { systemInfo } = res.json<{ environmentId: string; systemInfo: NonNullable<Environment['systemInfo']> }>();
    expect(systemInfo.kernel).toEqual({ value: os.release() });
    expect(systemInfo.cpuCores).toEqual({ value: os.cpus().length });
    expect(systemInfo.disk.value?.path).toBe(t.config.dataDir);
    // /settings/paths names a Passivbot that is not there.
    expect(systemInfo.passivbotVersion.value).toBeNull();
    expect(systemInfo.passivbotVersion.reason).toMatch(/\/opt\/pb7 does not exist/);
    const stored = await api.get('/environments/local/system-info');
    expect(stored.json()).toEqual({ environmentId: 'local', systemInfo });
  });

  it('credentials are write-only: the API shows only what is set, the database holds them sealed', async () => {
    const spy = hubSpy(t, ['environments', 'audit']);
    const created = await api.create(plainBody('sealed-1', { description: 'keys stay home' }));
    expect(created.credentials).toEqual({ type: 'key', username: 'deploy', hasPrivateKey: true, hasPassphrase: false, hasPassword: false, keyFingerprint: key.fingerprint });
    expect(created).toMatchObject({ kind: 'ssh', target: { host: ENV_HOST, port: 22 }, hostKey: { fingerprint: null, pinned: false, trustedAt: null, mismatch: null }, status: { health: 'unknown' } });
    expect(created.runtime).toEqual({ passivbotDir: 'passivbot', pythonPath: 'python3', kind: 'v7', workDir: 'pbfleet' });

    const row = await t.database.db.selectFrom('environments').select('credentials').where('id', '=', created.id).executeTakeFirstOrThrow();
    const stored = JSON.parse(row.credentials ?? '{}') as Record<string, string>;
    expect(stored.privateKey).toMatch(/^v1\./);
    expect(row.credentials).not.toContain('PRIVATE KEY');

    // Add a password, keep the key (omitted), then clear the key (null).
    const password = 'a-password-that-must-stay-secret';
    const withPassword = await api.put(`/environments/${created.id}`, { credentials: { type: 'password', password } });
    expect(withPassword.statusCode, withPassword.body).toBe(200);
    expect(withPassword.json<Environment>().credentials).toMatchObject({ type: 'password', hasPrivateKey: true, hasPassword: true });
    const cleared = await api.put(`/environments/${created.id}`, { credentials: { privateKey: null } });
    expect(cleared.json<Environment>().credentials).toEqual({ type: 'password', username: 'deploy', hasPrivateKey: false, hasPassphrase: false, hasPassword: true, keyFingerprint: null });
    const after = await t.database.db.selectFrom('environments').select('credentials').where('id', '=', created.id).executeTakeFirstOrThrow();
    expect((JSON.parse(after.credentials ?? '{}') as Record<string, string>).password).toMatch(/^v1\./);

    const audit = (await auditEntries(t, created.id)).map((e) => e.action);
    expect(audit).toEqual(['environment_create', 'environment_update', 'environment_update']);
    const update = (await auditEntries(t, created.id))[1];
    expect(update?.message).toMatch(/credentials password replaced/);
    expect(update?.username).toBe('admin1');

    // What clients were told on the hub meanwhile: the changes, never the secrets.
    expect(spy.of('environment_created', 'environments')).toHaveLength(1);
    expect(spy.of('environment_updated', 'environments')).toHaveLength(2);
    spy.detach();
    const everything = [await dumpDatabase(t), ...api.bodies, JSON.stringify(spy.messages)].join('\n');
    for (const secret of [...keyMaterial(key.privateKey), password]) expect(everything).not.toContain(secret);
  });

  it('an encrypted key needs its passphrase, which is checked and sealed too', async () => {
    const body = (credentials: Record<string, unknown>) => plainBody('passphrase-1', { credentials: { type: 'key', username: 'deploy', privateKey: encrypted.privateKey, ...credentials } });
    const before = await rowCounts(t);
    const missing = await api.post('/environments', body({}));
    expectFieldError(missing, 'credentials.passphrase');
    expect(missing.json<ErrorBody>().error.message).toMatch(/encrypted/);
    expectFieldError(await api.post('/environments', body({ passphrase: 'not the passphrase' })), 'credentials.passphrase');
    expect(await rowCounts(t)).toBe(before);

    const created = await api.create(body({ passphrase: 'a passphrase nobody guesses' }));
    expect(created.credentials).toMatchObject({ hasPrivateKey: true, hasPassphrase: true, keyFingerprint: encrypted.fingerprint });
    const row = await t.database.db.selectFrom('environments').select('credentials').where('id', '=', created.id).executeTakeFirstOrThrow();
    expect((JSON.parse(row.credentials ?? '{}') as Record<string, string>).passphrase).toMatch(/^v1\./);
    const everything = [await dumpDatabase(t), ...api.bodies].join('\n');
    for (const secret of [...keyMaterial(encrypted.privateKey), 'a passphrase nobody guesses']) expect(everything).not.toContain(secret);
  });

  it('bad input is refused naming the field, and nothing is written', async () => {
    await api.create(plainBody('taken-name'));
    const base = plainBody('bad-input-1');
    const http = { enabled: true, type: 'http', endpoint: 'http://127.0.0.1:9/ok', interval: 30, timeout: 5, retries: 1 };
    const cases: [string, Record<string, unknown>, string][] = [
      ['host with spaces', withField(base, 'target.host', 'bad host!'), 'target.host'],
      ['dotted number that is no IP', withField(base, 'target.host', '999.1.2.3'), 'target.host'],
      ['empty label', withField(base, 'target.host', 'a..example.com'), 'target.host'],
      ['port 0', withField(base, 'target.port', 0), 'target.port'],
      ['port 65536', withField(base, 'target.port', 65_536), 'target.port'],
      ['port as text', withField(base, 'target.port', '22'), 'target.port'],
      ['environment URL not http', withField(base, 'environmentURL', 'ftp://example.com/'), 'environmentURL'],
      ['http check without URL', { ...base, healthCheck: { ...http, endpoint: undefined } }, 'healthCheck.endpoint'],
      ['http check with a bad URL', { ...base, healthCheck: { ...http, endpoint: 'http://exa mple.com/' } }, 'healthCheck.endpoint'],
      ['tcp endpoint without port', { ...base, healthCheck: { ...http, type: 'tcp', endpoint: 'example.com' } }, 'healthCheck.endpoint'],
      ['invalid regex', { ...base, healthCheck: { ...http, validation: { type: 'bodyRegex', value: '(unclosed' } } }, 'healthCheck.validation.value'],
      ['invalid status list', { ...base, healthCheck: { ...http, validation: { type: 'statusCode', value: '2xx' } } }, 'healthCheck.validation.value'],
      ['interval under 5 s', { ...base, healthCheck: { ...http, interval: 4, timeout: 1 } }, 'healthCheck.interval'],
      ['interval over a day', { ...base, healthCheck: { ...http, interval: 86_401 } }, 'healthCheck.interval'],
      ['timeout longer than the interval', { ...base, healthCheck: { ...http, interval: 10, timeout: 20 } }, 'healthCheck.timeout'],
      ['unknown command type', { ...base, commands: { type: 'telnet', restart: { enabled: true, command: 'reboot' } } }, 'commands.type'],
      ['ssh restart without command', { ...base, commands: { type: 'ssh', restart: { enabled: true } } }, 'commands.restart.command'],
      ['http restart to a non-http URL', { ...base, commands: { type: 'http', restart: { enabled: true, url: 'javascript:alert(1)' } } }, 'commands.restart.url'],
      ['version list not http', { ...base, upgradeConfig: { enabled: true, type: 'ssh', command: 'up {VERSION}', versionListURL: 'file:///etc/passwd' } }, 'upgradeConfig.versionListURL'],
      ['upgrade without {VERSION}', { ...base, upgradeConfig: { enabled: true, type: 'ssh', command: 'git pull' } }, 'upgradeConfig.command'],
      ['not a private key', withField(base, 'credentials.privateKey', 'hello'), 'credentials.privateKey'],
      ['a public key', withField(base, 'credentials.privateKey', key.publicKey), 'credentials.privateKey'],
      ['key auth without key', withField(base, 'credentials', { type: 'key', username: 'deploy' }), 'credentials.privateKey'],
      ['password auth without password', withField(base, 'credentials', { type: 'password', username: 'deploy' }), 'credentials.password'],
      ['bad username', withField(base, 'credentials.username', 'root; rm -rf /'), 'credentials.username'],
      ['bad name', { ...base, name: 'no spaces allowed' }, 'name'],
      ['NUL in the description', { ...base, description: 'a\u0000b' }, 'description'],
      ['malformed pinned fingerprint', { ...base, hostKey: { fingerprint: 'SHA256:short' } }, 'hostKey.fingerprint'],
    ];
    const before = await rowCounts(t);
    for (const [what, body, field] of cases) {
      const res = await api.post('/environments', body);
      expect(res.statusCode, `${what}: ${res.body}`).toBe(400);
      expectFieldError(res, field);
    }
    const duplicate = await api.post('/environments', plainBody('taken-name'));
    expectFieldError(duplicate, 'name', 409);
    expect(await rowCounts(t)).toBe(before);

    // The same rules on update, and a refused update changes nothing.
    const victim = await api.create(plainBody('bad-input-2'));
    const unchanged = JSON.stringify(await api.environment(victim.id));
    const countsBefore = await rowCounts(t);
    expectFieldError(await api.put(`/environments/${victim.id}`, { name: 'taken-name' }), 'name', 409);
    expectFieldError(await api.put(`/environments/${victim.id}`, { target: { host: '300.300.300.300' } }), 'target.host');
    expectFieldError(await api.put(`/environments/${victim.id}`, { healthCheck: { ...http, interval: 2, timeout: 1 } }), 'healthCheck.interval');
    expectFieldError(await api.put(`/environments/${victim.id}`, { commands: { type: 'carrier-pigeon', restart: { enabled: true } } }), 'commands.type');
    expectFieldError(await api.put(`/environments/${victim.id}`, { credentials: { privateKey: 'not a key' } }), 'credentials.privateKey');
    expect(await rowCounts(t)).toBe(countsBefore);
    expect(JSON.stringify(await api.environment(victim.id))).toBe(unchanged);
    expect((await api.put('/environments/no-such-environment', { description: 'x' })).statusCode).toBe(404);
  });

  it('lists with health and text filters, sorting and pagination', async () => {
    const targets = await startHttpTargets();
    try {
      const check = (path: string) => ({ enabled: true, type: 'http', endpoint: `${targets.base}${path}`, interval: 86_400, timeout: 5, retries: 0 });
      const up = await api.create(plainBody('lst-up', { description: 'Frankfurt box', healthCheck: check('/ok') }));
      const down = await api.create(plainBody('lst-down', { healthCheck: check('/fail') }));
      await api.create(plainBody('lst-quiet', { target: { host: 'quiet.example.net' } }));
      await api.create(plainBody('lst-zeta'));
      await t.health.runNow(up.id);
      await t.health.runNow(down.id);
      await t.recorder.flush();

      type Page = { environments: Environment[]; pagination: { page: number; limit: number; total: number; totalPages: number } };
      const list = async (query: string) => {
        const res = await api.get(`/environments?${query}`);
        expect(res.statusCode, res.body).toBe(200);
        return res.json<Page>();
      };
      const names = (page: Page) => page.environments.map((e) => e.name);
      expect(names(await list('q=lst-'))).toEqual(['lst-down', 'lst-quiet', 'lst-up', 'lst-zeta']);
      expect(names(await list('q=lst-&sort=-name'))).toEqual(['lst-zeta', 'lst-up', 'lst-quiet', 'lst-down']);
      expect(names(await list('q=lst-&health=healthy'))).toEqual(['lst-up']);
      expect(names(await list('q=lst-&health=unhealthy'))).toEqual(['lst-down']);
      expect(names(await list('q=lst-&health=unknown'))).toEqual(['lst-quiet', 'lst-zeta']);
      expect(names(await list('health=healthy&limit=500'))).toEqual(expect.arrayContaining(['local', 'lst-up']));
      expect(names(await list('q=lst-&sort=health'))).toEqual(['lst-up', 'lst-down', 'lst-quiet', 'lst-zeta']);
      // q searches name, description and host, case-insensitively; LIKE wildcards are literal.
      expect(names(await list('q=FRANKFURT'))).toEqual(['lst-up']);
      expect(names(await list('q=quiet.example'))).toEqual(['lst-quiet']);
      expect(names(await list(`q=${encodeURIComponent('lst%')}`))).toEqual([]);
      expect(names(await list('q=lst_'))).toEqual([]);

      const second = await list('q=lst-&limit=3&page=2');
      expect(names(second)).toEqual(['lst-zeta']);
      expect(second.pagination).toEqual({ page: 2, limit: 3, total: 4, totalPages: 2 });
      const all = await list('limit=500');
      expect(all.pagination.total).toBe(all.environments.length);
      expect(all.environments.every((e) => !JSON.stringify(e.credentials).includes('PRIVATE'))).toBe(true);

      expectFieldError(await api.get('/environments?health=sick'), 'health');
      expectFieldError(await api.get('/environments?sort=password'), 'sort');
      expectFieldError(await api.get('/environments?limit=0'), 'limit');
    } finally {
      await targets.close();
    }
  });

  it('the VPS routes work on the same environments', async () => {
    const created = await api.post('/vps/servers', plainBody('vps-1'));
    expect(created.statusCode, created.body).toBe(201);
    const { id } = created.json<Environment>();
    expect((await api.environment(id)).name).toBe('vps-1');
    const servers = await api.get('/vps/servers?limit=500');
    expect(servers.json<{ servers: Environment[] }>().servers.map((s) => s.id)).toEqual(expect.arrayContaining(['local', id]));
    expect(servers.json<{ pagination: { total: number } }>().pagination.total).toBe(servers.json<{ servers: Environment[] }>().servers.length);

    expect((await api.put(`/vps/servers/${id}`, { description: 'renamed through vps' })).statusCode).toBe(200);
    expect((await api.environment(id)).description).toBe('renamed through vps');
    expectFieldError(await api.put(`/vps/servers/${id}`, { healthCheck: { ...NO_CHECK, interval: 1 } }), 'healthCheck.interval');
    expectFieldError(await api.post('/vps/servers', plainBody('vps-1')), 'name', 409);
    expect((await api.post('/vps/servers', plainBody('vps-2'), 'operator')).statusCode).toBe(403);

    expect((await api.del(`/vps/servers/${id}`)).statusCode).toBe(200);
    expect((await api.get(`/environments/${id}`)).statusCode).toBe(404);
    expect((await api.del(`/vps/servers/${id}`)).statusCode).toBe(404);
    expect((await auditEntries(t, id)).map((e) => e.action)).toEqual(['environment_create', 'environment_update', 'environment_delete']);
  });

  it('viewers read, operators run operations, admins configure', async () => {
    const env = await api.create(plainBody('roles-1', { commands: { type: 'ssh', restart: { enabled: true, command: 'true' } }, upgradeConfig: { enabled: true, type: 'ssh', command: 'up {VERSION}' } }));
    const before = await rowCounts(t);
    expect((await api.get(`/environments/${env.id}`, 'viewer')).statusCode).toBe(200);
    expect((await api.call(null, 'GET', `/environments/${env.id}`)).statusCode).toBe(401);
    for (const role of ['viewer', 'operator'] as const) {
      expect((await api.post('/environments', plainBody('roles-2'), role)).statusCode).toBe(403);
      expect((await api.put(`/environments/${env.id}`, { description: 'x' }, role)).statusCode).toBe(403);
      expect((await api.del(`/environments/${env.id}`, role)).statusCode).toBe(403);
      expect((await api.post(`/environments/${env.id}/host-key/accept`, {}, role)).statusCode).toBe(403);
    }
    for (const [url, body] of [
      [`/environments/${env.id}/restart`, {}],
      [`/environments/${env.id}/check-health`, undefined],
      [`/environments/${env.id}/upgrade`, { version: '1.0.0' }],
      [`/environments/${env.id}/system-info`, undefined],
      [`/vps/deploy/${env.id}`, undefined],
    ] as const) {
      const res = await api.post(url, body, 'viewer');
      expect(res.statusCode, `${url}: ${res.body}`).toBe(403);
    }
    expect(await rowCounts(t)).toBe(before);
  });

  it('GET /:id/logs lists the environment’s own audit entries; DELETE removes it and audits that', async () => {
    const env = await api.create(plainBody('logs-1'));
    await api.put(`/environments/${env.id}`, { description: 'changed' });
    const logs = await api.get(`/environments/${env.id}/logs`);
    expect(logs.statusCode).toBe(200);
    const body = logs.json<{ logs: { action: string; environmentId: string }[]; pagination: { total: number } }>();
    expect(body.logs.map((l) => l.action)).toEqual(['environment_update', 'environment_create']);
    expect(body.logs.every((l) => l.environmentId === env.id)).toBe(true);
    expect((await api.get(`/environments/${env.id}/logs?type=auth`)).json<{ logs: unknown[] }>().logs).toEqual([]);
    expect((await api.get('/environments/nope/logs')).statusCode).toBe(404);

    expect((await api.del(`/environments/${env.id}`)).statusCode).toBe(200);
    expect((await api.get(`/environments/${env.id}`)).statusCode).toBe(404);
    expect((await auditEntries(t, env.id)).at(-1)).toMatchObject({ action: 'environment_delete', username: 'admin1', level: 'warning' });
  });

  it('secrets stay out of the logs, even at trace level', async () => {
    const lines: string[] = [];
    const stream = new Writable({
      write(chunk: Buffer, _encoding, done) {
        lines.push(chunk.toString('utf8'));
        done();
      },
    });
    const logged = await createTestApp(database, { overrides: LOOPBACK_ALLOWED, logger: { level: 'trace', redact: LOG_REDACT, stream } });
    try {
      const client = apiClient(logged);
      const created = await client.create(plainBody('logged-1', { credentials: { type: 'key', username: 'deploy', privateKey: encrypted.privateKey, passphrase: 'a passphrase nobody guesses' } }));
      await client.put(`/environments/${created.id}`, { credentials: { type: 'password', password: 'log-me-never-please' } });
      // Refused requests too: a bad key with a good passphrase, an unknown field next to secrets.
      await client.post('/environments', plainBody('logged-2', { credentials: { type: 'key', username: 'deploy', privateKey: `${key.privateKey}garbage`, passphrase: 'another secret phrase' } }));
      await client.post('/environments', { ...plainBody('logged-3'), extra: 'x' });
      await client.post(`/environments/${created.id}/system-info`, undefined, 'operator');
    } finally {
      await logged.close();
    }
    expect(lines.length).toBeGreaterThan(5);
    const text = lines.join('');
    for (const secret of [...keyMaterial(encrypted.privateKey), ...keyMaterial(key.privateKey), 'a passphrase nobody guesses', 'log-me-never-please', 'another secret phrase']) {
      expect(text).not.toContain(secret);
    }
  });

  describe.runIf(sshdAvailable)('over SSH', () => {
    const sshdOf = useSshd();

    it('trusts the host key on first use: the fingerprint is stored, shown and audited', async () => {
      const env = await api.create(sshEnvironmentBody(sshdOf(), 'tofu-1'));
      expect(env.hostKey).toEqual({ fingerprint: null, pinned: false, trustedAt: null, mismatch: null });
      expect(await t.health.runNow(env.id)).toMatchObject({ health: 'healthy', message: 'SSH probe ok' });
      // The key is stored, then audited: once the entry is there, both are.
      await until(async () => (await auditEntries(t, env.id)).some((e) => e.action === 'host_key_trusted'), 'the learned host key');
      const learned = await api.environment(env.id);
      expect(learned.hostKey).toMatchObject({ fingerprint: sshdOf().fingerprint, pinned: false, trustedAt: expect.any(String), mismatch: null });
      const trusted = (await auditEntries(t, env.id)).filter((e) => e.action === 'host_key_trusted');
      expect(trusted).toHaveLength(1);
      expect(trusted[0]?.message).toContain(sshdOf().fingerprint);
      // Known now: further connections neither re-learn nor re-audit it.
      expect(await t.health.runNow(env.id)).toMatchObject({ health: 'healthy' });
      expect((await auditEntries(t, env.id)).filter((e) => e.action === 'host_key_trusted')).toHaveLength(1);
    });

    it('a pinned fingerprint the host does not present refuses the connection until an admin accepts the key', async () => {
      const wrong = generateKey().fingerprint;
      const env = await api.create(sshEnvironmentBody(sshdOf(), 'pinned-1', { hostKey: { fingerprint: wrong } }));
      expect(env.hostKey).toMatchObject({ fingerprint: wrong, pinned: true, trustedAt: expect.any(String), mismatch: null });

      expect(await t.health.runNow(env.id)).toMatchObject({ health: 'host_key_mismatch', message: expect.stringContaining('host key changed') });
      // The host key, the status, then the audit entry are written: the last means all are there.
      await until(async () => (await auditEntries(t, env.id)).some((e) => e.action === 'host_key_mismatch'), 'the mismatch to be audited');
      const refused = await api.environment(env.id);
      expect(refused.hostKey).toMatchObject({ fingerprint: wrong, pinned: true, mismatch: { fingerprint: sshdOf().fingerprint, seenAt: expect.any(String) } });
      expect(refused.status.health).toBe('host_key_mismatch');
      const mismatch = (await auditEntries(t, env.id)).filter((e) => e.action === 'host_key_mismatch');
      expect(mismatch).toHaveLength(1);
      expect(mismatch[0]).toMatchObject({ level: 'error' });
      expect(JSON.parse(mismatch[0]?.details ?? '{}')).toEqual({ expected: wrong, presented: sshdOf().fingerprint });

      // Nothing reaches the host meanwhile.
      const info = await api.post(`/environments/${env.id}/system-info`, undefined, 'operator');
      expect(info.statusCode, info.body).toBe(409);
      expect(info.json<ErrorBody>().error.message).toMatch(/host key changed/);
      await t.health.runNow(env.id);
      await t.recorder.flush();
      expect((await api.environment(env.id)).status.health).toBe('host_key_mismatch');
      expect((await auditEntries(t, env.id)).filter((e) => e.action === 'host_key_mismatch')).toHaveLength(1);

      expectFieldError(await api.post(`/environments/${env.id}/host-key/accept`, { fingerprint: generateKey().fingerprint }), 'fingerprint');
      const accepted = await api.post(`/environments/${env.id}/host-key/accept`, { fingerprint: sshdOf().fingerprint });
      expect(accepted.statusCode, accepted.body).toBe(200);
      expect(accepted.json<Environment>().hostKey).toMatchObject({ fingerprint: sshdOf().fingerprint, pinned: true, mismatch: null });
      expect((await auditEntries(t, env.id)).at(-1)).toMatchObject({ action: 'host_key_accept', username: 'admin1' });
      expect(await t.health.runNow(env.id)).toMatchObject({ health: 'healthy' });
      await t.recorder.flush();
      expect((await api.environment(env.id)).status.health).toBe('healthy');
      expect((await api.post(`/environments/${env.id}/host-key/accept`, {})).statusCode).toBe(409);
    });

    it('a host whose key changes is refused and marked host_key_mismatch, and is trusted again once accepted', async () => {
      const host = await startSshd();
      try {
        const env = await api.create(sshEnvironmentBody(host, 'rotated-1'));
        const spy = hubSpy(t, [`environment:${env.id}`]);
        expect(await t.health.runNow(env.id)).toMatchObject({ health: 'healthy' });
        const original = host.fingerprint;
        // Published once the health scheduler knows the key too: from then on it is enforced.
        await until(() => spy.of('environment_updated').some((m) => (m.payload as { hostKey?: string }).hostKey === original), 'the first key to be trusted');
        spy.detach();
        await host.rotateHostKey();
        await until(async () => (await t.health.runNow(env.id)).health === 'host_key_mismatch', 'the changed key to be refused');
        await until(async () => (await auditEntries(t, env.id)).some((e) => e.action === 'host_key_mismatch' && e.message.includes(host.fingerprint)), 'the mismatch to be audited');
        const refused = await api.environment(env.id);
        expect(refused.hostKey).toMatchObject({ fingerprint: original, pinned: false, mismatch: { fingerprint: host.fingerprint } });
        expect(refused.status.health).toBe('host_key_mismatch');

        expect((await api.post(`/environments/${env.id}/host-key/accept`, {})).statusCode).toBe(200);
        expect(await t.health.runNow(env.id)).toMatchObject({ health: 'healthy' });
        expect((await api.environment(env.id)).hostKey).toMatchObject({ fingerprint: host.fingerprint, mismatch: null });
      } finally {
        await host.close();
      }
    });

    it('an encrypted key with its passphrase connects', async () => {
      const env = await api.create(
        sshEnvironmentBody(sshdOf(), 'encrypted-1', { credentials: { type: 'key', username: sshdOf().username, privateKey: sshdOf().encryptedKey, passphrase: sshdOf().passphrase } }),
      );
      expect(env.credentials).toMatchObject({ hasPassphrase: true, keyFingerprint: fingerprintOfFile(join(sshdOf().dir, 'user_key_enc.pub')) });
      expect(await t.health.runNow(env.id)).toMatchObject({ health: 'healthy' });
    });

    it.runIf(isRoot)('password authentication connects as that user', async () => {
      const password = 'pbfleet-test-password-1';
      ensurePasswordUser(password);
      const whoami = { ...QUIET_SSH_CHECK, command: `test "$(id -un)" = ${PASSWORD_USER}` };
      const env = await api.create(sshEnvironmentBody(sshdOf(), 'password-1', { credentials: { type: 'password', username: PASSWORD_USER, password }, healthCheck: whoami }));
      expect(env.credentials).toEqual({ type: 'password', username: PASSWORD_USER, hasPrivateKey: false, hasPassphrase: false, hasPassword: true, keyFingerprint: null });
      expect(await t.health.runNow(env.id)).toMatchObject({ health: 'healthy' });
      const wrong = await api.create(sshEnvironmentBody(sshdOf(), 'password-2', { credentials: { type: 'password', username: PASSWORD_USER, password: 'not-the-password' }, healthCheck: whoami }));
      expect(await t.health.runNow(wrong.id)).toMatchObject({ health: 'unhealthy', message: expect.stringMatching(/authentication failed/) });
      expect([await dumpDatabase(t), ...api.bodies].join('\n')).not.toContain(password);
    });

    it('system info over SSH: the host’s facts, nulls with reasons, and a clear refusal when the host is away', async () => {
      const env = await api.create(sshEnvironmentBody(sshdOf(), 'sysinfo-1', { runtime: { passivbotDir: '/nonexistent/passivbot', workDir: sshdOf().dir } }));
      expect((await api.get(`/environments/${env.id}/system-info`)).json()).toEqual({ environmentId: env.id, systemInfo: null });
      const res = await api.post(`/environments/${env.id}/system-info`, undefined, 'operator');
      expect(res.statusCode, res.body).toBe(200);
      const { systemInfo } = res.json<{ systemInfo: NonNullable<Environment['systemInfo']> }>();
      // The sshdOf() runs on this machine, so the facts are this machine's.
      expect(systemInfo.kernel).toEqual({ value: os.release() });
      expect(systemInfo.memory.value?.totalBytes).toBe(os.totalmem());
      expect(systemInfo.disk.value?.path).toBe(sshdOf().dir);
      expect(systemInfo.passivbotVersion).toEqual({ value: null, reason: 'passivbot dir /nonexistent/passivbot does not exist' });
      expect((await api.get(`/environments/${env.id}/system-info`)).json()).toEqual({ environmentId: env.id, systemInfo });
      expect((await api.environment(env.id)).systemInfo).toEqual(systemInfo);

      await sshdOf().stop();
      try {
        const away = await api.post(`/environments/${env.id}/system-info`, undefined, 'operator');
        expect(away.statusCode, away.body).toBe(409);
        expect(away.json<ErrorBody>().error.message).toMatch(/not collected: ssh to .*: connection (refused|closed|reset|lost)/);
      } finally {
        await sshdOf().start();
      }
      // The last facts are kept.
      expect((await api.get(`/environments/${env.id}/system-info`)).json()).toEqual({ environmentId: env.id, systemInfo });
    });
  });
});
