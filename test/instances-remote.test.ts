import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Environment } from '../src/modules/environments/environments.types.js';
import type { LogBatch } from '../src/modules/instances/logs/log-streams.js';
import { createTestApp, type TestApp } from './helpers/app.js';
import { testDatabases } from './helpers/databases.js';
import { hubSpy, LOOPBACK_ALLOWED, sshEnvironmentBody, until } from './helpers/environments.js';
import { alive, FAST_SUPERVISOR, instancesClient, killAllWith, processesWith } from './helpers/instances.js';
import { makePassivbotCheckout, standinConfig, type PassivbotCheckout } from './helpers/passivbot.js';
import { sshdAvailable, useSshd } from './helpers/sshd.js';

/**
 * Bots on a server over SSH (the test sshd on 127.0.0.1): files by SFTP, started detached
 * with setsid, watched by pid + start time, logs over one multiplexed channel that resumes at
 * the exact byte after the host goes away and comes back.
 */

const sqlite = testDatabases[0] as (typeof testDatabases)[number];

describe.runIf(sshdAvailable)('instances over SSH', () => {
  const sshd = useSshd();
  let t: TestApp;
  let api: ReturnType<typeof instancesClient>;
  let checkout: PassivbotCheckout;
  let workDir: string;
  let env: Environment;
  let n = 0;

  beforeAll(async () => {
    checkout = await makePassivbotCheckout();
    workDir = mkdtempSync(join(tmpdir(), 'pbfleet-remote-work-'));
    t = await createTestApp(sqlite, { overrides: { ...FAST_SUPERVISOR, ...LOOPBACK_ALLOWED } });
    api = instancesClient(t);
    await api.settings('instances', { stopTimeoutSeconds: 2, maxCrashesPerHour: 2 });
    await api.account('bybit_01');
    env = await api.create(sshEnvironmentBody(sshd(), 'remote-bots', { runtime: { passivbotDir: checkout.dir, pythonPath: checkout.python, kind: 'v7', workDir } }));
  });

  afterEach(async () => {
    await sshd().start();
    await api.post('/instances/stop-all', undefined, 'operator');
  });

  afterAll(async () => {
    await t?.close();
    killAllWith(checkout.dir);
    rmSync(workDir, { recursive: true, force: true });
  });

  const create = (standin: Record<string, unknown> = {}) =>
    api.instance({ name: `remote-bot-${++n}`, environmentId: env.id, account: 'bybit_01', config: standinConfig({ standin }) });

  it('starts a detached bot over SSH with its files, follows its log, and stops it', async () => {
    const bot = await create();
    const spy = hubSpy(t, [`instance:${bot.id}:logs`]);
    await api.action(bot.id, 'start');
    const running = await api.status(bot.id, 'running');
    const dir = join(workDir, 'instances', bot.id);
    expect(Number(readFileSync(join(dir, 'pid'), 'utf8'))).toBe(running.pid);
    expect(alive(running.pid as number)).toBe(true);
    expect(statSync(join(checkout.dir, 'api-keys.json')).mode & 0o777).toBe(0o600);
    expect(Object.keys(JSON.parse(readFileSync(join(checkout.dir, 'api-keys.json'), 'utf8')) as object)).toEqual(['bybit_01']);
    expect(JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8'))).toMatchObject({ live: { user: 'bybit_01', approved_coins: join(dir, 'approved_coins.json') } });
    await until(() => spy.of('log').some((m) => (m.payload as LogBatch).lines.some((l) => l.includes('[boot] READY'))), 'the READY line over SSH');
    await until(async () => (await api.get(bot.id)).summary.lastHealthAt, 'a parsed health line');
    spy.detach();

    const stopped = await api.action(bot.id, 'stop');
    expect(stopped).toMatchObject({ status: 'stopped', pid: null, lastExitCode: 0 });
    expect(alive(running.pid as number)).toBe(false);
    // (The log reader's command line names bot.log; the bot's names its config.)
    expect(processesWith(join(dir, 'config.json'))).toEqual([]);
  });

  it('reports the exit code of a crashing remote bot and gives up after the limit', async () => {
    const bot = await create({ crash_after_s: 0.3 });
    await api.action(bot.id, 'start');
    const failed = await api.status(bot.id, 'error', 30_000);
    expect(failed.lastExitCode).toBe(1);
    expect(failed.lastError).toMatch(/exited with code 1/);
  });

  it('marks bots unknown while the host is away, then running again, with no log line lost or doubled', async () => {
    const bot = await create({ flood_lines_per_s: 200 });
    const spy = hubSpy(t, [`instance:${bot.id}:logs`]);
    await api.action(bot.id, 'start');
    const running = await api.status(bot.id, 'running');
    await until(() => spy.of('log').length > 3, 'some log batches');

    await sshd().stop();
    await api.status(bot.id, 'unknown');
    // Unknown is not stopped: the bot itself runs on.
    expect(alive(running.pid as number)).toBe(true);
    await new Promise((resolve) => setTimeout(resolve, 1000));
    await sshd().start();
    const back = await api.status(bot.id, 'running', 30_000);
    expect(back.pid).toBe(running.pid);

    const seqAt = () => {
      const seqs = spy
        .of('log')
        .flatMap((m) => (m.payload as LogBatch).lines)
        .map((l) => /\[flood\] seq=(\d+)/.exec(l)?.[1])
        .filter((s): s is string => s !== undefined)
        .map(Number);
      return seqs;
    };
    const lastBefore = Math.max(...seqAt());
    await until(() => Math.max(...seqAt()) > lastBefore + 300, 'lines written during the outage and after it', 30_000);
    spy.detach();
    const seqs = seqAt();
    // Every flood line exactly once, in order, across the outage.
    const first = seqs[0] as number;
    expect(seqs).toEqual(Array.from({ length: seqs.length }, (_, i) => first + i));
  });

  it('deleting a remote bot removes its files on the host', async () => {
    const bot = await create();
    await api.action(bot.id, 'start');
    await api.status(bot.id, 'running');
    expect((await api.del(`/instances/${bot.id}`)).statusCode).toBe(200);
    expect(existsSync(join(workDir, 'instances', bot.id))).toBe(false);
    expect(processesWith(join(workDir, 'instances', bot.id, 'config.json'))).toEqual([]);
  });

  it('deploy writes api-keys.json on the host and the files of its stopped bots', async () => {
    const bot = await create();
    rmSync(join(checkout.dir, 'api-keys.json'), { force: true });
    const started = await api.post(`/vps/deploy/${env.id}`, undefined, 'admin');
    expect(started.statusCode, started.body).toBe(202);
    const op = await api.operation(started.json<{ operationId: string }>().operationId);
    expect(op.status, op.error ?? '').toBe('succeeded');
    expect(op.output).toContain(join(workDir, 'instances', bot.id, 'config.json'));
    expect(statSync(join(checkout.dir, 'api-keys.json')).mode & 0o777).toBe(0o600);
    expect(JSON.parse(readFileSync(join(workDir, 'instances', bot.id, 'config.json'), 'utf8'))).toMatchObject({ live: { user: 'bybit_01' } });
  });

  it('an environment with bots is deleted only with force, which stops and deletes its bots first', async () => {
    const bot = await create();
    await api.action(bot.id, 'start');
    const running = await api.status(bot.id, 'running');
    const refused = await api.del(`/environments/${env.id}`);
    expect(refused.statusCode).toBe(409);
    expect(refused.body).toMatch(/has \d+ bot instance/);
    expect((await api.del(`/environments/${env.id}?force=true`)).statusCode).toBe(200);
    expect(alive(running.pid as number)).toBe(false);
    expect((await api.call('viewer', 'GET', `/instances/${bot.id}`)).statusCode).toBe(404);
  });
});
