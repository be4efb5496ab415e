import { closeSync, openSync, readSync, statSync, watch, type FSWatcher } from 'node:fs';
import { basename, dirname } from 'node:path';
import type { SshPool, SshTarget } from '../../ssh/ssh-pool.js';
import { FOLLOW_PY } from '../hosts/bot-host.scripts.js';
import type { LogFollower, LogSink } from '../hosts/bot-host.js';

const READ_CHUNK = 64 * 1024;
/** Chunks read in one go; a bot writing faster than this is read on in the next turn of the event loop. */
const CHUNKS_PER_TURN = 16;

interface LocalFile {
  path: string;
  offset: number;
  fd: number | null;
  ino: number | null;
  watcher: FSWatcher | null;
  /** More to read than one turn took: a read is scheduled. */
  more: NodeJS.Immediate | null;
  closed: boolean;
}

/**
 * Follows logs on this machine: inotify (fs.watch on the bot's directory) says when to read,
 * a slow poll covers what watching misses. Reads are positional from the last offset, so
 * nothing is read twice; a file shorter than the offset or with a new inode was rotated.
 *
 * Reads are synchronous: a local log is in the page cache, so a read takes microseconds, while
 * the promise API's trip through the thread pool cost more CPU than the read itself and waited
 * behind other file work (a hundred bots, a flooding one, jobs' results).
 */
export class LocalLogFollower implements LogFollower {
  private readonly files = new Map<string, LocalFile>();
  private readonly poll: NodeJS.Timeout;
  /** Reads are synchronous, so one buffer serves every file; what is read is copied out. */
  private readonly buffer = Buffer.allocUnsafe(READ_CHUNK);

  constructor(
    private readonly sink: LogSink,
    pollMs = 1000,
  ) {
    this.poll = setInterval(() => {
      for (const [id, file] of this.files) this.read(id, file);
    }, pollMs);
    this.poll.unref();
  }

  follow(instanceId: string, path: string, offset: number): void {
    const existing = this.files.get(instanceId);
    if (existing?.path === path) {
      this.read(instanceId, existing);
      return;
    }
    this.unfollow(instanceId);
    const file: LocalFile = { path, offset, fd: null, ino: null, watcher: null, more: null, closed: false };
    this.files.set(instanceId, file);
    try {
      // The directory is watched (the file may not exist yet, or be replaced); a job writes its
      // results beside its log, and those events are not the log's.
      const name = basename(path);
      file.watcher = watch(dirname(path), { persistent: false }, (_event, changed) => {
        if (changed === null || changed === name) this.read(instanceId, file);
      });
      file.watcher.on('error', () => undefined);
    } catch {
      // The directory does not exist yet: the poll finds the file once it does.
    }
    this.read(instanceId, file);
  }

  unfollow(instanceId: string): void {
    const file = this.files.get(instanceId);
    if (!file) return;
    this.files.delete(instanceId);
    file.closed = true;
    file.watcher?.close();
    if (file.more) clearImmediate(file.more);
    closeQuietly(file);
  }

  /** The writer has ended: resolves once everything in the file now has been read. */
  async settle(instanceId: string): Promise<void> {
    const file = this.files.get(instanceId);
    if (!file) return;
    while (!file.closed && this.read(instanceId, file)) await new Promise((resolve) => setImmediate(resolve));
  }

  close(): void {
    clearInterval(this.poll);
    for (const id of [...this.files.keys()]) this.unfollow(id);
  }

  /** Reads what is new, up to a turn's worth; true when more is left (a read is scheduled). */
  private read(instanceId: string, file: LocalFile): boolean {
    if (file.closed) return false;
    if (file.more) {
      clearImmediate(file.more);
      file.more = null;
    }
    try {
      if (!this.drain(instanceId, file)) return false;
    } catch {
      // Gone or unreadable for now: the next event or the poll tries again.
      closeQuietly(file);
      return false;
    }
    file.more = setImmediate(() => {
      file.more = null;
      this.read(instanceId, file);
    });
    return true;
  }

  private drain(instanceId: string, file: LocalFile): boolean {
    const info = statSync(file.path, { throwIfNoEntry: false });
    if (!info) return false;
    if (file.ino !== null && info.ino !== file.ino) {
      closeQuietly(file);
      file.offset = 0;
      this.sink.reset(instanceId);
    } else if (info.size < file.offset) {
      file.offset = 0;
      this.sink.reset(instanceId);
    }
    file.ino = info.ino;
    file.fd ??= openSync(file.path, 'r');
    const buffer = this.buffer;
    for (let chunk = 0; chunk < CHUNKS_PER_TURN; chunk++) {
      if (file.closed || file.fd === null) return false;
      const bytesRead = readSync(file.fd, buffer, 0, READ_CHUNK, file.offset);
      if (bytesRead === 0) return false;
      file.offset += bytesRead;
      this.sink.data(instanceId, Buffer.from(buffer.subarray(0, bytesRead)), file.offset);
      if (bytesRead < READ_CHUNK) return false;
    }
    return !file.closed;
  }
}

function closeQuietly(file: LocalFile): void {
  if (file.fd === null) return;
  try {
    closeSync(file.fd);
  } catch {
    // Already closed.
  }
  file.fd = null;
}

/**
 * Follows every log of one remote host over a single SSH channel, running a small Python
 * reader there (Passivbot hosts have Python). Offsets come back with the data, so after a
 * dropped connection reading resumes at the exact byte: no line twice, none skipped.
 */
export class RemoteLogFollower implements LogFollower {
  private readonly files = new Map<string, { path: string; offset: number }>();
  private channel: { close(): void } | null = null;
  private restartTimer: NodeJS.Timeout | null = null;
  private failures = 0;
  private closed = false;
  private generation = 0;

  constructor(
    private readonly pool: Pick<SshPool, 'stream'>,
    private readonly target: () => SshTarget,
    private readonly python: () => string,
    private readonly sink: LogSink,
    private readonly intervalSeconds = 0.2,
  ) {}

  follow(instanceId: string, path: string, offset: number): void {
    const existing = this.files.get(instanceId);
    if (existing?.path === path) return;
    this.files.set(instanceId, { path, offset });
    this.schedule(50);
  }

  unfollow(instanceId: string): void {
    if (this.files.delete(instanceId)) this.schedule(50);
  }

  /** The writer has ended: the reader on the host looks every interval, and its data crosses the network. */
  async settle(instanceId: string): Promise<void> {
    if (!this.files.has(instanceId)) return;
    await new Promise((resolve) => setTimeout(resolve, this.intervalSeconds * 2000 + 100));
  }

  close(): void {
    this.closed = true;
    if (this.restartTimer) clearTimeout(this.restartTimer);
    this.channel?.close();
    this.channel = null;
  }

  private schedule(delayMs: number): void {
    if (this.closed || this.restartTimer) return;
    this.restartTimer = setTimeout(() => {
      this.restartTimer = null;
      void this.restart();
    }, delayMs);
    this.restartTimer.unref();
  }

  private async restart(): Promise<void> {
    const generation = ++this.generation;
    this.channel?.close();
    this.channel = null;
    if (this.files.size === 0 || this.closed) return;
    const args = [...this.files].flatMap(([id, f]) => [id, f.path, String(f.offset)]);
    try {
      const stream = await this.pool.stream(this.target(), [this.python(), '-c', FOLLOW_PY, String(this.intervalSeconds), ...args]);
      if (generation !== this.generation || this.closed) return stream.close();
      this.channel = stream;
      const parse = this.parser();
      stream.stdout.on('data', (chunk: Buffer) => {
        if (generation === this.generation) {
          this.failures = 0;
          parse(chunk);
        }
      });
      stream.stderr.resume();
      void stream.done.then(() => {
        if (generation !== this.generation || this.closed) return;
        this.channel = null;
        this.failures += 1;
        this.schedule(Math.min(30_000, 500 * 2 ** Math.min(this.failures, 6)));
      });
    } catch {
      if (generation !== this.generation) return;
      this.failures += 1;
      this.schedule(Math.min(30_000, 500 * 2 ** Math.min(this.failures, 6)));
    }
  }

  /** Decodes the reader's frames from a byte stream split at arbitrary points. */
  private parser(): (chunk: Buffer) => void {
    let pending: Buffer = Buffer.alloc(0);
    let body: { id: string; offset: number; length: number } | null = null;
    return (chunk) => {
      pending = pending.length ? Buffer.concat([pending, chunk]) : chunk;
      for (;;) {
        if (body) {
          if (pending.length < body.length) return;
          const data = pending.subarray(0, body.length);
          pending = pending.subarray(body.length);
          const file = this.files.get(body.id);
          if (file) {
            file.offset = body.offset;
            this.sink.data(body.id, Buffer.from(data), body.offset);
          }
          body = null;
          continue;
        }
        const newline = pending.indexOf(10);
        if (newline < 0) return;
        const [kind, id = '', offset, length] = pending.subarray(0, newline).toString('utf8').split(' ');
        pending = pending.subarray(newline + 1);
        if (kind === 'D') body = { id, offset: Number(offset), length: Number(length) };
        else if (kind === 'R') {
          const file = this.files.get(id);
          if (file) {
            file.offset = 0;
            this.sink.reset(id);
          }
        }
      }
    };
  }
}
