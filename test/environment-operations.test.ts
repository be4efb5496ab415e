import { execFileSync } from 'node:child_process';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Environment } from '../src/modules/environments/environments.types.js';
import { createTestApp, type TestApp } from './helpers/app.js';
import { testDatabases } from './helpers/databases.js';
import {
  apiClient,
  auditEntries,
  dumpDatabase,
  generateKey,
  hubSpy,
  LOOPBACK_ALLOWED,
  NO_CHECK,
  sshEnvironmentBody,
  startJsonServer,
  until,
  type ApiClient,
  type ErrorBody,
  type OperationView,
} from './helpers/environments.js';
import { startHttpTargets } from './helpers/http-targets.js';
import { sshdAvailable, useSshd } from './helpers/sshd.js';

/**
 * Operations end to end: restart (ssh command or http call through the SSRF guard), upgrade to a
 * published version, check-health and deploy. Each answers 202 at once and continues in the
 * background; GET /operations/:id and hub `operation_update` messages report how it ends.
 */

const key = generateKey();
const VERSIONS = ['1.0.0', '1.1.0', '1.2.0+build.7'];

const GIT_ENV = { ...process.env, GIT_CONFIG_GLOBAL: '/dev/null', GIT_CONFIG_NOSYSTEM: '1', GIT_AUTHOR_NAME: 'pbfleet', GIT_AUTHOR_EMAIL: 'pbfleet@example.com', GIT_COMMITTER_NAME: 'pbfleet', GIT_COMMITTER_EMAIL: 'pbfleet@example.com' };
const git = (dir: string, ...args: string[]) => execFileSync('git', ['-C', dir, ...args], { env: GIT_ENV, encoding: 'utf8' }).trim();

/** A fake Passivbot v7 checkout (tagged v7.8.4) and a python that answers --version. */
function fakePassivbot(root: string): { passivbotDir: string; pythonPath: string; commit: string } {
  const passivbotDir = join(root, 'passivbot');
  mkdirSync(join(passivbotDir, 'src'), { recursive: true });
  writeFileSync(join(passivbotDir, 'src', 'main.py'), 'print("passivbot")\n');
  git(passivbotDir, 'init', '-q', '-b', 'master');
  git(passivbotDir, 'add', '.');
  git(passivbotDir, 'commit', '-q', '-m', 'v7.8.4');
  git(passivbotDir, 'tag', '-a', 'v7.8.4', '-m', 'v7.8.4');
  const pythonPath = join(root, 'venv', 'bin', 'python');
  mkdirSync(join(root, 'venv', 'bin'), { recursive: true });
  writeFileSync(pythonPath, '#!/bin/sh\nif [ "$1" = --version ]; then echo "Python 3.11.7"; exit 0; fi\nexit 1\n', { mode: 0o755 });
  return { passivbotDir, pythonPath, commit: git(passivbotDir, 'rev-parse', '--short', 'HEAD') };
}

const plainBody = (name: string, extra: Record<string, unknown> = {}): Record<string, unknown> => ({
  name,
  target: { host: '192.0.2.20', port: 22 },
  credentials: { type: 'key', username: 'deploy', privateKey: key.privateKey },
  healthCheck: NO_CHECK,
  ...extra,
});

describe.each(testDatabases)('environment operations on $name', (database) => {
  let t: TestApp;
  let api: ApiClient;
  let targets: Awaited<ReturnType<typeof startHttpTargets>>;
  let versions: Awaited<ReturnType<typeof startJsonServer>>;
  let root: string;

  beforeAll(async () => {
    t = await createTestApp(database, { overrides: LOOPBACK_ALLOWED });
    api = apiClient(t);
    targets = await startHttpTargets();
    versions = await startJsonServer({ '/versions.json': { versions: VERSIONS }, '/releases.json': { data: { releases: [{ tag: 'v2.0.0' }, { tag: 'v2.1.0' }] } }, '/upgrade': { ok: true } });
    root = mkdtempSync(join(tmpdir(), 'pbfleet-ops-'));
  });
  afterAll(async () => {
    await t?.close();
    await targets?.close();
    await versions?.close();
    rmSync(root, { recursive: true, force: true });
  });

  /** Starts an operation (202 with only the id, status and start time) and waits for its end. */
  async function run(url: string, body?: unknown, role: 'operator' | 'admin' = 'operator'): Promise<OperationView> {
    const res = await api.post(url, body, role);
    expect(res.statusCode, res.body).toBe(202);
    const started = res.json<{ operationId: string; status: string; startedAt: string }>();
    expect(Object.keys(started).sort()).toEqual(['operationId', 'startedAt', 'status']);
    expect(started.status).toBe('in_progress');
    const op = await api.operation(started.operationId);
    // The outcome is stored, then audited: wait for the entry so audit assertions are not racing it.
    await until(async () => (await auditEntries(t, op.environmentId)).some((e) => e.level !== 'info' && (e.details ?? '').includes(op.id)), `the audit entry of ${op.id}`);
    return op;
  }

  const restartVia = (url: string) => ({ commands: { type: 'http', restart: { enabled: true, url, method: 'POST', headers: { 'x-probe': 'restart' }, body: { action: 'restart' } } } });

  it('restart over HTTP calls the target, in the background, and reports on the hub', async () => {
    const env = await api.create(plainBody('http-restart', restartVia(`${targets.base}/ok`)));
    const spy = hubSpy(t, ['operations', `environment:${env.id}`]);
    try {
      const hits = targets.hits.get('/ok') ?? 0;
      const op = await run(`/environments/${env.id}/restart`, {});
      expect(op).toMatchObject({ environmentId: env.id, type: 'restart', status: 'succeeded', error: null, requestedBy: 'operator1', params: { force: false, via: 'http' } });
      // An HTTP command has a status code, not an exit code.
      expect(op).toMatchObject({ httpStatus: 200, exitCode: null });
      expect(op.output).toContain('HTTP 200');
      expect(op.finishedAt).toEqual(expect.any(String));
      expect(targets.hits.get('/ok')).toBe(hits + 1);

      // The final message follows the stored result (and its audit entry).
      const updates = await until(() => {
        const mine = spy.of('operation_update', 'operations').filter((m) => (m.payload as OperationView).id === op.id);
        return mine.length === 2 ? mine : undefined;
      }, 'the final operation_update');
      expect(updates.map((m) => (m.payload as OperationView).status)).toEqual(['in_progress', 'succeeded']);
      // Hub topics are open to viewers: updates carry status and timings, never output.
      const { output: _output, ...withoutOutput } = op;
      expect(updates.at(-1)?.payload).toEqual(withoutOutput);
      expect(updates.every((m) => !('output' in (m.payload as object)))).toBe(true);
      // Viewers read the operation without its output; operators with it.
      const asViewer = await api.get(`/operations/${op.id}`, 'viewer');
      expect(asViewer.statusCode).toBe(200);
      expect(asViewer.json<OperationView>()).toEqual(withoutOutput);
      expect(asViewer.json<OperationView>()).toMatchObject({ status: 'succeeded', httpStatus: 200, exitCode: null, finishedAt: op.finishedAt });
      const listedAsViewer = await api.get(`/operations?environmentId=${env.id}`, 'viewer');
      expect(listedAsViewer.json<{ operations: object[] }>().operations.every((o) => !('output' in o))).toBe(true);
      expect(spy.of('operation_update', `environment:${env.id}`)).toHaveLength(2);
      expect((await auditEntries(t, env.id)).filter((e) => e.action === 'restart').map((e) => e.level)).toEqual(['info', 'success']);
      const listed = await api.get(`/operations?environmentId=${env.id}`);
      expect(listed.json<{ operations: OperationView[] }>().operations.map((o) => o.id)).toEqual([op.id]);
    } finally {
      spy.detach();
    }
  });

  it('HTTP command headers are write-only: sealed at rest, shown by name, kept by a PUT, sent in clear; the echoed answer is redacted', async () => {
    const secret = `webhook-${'z'.repeat(24)}`;
    const received: string[] = [];
    const echo = createServer((req, res) => {
      received.push(req.headers.authorization ?? '');
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ seen: req.headers }));
    });
    await new Promise<void>((resolve) => echo.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(echo.address() as AddressInfo).port}/hook`;
    const spy = hubSpy(t, ['environments']);
    try {
      const restart = { enabled: true, url, method: 'POST', headers: { authorization: `Bearer ${secret}` } };
      const env = await api.create(plainBody('secret-headers', { commands: { type: 'http', restart } }));
      expect(env.commands?.restart.headers).toEqual({ authorization: { set: true } });
      const got = await api.get(`/environments/${env.id}`, 'viewer');
      expect(got.json<Environment>().commands?.restart.headers).toEqual({ authorization: { set: true } });
      expect(got.body).not.toContain(secret);
      expect(JSON.stringify(spy.messages)).not.toContain(secret);
      expect(spy.messages.length).toBeGreaterThan(0);
      expect(await dumpDatabase(t)).not.toContain(secret);

      // A PUT that leaves the value out keeps it.
      const kept = await api.put(`/environments/${env.id}`, { commands: { type: 'http', restart: { ...restart, headers: { authorization: { set: true }, 'x-extra': 'one' } } } });
      expect(kept.statusCode, kept.body).toBe(200);
      expect(kept.body).not.toContain(secret);
      const op = await run(`/environments/${env.id}/restart`, {});
      expect(op.status, op.error ?? '').toBe('succeeded');
      expect(received.at(-1)).toBe(`Bearer ${secret}`);
      expect(op.output).toContain('HTTP 200');
      expect(op.output).not.toContain(secret);
      expect(await dumpDatabase(t)).not.toContain(secret);

      // Another origin must be given the value again; null removes a header.
      const moved = await api.put(`/environments/${env.id}`, { commands: { type: 'http', restart: { enabled: true, url: 'http://127.0.0.2:9/hook' } } });
      expect(moved.statusCode).toBe(400);
      expect(moved.json<ErrorBody>().error.details?.fields?.map((f) => f.field)).toContain('commands.restart.headers.authorization');
      const removed = await api.put(`/environments/${env.id}`, { commands: { type: 'http', restart: { ...restart, headers: { authorization: null } } } });
      expect(removed.json<Environment>().commands?.restart.headers).toEqual({ 'x-extra': { set: true } });
    } finally {
      spy.detach();
      echo.closeAllConnections();
      await new Promise<void>((resolve) => echo.close(() => resolve()));
    }
  });

  it('header values stored in clear by an older version are sealed at start and still sent', async () => {
    const env = await api.create(plainBody('legacy-headers', restartVia(`${targets.base}/ok`)));
    const legacy = { type: 'http', restart: { enabled: true, url: `${targets.base}/ok`, method: 'POST', headers: { authorization: 'Bearer legacy-plain-token' } } };
    const healthCheck = { ...NO_CHECK, headers: { 'x-key': 'legacy-health-key' } };
    await t.database.db.updateTable('environments').set({ commands: JSON.stringify(legacy), health_check: JSON.stringify(healthCheck) }).where('id', '=', env.id).execute();
    expect((await api.get(`/environments/${env.id}`)).json<Environment>().commands?.restart.headers).toEqual({ authorization: { set: true } });
    expect(await t.services.environments.sealPlainSecrets()).toBe(1);
    expect(await t.services.environments.sealPlainSecrets()).toBe(0);
    expect(await dumpDatabase(t)).not.toMatch(/legacy-plain-token|legacy-health-key/);
    const record = await t.services.environments.getRecord(env.id);
    expect(t.services.environments.openCommand(record, 'restart')?.headers).toEqual({ authorization: 'Bearer legacy-plain-token' });
    expect(t.services.environments.openHealthCheck(record).headers).toEqual({ 'x-key': 'legacy-health-key' });
  });

  it('restart over HTTP fails with the reason: an error status, a metadata address, a private address not allow-listed', async () => {
    const failing = await api.create(plainBody('http-fail', restartVia(`${targets.base}/fail`)));
    expect(await run(`/environments/${failing.id}/restart`, {})).toMatchObject({ status: 'failed', error: `HTTP 500 from 127.0.0.1:${targets.port}`, httpStatus: 500, exitCode: null });

    const metadata = await api.create(plainBody('http-metadata', restartVia('http://169.254.169.254/latest/meta-data/')));
    const refused = await run(`/environments/${metadata.id}/restart`, {});
    expect(refused.status).toBe('failed');
    // Never sent: no status code to show.
    expect(refused).toMatchObject({ httpStatus: null, exitCode: null });
    expect(refused.error).toMatch(/169\.254\.169\.254.*link-local or metadata address; never allowed/);

    const internal = await api.create(plainBody('http-private', restartVia('http://10.255.255.1:8080/restart')));
    const notAllowed = await run(`/environments/${internal.id}/restart`, {});
    expect(notAllowed.error).toMatch(/10\.255\.255\.1 is a loopback or private address; allow it in network\.allowTargets/);
    expect((await auditEntries(t, metadata.id)).at(-1)).toMatchObject({ action: 'restart', level: 'error' });
  });

  it('restart that is not configured is 409 and starts nothing; an unknown environment is 404', async () => {
    const env = await api.create(plainBody('no-restart'));
    const before = (await t.database.db.selectFrom('operations').selectAll().execute()).length;
    const res = await api.post(`/environments/${env.id}/restart`, {}, 'operator');
    expect(res.statusCode).toBe(409);
    expect(res.json<ErrorBody>().error).toMatchObject({ code: 'CONFLICT', message: expect.stringContaining('commands.restart') });
    const disabled = await api.create(plainBody('disabled-restart', { commands: { type: 'ssh', restart: { enabled: false, command: 'reboot' } } }));
    expect((await api.post(`/environments/${disabled.id}/restart`, {}, 'operator')).statusCode).toBe(409);
    expect((await api.post('/environments/no-such-env/restart', {}, 'operator')).statusCode).toBe(404);
    expect((await api.post(`/environments/${env.id}/restart`, { force: 'yes' }, 'operator')).statusCode).toBe(400);
    // No body at all (curl -X POST) means "no options": it reaches the same 409, not a 400.
    const bare = await t.app.inject({ method: 'POST', url: `/api/v1/environments/${env.id}/restart`, headers: t.auth('operator') });
    expect(bare.statusCode).toBe(409);
    expect((await t.database.db.selectFrom('operations').selectAll().execute()).length).toBe(before);
    expect((await api.get('/operations/no-such-operation')).statusCode).toBe(404);
  });

  it('upgrade: versions come from versionListURL; unknown and hostile versions are refused naming `version`', async () => {
    const upgradeConfig = {
      enabled: true,
      type: 'http',
      url: `${versions.base}/upgrade?to={VERSION}`,
      method: 'POST',
      body: { version: '{VERSION}' },
      versionListURL: `${versions.base}/versions.json`,
      versionPath: 'versions',
    };
    const env = await api.create(plainBody('upgrade-http', { upgradeConfig }));
    const listed = await api.get(`/environments/${env.id}/versions`);
    expect(listed.statusCode, listed.body).toBe(200);
    expect(listed.json()).toEqual({ versions: VERSIONS, source: `${versions.base}/versions.json` });

    const before = (await t.database.db.selectFrom('operations').selectAll().execute()).length;
    for (const version of ['9.9.9', '1.0', 'v1.0.0']) {
      const res = await api.post(`/environments/${env.id}/upgrade`, { version }, 'operator');
      expect(res.statusCode, res.body).toBe(400);
      expect(res.json<ErrorBody>().error.details?.fields?.[0]?.field).toBe('version');
      expect(res.json<ErrorBody>().error.message).toContain('1.0.0, 1.1.0, 1.2.0+build.7');
    }
    for (const version of ['1.0;rm -rf /', '$(id)', '`reboot`', "1.0' || true", '../../etc', '1.0\n2.0', '', 'x'.repeat(65)]) {
      const res = await api.post(`/environments/${env.id}/upgrade`, { version }, 'operator');
      expect(res.statusCode, `${JSON.stringify(version)}: ${res.body}`).toBe(400);
      expect(res.json<ErrorBody>().error.details?.fields?.map((f) => f.field)).toEqual(['version']);
    }
    expect((await t.database.db.selectFrom('operations').selectAll().execute()).length).toBe(before);

    const op = await run(`/environments/${env.id}/upgrade`, { version: '1.2.0+build.7' });
    expect(op).toMatchObject({ type: 'upgrade', status: 'succeeded', params: { version: '1.2.0+build.7', via: 'http' }, httpStatus: 200, exitCode: null });
    const call = versions.received.filter((r) => r.path === '/upgrade').at(-1);
    expect(JSON.parse(call?.body ?? '{}')).toEqual({ version: '1.2.0+build.7' });

    // A version path into nested JSON.
    const nested = await api.create(plainBody('upgrade-nested', { upgradeConfig: { ...upgradeConfig, versionListURL: `${versions.base}/releases.json`, versionPath: 'data.releases[*].tag' } }));
    expect((await api.get(`/environments/${nested.id}/versions`)).json<{ versions: string[] }>().versions).toEqual(['v2.0.0', 'v2.1.0']);
  });

  it('upgrade and versions: not configured is 409; a version list behind the SSRF guard is refused', async () => {
    const bare = await api.create(plainBody('upgrade-none'));
    expect((await api.post(`/environments/${bare.id}/upgrade`, { version: '1.0.0' }, 'operator')).statusCode).toBe(409);
    expect((await api.get(`/environments/${bare.id}/versions`)).statusCode).toBe(409);
    const guarded = await api.create(plainBody('upgrade-metadata', { upgradeConfig: { enabled: true, type: 'ssh', command: 'up {VERSION}', versionListURL: 'http://169.254.169.254/versions' } }));
    const res = await api.get(`/environments/${guarded.id}/versions`);
    expect(res.statusCode).toBe(409);
    expect(res.json<ErrorBody>().error.message).toMatch(/never allowed/);
    expect((await api.post(`/environments/${guarded.id}/upgrade`, { version: '1.0.0' }, 'operator')).statusCode).toBe(409);
  });

  describe.runIf(sshdAvailable)('over SSH', () => {
    const sshdOf = useSshd();

    it('restart runs the ssh command on the host; a failing command fails with its exit code and error output', async () => {
      const marker = join(root, 'restarted');
      const env = await api.create(sshEnvironmentBody(sshdOf(), 'ssh-restart', { commands: { type: 'ssh', restart: { enabled: true, command: `echo restarted-by-pbfleet > ${marker} && echo done` } } }));
      const spy = hubSpy(t, [`environment:${env.id}`]);
      try {
        const op = await run(`/environments/${env.id}/restart`, {});
        expect(op).toMatchObject({ status: 'succeeded', output: 'done\n', error: null, exitCode: 0, httpStatus: null });
        expect(readFileSync(marker, 'utf8')).toBe('restarted-by-pbfleet\n');
        const updates = await until(() => {
          const seen = spy.of('operation_update').map((m) => m.payload as OperationView);
          return seen.length === 2 ? seen : undefined;
        }, 'the final operation_update');
        expect(updates.map((u) => u.status)).toEqual(['in_progress', 'succeeded']);
        expect(updates.at(-1)).not.toHaveProperty('output');
        expect(updates.at(-1)).toMatchObject({ status: 'succeeded', exitCode: 0 });
      } finally {
        spy.detach();
      }

      const broken = await api.create(sshEnvironmentBody(sshdOf(), 'ssh-restart-broken', { commands: { type: 'ssh', restart: { enabled: true, command: 'echo partial; echo the service is broken >&2; exit 3' } } }));
      const failed = await run(`/environments/${broken.id}/restart`, {});
      expect(failed).toMatchObject({ status: 'failed', error: 'exit code 3: the service is broken', exitCode: 3, httpStatus: null });
      expect(failed.output).toContain('partial');
      // Viewers get the status, timings and exit code; the output is for operators.
      const asViewer = await api.get(`/operations/${failed.id}`, 'viewer');
      expect(asViewer.json()).toEqual({ ...failed, output: undefined });
      expect(asViewer.json()).toMatchObject({ status: 'failed', exitCode: 3, startedAt: failed.startedAt, finishedAt: failed.finishedAt });
      expect(asViewer.body).not.toContain('partial');
    });

    it('output streams live to operators while the command runs, redacted; viewers never receive it', async () => {
      const gate = join(root, 'stream-gate');
      // Prints a line, a secret and a key, then waits for the test to open the gate before its last line.
      const script = [
        'echo step-one',
        'echo "token=live-secret-value-123"',
        "printf '%s\\n' '-----BEGIN OPENSSH PRIVATE KEY-----' 'b3BlbnNzaC1rZXktdjEAAAAlivekeybody' '-----END OPENSSH PRIVATE KEY-----'",
        `while [ ! -e ${gate} ]; do sleep 0.1; done`,
        'echo step-two',
      ].join('; ');
      const env = await api.create(sshEnvironmentBody(sshdOf(), 'ssh-live-output', { commands: { type: 'ssh', restart: { enabled: true, command: script } } }));
      const operator = hubSpy(t, [`environment:${env.id}`], 'operator');
      const viewer = hubSpy(t, [`environment:${env.id}`], 'viewer');
      try {
        const res = await api.post(`/environments/${env.id}/restart`, {}, 'operator');
        expect(res.statusCode).toBe(202);
        const id = res.json<{ operationId: string }>().operationId;
        const opSpy = hubSpy(t, [`operation:${id}`], 'operator');
        const viewerOp = hubSpy(t, [`operation:${id}`], 'viewer');
        try {
          // While it still runs, the lines so far arrive (the operator spied before it started).
          const streamed = () => operator.messages.filter((m) => m.type === 'operation_output').map((m) => (m.payload as { text: string }).text).join('');
          await until(() => (streamed().includes('step-one') && streamed().includes('token=') ? true : undefined), 'the first lines, live');
          expect((await api.get(`/operations/${id}`, 'operator')).json<OperationView>().status).toBe('in_progress');
          expect(streamed()).not.toContain('step-two');
          expect(streamed()).toContain('token=[redacted]');
          expect(streamed()).not.toContain('live-secret-value-123');
          expect(streamed()).not.toContain('livekeybody');
          for (const m of operator.messages.filter((x) => x.type === 'operation_output')) expect(m.payload).toMatchObject({ operationId: id, environmentId: env.id });
          // GET gives an operator the output so far; a viewer nothing of it.
          const sofar = await api.get(`/operations/${id}`, 'operator');
          expect(sofar.json<OperationView>()).toMatchObject({ status: 'in_progress', output: expect.stringContaining('step-one') });
          const asViewer = await api.get(`/operations/${id}`, 'viewer');
          expect(asViewer.json()).not.toHaveProperty('output');

          writeFileSync(gate, '');
          const done = await api.operation(id);
          expect(done).toMatchObject({ status: 'succeeded', exitCode: 0 });
          expect(done.output).toBe('step-one\ntoken=[redacted]\n-----BEGIN PRIVATE KEY----- [redacted] -----END PRIVATE KEY-----\nstep-two\n');
          // The last line came live before the final update, to operators on either topic.
          await until(() => (opSpy.messages.some((m) => m.type === 'operation_output' && (m.payload as { text: string }).text.includes('step-two')) ? true : undefined), 'the last line on operation:<id>');
          const types = opSpy.messages.filter((m) => m.type.startsWith('operation_')).map((m) => m.type);
          expect(types.indexOf('operation_output')).toBeLessThan(types.lastIndexOf('operation_update'));
          // Viewers subscribed to the same topics got status updates and not one output message.
          await until(() => (viewer.of('operation_update').some((m) => (m.payload as OperationView).status === 'succeeded') ? true : undefined), 'the viewer sees the end');
          expect(viewer.of('operation_output')).toHaveLength(0);
          expect(viewerOp.of('operation_output')).toHaveLength(0);
          expect(JSON.stringify([...viewer.messages, ...viewerOp.messages])).not.toContain('step-one');
        } finally {
          opSpy.detach();
          viewerOp.detach();
        }
      } finally {
        operator.detach();
        viewer.detach();
      }
    });

    it('operations on one environment run one at a time: another is refused unless forced, then queued', async () => {
      const log = join(root, 'queue.log');
      const env = await api.create(sshEnvironmentBody(sshdOf(), 'ssh-queue', { commands: { type: 'ssh', restart: { enabled: true, command: `sleep 0.5; echo ran >> ${log}` } } }));
      const first = await api.post(`/environments/${env.id}/restart`, {}, 'operator');
      expect(first.statusCode).toBe(202);
      const busy = await api.post(`/environments/${env.id}/restart`, {}, 'operator');
      expect(busy.statusCode).toBe(409);
      expect(busy.json<ErrorBody>().error.message).toMatch(/another operation is running/);
      const forced = await api.post(`/environments/${env.id}/restart`, { force: true }, 'operator');
      expect(forced.statusCode).toBe(202);
      const [a, b] = [await api.operation(first.json<{ operationId: string }>().operationId), await api.operation(forced.json<{ operationId: string }>().operationId)];
      expect([a.status, b.status]).toEqual(['succeeded', 'succeeded']);
      expect(Date.parse(b.finishedAt ?? '')).toBeGreaterThanOrEqual(Date.parse(a.finishedAt ?? ''));
      expect(readFileSync(log, 'utf8')).toBe('ran\nran\n');
    });

    it('check-health runs the check now and reports its result', async () => {
      const env = await api.create(sshEnvironmentBody(sshdOf(), 'ssh-check-now'));
      const op = await run(`/environments/${env.id}/check-health`);
      expect(op).toMatchObject({ type: 'check_health', status: 'succeeded', exitCode: null, httpStatus: null });
      expect(op.output).toMatch(/^healthy: SSH probe ok \(\d+ ms\)\n$/);
      const unchecked = await api.create(sshEnvironmentBody(sshdOf(), 'ssh-no-check', { healthCheck: NO_CHECK }));
      expect(await run(`/environments/${unchecked.id}/check-health`)).toMatchObject({ status: 'failed', error: expect.stringMatching(/not enabled/) });
    });

    it('upgrade over SSH hands the validated version to the command as one quoted word', async () => {
      const received = join(root, 'received-version');
      const env = await api.create(
        sshEnvironmentBody(sshdOf(), 'ssh-upgrade', {
          upgradeConfig: { enabled: true, type: 'ssh', command: `printf '[%s]' {VERSION} > ${received}`, versionListURL: `${versions.base}/versions.json` },
        }),
      );
      expect(await run(`/environments/${env.id}/upgrade`, { version: '1.2.0+build.7' })).toMatchObject({ status: 'succeeded', params: { version: '1.2.0+build.7', via: 'ssh' }, exitCode: 0 });
      expect(readFileSync(received, 'utf8')).toBe('[1.2.0+build.7]');
      expect((await api.post(`/environments/${env.id}/upgrade`, { version: '1.0;touch /tmp/pbfleet-pwned' }, 'operator')).statusCode).toBe(400);
      expect(existsSync('/tmp/pbfleet-pwned')).toBe(false);
    });

    it('deploy prepares the host: working dirs, Python and Passivbot checked, files written, versions recorded; again is harmless', async () => {
      const { passivbotDir, pythonPath, commit } = fakePassivbot(join(root, 'host'));
      const workDir = join(root, 'host', 'pbfleet');
      const env = await api.create(sshEnvironmentBody(sshdOf(), 'ssh-deploy', { runtime: { passivbotDir, pythonPath, kind: 'v7', workDir } }));
      const spy = hubSpy(t, ['operations']);
      try {
        const op = await run(`/vps/deploy/${env.id}`);
        expect(op, op.error ?? '').toMatchObject({ type: 'deploy', status: 'succeeded' });
        expect(op.output).toContain(`working dirs ready under ${workDir}`);
        expect(op.output).toContain('python: Python 3.11.7');
        expect(op.output).toContain(`wrote ${workDir}/pbfleet-host.json`);
        await until(() => spy.of('operation_update').length === 2, 'the final operation_update');
        expect(spy.of('operation_update').map((m) => (m.payload as OperationView).status)).toEqual(['in_progress', 'succeeded']);
      } finally {
        spy.detach();
      }
      for (const dir of ['instances', 'logs', 'jobs', 'run']) expect(statSync(join(workDir, dir)).isDirectory()).toBe(true);
      const manifest = JSON.parse(readFileSync(join(workDir, 'pbfleet-host.json'), 'utf8')) as Record<string, unknown>;
      expect(manifest).toMatchObject({ environmentId: env.id, name: 'ssh-deploy', managedBy: 'pbfleet' });
      const { systemInfo } = await api.environment(env.id);
      expect(systemInfo?.pythonVersion).toEqual({ value: '3.11.7' });
      expect(systemInfo?.passivbotVersion).toEqual({ value: { version: '7.8.4', commit, kind: 'v7' } });

      // Idempotent: what is there stays, the manifest is rewritten.
      writeFileSync(join(workDir, 'instances', 'keep-me'), 'a bot lives here');
      const again = await run(`/vps/deploy/${env.id}`);
      expect(again.status, again.error ?? '').toBe('succeeded');
      expect(readFileSync(join(workDir, 'instances', 'keep-me'), 'utf8')).toBe('a bot lives here');
      expect(JSON.parse(readFileSync(join(workDir, 'pbfleet-host.json'), 'utf8'))).toMatchObject({ environmentId: env.id });
      expect((await auditEntries(t, env.id)).filter((e) => e.action === 'deploy').map((e) => e.level)).toEqual(['info', 'success', 'info', 'success']);
    });

    it('deploy fails with a clear reason when Passivbot or Python is missing', async () => {
      const { pythonPath } = fakePassivbot(join(root, 'other'));
      const missing = join(root, 'nowhere', 'passivbot');
      const env = await api.create(sshEnvironmentBody(sshdOf(), 'ssh-deploy-missing', { runtime: { passivbotDir: missing, pythonPath, workDir: join(root, 'other', 'work') } }));
      expect(await run(`/vps/deploy/${env.id}`)).toMatchObject({ status: 'failed', error: `no Passivbot checkout at ${missing} (src/main.py missing)` });
      const noPython = await api.put(`/environments/${env.id}`, { runtime: { pythonPath: join(root, 'no-python') } });
      expect(noPython.statusCode).toBe(200);
      expect((await run(`/vps/deploy/${env.id}`)).error).toMatch(new RegExp(`^python at ${join(root, 'no-python')} does not run`));
      expect((await api.post('/vps/deploy/no-such-env', undefined, 'operator')).statusCode).toBe(404);
    });

    it('an operation on a host that is away fails with the reason', async () => {
      const env = await api.create(sshEnvironmentBody(sshdOf(), 'ssh-away', { commands: { type: 'ssh', restart: { enabled: true, command: 'true' } } }));
      await sshdOf().stop();
      try {
        const op = await run(`/environments/${env.id}/restart`, {});
        expect(op.status).toBe('failed');
        expect(op.error).toMatch(/^ssh to .*: connection (refused|closed|reset|lost)/);
      } finally {
        await sshdOf().start();
      }
      const { environments } = (await api.get('/environments?q=ssh-away')).json<{ environments: Environment[] }>();
      expect(environments).toHaveLength(1);
    });
  });
});
