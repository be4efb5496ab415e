import { posix } from 'node:path';
import type { Readable } from 'node:stream';
import type { Runtime } from '../../environments/environments.types.js';
import type { SshPool, SshTarget } from '../../ssh/ssh-pool.js';
import { LAUNCH, PREPARE, PROBE, ROTATE, SIGNAL } from './bot-host.scripts.js';
import { prepareArgs, type BotHost, type LaunchedBot, type LogSink, type ProbeResult } from './bot-host.js';
import { RemoteLogFollower } from '../logs/log-followers.js';
import { botLayout, type BotFile, type BotLayout, type ProcessLayout, type RuntimeShape } from './bot-layout.fns.js';
import type { BotProcess } from '../instances.types.js';

/**
 * Bots on a server over SSH: files by SFTP, started detached with setsid (they outlive the
 * session and pbfleet), watched by pid + start time, logs over one multiplexed channel.
 */
export function createRemoteBotHost(deps: {
  environmentId: string;
  pool: Pick<SshPool, 'exec' | 'execChecked' | 'stream' | 'writeFileAtomic' | 'readFile'>;
  /** Read on every use: a changed credential or runtime applies at once. */
  target: () => SshTarget;
  runtime: () => Runtime;
  sink: LogSink;
  commandTimeoutMs: number;
}): BotHost {
  const { pool } = deps;
  const options = { timeoutMs: deps.commandTimeoutMs };
  const run = (script: string, name: string, args: readonly string[]) => pool.execChecked(deps.target(), ['sh', '-c', script, name, ...args], options);
  let workDir: { configured: string; absolute: string } | null = null;

  /** The runtime's work dir may be relative to the login's home: resolved once per value. */
  async function absoluteWorkDir(): Promise<string> {
    const configured = deps.runtime().workDir || 'pbfleet';
    if (workDir?.configured !== configured) {
      const result = await run('mkdir -p "$1" && cd "$1" && pwd', 'workdir', [configured]);
      workDir = { configured, absolute: result.stdout.trim() };
    }
    return workDir.absolute;
  }

  const follower = new RemoteLogFollower(pool, deps.target, () => deps.runtime().pythonPath || 'python3', deps.sink);

  return {
    environmentId: deps.environmentId,
    follower,
    close: () => follower.close(),

    local: false,
    workDir: absoluteWorkDir,
    runtime: async () => deps.runtime(),

    async layout(instanceId: string, shape: RuntimeShape): Promise<BotLayout> {
      return botLayout(deps.runtime(), shape, await absoluteWorkDir(), instanceId);
    },

    async listDir(path: string): Promise<string[]> {
      const result = await run('[ -d "$1" ] || exit 0; cd "$1" && for f in * .[!.]*; do [ -e "$f" ] && printf "%s\\n" "$f"; done; true', 'ls', [path]);
      return result.stdout.split('\n').filter(Boolean);
    },
    readFile: (path) => pool.readFile(deps.target(), path),

    async prepare(layout: ProcessLayout, files: readonly BotFile[]): Promise<void> {
      await run(PREPARE, 'prepare', prepareArgs(layout, files));
      for (const file of files) await pool.writeFileAtomic(deps.target(), file.path, file.content, file.mode);
    },

    async writeFiles(files: readonly BotFile[]): Promise<void> {
      const dirs = [...new Set(files.map((f) => posix.dirname(f.path)))];
      await pool.execChecked(deps.target(), ['mkdir', '-p', ...dirs], options);
      for (const file of files) await pool.writeFileAtomic(deps.target(), file.path, file.content, file.mode);
    },

    async launch(layout: ProcessLayout): Promise<LaunchedBot> {
      const result = await run(LAUNCH, 'launch', [layout.dir, layout.cwd, layout.log, ...layout.argv]);
      const [pid, start] = result.stdout.trim().split(' ');
      if (!pid || !start || !/^\d+$/.test(pid)) throw new Error(`unexpected launch output: ${result.stdout.slice(0, 200)}`);
      return { pid: Number(pid), start };
    },

    async signal(proc: BotProcess, signal: 'SIGINT' | 'SIGKILL'): Promise<void> {
      await run(SIGNAL, 'signal', [String(proc.pid), proc.start, signal.slice(3)]);
    },

    async probe(bots): Promise<Map<string, ProbeResult>> {
      const results = new Map<string, ProbeResult>();
      if (bots.length === 0) return results;
      const specs = bots.map(({ instanceId, proc, layout }) => `${instanceId} ${proc.pid} ${proc.start} ${layout.dir}`);
      const output = await run(PROBE, 'probe', specs);
      for (const line of output.stdout.split('\n')) {
        const [id, state, code] = line.trim().split(' ');
        if (!id) continue;
        if (state === 'alive') results.set(id, { state: 'alive' });
        else if (state === 'exited' && code !== undefined && /^\d+$/.test(code)) {
          const exitCode = Number(code);
          // The wrapper shell reports death by signal as 128 + n.
          results.set(id, exitCode > 128 && exitCode < 160 ? { state: 'exited', exitCode, signal: `signal ${exitCode - 128}` } : { state: 'exited', exitCode, signal: null });
        } else results.set(id, { state: 'exited', exitCode: null, signal: null });
      }
      return results;
    },

    async rotate(logs, maxBytes, generations): Promise<string[]> {
      if (logs.length === 0) return [];
      const result = await run(ROTATE, 'rotate', [String(maxBytes), String(generations), ...logs]);
      return result.stdout.split('\n').filter(Boolean);
    },

    async download(layout: ProcessLayout): Promise<Readable> {
      const stream = await pool.stream(deps.target(), ['cat', layout.log]);
      stream.stderr.resume();
      return stream.stdout;
    },

    async removeFiles(layout: ProcessLayout): Promise<void> {
      await pool.execChecked(deps.target(), ['rm', '-rf', layout.dir], options);
    },
  };
}
