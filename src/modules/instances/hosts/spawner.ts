import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';

/** What to start: detached (its own session and process group), output appended to `log`. */
export interface SpawnRequest {
  file: string;
  args: readonly string[];
  cwd: string;
  log: string;
}

export interface Spawned {
  pid: number;
  /** Resolves when the process is gone, with the signal that ended it when that is known. */
  gone: Promise<{ signal: string | null }>;
}

type HelperReply = { id: number; pid: number } | { id: number; error: string } | { id: number; exited: true; signal: string | null };

/**
 * The helper: a bare Node process that forks for us. fork() copies the parent's page tables, so
 * its cost grows with the parent's memory: about 3 ms per start from a 180 MB server, about
 * 0.7 ms from this 40 MB helper (the same reason Java has jspawnhelper). Children are its own,
 * so it sees their exits at once and says so; it ends when pbfleet does (the IPC channel closes),
 * and the detached children live on, as before.
 */
const HELPER_SOURCE = `
const { spawn } = require('node:child_process');
const { openSync, closeSync } = require('node:fs');
process.on('disconnect', () => process.exit(0));
process.on('message', (m) => {
  let fd;
  try {
    fd = openSync(m.log, 'a', 0o640);
    const child = spawn(m.file, m.args, { cwd: m.cwd, detached: true, stdio: ['ignore', fd, fd] });
    if (child.pid === undefined) {
      child.once('error', (e) => process.send({ id: m.id, error: e.code || e.message }));
      return;
    }
    child.unref();
    process.send({ id: m.id, pid: child.pid });
    child.once('exit', (_code, signal) => process.send({ id: m.id, exited: true, signal }));
  } catch (e) {
    process.send({ id: m.id, error: e.code || e.message });
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
});
`;

/**
 * What bots and jobs inherit: this process's environment without pbfleet's own settings (its
 * master key, database URL and admin password are not a bot's business) or Node's options.
 */
export function childEnv(): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('PBFLEET_') && name !== 'NODE_OPTIONS'));
}

/** How often a process whose helper died is checked for its end. */
const ORPHAN_POLL_MS = 250;

function startTime(pid: number): string | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19] ?? null;
  } catch {
    return null;
  }
}

/** Spawns directly from this process: the fallback when the helper cannot be used. */
function spawnHere(request: SpawnRequest): Promise<Spawned> {
  const fd = openSync(request.log, 'a', 0o640);
  let child: ChildProcess;
  try {
    child = spawn(request.file, request.args, { cwd: request.cwd, detached: true, stdio: ['ignore', fd, fd], env: childEnv() });
  } finally {
    closeSync(fd);
  }
  const gone = new Promise<{ signal: string | null }>((resolve) => child.once('exit', (_code, signal) => resolve({ signal })));
  if (child.pid === undefined) {
    return new Promise((_resolve, reject) => child.once('error', (error: NodeJS.ErrnoException) => reject(new Error(error.code ?? error.message))));
  }
  child.unref();
  return Promise.resolve({ pid: child.pid, gone });
}

interface Pending {
  helper: ChildProcess;
  started?: { resolve(spawned: Spawned): void; reject(error: Error): void };
  pid?: number;
  start?: string | null;
  gone: (result: { signal: string | null }) => void;
  gonePromise: Promise<{ signal: string | null }>;
}

/** The request never reached the helper: safe to make again. */
class HelperUnavailable extends Error {}

/**
 * Starts processes through the helper, and directly from this process when no helper can be
 * had. A helper that dies is replaced on the next start; the processes it started are watched
 * through /proc until they end.
 */
export class Spawner {
  private helper: ChildProcess | null = null;
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private closed = false;

  async spawn(request: SpawnRequest): Promise<Spawned> {
    for (let attempt = 0; attempt < 2 && !this.closed; attempt++) {
      const helper = this.helperProcess();
      if (!helper) break;
      try {
        return await this.through(helper, request);
      } catch (error) {
        if (!(error instanceof HelperUnavailable)) throw error;
        if (this.helper === helper) this.helper = null;
      }
    }
    return spawnHere(request);
  }

  close(): void {
    this.closed = true;
    if (this.helper?.connected) this.helper.disconnect();
    this.helper = null;
  }

  private through(helper: ChildProcess, request: SpawnRequest): Promise<Spawned> {
    if (!helper.connected) return Promise.reject(new HelperUnavailable());
    const id = this.nextId++;
    let gone = (_result: { signal: string | null }) => undefined as void;
    const gonePromise = new Promise<{ signal: string | null }>((resolve) => (gone = resolve));
    return new Promise<Spawned>((resolve, reject) => {
      this.pending.set(id, { helper, started: { resolve, reject }, gone, gonePromise });
      helper.send({ id, ...request }, (error) => {
        if (!error || !this.pending.delete(id)) return;
        reject(new HelperUnavailable());
      });
    });
  }

  private helperProcess(): ChildProcess | null {
    if (this.helper) return this.helper;
    let helper: ChildProcess;
    try {
      helper = spawn(process.execPath, ['--max-semi-space-size=1', '-e', HELPER_SOURCE], { stdio: ['ignore', 'ignore', 'inherit', 'ipc'], env: childEnv() });
    } catch {
      return null;
    }
    helper.on('message', (reply: HelperReply) => this.reply(reply));
    helper.once('error', () => undefined);
    helper.once('exit', () => this.helperGone(helper));
    helper.unref();
    helper.channel?.unref();
    this.helper = helper;
    return helper;
  }

  private reply(reply: HelperReply): void {
    const entry = this.pending.get(reply.id);
    if (!entry) return;
    if ('exited' in reply) {
      this.pending.delete(reply.id);
      entry.gone({ signal: reply.signal });
    } else if ('error' in reply) {
      this.pending.delete(reply.id);
      entry.started?.reject(new Error(reply.error));
    } else {
      entry.pid = reply.pid;
      entry.start = startTime(reply.pid);
      entry.started?.resolve({ pid: reply.pid, gone: entry.gonePromise });
      entry.started = undefined;
    }
  }

  /**
   * A start it may have made before dying fails (made again, it could run twice); processes it
   * started are watched through /proc.
   */
  private helperGone(helper: ChildProcess): void {
    if (this.helper === helper) this.helper = null;
    for (const [id, entry] of this.pending) {
      if (entry.helper !== helper) continue;
      this.pending.delete(id);
      if (entry.started) entry.started.reject(new Error('the process helper ended during the start'));
      else if (entry.pid !== undefined) void this.watchOrphan(entry.pid, entry.start ?? null).then(entry.gone);
    }
  }

  private async watchOrphan(pid: number, start: string | null): Promise<{ signal: string | null }> {
    while (start !== null && startTime(pid) === start) await new Promise((resolve) => setTimeout(resolve, ORPHAN_POLL_MS).unref());
    return { signal: null };
  }
}
