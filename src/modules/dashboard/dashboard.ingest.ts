import { posix } from 'node:path';
import type { FastifyBaseLogger } from 'fastify';
import type { Db } from '../../db/database.js';
import type { Clock } from '../../lib/clock.js';
import { DAY_FILE, dayFileProblem, parseDayFile, parseSnapshot, type BotSnapshot } from './dashboard.fns.js';
import type { FileStat, HostFiles } from './dashboard.reader.js';
import type { DashboardRepo, FileCursor } from './dashboard.repo.js';

export interface IngestBot {
  id: string;
  name: string;
  environmentId: string;
  account: string;
  exchange: string;
  runtime: string;
  status: string;
}

export interface IngestTiming {
  /** Least time between two rounds on one host (a stat and a read each). */
  hostIntervalMs: number;
  /** Bytes of changed files read per host per round; the rest waits for the next round. */
  maxBytesPerRound: number;
  /** Least time between two balance samples of an account or a bot. */
  sampleIntervalMs: number;
  /** A running bot whose snapshot is older than this is shown as stale. */
  staleAfterMs: number;
}

export interface SourceStatus {
  instanceId: string;
  name: string;
  account: string;
  state: 'ok' | 'waiting' | 'stale' | 'error';
  problems: string[];
  lastReadAt: string | null;
  snapshotAt: string | null;
}

export interface IngestDeps {
  db: Db;
  repo: DashboardRepo;
  clock: Clock;
  log: FastifyBaseLogger;
  /** The working directory of a bot on its host (where Passivbot writes monitor/ and caches/). */
  cwdOf(bot: IngestBot): Promise<string>;
  filesFor(environmentId: string): Promise<HostFiles>;
  timing: IngestTiming;
}

const ACTIVE = new Set(['running', 'starting', 'stopping', 'unknown']);

/** Where one bot's files are, relative to its working directory (MONITOR.md §1, §2, §4). */
export function botPaths(cwd: string, exchange: string, account: string) {
  return {
    state: posix.join(cwd, 'monitor', exchange, account, 'state.latest.json'),
    fills: posix.join(cwd, 'caches', 'fill_events', exchange, account),
  };
}

/**
 * Follows the bots' own files: each round lists and stats every watched file of a host in one
 * call, reads only those whose size or mtime changed (up to a byte budget) in a second, and
 * stores fills by account + fill id, so a rewritten day file or a fill seen twice counts once.
 * A file's cursor (size, mtime) is saved in the same transaction as its fills: a restart
 * re-reads whatever was not committed, never less.
 */
export class DashboardIngest {
  private readonly cursors = new Map<string, Map<string, FileCursor>>();
  private readonly lastRound = new Map<string, number>();
  private readonly busy = new Set<string>();
  private readonly snapshots = new Map<string, BotSnapshot>();
  private readonly savedState = new Map<string, string>();
  private readonly lastSample = new Map<string, number>();
  private readonly statuses = new Map<string, SourceStatus>();
  /** Bots running at the last round. */
  private watched = new Set<string>();
  /**
   * Bots owed one more read: one that stopped (what it wrote last), and at the first round every
   * bot (files written while pbfleet was down). Cleared once their host has been read.
   */
  private readonly finalRead = new Set<string>();
  private first = true;
  private changed = false;

  constructor(private readonly deps: IngestDeps) {}

  /** True (once) when a round stored something new. */
  takeChanged(): boolean {
    const changed = this.changed;
    this.changed = false;
    return changed;
  }

  sources(): SourceStatus[] {
    return [...this.statuses.values()].sort((a, b) => a.name.localeCompare(b.name));
  }

  snapshotOf(instanceId: string): BotSnapshot | undefined {
    return this.snapshots.get(instanceId);
  }

  /** One round over every host with a bot to read; hosts are read side by side. */
  async round(): Promise<void> {
    const bots = await this.deps.repo.bots();
    const known = new Set(bots.map((b) => b.id));
    for (const id of this.statuses.keys()) if (!known.has(id)) this.forget(id);
    const running = new Set(bots.filter((b) => ACTIVE.has(b.status)).map((b) => b.id));
    for (const id of this.first ? bots.map((b) => b.id) : this.watched) if (!running.has(id)) this.finalRead.add(id);
    this.first = false;
    this.watched = running;
    const active = bots.filter((b) => running.has(b.id) || this.finalRead.has(b.id));
    for (const bot of bots) if (!running.has(bot.id) && !this.finalRead.has(bot.id)) this.markIdle(bot);
    const byHost = new Map<string, IngestBot[]>();
    for (const bot of active) byHost.set(bot.environmentId, [...(byHost.get(bot.environmentId) ?? []), bot]);
    const now = this.deps.clock.now().getTime();
    await Promise.all(
      [...byHost].map(async ([environmentId, hostBots]) => {
        // 10 % slack: rounds come from a timer of about the same period, and a round a few ms early must not wait a whole period more.
        if (this.busy.has(environmentId) || now - (this.lastRound.get(environmentId) ?? 0) < this.deps.timing.hostIntervalMs * 0.9) return;
        this.busy.add(environmentId);
        this.lastRound.set(environmentId, now);
        try {
          await this.readHost(environmentId, hostBots);
          for (const bot of hostBots) if (!running.has(bot.id)) this.finalRead.delete(bot.id);
        } catch (error) {
          const message = `cannot read the bot's files on its host: ${(error as Error).message}`;
          for (const bot of hostBots) this.setStatus(bot, { state: 'error', problems: [message] });
          this.deps.log.debug({ err: error, environmentId }, 'dashboard: host read failed');
        } finally {
          this.busy.delete(environmentId);
        }
      }),
    );
  }

  private forget(instanceId: string): void {
    this.statuses.delete(instanceId);
    this.snapshots.delete(instanceId);
    this.savedState.delete(instanceId);
    this.changed = true;
    void this.deps.repo.removeBot(instanceId).catch((err: unknown) => this.deps.log.warn({ err }, 'dashboard: bot state not removed'));
  }

  private markIdle(bot: IngestBot): void {
    const current = this.statuses.get(bot.id);
    this.statuses.set(bot.id, { instanceId: bot.id, name: bot.name, account: bot.account, state: 'waiting', problems: [], lastReadAt: current?.lastReadAt ?? null, snapshotAt: current?.snapshotAt ?? null });
  }

  private setStatus(bot: IngestBot, patch: Pick<SourceStatus, 'state' | 'problems'> & Partial<SourceStatus>): void {
    const current = this.statuses.get(bot.id);
    this.statuses.set(bot.id, { instanceId: bot.id, name: bot.name, account: bot.account, lastReadAt: current?.lastReadAt ?? null, snapshotAt: current?.snapshotAt ?? null, ...patch });
  }

  private async cursorsOf(environmentId: string): Promise<Map<string, FileCursor>> {
    let cursors = this.cursors.get(environmentId);
    if (!cursors) {
      cursors = await this.deps.repo.cursors(environmentId);
      this.cursors.set(environmentId, cursors);
    }
    return cursors;
  }

  private async readHost(environmentId: string, bots: readonly IngestBot[]): Promise<void> {
    const { repo, timing } = this.deps;
    const files = await this.deps.filesFor(environmentId);
    const placed = await Promise.all(bots.map(async (bot) => ({ bot, paths: botPaths(await this.deps.cwdOf(bot), bot.exchange, bot.account) })));
    // Bots of one account in one directory share the cache: it is read once, for the first of them.
    const fillDirs = new Map<string, IngestBot>();
    for (const { bot, paths } of placed) if (!fillDirs.has(paths.fills)) fillDirs.set(paths.fills, bot);
    const stats = await files.scan([...fillDirs.keys()], placed.map((p) => p.paths.state));
    const statByPath = new Map(stats.map((s) => [s.path, s]));
    const cursors = await this.cursorsOf(environmentId);
    const nowMs = this.deps.clock.now().getTime();
    const readAt = new Date(nowMs).toISOString();

    const changed = stats.filter((s) => {
      const cursor = cursors.get(s.path);
      return !cursor || cursor.size !== s.size || cursor.mtimeMs !== s.mtimeMs;
    });
    // Day files from the future are not read at all: their cursor carries the reason.
    const toRead: FileStat[] = [];
    let budget = timing.maxBytesPerRound;
    for (const s of changed.sort((a, b) => a.path.localeCompare(b.path))) {
      const day = DAY_FILE.exec(posix.basename(s.path))?.[1];
      const problem = day ? dayFileProblem(day, nowMs) : null;
      if (day && problem) {
        const cursor = { size: s.size, mtimeMs: s.mtimeMs, problem };
        await repo.saveCursor(this.deps.db, environmentId, s.path, cursor, readAt);
        cursors.set(s.path, cursor);
        continue;
      }
      if (toRead.length > 0 && s.size > budget) continue;
      budget -= s.size;
      toRead.push(s);
    }
    const texts = await files.read(toRead.map((s) => s.path));

    for (const s of toRead) {
      const text = texts.get(s.path);
      if (text === undefined) continue;
      const day = DAY_FILE.exec(posix.basename(s.path))?.[1];
      if (day) {
        const owner = fillDirs.get(posix.dirname(s.path));
        if (owner) await this.ingestDayFile(environmentId, owner, s, day, text, nowMs, readAt, cursors);
      }
    }

    // Problems of day files, by directory (one pass over the cursors, however many bots share a host).
    const fileProblems = new Map<string, string[]>();
    for (const [path, cursor] of cursors) {
      if (!cursor.problem || !DAY_FILE.test(posix.basename(path))) continue;
      const dir = posix.dirname(path);
      fileProblems.set(dir, [...(fileProblems.get(dir) ?? []), `${path}: ${cursor.problem}`]);
    }
    for (const { bot, paths } of placed) {
      const problems: string[] = [];
      const stat = statByPath.get(paths.state);
      const text = texts.get(paths.state);
      if (text !== undefined && stat) {
        try {
          await this.ingestSnapshot(bot, parseSnapshot(text, nowMs));
          cursors.set(paths.state, { size: stat.size, mtimeMs: stat.mtimeMs, problem: null });
        } catch (error) {
          cursors.set(paths.state, { size: stat.size, mtimeMs: stat.mtimeMs, problem: `${paths.state}: ${(error as Error).message}` });
        }
      }
      const stateCursor = cursors.get(paths.state);
      if (stateCursor?.problem) problems.push(stateCursor.problem);
      problems.push(...(fileProblems.get(paths.fills) ?? []));
      const snapshot = this.snapshots.get(bot.id);
      const snapshotAt = snapshot ? new Date(snapshot.snapshotTs).toISOString() : null;
      const state: SourceStatus['state'] =
        problems.length > 0 ? 'error' : !snapshot ? 'waiting' : bot.status === 'running' && nowMs - snapshot.snapshotTs > timing.staleAfterMs ? 'stale' : 'ok';
      if (!stat && !snapshot) problems.push(`no ${paths.state} yet (Passivbot 7.9+ writes it; older bots: the log summary only)`);
      const previous = this.statuses.get(bot.id);
      if (previous?.state !== state || previous.problems.join('\n') !== problems.join('\n')) this.changed = true;
      this.setStatus(bot, { state, problems, lastReadAt: readAt, snapshotAt });
    }
  }

  private async ingestDayFile(environmentId: string, owner: IngestBot, stat: FileStat, day: string, text: string, nowMs: number, readAt: string, cursors: Map<string, FileCursor>): Promise<void> {
    const { db, repo } = this.deps;
    let parsed: ReturnType<typeof parseDayFile>;
    try {
      parsed = parseDayFile(text, day, nowMs);
    } catch (error) {
      const cursor = { size: stat.size, mtimeMs: stat.mtimeMs, problem: (error as Error).message };
      await repo.saveCursor(db, environmentId, stat.path, cursor, readAt);
      cursors.set(stat.path, cursor);
      return;
    }
    const problem = parsed.skipped.future > 0 ? `${parsed.skipped.future} fill(s) dated in the future: not counted` : null;
    const cursor = { size: stat.size, mtimeMs: stat.mtimeMs, problem };
    await db.transaction().execute(async (tx) => {
      await repo.upsertFills(tx, owner.account, owner.exchange, owner.id, parsed.fills);
      await repo.saveCursor(tx, environmentId, stat.path, cursor, readAt);
    });
    cursors.set(stat.path, cursor);
    this.changed = true;
  }

  private async ingestSnapshot(bot: IngestBot, snapshot: BotSnapshot): Promise<void> {
    const { repo, timing } = this.deps;
    this.snapshots.set(bot.id, snapshot);
    const content = JSON.stringify([snapshot.balance, snapshot.equity, snapshot.positions, snapshot.orders]);
    if (this.savedState.get(bot.id) !== content) {
      await repo.saveBotState({ instanceId: bot.id, account: bot.account, exchange: bot.exchange, snapshotTs: snapshot.snapshotTs, balance: snapshot.balance, equity: snapshot.equity, upnl: snapshot.upnl, positions: snapshot.positions, orders: snapshot.orders });
      this.savedState.set(bot.id, content);
      this.changed = true;
    }
    for (const [scope, key] of [
      ['bot', bot.id],
      ['account', bot.account],
    ] as const) {
      const id = `${scope}:${key}`;
      let last = this.lastSample.get(id);
      if (last === undefined) last = (await repo.lastSampleTs(scope, key)) ?? 0;
      if (snapshot.snapshotTs - last < timing.sampleIntervalMs) {
        this.lastSample.set(id, last);
        continue;
      }
      await repo.addSample(scope, key, snapshot.snapshotTs, snapshot);
      this.lastSample.set(id, snapshot.snapshotTs);
    }
  }
}

