import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Spawner } from './spawner.js';

const parentOf = (pid: number) => Number(readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ')[1]);
const groupOf = (pid: number) => Number(readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ')[2]);
const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

describe('Spawner', () => {
  const cleanup: (() => void)[] = [];
  afterEach(() => {
    for (const step of cleanup.splice(0)) step();
  });

  const setup = () => {
    const dir = mkdtempSync(join(tmpdir(), 'pbfleet-spawner-'));
    const spawner = new Spawner();
    cleanup.push(() => spawner.close(), () => rmSync(dir, { recursive: true, force: true }));
    return { dir, spawner, log: join(dir, 'out.log') };
  };

  it('starts a detached process through its helper, output appended to the log, without pbfleet settings in its environment', async () => {
    const { dir, spawner, log } = setup();
    process.env.PBFLEET_MASTER_KEY_SPAWNER_TEST = 'secret';
    cleanup.push(() => delete process.env.PBFLEET_MASTER_KEY_SPAWNER_TEST);
    const spawned = await spawner.spawn({ file: 'sh', args: ['-c', 'echo "in $PWD"; env; echo err >&2; sleep 0.3'], cwd: dir, log });
    expect(parentOf(spawned.pid)).not.toBe(process.pid); // the helper forked it
    expect(groupOf(spawned.pid)).toBe(spawned.pid); // its own process group
    expect(await spawned.gone).toEqual({ signal: null });
    const output = readFileSync(log, 'utf8');
    expect(output).toContain(`in ${dir}`);
    expect(output).toContain('err');
    expect(output).not.toContain('PBFLEET_');
  });

  it('reports the signal that ended a process', async () => {
    const { dir, spawner, log } = setup();
    const spawned = await spawner.spawn({ file: 'sleep', args: ['30'], cwd: dir, log });
    process.kill(spawned.pid, 'SIGKILL');
    expect(await spawned.gone).toEqual({ signal: 'SIGKILL' });
  });

  it('fails a start that cannot happen with the reason', async () => {
    const { dir, spawner, log } = setup();
    await expect(spawner.spawn({ file: 'sh', args: ['-c', 'true'], cwd: join(dir, 'missing'), log })).rejects.toThrow(/ENOENT/);
    // The helper is still there for the next one.
    const next = await spawner.spawn({ file: 'true', args: [], cwd: dir, log });
    expect(await next.gone).toEqual({ signal: null });
  });

  it('a helper that dies leaves its processes running and watched; the next start brings a new helper', async () => {
    const { dir, spawner, log } = setup();
    const first = await spawner.spawn({ file: 'sleep', args: ['30'], cwd: dir, log });
    const helper = parentOf(first.pid);
    process.kill(helper, 'SIGKILL');
    await expect.poll(() => parentOf(first.pid), { timeout: 5000 }).not.toBe(helper);
    expect(alive(first.pid)).toBe(true);
    const second = await spawner.spawn({ file: 'sleep', args: ['30'], cwd: dir, log });
    expect(parentOf(second.pid)).not.toBe(helper);
    expect(parentOf(second.pid)).not.toBe(process.pid);
    process.kill(first.pid, 'SIGKILL');
    process.kill(second.pid, 'SIGKILL');
    expect(await first.gone).toEqual({ signal: null }); // seen through /proc: the signal is not known
    expect(await second.gone).toEqual({ signal: 'SIGKILL' });
  });
});
