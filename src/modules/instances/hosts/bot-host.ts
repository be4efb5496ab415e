import type { Readable } from 'node:stream';
import type { Runtime } from '../../environments/environments.types.js';
import type { BotFile, BotLayout, ProcessLayout, RuntimeShape } from './bot-layout.fns.js';
import type { BotProcess } from '../instances.types.js';

export type ProbeResult = { state: 'alive' } | { state: 'exited'; exitCode: number | null; signal: string | null };

export interface LaunchedBot extends BotProcess {
  /** Set when this process is our child: its exit, observed directly. */
  exited?: Promise<{ exitCode: number | null; signal: string | null }>;
  /** Set with `exited`: resolves the moment the process is gone, before its exit code is read. */
  gone?: Promise<void>;
}

/** Bytes of one bot's log, with the file offset after them; `reset` when the file was truncated or replaced. */
export interface LogSink {
  data(instanceId: string, chunk: Buffer, offsetAfter: number): void;
  reset(instanceId: string): void;
}

export interface LogFollower {
  /** Follows `path` from byte `offset`, as long as the instance is followed. */
  follow(instanceId: string, path: string, offset: number): void;
  unfollow(instanceId: string): void;
  /** After the writer ended: resolves once what it wrote has been read (the last lines carry the verdict). */
  settle(instanceId: string): Promise<void>;
  close(): void;
}

/**
 * Runs bots on one host: this machine (child processes) or a server (over SSH). The
 * supervisor speaks only to this, so the same state machine drives both.
 */
export interface BotHost {
  readonly environmentId: string;
  readonly local: boolean;
  /** pbfleet's working directory on the host, absolute. */
  workDir(): Promise<string>;
  runtime(): Promise<Runtime>;
  layout(instanceId: string, shape: RuntimeShape): Promise<BotLayout>;
  /** Names in a directory ([] when it does not exist). */
  listDir(path: string): Promise<string[]>;
  readFile(path: string): Promise<Buffer>;
  /** Checks the runtime (checkout, interpreter, entry script) and writes the bot's files. */
  prepare(layout: ProcessLayout, files: readonly BotFile[]): Promise<void>;
  writeFiles(files: readonly BotFile[]): Promise<void>;
  launch(layout: ProcessLayout): Promise<LaunchedBot>;
  /** Signals the bot's whole process group, if the process is still the one started. */
  signal(proc: BotProcess, signal: 'SIGINT' | 'SIGKILL'): Promise<void>;
  /** Liveness by pid + start time + command line. Throws when the host cannot be reached. */
  probe(bots: readonly { instanceId: string; proc: BotProcess; layout: ProcessLayout }[]): Promise<Map<string, ProbeResult>>;
  /** Rotates logs above `maxBytes`, keeping `generations` old ones; returns the rotated paths. */
  rotate(logs: readonly string[], maxBytes: number, generations: number): Promise<string[]>;
  /** The whole current log. */
  download(layout: ProcessLayout): Promise<Readable>;
  removeFiles(layout: ProcessLayout): Promise<void>;
  readonly follower: LogFollower;
  /** Stops following logs and ends helpers; bots and jobs keep running. */
  close(): void;
}

/** PREPARE's arguments for a layout: the command and, for v7, the entry script. */
export function prepareArgs(layout: ProcessLayout, files: readonly BotFile[]): string[] {
  const [command = '', second = '', script = ''] = layout.argv;
  const entry = second === '-u' ? script : '';
  return [layout.cwd, command, entry, ...new Set([layout.dir, ...files.map((f) => f.path.slice(0, f.path.lastIndexOf('/')))])];
}

/** The start time (field 22) of a /proc/<pid>/stat line; the command name may hold spaces and parentheses. */
export function startTimeOf(stat: string): string | null {
  const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return rest[19] ?? null;
}
