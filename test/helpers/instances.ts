import { readdirSync, readFileSync } from 'node:fs';
import type { LightMyRequestResponse } from 'fastify';
import type { Instance } from '../../src/modules/instances/instances.types.js';
import type { TestApp } from './app.js';
import { apiClient, until } from './environments.js';

/** Fast supervisor timings for tests: backoff, probes and ready timeout in hundreds of ms. */
export const FAST_SUPERVISOR = { supervisor: { restartBackoff: '200ms', maxRestartBackoff: '2s', probeInterval: '200ms', readyTimeout: '10s', logRotateInterval: '300ms' } };

export function instancesClient(t: TestApp) {
  const api = apiClient(t);
  const expectOk = (res: LightMyRequestResponse, what: string, code = 200) => {
    if (res.statusCode !== code) throw new Error(`${what}: ${res.statusCode} ${res.body}`);
    return res;
  };
  return {
    ...api,
    async account(name: string, exchange = 'bybit', fields: Record<string, unknown> = { key: `${name}-key`, secret: `${name}-secret` }) {
      return expectOk(await api.post('/accounts', { name, exchange, ...fields }), `creating account ${name}`, 201).json<{ id: string }>();
    },
    async instance(body: Record<string, unknown>): Promise<Instance> {
      return expectOk(await api.post('/instances', body, 'operator'), `creating instance ${String(body.name)}`, 201).json<Instance>();
    },
    get: async (id: string) => expectOk(await api.get(`/instances/${id}`), `reading ${id}`).json<Instance>(),
    action: async (id: string, action: 'start' | 'stop' | 'restart') => expectOk(await api.post(`/instances/${id}/${action}`, undefined, 'operator'), `${action} ${id}`).json<Instance>(),
    /** Waits for a status (bounded), failing with the last state seen. */
    async status(id: string, status: Instance['status'] | Instance['status'][], ms = 15_000): Promise<Instance> {
      const wanted = Array.isArray(status) ? status : [status];
      let last: Instance | undefined;
      try {
        return await until(async () => {
          last = await this.get(id);
          return wanted.includes(last.status) ? last : undefined;
        }, `instance ${id} to be ${wanted.join('|')}`, ms);
      } catch (error) {
        throw new Error(`${(error as Error).message}; last: ${last?.status} ${last?.lastError ?? ''}`);
      }
    },
    async settings(group: string, values: Record<string, unknown>, url = '/settings') {
      expectOk(await api.put(url, url === '/settings' ? { [group]: values } : values), `settings ${group}`);
    },
  };
}

/** Whether a pid is a live process (not a zombie). */
export function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

/**
 * Pids of processes whose command line contains `text`: the bots themselves, not the small
 * exit-code wrapper shell each runs under (its command line names the same files).
 */
export function processesWith(text: string): number[] {
  return allProcessesWith(text).filter((pid) => {
    try {
      return !readFileSync(`/proc/${pid}/cmdline`, 'utf8').startsWith('sh\0-c\0trap');
    } catch {
      return false;
    }
  });
}

/** Every process whose command line contains `text`, wrappers included. */
export function allProcessesWith(text: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSafe('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const cmdline = readFileSync(`/proc/${entry}/cmdline`, 'utf8');
      if (cmdline.includes(text) && alive(Number(entry))) pids.push(Number(entry));
    } catch {
      // Gone meanwhile.
    }
  }
  return pids;
}

function readdirSafe(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}

/** The process group of a pid (a bot's group is led by its exit-code wrapper). */
export function groupOf(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[2]);
}

/** Kills every process whose command line contains `text` (test clean-up: no bot outlives its test). */
export function killAllWith(text: string): void {
  for (const pid of allProcessesWith(text)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // Already gone.
    }
  }
}
