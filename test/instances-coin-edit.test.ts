import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Instance } from '../src/modules/instances/instances.types.js';
import { createTestApp, type TestApp } from './helpers/app.js';
import { testDatabases } from './helpers/databases.js';
import { hubSpy, until } from './helpers/environments.js';
import { FAST_SUPERVISOR, instancesClient, killAllWith, processesWith } from './helpers/instances.js';
import { makePassivbotCheckout, standinConfig, type PassivbotCheckout } from './helpers/passivbot.js';

/**
 * What the bot editor does to a running bot: the whole config sent back with one coin added.
 * The coins reach the bot through the file it re-reads, so it never needs a restart: not in the
 * answer, not in the next read, not in the hub event the pages listen to.
 */
/** The approved-coins file a running bot re-reads, found through the config its process was given. */
function coinFile(id: string): unknown {
  const [pid] = processesWith(`${id}/config.json`);
  const configPath = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').find((arg) => arg.endsWith(`${id}/config.json`));
  const config = JSON.parse(readFileSync(configPath ?? '', 'utf8')) as { live: { approved_coins: string } };
  return JSON.parse(readFileSync(config.live.approved_coins, 'utf8'));
}

describe('a coin edit of a bot started once (as the UI does)', () => {
  let t: TestApp;
  let api: ReturnType<typeof instancesClient>;
  let checkout: PassivbotCheckout;

  beforeAll(async () => {
    checkout = await makePassivbotCheckout();
    t = await createTestApp(testDatabases[0]!, { overrides: FAST_SUPERVISOR, logger: { level: 'error' } });
    api = instancesClient(t);
    await api.settings('paths', { passivbotDir: checkout.dir, pythonPath: checkout.python, passivbotKind: 'v7' }, '/settings/paths');
    await api.settings('instances', { stopTimeoutSeconds: 2 });
    await api.account('bybit_01');
  });

  afterAll(async () => {
    await api?.post('/instances/stop-all', undefined, 'operator');
    await t?.close();
    if (checkout) killAllWith(checkout.dir);
  });

  it('applies the coins without a restart and says so everywhere', async () => {
    const bot = await api.instance({ name: 'coin-edit', environmentId: 'local', account: 'bybit_01', config: standinConfig({ coins: ['BTC', 'ETH'] }) });
    await api.action(bot.id, 'start');
    const running = await api.status(bot.id, 'running');
    expect(running).toMatchObject({ configVersion: 1, runningConfigVersion: 1, restartNeeded: false });

    const spy = hubSpy(t, ['instances']);
    const config = structuredClone(running.config) as { live: Record<string, unknown> };
    config.live.approved_coins = ['BTC', 'ETH', 'SOL'];
    // Reads while the edit is being saved (the page refetches, the test polls) never see v2 wanting a restart.
    let saving = true;
    const seen: Instance[] = [];
    const put = api.put(`/instances/${bot.id}`, { config }, 'operator').finally(() => (saving = false));
    while (saving && seen.length < 500) {
      seen.push(await api.get(bot.id));
      await new Promise((resolve) => setImmediate(resolve));
    }
    const res = await put;
    expect(seen.filter((i) => i.configVersion === 2 && i.restartNeeded).map((i) => `v${i.configVersion} running v${i.runningConfigVersion}`)).toEqual([]);
    expect(res.statusCode).toBe(200);
    expect(res.json<Instance>()).toMatchObject({ configVersion: 2, runningConfigVersion: 2, restartNeeded: false, symbols: ['BTC', 'ETH', 'SOL'], pid: running.pid });
    expect(await api.get(bot.id)).toMatchObject({ configVersion: 2, runningConfigVersion: 2, restartNeeded: false });
    const event = await until(() => spy.of('instance_updated').find((m) => (m.payload as Instance).configVersion === 2), 'the instance_updated event of v2');
    expect(event.payload).toMatchObject({ restartNeeded: false, runningConfigVersion: 2 });
    spy.detach();
    const versions = (await api.call('viewer', 'GET', `/instances/${bot.id}/config/versions`)).json<{ currentVersion: number; runningVersion: number | null }>();
    expect(versions).toMatchObject({ currentVersion: 2, runningVersion: 2 });
    expect(coinFile(bot.id)).toEqual(['BTC', 'ETH', 'SOL']);
  });

  it('leaves the running coins alone when the edit is refused', async () => {
    const bot = await api.instance({ name: 'coin-refused', environmentId: 'local', account: 'bybit_01', config: standinConfig({ coins: ['BTC'] }) });
    await api.action(bot.id, 'start');
    await api.status(bot.id, 'running');
    expect(coinFile(bot.id)).toEqual(['BTC']);
    // Another bot's name: the save fails after the coins could already be applied.
    const res = await api.put(`/instances/${bot.id}`, { name: 'coin-edit', config: standinConfig({ coins: ['BTC', 'DOGE'] }) }, 'operator');
    expect(res.statusCode).toBe(409);
    expect(await api.get(bot.id)).toMatchObject({ name: 'coin-refused', configVersion: 1, runningConfigVersion: 1, restartNeeded: false, symbols: ['BTC'] });
    expect(coinFile(bot.id)).toEqual(['BTC']);
  });
});
