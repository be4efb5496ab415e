import { spawn } from 'node:child_process';
import { createReadStream, openSync, closeSync } from 'node:fs';
import { constants } from 'node:fs';
import { access, mkdir, readdir, readFile, rm, stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import type { Readable } from 'node:stream';
import type { HostRunner } from '../hosts/host-runner.js';
import type { Runtime } from '../environments/environments.types.js';
import { EXIT_WRAPPER, ROTATE } from './bot-host.scripts.js';
import { prepareArgs, startTimeOf, type BotHost, type LaunchedBot, type LogSink, type ProbeResult } from './bot-host.js';
import { LocalLogFollower } from './log-followers.js';
import { botLayout, type BotFile, type BotLayout, type ProcessLayout, type RuntimeShape } from './bot-layout.fns.js';
import type { BotProcess } from './instances.types.js';

/** How a wrapped process ended, from its exit file; a code above 128 is death by signal. */
async function exitOf(dir: string, signal: string | null = null): Promise<{ exitCode: number | null; signal: string | null }> {
  const text = (await readFile(`${dir}/exit`, 'utf8').catch(() => '')).trim();
  if (!/^\d+$/.test(text)) return { exitCode: null, signal };
  const code = Number(text);
  return code > 128 && code < 160 ? { exitCode: code, signal: `signal ${code - 128}` } : { exitCode: code, signal: null };
}

/** `command -v`: a path must be executable, a bare name must be found on PATH. */
async function executable(command: string): Promise<boolean> {
  const candidates = command.includes('/') ? [command] : (process.env.PATH ?? '').split(':').filter(Boolean).map((dir) => `${dir}/${command}`);
  for (const path of candidates) {
    if (await access(path, constants.X_OK).then(() => true, () => false)) return true;
  }
  return false;
}

async function readStart(pid: number): Promise<string | null> {
  const text = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => null);
  return text === null ? null : startTimeOf(text);
}

/**
 * Bots on this machine: our own children, each in its own process group (detached), writing
 * straight to their log file, so they keep running when pbfleet stops or is killed.
 */
export function createLocalBotHost(deps: { environmentId: string; runtime: () => Promise<Runtime>; runner: HostRunner; sink: LogSink }): BotHost {
  const { runner } = deps;
  const follower = new LocalLogFollower(deps.sink);

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

    listDir: (path) => readdir(path).catch(() => []),
    readFile: (path) => readFile(path),

    async writeFiles(files: readonly BotFile[]): Promise<void> {
      for (const file of files) await runner.writeFileAtomic(file.path, file.content, file.mode);
    },

    // The same checks as the PREPARE script remote hosts run, without a fork per start.
    async prepare(layout: ProcessLayout, files: readonly BotFile[]): Promise<void> {
      const [cwd = '', command = '', script = '', ...dirs] = prepareArgs(layout, files);
      if (!(await stat(cwd).catch(() => null))?.isDirectory()) throw new Error(`the Passivbot directory ${cwd} does not exist`);
      if (!(await executable(command))) throw new Error(`${command} is not installed or not executable`);
      if (script && !(await stat(script).catch(() => null))?.isFile()) throw new Error(`${script} does not exist: is ${cwd} a Passivbot checkout?`);
      for (const dir of dirs) await mkdir(dir, { recursive: true });
      for (const file of files) await runner.writeFileAtomic(file.path, file.content, file.mode);
    },

    async launch(layout: ProcessLayout): Promise<LaunchedBot> {
      await mkdir(layout.dir, { recursive: true });
      await rm(`${layout.dir}/exit`, { force: true });
      const fd = openSync(layout.log, 'a', 0o640);
      const command = layout.argv[0] ?? '';
      // The process group's leader is the exit-code wrapper (the same as on remote hosts).
      const child = (() => {
        try {
          return spawn('sh', ['-c', EXIT_WRAPPER, `${layout.dir}/exit`, ...layout.argv], { cwd: layout.cwd, detached: true, stdio: ['ignore', fd, fd] });
        } finally {
          closeSync(fd);
        }
      })();
      const exited = new Promise<{ exitCode: number | null; signal: string | null }>((resolveExit) => {
        child.once('exit', (_code, signal) => resolveExit(exitOf(layout.dir, signal)));
      });
      const spawnError = new Promise<Error>((resolveError) => child.once('error', resolveError));
      if (child.pid === undefined) {
        const error = await spawnError;
        throw new Error(`cannot start ${command}: ${(error as NodeJS.ErrnoException).code ?? error.message}`);
      }
      child.unref();
      const start = await readStart(child.pid);
      // A very short run can be over before its start time is read: its exit says the rest.
      if (start === null && child.exitCode === null && child.signalCode === null) throw new Error(`the process ended at once (${command})`);
      return { pid: child.pid, start: start ?? 'ended', exited };
    },

    async signal(proc: BotProcess, signal: 'SIGINT' | 'SIGKILL'): Promise<void> {
      if ((await readStart(proc.pid)) !== proc.start) return;
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
          const start = await readStart(proc.pid);
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
