import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Instance } from '../src/modules/instances/instances.types.js';
import { until } from './helpers/environments.js';
import { alive, killAllWith, processesWith } from './helpers/instances.js';
import { makePassivbotCheckout, standinConfig, type PassivbotCheckout } from './helpers/passivbot.js';
import { killAll } from './helpers/process.js';
import { restartableServer } from './helpers/restartable-server.js';

/**
 * pbfleet killed with SIGKILL while 5 bots run: the bots keep running, and the next pbfleet
 * adopts the same 5 processes (pid + start time + command line), starts none twice, and its
 * log readers continue from where the dead one stopped.
 */

const PROCESS_TEST_MS = 90_000;

describe('pbfleet restart with running bots', () => {
  const pbfleet = restartableServer('adoption', 'supervisor:\n  probeInterval: 300ms\n  restartBackoff: 300ms\n');
  const { call, start, kill } = pbfleet;
  let checkout: PassivbotCheckout;
  const list = async () => (await call<{ instances: Instance[] }>('GET', '/instances?limit=100')).instances;

  beforeAll(async () => {
    await pbfleet.setup();
    checkout = await makePassivbotCheckout();
  });

  afterAll(async () => {
    await killAll();
    killAllWith(checkout.dir);
    pbfleet.remove();
  });

  it(
    'adopts the same 5 bots after kill -9, duplicates none, and keeps their logs going',
    async () => {
      await start();
      await call('PUT', '/settings/paths', { passivbotDir: checkout.dir, pythonPath: checkout.python, passivbotKind: 'v7' });
      // One account per bot, as Passivbot runs: bots of one account share its fill cache and monitor files.
      const ids: string[] = [];
      for (let i = 1; i <= 5; i++) {
        await call('POST', '/accounts', { name: `bybit_0${i}`, exchange: 'bybit', key: 'k', secret: 's' });
        const bot = await call<Instance>('POST', '/instances', { name: `adopted-${i}`, environmentId: 'local', account: `bybit_0${i}`, config: standinConfig({ standin: { flood_lines_per_s: 20 } }) });
        ids.push(bot.id);
      }
      await call('POST', '/instances/bulk', { action: 'start', ids });
      const before = await until(async () => {
        const bots = await list();
        return bots.every((b) => b.status === 'running') && bots.every((b) => b.summary.lastHealthAt) ? bots : undefined;
      }, '5 running bots with parsed logs', 20_000);
      const pids = new Map(before.map((b) => [b.id, b.pid as number]));
      const fills = new Map(before.map((b) => [b.id, b.summary.fills]));

      await kill();
      // The bots outlive pbfleet, and keep logging while nobody watches.
      for (const pid of pids.values()) expect(alive(pid)).toBe(true);
      await new Promise((resolve) => setTimeout(resolve, 1500));

      await start();
      const after = await until(async () => {
        const bots = await list();
        return bots.every((b) => b.status === 'running') ? bots : undefined;
      }, 'the 5 bots adopted as running', 20_000);
      for (const bot of after) {
        expect(bot.pid, bot.name).toBe(pids.get(bot.id));
        expect(processesWith(`${bot.id}/config.json`), `${bot.name}: one process`).toHaveLength(1);
      }
      // Log reading resumed at the saved offset: lines written while pbfleet was dead are counted,
      // and counting goes on.
      await until(async () => {
        const bots = await list();
        return bots.every((b) => b.summary.fills > (fills.get(b.id) ?? 0) + 1);
      }, 'fills counted after the restart', 15_000);

      // The adopted bots still stop properly: SIGINT to their group, exit observed by probing.
      const stopped = await call<{ stopped: number; failed: unknown[] }>('POST', '/instances/stop-all');
      expect(stopped).toEqual({ stopped: 5, failed: [] });
      for (const pid of pids.values()) expect(alive(pid)).toBe(false);
      for (const bot of await list()) expect(bot).toMatchObject({ status: 'stopped', pid: null });
    },
    PROCESS_TEST_MS,
  );

  it(
    'starts a bot that should run but died while pbfleet was down, once',
    async () => {
      const [bot] = await list();
      if (!bot) throw new Error('no bot from the previous test');
      await call('POST', `/instances/${bot.id}/start`);
      const running = await until(async () => ((await call<Instance>('GET', `/instances/${bot.id}`)).status === 'running' ? call<Instance>('GET', `/instances/${bot.id}`) : undefined), 'running');
      await kill();
      process.kill(-(running.pid as number), 'SIGKILL');
      await until(() => !alive(running.pid as number), 'the bot to die');
      await start();
      const restarted = await until(async () => {
        const current = await call<Instance>('GET', `/instances/${bot.id}`);
        return current.status === 'running' && current.pid !== running.pid ? current : undefined;
      }, 'the dead bot started again', 20_000);
      expect(restarted.lastError).toMatch(/while pbfleet was not running/);
      expect(processesWith(`${bot.id}/config.json`)).toHaveLength(1);
      await call('POST', `/instances/${bot.id}/stop`);
    },
    PROCESS_TEST_MS,
  );
});
