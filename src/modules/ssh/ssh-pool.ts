import { createHash, randomBytes } from 'node:crypto';
import type { Readable } from 'node:stream';
import { createRequire } from 'node:module';
import { StringDecoder } from 'node:string_decoder';
import type ssh2Types from 'ssh2';
import type { Client, ClientChannel, SFTPWrapper } from 'ssh2';
import { shellJoin } from '../../lib/shell.js';
import { ExecError, ExecTimeoutError, HostKeyMismatchError, SshConnectError, describeSshError } from './ssh.errors.js';

export interface SshTarget {
  /** Pool key: the environment id. */
  id: string;
  host: string;
  port: number;
  username: string;
  privateKey?: string | undefined;
  passphrase?: string | undefined;
  password?: string | undefined;
  /** The trusted host key fingerprint (SHA256:...), or null to trust on first use. */
  knownFingerprint: string | null;
}

export interface HostKeyEvent {
  id: string;
  kind: 'first_seen' | 'mismatch';
  fingerprint: string;
  expected?: string;
}

export interface ExecOptions {
  timeoutMs?: number;
  /** Written to the command's stdin, then closed. */
  input?: string | Buffer;
  /** Output kept per stream; the tail is kept when more arrives. */
  maxOutputBytes?: number;
  /** Told of each piece of output as it arrives (an operation shows it live). */
  onOutput?: (stream: 'stdout' | 'stderr', text: string) => void;
}

export interface ExecResult {
  command: string;
  exitCode: number | null;
  signal: string | null;
  stdout: string;
  stderr: string;
}

/** An admin-configured script, run as given (never built from user values). */
export interface Script {
  script: string;
}

export interface SshPoolOptions {
  maxChannelsPerHost?: number;
  connectTimeoutMs?: number;
  keepaliveIntervalMs?: number;
  idleTimeoutMs?: number;
  maxBackoffMs?: number;
  onHostKey?: (event: HostKeyEvent) => void;
}

interface Connection {
  client: Client;
  ready: Promise<void>;
  signature: string;
  active: number;
  /** Callers waiting for the handshake or a free channel: also keep the connection alive. */
  pending: number;
  waiting: (() => void)[];
  retiring: boolean;
  closed: boolean;
  lastUsed: number;
}

interface Backoff {
  failures: number;
  retryAt: number;
  error: Error;
  signature: string;
}

const requireCjs = createRequire(import.meta.url);
let ssh2: typeof ssh2Types | undefined;
/** ssh2 is loaded on first use: a server with only the local environment never pays for it. */
export const loadSsh2 = (): typeof ssh2Types => (ssh2 ??= requireCjs('ssh2') as typeof ssh2Types);

export const fingerprintOf = (key: Buffer): string => `SHA256:${createHash('sha256').update(key).digest('base64').replace(/=+$/, '')}`;

const signatureOf = (t: SshTarget): string =>
  createHash('sha256').update(JSON.stringify([t.host, t.port, t.username, t.privateKey, t.passphrase, t.password, t.knownFingerprint])).digest('hex');

const trimOutput = (text: string) => (text.length > 4000 ? `…${text.slice(-4000)}` : text).trim();

/**
 * One SSH connection per environment, shared by every command: keepalive, bounded channels
 * per host, reconnect with backoff, per-command timeouts. A connection whose target changed
 * (new credentials) is retired only once its commands have finished.
 */
export class SshPool {
  private readonly connections = new Map<string, Connection>();
  private readonly backoff = new Map<string, Backoff>();
  private readonly options: Required<Omit<SshPoolOptions, 'onHostKey'>> & Pick<SshPoolOptions, 'onHostKey'>;

  constructor(options: SshPoolOptions = {}) {
    this.options = {
      maxChannelsPerHost: 8,
      connectTimeoutMs: 10_000,
      keepaliveIntervalMs: 15_000,
      idleTimeoutMs: 300_000,
      maxBackoffMs: 30_000,
      ...options,
    };
  }

  /** Runs a command (an argument array, quoted for sh) and returns its result, whatever the exit code. */
  async exec(target: SshTarget, command: readonly string[] | Script, options: ExecOptions = {}): Promise<ExecResult> {
    const line = Array.isArray(command) ? shellJoin(command as readonly string[]) : (command as Script).script;
    return this.withChannel(target, (client) => this.run(target, client, line, options));
  }

  /** Like exec, but a non-zero exit throws ExecError. */
  async execChecked(target: SshTarget, command: readonly string[] | Script, options: ExecOptions = {}): Promise<ExecResult> {
    const result = await this.exec(target, command, options);
    if (result.exitCode !== 0) throw new ExecError(target.id, result.command, result.exitCode, trimOutput(result.stderr), result.signal);
    return result;
  }

  /** Opens a long-lived command (e.g. `tail -F`); the caller reads its stdout and closes it. */
  async stream(target: SshTarget, command: readonly string[]): Promise<{ stdout: Readable; stderr: Readable; done: Promise<number | null>; close(): void }> {
    const conn = await this.acquire(target);
    let released = false;
    const release = () => {
      if (!released) {
        released = true;
        this.release(target.id, conn);
      }
    };
    try {
      const channel = await new Promise<ClientChannel>((resolve, reject) => conn.client.exec(shellJoin(command), (err, ch) => (err ? reject(err) : resolve(ch))));
      const done = new Promise<number | null>((resolve) => {
        channel.on('exit', (code: number | null) => resolve(code));
        channel.on('close', () => {
          release();
          resolve(null);
        });
      });
      return { stdout: channel, stderr: channel.stderr, done, close: () => channel.close() };
    } catch (error) {
      release();
      throw this.connectError(target, error);
    }
  }

  async withSftp<T>(target: SshTarget, fn: (sftp: SFTPWrapper) => Promise<T>): Promise<T> {
    return this.withChannel(target, async (client) => {
      const sftp = await new Promise<SFTPWrapper>((resolve, reject) => client.sftp((err, s) => (err ? reject(err) : resolve(s))));
      try {
        return await fn(sftp);
      } finally {
        sftp.end();
      }
    });
  }

  /** Writes a file atomically (temp file in the same dir, then rename) with the given mode. */
  async writeFileAtomic(target: SshTarget, path: string, data: string | Buffer, mode = 0o600): Promise<void> {
    const temp = `${path}.pbfleet-${process.pid}-${randomBytes(6).toString('hex')}.tmp`;
    await this.withSftp(target, async (sftp) => {
      await sftpCall<void>((cb) => sftp.writeFile(temp, data, { mode }, cb));
      await sftpCall<void>((cb) => sftp.chmod(temp, mode, cb));
      // posix-rename replaces an existing file in one step (plain SFTP rename refuses to).
      await sftpCall<void>((cb) => sftp.ext_openssh_rename(temp, path, cb)).catch(async (error: unknown) => {
        await sftpCall<void>((cb) => sftp.unlink(temp, cb)).catch(() => undefined);
        throw error;
      });
    });
  }

  async readFile(target: SshTarget, path: string): Promise<Buffer> {
    return this.withSftp(target, (sftp) => sftpCall<Buffer>((cb) => sftp.readFile(path, cb)));
  }

  /** Drops a target's connection once its in-flight commands finish (credentials changed, deleted). */
  invalidate(id: string): void {
    this.backoff.delete(id);
    const conn = this.connections.get(id);
    if (conn) this.retire(id, conn);
  }

  /** Closes connections idle longer than idleTimeoutMs. */
  sweepIdle(now = Date.now()): void {
    for (const [id, conn] of this.connections) {
      if (conn.active === 0 && conn.pending === 0 && now - conn.lastUsed > this.options.idleTimeoutMs) this.retire(id, conn);
    }
  }

  closeAll(): void {
    for (const conn of this.connections.values()) this.end(conn);
    this.connections.clear();
    this.backoff.clear();
  }

  get size(): number {
    return this.connections.size;
  }

  private async withChannel<T>(target: SshTarget, fn: (client: Client) => Promise<T>): Promise<T> {
    const conn = await this.acquire(target);
    try {
      return await fn(conn.client);
    } catch (error) {
      if (error instanceof ExecError || error instanceof ExecTimeoutError) throw error;
      // ssh2 throws `Not connected` when the socket is gone before its close event arrives:
      // the connection is lost, and must not be handed to the next caller.
      if (conn.closed || (error as Error).message === 'Not connected') {
        this.retire(target.id, conn);
        throw this.connectError(target, error);
      }
      throw error;
    } finally {
      this.release(target.id, conn);
    }
  }

  private async acquire(target: SshTarget): Promise<Connection> {
    const signature = signatureOf(target);
    let conn = this.connections.get(target.id);
    if (conn && (conn.closed || conn.signature !== signature)) {
      this.retire(target.id, conn);
      conn = undefined;
    }
    if (!conn) {
      const backoff = this.backoff.get(target.id);
      if (backoff && backoff.signature === signature && Date.now() < backoff.retryAt) {
        // Still a host key mismatch, not a generic failure: health checks and callers must see it as one.
        if (backoff.error instanceof HostKeyMismatchError) throw backoff.error;
        const seconds = Math.ceil((backoff.retryAt - Date.now()) / 1000);
        throw backoff.error instanceof SshConnectError ? new SshConnectError(target.id, `${backoff.error.reason} (next attempt in ${seconds}s)`) : backoff.error;
      }
      conn = this.connect(target, signature);
      this.connections.set(target.id, conn);
    }
    conn.pending += 1;
    try {
      await conn.ready;
      while (conn.active >= this.options.maxChannelsPerHost) await new Promise<void>((resolve) => conn.waiting.push(resolve));
    } catch (error) {
      if (this.connections.get(target.id) === conn) this.connections.delete(target.id);
      throw error;
    } finally {
      conn.pending -= 1;
    }
    conn.active += 1;
    conn.lastUsed = Date.now();
    return conn;
  }

  private release(id: string, conn: Connection): void {
    conn.active -= 1;
    conn.lastUsed = Date.now();
    conn.waiting.shift()?.();
    if (conn.retiring && conn.active === 0 && conn.pending === 0) this.end(conn);
    if (conn.closed && this.connections.get(id) === conn) this.connections.delete(id);
  }

  private retire(id: string, conn: Connection): void {
    if (this.connections.get(id) === conn) this.connections.delete(id);
    conn.retiring = true;
    if (conn.active === 0 && conn.pending === 0) this.end(conn);
  }

  private end(conn: Connection): void {
    conn.closed = true;
    conn.client.end();
  }

  private connect(target: SshTarget, signature: string): Connection {
    const client = new (loadSsh2().Client)();
    let mismatch: HostKeyMismatchError | undefined;
    const conn: Connection = { client, signature, active: 0, pending: 0, waiting: [], retiring: false, closed: false, lastUsed: Date.now(), ready: Promise.resolve() };
    let established = false;
    conn.ready = new Promise<void>((resolve, reject) => {
      client.once('ready', () => {
        established = true;
        this.backoff.delete(target.id);
        resolve();
      });
      client.on('error', (error) => {
        conn.closed = true;
        const failure = mismatch ?? new SshConnectError(target.id, describeSshError(error), { cause: error });
        // Back off from hosts we cannot reach; a drop of a working connection reconnects at once.
        if (!established) this.recordFailure(target, signature, failure);
        reject(failure);
      });
      client.on('close', () => {
        conn.closed = true;
        if (this.connections.get(target.id) === conn) this.connections.delete(target.id);
        reject(mismatch ?? new SshConnectError(target.id, 'connection closed'));
      });
      client.connect({
        host: target.host,
        port: target.port,
        username: target.username,
        ...(target.privateKey !== undefined && { privateKey: target.privateKey }),
        ...(target.passphrase !== undefined && { passphrase: target.passphrase }),
        ...(target.password !== undefined && { password: target.password }),
        readyTimeout: this.options.connectTimeoutMs,
        keepaliveInterval: this.options.keepaliveIntervalMs,
        keepaliveCountMax: 3,
        hostVerifier: (key: Buffer) => {
          const fingerprint = fingerprintOf(key);
          if (target.knownFingerprint === null) {
            this.options.onHostKey?.({ id: target.id, kind: 'first_seen', fingerprint });
            return true;
          }
          if (fingerprint === target.knownFingerprint) return true;
          mismatch = new HostKeyMismatchError(target.id, target.knownFingerprint, fingerprint);
          this.options.onHostKey?.({ id: target.id, kind: 'mismatch', fingerprint, expected: target.knownFingerprint });
          return false;
        },
      });
    });
    // Every caller awaits `ready`; this keeps an unobserved rejection from crashing the process.
    conn.ready.catch(() => undefined);
    return conn;
  }

  private recordFailure(target: SshTarget, signature: string, error: Error): void {
    const previous = this.backoff.get(target.id);
    const failures = previous && previous.signature === signature ? previous.failures + 1 : 1;
    // A changed host key is not retried: nothing changes until an admin acts (accepting the key
    // or changing the target gives a new signature, which starts afresh).
    const delay = error instanceof HostKeyMismatchError ? Infinity : Math.min(this.options.maxBackoffMs, 1000 * 2 ** (failures - 1));
    this.backoff.set(target.id, { failures, retryAt: Date.now() + delay, error, signature });
  }

  private connectError(target: SshTarget, error: unknown): Error {
    if (error instanceof SshConnectError) return error;
    return new SshConnectError(target.id, describeSshError(error), { cause: error });
  }

  private run(target: SshTarget, client: Client, command: string, options: ExecOptions): Promise<ExecResult> {
    const max = options.maxOutputBytes ?? 1024 * 1024;
    const timeoutMs = options.timeoutMs ?? 60_000;
    return new Promise<ExecResult>((resolve, reject) => {
      let channel: ClientChannel | undefined;
      let timedOut = false;
      // Armed before the channel is asked for: on a connection that died silently the channel
      // never opens, and the command must still end at its deadline.
      const timer = setTimeout(() => {
        timedOut = true;
        channel?.signal('KILL');
        channel?.close();
        reject(new ExecTimeoutError(target.id, command, timeoutMs));
      }, timeoutMs);
      const fail = (error: Error) => {
        clearTimeout(timer);
        reject(error);
      };
      try {
        client.exec(command, (err, opened) => {
          if (err) return fail(err);
          // Opened after the deadline: nobody waits for it any more.
          if (timedOut) return void opened.close();
          channel = opened;
          let stdout = '';
          let stderr = '';
          let exitCode: number | null = null;
          let signal: string | null = null;
          const keep = (current: string, chunk: Buffer) => {
            const next = current + chunk.toString('utf8');
            return next.length > max ? next.slice(-max) : next;
          };
          // Decoders keep a character split across chunks whole for onOutput.
          const decoders = { stdout: new StringDecoder('utf8'), stderr: new StringDecoder('utf8') };
          const tell = (stream: 'stdout' | 'stderr', chunk: Buffer) => {
            const text = decoders[stream].write(chunk);
            if (text) options.onOutput?.(stream, text);
          };
          opened.on('data', (chunk: Buffer) => {
            stdout = keep(stdout, chunk);
            if (options.onOutput) tell('stdout', chunk);
          });
          opened.stderr.on('data', (chunk: Buffer) => {
            stderr = keep(stderr, chunk);
            if (options.onOutput) tell('stderr', chunk);
          });
          opened.on('exit', (code: number | null, sig?: string) => {
            exitCode = code;
            signal = sig ?? null;
          });
          opened.on('close', () => {
            clearTimeout(timer);
            resolve({ command, exitCode, signal, stdout, stderr });
          });
          if (options.input !== undefined) opened.end(options.input);
          else opened.end();
        });
      } catch (error) {
        fail(error as Error);
      }
    });
  }
}

function sftpCall<T>(fn: (cb: (err: Error | null | undefined, value?: T) => void) => void): Promise<T> {
  return new Promise<T>((resolve, reject) => fn((err, value) => (err ? reject(err) : resolve(value as T))));
}
