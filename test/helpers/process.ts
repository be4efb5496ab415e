import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createRequire } from 'node:module';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

/** The repository root, whatever the test's working directory. */
export const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url));
const CLI = join(REPO_ROOT, 'src', 'cli.ts');
// `--import tsx` would be resolved from the child's cwd (a temp dir): give it the file itself.
const TSX_LOADER = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;

/** A port that was free a moment ago: bind port 0 on 127.0.0.1, read it, release it. */
export async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  server.close();
  await once(server, 'close');
  if (!address || typeof address === 'string') throw new Error('no port assigned');
  return address.port;
}

/**
 * The parent's environment without any PBFLEET_* variable (the config loader rejects the
 * ones it does not know, and the parent's must not leak into the child), plus `vars`.
 */
export function childEnv(vars: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [name, value] of Object.entries(process.env)) if (!name.startsWith('PBFLEET_')) env[name] = value;
  return { ...env, ...vars };
}

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** A spawned `pbfleet` process with its output collected as it arrives. */
export class CliProcess {
  readonly child: ChildProcess;
  stdout = '';
  stderr = '';
  exit: Exit | undefined;
  readonly exited: Promise<Exit>;

  constructor(args: string[], options: { cwd: string; env: NodeJS.ProcessEnv }) {
    this.child = spawn(process.execPath, ['--import', TSX_LOADER, CLI, ...args], { cwd: options.cwd, env: options.env, stdio: ['ignore', 'pipe', 'pipe'] });
    this.child.stdout?.setEncoding('utf8').on('data', (chunk: string) => (this.stdout += chunk));
    this.child.stderr?.setEncoding('utf8').on('data', (chunk: string) => (this.stderr += chunk));
    // 'close' comes after both pipes have ended, so the output is complete by then.
    this.exited = new Promise((resolve, reject) => {
      this.child.once('error', reject);
      this.child.once('close', (code: number | null, signal: NodeJS.Signals | null) => {
        this.exit = { code, signal };
        resolve(this.exit);
      });
    });
    running.add(this);
    void this.exited.finally(() => running.delete(this)).catch(() => undefined);
  }

  get running(): boolean {
    return this.exit === undefined;
  }

  /** Waits for the exit, failing after `timeoutMs` with whatever the process printed. */
  async waitForExit(timeoutMs = 30_000): Promise<Exit> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`process did not exit within ${timeoutMs}ms\nstdout:\n${this.stdout}\nstderr:\n${this.stderr}`)), timeoutMs);
    });
    try {
      return await Promise.race([this.exited, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Sends a signal to this process only (never a group). */
  signal(signal: NodeJS.Signals): void {
    if (this.running) this.child.kill(signal);
  }
}

const running = new Set<CliProcess>();

/** Runs a command to completion. */
export async function runCli(args: string[], options: { cwd: string; env: NodeJS.ProcessEnv }, timeoutMs = 30_000) {
  const proc = new CliProcess(args, options);
  const exit = await proc.waitForExit(timeoutMs);
  return { ...exit, stdout: proc.stdout, stderr: proc.stderr };
}

/** A `pbfleet serve` process that answers GET /api/v1/ready. */
export class ServerProcess extends CliProcess {
  constructor(
    readonly port: number,
    options: { cwd: string; env: NodeJS.ProcessEnv },
  ) {
    super(['serve'], options);
  }

  get baseUrl(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** Polls the readiness endpoint; fails early, with the output, if the process exits. */
  async waitUntilReady(timeoutMs = 30_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (!this.running) throw new Error(`server exited (${JSON.stringify(this.exit)}) before it was ready\nstdout:\n${this.stdout}\nstderr:\n${this.stderr}`);
      try {
        const res = await fetch(`${this.baseUrl}/api/v1/ready`, { signal: AbortSignal.timeout(2000) });
        if (res.status === 200) return;
        await res.body?.cancel();
      } catch {
        // not listening yet
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    throw new Error(`server not ready within ${timeoutMs}ms\nstdout:\n${this.stdout}\nstderr:\n${this.stderr}`);
  }
}

/** Starts `pbfleet serve` on the port and waits until it is ready. */
export async function startServer(port: number, options: { cwd: string; env: NodeJS.ProcessEnv }): Promise<ServerProcess> {
  const server = new ServerProcess(port, options);
  await server.waitUntilReady();
  return server;
}

/** Kills (SIGKILL) every process these helpers started that is still running, and waits for them. */
export async function killAll(): Promise<void> {
  const left = [...running];
  for (const proc of left) proc.signal('SIGKILL');
  await Promise.all(left.map((proc) => proc.exited.catch(() => undefined)));
}
