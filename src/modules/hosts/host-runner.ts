import { randomBytes } from 'node:crypto';
import { execFile } from 'node:child_process';
import { chmod, mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { ExecOptions, ExecResult, Script, SshPool, SshTarget } from '../ssh/ssh-pool.js';
import { ExecError, ExecTimeoutError } from '../ssh/ssh.errors.js';
import { shellJoin } from '../../lib/shell.js';

/**
 * Runs commands and moves files on a host, the same way whether the host is this machine or
 * a server over SSH. Commands are argument arrays; a Script is an admin-configured command
 * line run as given.
 */
export interface HostRunner {
  readonly environmentId: string;
  exec(command: readonly string[] | Script, options?: ExecOptions): Promise<ExecResult>;
  /** Like exec, but a non-zero exit throws ExecError. */
  execChecked(command: readonly string[] | Script, options?: ExecOptions): Promise<ExecResult>;
  writeFileAtomic(path: string, data: string | Buffer, mode?: number): Promise<void>;
  readFile(path: string): Promise<Buffer>;
}

const trimTail = (text: string) => (text.length > 4000 ? `…${text.slice(-4000)}` : text).trim();

export function sshRunner(pool: SshPool, target: SshTarget, defaultTimeoutMs: number): HostRunner {
  const withTimeout = (options: ExecOptions = {}) => ({ timeoutMs: defaultTimeoutMs, ...options });
  return {
    environmentId: target.id,
    exec: (command, options) => pool.exec(target, command, withTimeout(options)),
    execChecked: (command, options) => pool.execChecked(target, command, withTimeout(options)),
    writeFileAtomic: (path, data, mode) => pool.writeFileAtomic(target, path, data, mode),
    readFile: (path) => pool.readFile(target, path),
  };
}

/** This machine: child processes without a shell for argument arrays, `sh -c` for scripts. */
export function localRunner(environmentId: string, defaultTimeoutMs: number): HostRunner {
  const exec = (command: readonly string[] | Script, options: ExecOptions = {}): Promise<ExecResult> => {
    const timeoutMs = options.timeoutMs ?? defaultTimeoutMs;
    const [file, args, line] = Array.isArray(command)
      ? [command[0] as string, (command as readonly string[]).slice(1), shellJoin(command as readonly string[])]
      : ['sh', ['-c', (command as Script).script], (command as Script).script];
    return new Promise((resolve, reject) => {
      const child = execFile(file, args, { timeout: timeoutMs, killSignal: 'SIGKILL', maxBuffer: options.maxOutputBytes ?? 1024 * 1024, encoding: 'utf8' }, (error, stdout, stderr) => {
        const err = error as (NodeJS.ErrnoException & { killed?: boolean; signal?: string | null; code?: number | string }) | null;
        if (err?.killed && err.signal === 'SIGKILL') return reject(new ExecTimeoutError(environmentId, line, timeoutMs));
        if (err && typeof err.code === 'string') return resolve({ command: line, exitCode: 127, signal: null, stdout, stderr: stderr || err.message });
        resolve({ command: line, exitCode: err ? (typeof err.code === 'number' ? err.code : null) : 0, signal: err?.signal ?? null, stdout, stderr });
      });
      // With encoding utf8 the streams are decoded: a character split across chunks arrives whole.
      if (options.onOutput) {
        const tell = options.onOutput;
        child.stdout?.on('data', (text: string) => tell('stdout', text));
        child.stderr?.on('data', (text: string) => tell('stderr', text));
      }
      if (options.input !== undefined) child.stdin?.end(options.input);
      else child.stdin?.end();
    });
  };
  return {
    environmentId,
    exec,
    async execChecked(command, options) {
      const result = await exec(command, options);
      if (result.exitCode !== 0) throw new ExecError(environmentId, result.command, result.exitCode, trimTail(result.stderr), result.signal);
      return result;
    },
    async writeFileAtomic(path, data, mode = 0o600) {
      await mkdir(dirname(path), { recursive: true });
      const temp = `${path}.pbfleet-${process.pid}-${randomBytes(6).toString('hex')}.tmp`;
      await writeFile(temp, data, { mode });
      await chmod(temp, mode);
      await rename(temp, path);
    },
    readFile: (path) => readFile(path),
  };
}
