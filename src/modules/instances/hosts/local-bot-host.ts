import { randomBytes } from 'node:crypto';
import { accessSync, chmodSync, constants, createReadStream, mkdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync, type Stats } from 'node:fs';
import { readdir, readFile, rm, stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import type { Readable } from 'node:stream';
import type { HostRunner } from '../../hosts/host-runner.js';
import type { Runtime } from '../../environments/environments.types.js';
import { EXIT_WRAPPER, ROTATE } from './bot-host.scripts.js';
import { prepareArgs, startTimeOf, type BotHost, type LaunchedBot, type LogSink, type ProbeResult } from './bot-host.js';
import { LocalLogFollower } from '../logs/log-followers.js';
import { Spawner, type Spawned } from './spawner.js';
import { botLayout, type BotFile, type BotLayout, type ProcessLayout, type RuntimeShape } from './bot-layout.fns.js';
import type { BotProcess } from '../instances.types.js';

/** How a wrapped process ended, from its exit file; a code above 128 is death by signal. */
async function exitOf(dir: string, signal: string | null = null): Promise<{ exitCode: number | null; signal: string | null }> {
  const text = (await readFile(`${dir}/exit`, 'utf8').catch(() => '')).trim();
  if (!/^\d+$/.test(text)) return { exitCode: null, signal };
  const code = Number(text);
  return code > 128 && code < 160 ? { exitCode: code, signal: `signal ${code - 128}` } : { exitCode: code, signal: null };
}

/** `command -v`: a path must be executable, a bare name must be found on PATH. */
function executable(command: string): boolean {
  const candidates = command.includes('/') ? [command] : (process.env.PATH ?? '').split(':').filter(Boolean).map((dir) => `${dir}/${command}`);
  return candidates.some((path) => {
    try {
      accessSync(path, constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
}

function statOrNull(path: string): Stats | null {
  return statSync(path, { throwIfNoEntry: false }) ?? null;
}

/** Temp file + rename, so the bot never reads half a file. */
function writeFileAtomicSync(path: string, content: string | Buffer, mode: number): void {
  const temp = `${path}.pbfleet-${process.pid}-${randomBytes(6).toString('hex')}.tmp`;
  try {
    writeFileSync(temp, content, { mode });
    chmodSync(temp, mode);
    renameSync(temp, path);
  } catch (error) {
    rmSync(temp, { force: true });
    throw error;
  }
}

/**
 * /proc is read synchronously: it is memory, never a disk, and on a busy server a trip through
 * the thread pool queues behind real file work for milliseconds.
 */
function readStart(pid: number): string | null {
  try {
    return startTimeOf(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return null;
  }
}

/**
 * Bots on this machine: our own children, each in its own process group (detached), writing
 * straight to their log file, so they keep running when pbfleet stops or is killed.
 */
export function createLocalBotHost(deps: { environmentId: string; runtime: () => Promise<Runtime>; runner: HostRunner; sink: LogSink }): BotHost {
  const { runner } = deps;
  const follower = new LocalLogFollower(deps.sink);
  const spawner = new Spawner();

  return {
    environmentId: deps.environmentId,
    follower,

    local: true,
    workDir: async () => resolve((await deps.runtime()).workDir),
    runtime: () => deps.runtime(),

    async layout(instanceId: string, shape: RuntimeShape): Promise<BotLayout> {
      const runtime = await deps.runtime();
      return botLayout(runtime, shape, resolve(runtime.workDir), instanceId);
    },

    close() {
      follower.close();
      spawner.close();
    },

    listDir: (path) => readdir(path).catch(() => []),
    readFile: (path) => readFile(path),

    async writeFiles(files: readonly BotFile[]): Promise<void> {
      for (const file of files) await runner.writeFileAtomic(file.path, file.content, file.mode);
    },

    /**
     * The same checks as the PREPARE script remote hosts run, without a fork per start. A
     * handful of metadata calls and small writes on the local disk, done synchronously: through
     * the thread pool each would queue behind other jobs' result reading, and a job's start
     * (its slot is already free) would wait milliseconds per call.
     */
    async prepare(layout: ProcessLayout, files: readonly BotFile[]): Promise<void> {
      const [cwd = '', command = '', script = '', ...dirs] = prepareArgs(layout, files);
      if (!statOrNull(cwd)?.isDirectory()) throw new Error(`the Passivbot directory ${cwd} does not exist`);
      if (!executable(command)) throw new Error(`${command} is not installed or not executable`);
      if (script && !statOrNull(script)?.isFile()) throw new Error(`${script} does not exist: is ${cwd} a Passivbot checkout?`);
      for (const dir of dirs) mkdirSync(dir, { recursive: true });
      for (const file of files) writeFileAtomicSync(file.path, file.content, file.mode);
    },

    async launch(layout: ProcessLayout): Promise<LaunchedBot> {
      // Two metadata calls, synchronous like the spawn itself: the slot a job waits for is free
      // now, and the thread pool may be busy reading another job's results.
      mkdirSync(layout.dir, { recursive: true });
      rmSync(`${layout.dir}/exit`, { force: true });
      const command = layout.argv[0] ?? '';
      let spawned: Spawned;
      try {
        // The process group's leader is the exit-code wrapper (the same as on remote hosts).
        spawned = await spawner.spawn({ file: 'sh', args: ['-c', EXIT_WRAPPER, `${layout.dir}/exit`, ...layout.argv], cwd: layout.cwd, log: layout.log });
      } catch (error) {
        throw new Error(`cannot start ${command}: ${(error as Error).message}`);
      }
      const gone = spawned.gone.then(() => undefined);
      const exited = spawned.gone.then(({ signal }) => exitOf(layout.dir, signal));
      const start = readStart(spawned.pid);
      // A very short run can be over before its start time is read: its exit says the rest.
      return { pid: spawned.pid, start: start ?? 'ended', exited, gone };
    },

    async signal(proc: BotProcess, signal: 'SIGINT' | 'SIGKILL'): Promise<void> {
      if (readStart(proc.pid) !== proc.start) return;
      try {
        process.kill(-proc.pid, signal);
      } catch {
        try {
          process.kill(proc.pid, signal);
        } catch {
          // Already gone.
        }
      }
    },

    async probe(bots): Promise<Map<string, ProbeResult>> {
      const results = new Map<string, ProbeResult>();
      await Promise.all(
        bots.map(async ({ instanceId, proc, layout }) => {
          const start = readStart(proc.pid);
          const cmdline = start === proc.start ? await readFile(`/proc/${proc.pid}/cmdline`, 'utf8').catch(() => '') : '';
          // Not our child any more (pbfleet restarted): its wrapper left the exit code in a file.
          results.set(instanceId, cmdline.includes(layout.dir) ? { state: 'alive' } : { state: 'exited', ...(await exitOf(layout.dir)) });
        }),
      );
      return results;
    },

    async rotate(logs, maxBytes, generations): Promise<string[]> {
      if (logs.length === 0) return [];
      const result = await runner.exec(['sh', '-c', ROTATE, 'rotate', String(maxBytes), String(generations), ...logs]);
      return result.stdout.split('\n').filter(Boolean);
    },

    async download(layout: ProcessLayout): Promise<Readable> {
      await stat(layout.log);
      return createReadStream(layout.log);
    },

    async removeFiles(layout: ProcessLayout): Promise<void> {
      await rm(layout.dir, { recursive: true, force: true });
    },
  };
}
