/**
 * The log viewer's memory: a bounded list of lines (oldest dropped first), fed by hub batches
 * (`instance:<id>:logs`, and later job logs) with consecutive line numbers. Pure: no React, no DOM.
 */

export const LOG_LEVELS = ['TRACE', 'DEBUG', 'INFO', 'WARNING', 'ERROR', 'CRITICAL'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export interface LogLine {
  /** Line number from the server; -1 for the viewer's own notes (gaps, reconnects). */
  seq: number;
  text: string;
  /** Parsed on first use (levelOf): most lines of a flood are never drawn or filtered by level. */
  level?: LogLevel | null;
  error: boolean;
}

export function levelOf(line: LogLine): LogLevel | null {
  if (line.level === undefined) line.level = parseLevel(line.text);
  return line.level;
}

/** What the hub sends for a log topic (LogBatch on the server). */
export interface LogBatchPayload {
  seq?: number;
  lines: string[];
  /** Indexes within `lines` of error lines. */
  errors?: number[];
  backlog?: boolean;
}

const LEVEL_AT = /^\S+\s+(TRACE|DEBUG|INFO|WARNING|ERROR|CRITICAL)\b/;
const RANK: Record<LogLevel, number> = { TRACE: 0, DEBUG: 1, INFO: 2, WARNING: 3, ERROR: 4, CRITICAL: 5 };

/** `<timestamp> <LEVEL padded to 8> <message>`, as Passivbot writes; null for other lines (tracebacks). */
export function parseLevel(text: string): LogLevel | null {
  return (LEVEL_AT.exec(text.length > 64 ? text.slice(0, 64) : text)?.[1] as LogLevel | undefined) ?? null;
}

export function isLogBatch(payload: unknown): payload is LogBatchPayload {
  return typeof payload === 'object' && payload !== null && Array.isArray((payload as { lines?: unknown }).lines);
}

export interface LogFilter {
  /** Only lines at this level or above (error lines pass too, except for CRITICAL), as the server filters. */
  level: LogLevel | null;
  /** Lower-cased search text; '' for none. */
  needle: string;
}

export const NO_FILTER: LogFilter = { level: null, needle: '' };

export function isFiltering(filter: LogFilter): boolean {
  return filter.level !== null || filter.needle !== '';
}

export function lineMatches(line: LogLine, filter: LogFilter): boolean {
  if (filter.level !== null && line.seq >= 0) {
    const level = levelOf(line);
    const atLevel = level !== null && RANK[level] >= RANK[filter.level];
    if (!atLevel && !(line.error && filter.level !== 'CRITICAL')) return false;
  }
  return filter.needle === '' || line.text.toLowerCase().includes(filter.needle);
}

/** A list that keeps the last `capacity` items; trimming is amortised (done in chunks of a quarter). */
export class BoundedList<T> {
  items: T[] = [];
  constructor(readonly capacity: number) {}

  push(item: T): void {
    this.items.push(item);
    if (this.items.length > this.capacity + (this.capacity >> 2)) this.items.splice(0, this.items.length - this.capacity);
  }

  get length(): number {
    return Math.min(this.items.length, this.capacity);
  }

  /** The kept items, oldest first (at most `capacity`). */
  view(): T[] {
    return this.items.length > this.capacity ? this.items.slice(this.items.length - this.capacity) : this.items;
  }

  /** Index offset of the first kept item inside `items`. */
  get start(): number {
    return Math.max(0, this.items.length - this.capacity);
  }

  clear(): void {
    this.items = [];
  }
}

/** Every line received (bounded), with the next expected line number to drop repeats and mark gaps. */
export class LogBuffer {
  readonly lines: BoundedList<LogLine>;
  /** Total lines taken since the start (the number shown as "received"). */
  received = 0;
  private nextSeq: number | null = null;

  constructor(capacity: number) {
    this.lines = new BoundedList(capacity);
  }

  /** Adds a batch; returns the lines it added (repeats of a re-sent backlog are skipped). */
  append(batch: LogBatchPayload): LogLine[] {
    const errors = batch.errors?.length ? new Set(batch.errors) : null;
    const added: LogLine[] = [];
    let from = 0;
    if (typeof batch.seq === 'number' && this.nextSeq !== null) {
      if (batch.backlog) {
        // The backlog is sent again on every (re)subscription: skip the lines already here.
        from = Math.min(batch.lines.length, Math.max(0, this.nextSeq - batch.seq));
        if (from === batch.lines.length) return added;
      } else if (batch.seq > this.nextSeq) {
        added.push(this.note(`… ${batch.seq - this.nextSeq} line(s) not received (the viewer fell behind)`));
      } else if (batch.seq < this.nextSeq) {
        added.push(this.note('… the log numbering restarted (server restart)'));
      }
    }
    for (let i = from; i < batch.lines.length; i++) {
      const text = batch.lines[i] as string;
      const line: LogLine = { seq: (batch.seq ?? 0) + i, text, level: undefined, error: errors?.has(i) ?? false };
      this.lines.push(line);
      added.push(line);
    }
    this.received += batch.lines.length - from;
    if (typeof batch.seq === 'number') this.nextSeq = Math.max(batch.backlog ? (this.nextSeq ?? 0) : 0, batch.seq + batch.lines.length);
    return added;
  }

  private note(text: string): LogLine {
    const line: LogLine = { seq: -1, text, level: null, error: false };
    this.lines.push(line);
    return line;
  }
}
