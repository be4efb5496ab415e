import type { Clock } from '../../../lib/clock.js';
import type { Publisher } from '../../hub/hub.js';
import { topics } from '../../hub/topics.js';
import type { LogSink } from '../hosts/bot-host.js';
import { applyToSummary, createLineClassifier, emptySummary, type LiveSummary, type LogLevel } from './log-lines.js';

/** Lines kept per bot for late subscribers (`?tail=`). */
export const BACKLOG_LINES = 2000;
/** On resume, this much of the log before the saved offset refills the backlog (not re-counted). */
const SEED_BYTES = 256 * 1024;
const MAX_LINE_BYTES = 64 * 1024;

export interface BacklogLine {
  seq: number;
  text: string;
  level: LogLevel | null;
  error: boolean;
}

/** What subscribers receive on `instance:<id>:logs`: consecutive lines from `seq` on. */
export interface LogBatch {
  instanceId: string;
  seq: number;
  lines: string[];
  /** Indexes (within `lines`) of error lines: tracebacks, `error`, restarts. */
  errors: number[];
  backlog?: boolean;
}

interface Stream {
  /** Byte offset in the file of the first byte not yet split into lines. */
  position: number;
  /** Lines ending at or before this offset were counted before (a resume): backlog only. */
  liveFrom: number;
  skipPartial: boolean;
  remainder: Buffer | null;
  nextSeq: number;
  backlog: BacklogLine[];
  classify: ReturnType<typeof createLineClassifier>;
  summary: LiveSummary;
  dirty: boolean;
}

export interface LogStreamsDeps {
  publisher: Publisher;
  clock: Clock;
  /** A bot printed `[boot] READY`. */
  onReady(instanceId: string): void;
}

/**
 * One reader per bot, whatever the number of subscribers: bytes from the host's follower are
 * split into lines once, classified once, folded into the live summary, kept in a bounded
 * backlog and published as one message per batch on the hub, which bounds slow subscribers.
 */
export class LogStreams implements LogSink {
  private readonly streams = new Map<string, Stream>();

  constructor(private readonly deps: LogStreamsDeps) {}

  /**
   * Starts (or resumes) reading a bot's log. Returns the offset the follower should read
   * from: a little before `offset`, to refill the backlog of a resumed stream.
   */
  open(instanceId: string, offset: number, summary: LiveSummary | null): number {
    const existing = this.streams.get(instanceId);
    if (existing) return existing.position;
    const start = Math.max(0, offset - SEED_BYTES);
    this.streams.set(instanceId, {
      position: start,
      liveFrom: offset,
      skipPartial: start > 0,
      remainder: null,
      nextSeq: 1,
      backlog: [],
      classify: createLineClassifier(),
      summary: summary ?? emptySummary(),
      dirty: false,
    });
    return start;
  }

  close(instanceId: string): void {
    this.streams.delete(instanceId);
  }

  isOpen(instanceId: string): boolean {
    return this.streams.has(instanceId);
  }

  /** The offset up to which lines were taken (what a resume starts from). */
  offsetOf(instanceId: string): number | null {
    return this.streams.get(instanceId)?.position ?? null;
  }

  summaryOf(instanceId: string): LiveSummary | null {
    return this.streams.get(instanceId)?.summary ?? null;
  }

  /** Streams whose summary changed since the last call, with their offsets. */
  takeDirty(): { instanceId: string; summary: LiveSummary; offset: number }[] {
    const out: { instanceId: string; summary: LiveSummary; offset: number }[] = [];
    for (const [instanceId, s] of this.streams) {
      if (!s.dirty) continue;
      s.dirty = false;
      out.push({ instanceId, summary: { ...s.summary }, offset: s.position });
    }
    return out;
  }

  /** Restarts counting for a fresh bot process (the log itself continues). */
  resetSummary(instanceId: string): void {
    const s = this.streams.get(instanceId);
    if (!s) return;
    s.summary = { ...emptySummary(), realizedPnl: s.summary.realizedPnl, fills: s.summary.fills, errors: s.summary.errors };
    s.dirty = true;
  }

  backlog(instanceId: string, count: number): BacklogLine[] {
    const lines = this.streams.get(instanceId)?.backlog ?? [];
    return count >= lines.length ? [...lines] : lines.slice(lines.length - count);
  }

  data(instanceId: string, chunk: Buffer, offsetAfter: number): void {
    const s = this.streams.get(instanceId);
    if (!s) return;
    const bytes = s.remainder ? Buffer.concat([s.remainder, chunk]) : chunk;
    const base = offsetAfter - bytes.length;
    s.remainder = null;
    let start = 0;
    if (s.skipPartial) {
      const first = bytes.indexOf(10);
      if (first < 0) {
        s.position = offsetAfter;
        return;
      }
      s.skipPartial = false;
      start = first + 1;
    }
    const batch: LogBatch = { instanceId, seq: s.nextSeq, lines: [], errors: [] };
    const receivedAt = this.deps.clock.now().toISOString();
    for (let newline = bytes.indexOf(10, start); newline >= 0; newline = bytes.indexOf(10, start)) {
      this.take(instanceId, s, bytes.toString('utf8', start, newline), base + newline + 1, batch, receivedAt);
      start = newline + 1;
    }
    if (start < bytes.length) {
      // A line without its end yet: kept for the next chunk, unless it is absurdly long.
      if (bytes.length - start > MAX_LINE_BYTES) {
        this.take(instanceId, s, bytes.toString('utf8', start), offsetAfter, batch, receivedAt);
      } else s.remainder = Buffer.from(bytes.subarray(start));
    }
    s.position = s.remainder ? offsetAfter - s.remainder.length : offsetAfter;
    if (batch.lines.length > 0) this.deps.publisher.publish(topics.instanceLogs(instanceId), 'log', batch);
  }

  reset(instanceId: string): void {
    const s = this.streams.get(instanceId);
    if (!s) return;
    s.remainder = null;
    s.position = 0;
    s.liveFrom = 0;
    s.skipPartial = false;
  }

  private take(instanceId: string, s: Stream, raw: string, endOffset: number, batch: LogBatch, receivedAt: string): void {
    const text = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    const line = s.classify(text);
    const entry: BacklogLine = { seq: s.nextSeq++, text, level: line.level, error: line.error };
    s.backlog.push(entry);
    if (s.backlog.length > BACKLOG_LINES * 1.5) s.backlog.splice(0, s.backlog.length - BACKLOG_LINES);
    if (endOffset <= s.liveFrom) {
      // Seen before this resume: refills the backlog only. Keeps seq contiguous for the batch.
      batch.seq = s.nextSeq;
      return;
    }
    if (line.error) batch.errors.push(batch.lines.length);
    batch.lines.push(text);
    applyToSummary(s.summary, line, receivedAt);
    s.dirty = true;
    if (line.tag === 'boot' && text.includes('READY')) this.deps.onReady(instanceId);
  }
}
