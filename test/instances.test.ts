import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { HubMessage } from '../src/modules/hub/hub.js';
import type { LogBatch } from '../src/modules/instances/logs/log-streams.js';
import { createTestApp, type TestApp } from './helpers/app.js';
import { testDatabases } from './helpers/databases.js';
import { auditEntries, hubSpy, until, type ErrorBody } from './helpers/environments.js';
import { alive, FAST_SUPERVISOR, instancesClient, killAllWith, processesWith } from './helpers/instances.js';
import { makePassivbotCheckout, standinConfig, type PassivbotCheckout } from './helpers/passivbot.js';

/**
 * Bots on this machine, end to end with the stand-in Passivbot: start, stop, restart, crash
 * handling, config versions, live coin changes, api-keys.json and hostile input.
 */

const LOCAL = 'local';

describe.each(testDatabases)('instances on $name', (database) => {
  let t: TestApp;
  let api: ReturnType<typeof instancesClient>;
  let checkout: PassivbotCheckout;

  beforeAll(async () => {
    checkout = await makePassivbotCheckout();
    t = await createTestApp(database, { overrides: FAST_SUPERVISOR, logger: { level: 'error' } });
    api = instancesClient(t);
    await api.settings('paths', { passivbotDir: checkout.dir, pythonPath: checkout.python, passivbotKind: 'v7' }, '/settings/paths');
    await api.settings('instances', { stopTimeoutSeconds: 2, maxCrashesPerHour: 2 });
    await api.account('bybit_01');
    await api.account('okx_01', 'okx', { key: 'k', secret: 's', passphrase: 'p' });
    await api.account('unused_01');
  });

  afterEach(async () => {
    await api.post('/instances/stop-all', undefined, 'operator');
  });

  afterAll(async () => {
    await t?.close();
    killAllWith(checkout.dir);
  });

  let seq = 0;
  const botName = () => `bot-${database.name}-${++seq}`;
  const create = (extra: { standin?: Record<string, unknown>; coins?: string[]; account?: string } = {}) =>
    api.instance({ name: botName(), environmentId: LOCAL, account: extra.account ?? 'bybit_01', config: standinConfig({ coins: extra.coins ?? ['BTC', 'ETH'], ...(extra.standin && { standin: extra.standin }) }) });

  it('starts a bot that reaches READY, writes api-keys.json 0600 with only the accounts in use, and stops it without orphans', async () => {
    const bot = await create();
    expect(bot).toMatchObject({ status: 'stopped', desiredState: 'stopped', exchange: 'bybit', account: 'bybit_01', symbols: ['BTC', 'ETH'], configVersion: 1, runtime: 'v7' });
    const started = await api.action(bot.id, 'start');
    expect(['starting', 'running']).toContain(started.status);
    const running = await api.status(bot.id, 'running');
    expect(running.pid).toBeGreaterThan(0);
    expect(alive(running.pid as number)).toBe(true);
    expect(running.runningConfigVersion).toBe(1);

    const keysPath = join(checkout.dir, 'api-keys.json');
    expect(statSync(keysPath).mode & 0o777).toBe(0o600);
    const keys = JSON.parse(readFileSync(keysPath, 'utf8')) as Record<string, unknown>;
    expect(Object.keys(keys).sort()).toEqual(['bybit_01']);
    expect(keys.bybit_01).toEqual({ exchange: 'bybit', key: 'bybit_01-key', secret: 'bybit_01-secret' });

    // The live summary comes from the bot's [health] and [fill] lines.
    const withSummary = await until(async () => {
      const i = await api.get(bot.id);
      return i.summary.lastHealthAt && i.summary.balance !== null ? i : undefined;
    }, 'a parsed [health] line');
    expect(withSummary.summary.ready).toBe(true);

    const stopped = await api.action(bot.id, 'stop');
    expect(stopped).toMatchObject({ status: 'stopped', desiredState: 'stopped', pid: null, lastExitCode: 0 });
    expect(alive(running.pid as number)).toBe(false);
    expect(processesWith(`${bot.id}/config.json`)).toEqual([]);
    const actions = (await auditEntries(t)).map((e) => e.action);
    expect(actions).toEqual(expect.arrayContaining(['instance_create', 'instance_start', 'instance_stop']));
  });

  it('restarts with a new process and counts it', async () => {
    const bot = await create();
    await api.action(bot.id, 'start');
    const first = await api.status(bot.id, 'running');
    await api.action(bot.id, 'restart');
    const second = await api.status(bot.id, 'running');
    expect(second.pid).not.toBe(first.pid);
    expect(alive(first.pid as number)).toBe(false);
    expect(second.restartCount).toBe(first.restartCount + 1);
    expect(processesWith(`${bot.id}/config.json`)).toHaveLength(1);
  });

  it('restarts a crashing bot with backoff, then puts it in error past the hourly limit (audited, on the hub)', async () => {
    const bot = await create({ standin: { crash_after_s: 0.3 } });
    const spy = hubSpy(t, [`instance:${bot.id}`]);
    await api.action(bot.id, 'start');
    const failed = await api.status(bot.id, 'error', 20_000);
    expect(failed.pid).toBeNull();
    expect(failed.lastExitCode).toBe(1);
    expect(failed.lastError).toMatch(/exited with code 1/);
    expect(failed.lastError).toMatch(/3 times within an hour/);
    expect(failed.restartCount).toBe(2);
    // The hub's messages travel over a WebSocket: the last ones may land just after the API answer.
    const statuses = await until(() => {
      const seen = spy.of('instance_updated').map((m) => (m.payload as { status: string }).status);
      return seen.includes('error') && spy.of('instance_error').length > 0 ? seen : undefined;
    }, "the hub's error messages");
    expect(statuses).toEqual(expect.arrayContaining(['starting', 'running', 'crashed', 'error']));
    expect(spy.of('instance_error')).toHaveLength(1);
    const errors = await until(async () => {
      const found = (await auditEntries(t)).filter((e) => e.action === 'instance_error' && e.message.includes(bot.name));
      return found.length ? found : undefined;
    }, 'the audit entry of the error');
    expect(errors).toHaveLength(1);
    spy.detach();
    // An explicit start gives it another chance.
    const again = await api.action(bot.id, 'start');
    expect(['starting', 'running']).toContain(again.status);
  });

  it('treats an exit 0 while it should run as a crash (Passivbot gives up that way)', async () => {
    const bot = await create({ standin: { exit_zero_after_s: 0.3 } });
    await api.action(bot.id, 'start');
    const crashed = await api.status(bot.id, ['crashed', 'error']);
    expect(crashed.lastExitCode).toBe(0);
    expect(crashed.lastError).toMatch(/code 0 while it should run/);
  });

  it('sends SIGKILL to the process group when SIGINT is ignored', async () => {
    const bot = await create({ standin: { ignore_sigint: true } });
    await api.action(bot.id, 'start');
    const running = await api.status(bot.id, 'running');
    const started = Date.now();
    const stopped = await api.action(bot.id, 'stop');
    expect(stopped.status).toBe('stopped');
    expect(Date.now() - started).toBeGreaterThanOrEqual(1900);
    expect(alive(running.pid as number)).toBe(false);
  });

  it('keeps config versions: a change needs a restart, a coin change applies live, restore and diff work', async () => {
    const bot = await create();
    await api.action(bot.id, 'start');
    await api.status(bot.id, 'running');
    const config = standinConfig({ coins: ['BTC', 'ETH'] });
    const changed: Record<string, unknown> = { ...config, bot: { long: { n_positions: 3 } } };
    const v2 = (await api.put(`/instances/${bot.id}`, { config: changed, note: 'three positions' }, 'operator')).json<{ configVersion: number; restartNeeded: boolean; runningConfigVersion: number }>();
    expect(v2).toMatchObject({ configVersion: 2, runningConfigVersion: 1, restartNeeded: true });
    await api.action(bot.id, 'restart');
    expect(await api.status(bot.id, 'running')).toMatchObject({ configVersion: 2, runningConfigVersion: 2, restartNeeded: false });

    // Coins only: written to the file the bot re-reads, no restart.
    const before = await api.get(bot.id);
    const v3 = (await api.put(`/instances/${bot.id}`, { config: { ...changed, live: { ...(changed.live as object), approved_coins: ['BTC', 'SOL'] } } }, 'operator')).json<{ configVersion: number; restartNeeded: boolean; symbols: string[] }>();
    expect(v3).toMatchObject({ configVersion: 3, restartNeeded: false, symbols: ['BTC', 'SOL'] });
    expect((await api.get(bot.id)).pid).toBe(before.pid);
    const spy = hubSpy(t, [`instance:${bot.id}:logs`]);
    await until(() => spy.of('log').some((m) => (m.payload as LogBatch).lines.some((l) => l.includes('approved coins changed') && l.includes('SOL'))), 'the bot to re-read its coin file');
    spy.detach();

    const versions = (await api.call('viewer', 'GET', `/instances/${bot.id}/config/versions`)).json<{ currentVersion: number; versions: { version: number; note: string | null }[] }>();
    expect(versions.currentVersion).toBe(3);
    expect(versions.versions.map((v) => v.version)).toEqual([3, 2, 1]);
    expect(versions.versions[1]?.note).toBe('three positions');
    const diff = (await api.call('viewer', 'GET', `/instances/${bot.id}/config/versions/1?against=2`)).json<{ changes: { path: string }[] }>();
    expect(diff.changes.map((c) => c.path)).toContain('bot.long.n_positions');

    const restored = (await api.post(`/instances/${bot.id}/config/restore/1`, undefined, 'operator')).json<{ configVersion: number; restartNeeded: boolean }>();
    expect(restored).toMatchObject({ configVersion: 4, restartNeeded: true });
    const missing = await api.post(`/instances/${bot.id}/config/restore/99`, undefined, 'operator');
    expect(missing.statusCode).toBe(404);
  });

  it('streams logs over SSE: the backlog, then live lines, filtered by text and level', async () => {
    const bot = await create();
    await api.action(bot.id, 'start');
    await api.status(bot.id, 'running');
    await until(async () => (await api.get(bot.id)).summary.lastHealthAt, 'a health line');
    const address = await t.app.listen({ port: 0, host: '127.0.0.1' });
    const controller = new AbortController();
    const res = await fetch(`${address}/api/v1/instances/${bot.id}/logs?tail=50&q=health`, { headers: t.auth('viewer'), signal: controller.signal });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/text\/event-stream/);
    const reader = res.body!.getReader();
    const batches: LogBatch[] = [];
    let text = '';
    await until(async () => {
      const { value } = await reader.read();
      text += new TextDecoder().decode(value);
      for (const block of text.split('\n\n').slice(0, -1)) {
        const data = block.split('\n').find((l) => l.startsWith('data: '));
        if (data) {
          const message = JSON.parse(data.slice(6)) as HubMessage;
          if (message.type === 'log') batches.push(message.payload as LogBatch);
        }
      }
      text = text.slice(text.lastIndexOf('\n\n') + 2);
      return batches.some((b) => b.backlog) && batches.some((b) => !b.backlog);
    }, 'backlog and live lines');
    controller.abort();
    const lines = batches.flatMap((b) => b.lines);
    expect(lines.length).toBeGreaterThan(1);
    expect(lines.every((l) => l.toLowerCase().includes('health'))).toBe(true);
    const backlog = batches.find((b) => b.backlog);
    expect(backlog?.lines.length).toBeLessThanOrEqual(50);

    const download = await t.app.inject({ method: 'GET', url: `/api/v1/instances/${bot.id}/logs/download`, headers: t.auth('viewer') });
    expect(download.statusCode).toBe(200);
    expect(download.headers['content-type']).toMatch(/text\/plain/);
    expect(download.body).toMatch(/\[boot\] READY/);
  });

  it('rotates a log past its size, keeping the generations set, and keeps reading the new one', async () => {
    await api.settings('instances', { logMaxMegabytes: 1, logGenerations: 2 });
    try {
      const bot = await create({ standin: { flood_lines_per_s: 5000 } });
      await api.action(bot.id, 'start');
      await api.status(bot.id, 'running');
      const log = join(t.config.dataDir, 'bots', 'instances', bot.id, 'bot.log');
      // (Mid-rotation `.1` is briefly absent: it is renamed to `.2` before the copy.)
      await until(() => existsSync(`${log}.2`) && existsSync(`${log}.1`) && statSync(`${log}.1`).size > 1024 * 1024, 'two rotations', 20_000);
      expect(existsSync(`${log}.3`)).toBe(false);
      // Reading goes on in the truncated file: new lines keep arriving.
      const spy = hubSpy(t, [`instance:${bot.id}:logs`]);
      await until(() => spy.of('log').length > 2, 'lines after the rotation');
      spy.detach();
    } finally {
      await api.settings('instances', { logMaxMegabytes: 50, logGenerations: 3 });
    }
  });

  it('runs bulk actions with a result per id and an audited emergency stop', async () => {
    const bots = await Promise.all([create(), create(), create()]);
    const ids = bots.map((b) => b.id);
    const bulk = (await api.post('/instances/bulk', { action: 'start', ids: [...ids, 'no-such-bot'] }, 'operator')).json<{ results: { id: string; ok: boolean; error?: string }[] }>();
    expect(bulk.results.map((r) => [r.id, r.ok])).toEqual([...ids.map((id) => [id, true]), ['no-such-bot', false]]);
    expect(bulk.results[3]?.error).toMatch(/not found/i);
    for (const id of ids) await api.status(id, 'running');
    const viewer = await api.call('viewer', 'POST', '/instances/stop-all');
    expect(viewer.statusCode).toBe(403);
    const stopAll = (await api.post('/instances/stop-all', undefined, 'operator')).json<{ stopped: number; failed: unknown[] }>();
    expect(stopAll.stopped).toBeGreaterThanOrEqual(3);
    expect(stopAll.failed).toEqual([]);
    for (const id of ids) expect((await api.get(id)).status).toBe('stopped');
    expect((await auditEntries(t)).filter((e) => e.action === 'instance_stop_all')).not.toHaveLength(0);
  });

  it('deletes a running bot by stopping it first, and its account leaves api-keys.json', async () => {
    const bot = await create({ account: 'okx_01' });
    await api.action(bot.id, 'start');
    const running = await api.status(bot.id, 'running');
    expect(Object.keys(JSON.parse(readFileSync(join(checkout.dir, 'api-keys.json'), 'utf8')) as object)).toContain('okx_01');
    const res = await api.del(`/instances/${bot.id}`);
    expect(res.statusCode).toBe(200);
    expect(alive(running.pid as number)).toBe(false);
    expect((await api.call('viewer', 'GET', `/instances/${bot.id}`)).statusCode).toBe(404);
    expect(Object.keys(JSON.parse(readFileSync(join(checkout.dir, 'api-keys.json'), 'utf8')) as object)).not.toContain('okx_01');
    expect(existsSync(join(t.config.dataDir, 'bots', 'instances', bot.id))).toBe(false);
  });

  it('refuses hostile names, unknown references and bad configs with 400s naming the field', async () => {
    const base = { name: 'ok-name', environmentId: LOCAL, account: 'bybit_01', config: standinConfig() };
    const cases: [Record<string, unknown>, string][] = [
      [{ ...base, name: '../etc' }, 'name'],
      [{ ...base, name: 'a'.repeat(65) }, 'name'],
      [{ ...base, name: 'bad\nname' }, 'name'],
      [{ ...base, environmentId: 'nope' }, 'environmentId'],
      [{ ...base, account: 'ghost' }, 'account'],
      [{ ...base, config: { bot: { long: { n_positions: 'three' } } } }, 'config.bot.long.n_positions'],
      [{ ...base, config: { live: { leverage: -5 } } }, 'config.live.leverage'],
      [{ ...base, config: [] }, 'config'],
      [{ ...base, runtime: 'v6' }, 'runtime'],
      [{ ...base, extra: 1 }, 'extra'],
    ];
    for (const [body, field] of cases) {
      const res = await api.post('/instances', body, 'operator');
      expect(res.statusCode, JSON.stringify(body).slice(0, 80)).toBe(400);
      expect((res.json<ErrorBody>().error.details?.fields ?? []).map((f) => f.field)).toContain(field);
    }
    const created = await api.instance({ ...base, name: botName() });
    const duplicate = await api.post('/instances', { ...base, name: created.name }, 'operator');
    expect(duplicate.statusCode).toBe(409);
    expect((await api.call('viewer', 'POST', '/instances', { ...base, name: botName() })).statusCode).toBe(403);
    const list = (await api.call('viewer', 'GET', '/instances?q=ok-name')).json<{ instances: unknown[] }>();
    expect(list.instances).toEqual([]);
  });

  it('will not move a running bot to another account or environment', async () => {
    const bot = await create();
    await api.action(bot.id, 'start');
    await api.status(bot.id, 'running');
    const res = await api.put(`/instances/${bot.id}`, { account: 'okx_01' }, 'operator');
    expect(res.statusCode).toBe(409);
    await api.action(bot.id, 'stop');
    const moved = (await api.put(`/instances/${bot.id}`, { account: 'okx_01' }, 'operator')).json<{ exchange: string; config: { live: { user: string } } }>();
    expect(moved.exchange).toBe('okx');
    expect(moved.config.live.user).toBe('okx_01');
  });

  it('a bot whose Passivbot directory is missing ends in error with the reason, not a crash loop', async () => {
    const bot = await create();
    await api.settings('paths', { passivbotDir: '/nonexistent/passivbot' }, '/settings/paths');
    try {
      const result = await api.action(bot.id, 'start');
      expect(result.status).toBe('error');
      expect(result.lastError).toMatch(/\/nonexistent\/passivbot does not exist/);
    } finally {
      await api.settings('paths', { passivbotDir: checkout.dir }, '/settings/paths');
    }
  });
});
