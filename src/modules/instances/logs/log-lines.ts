/**
 * Parses Passivbot log lines (CONTRACT.md §1): `<timestamp> <LEVEL padded to 8> <message>`, the
 * message optionally prefixed by `[exchange]` and a tag such as `[health]`. This runs on every line
 * of every bot (a flooding bot writes ~20,000 lines/s), so classification uses char checks and
 * indexOf only; the few tagged lines that feed the summary get a closer look in applyToSummary.
 */

export type LogLevel = 'TRACE' | 'DEBUG' | 'INFO' | 'WARNING' | 'ERROR' | 'CRITICAL';

export interface LogLine {
  text: string;
  ts: string | null;
  level: LogLevel | null;
  /** 'health', 'fill', 'order', 'boot', 'pos', 'balance', 'traceback', ...; null for untagged lines. */
  tag: string | null;
  error: boolean;
  /** A later line of one error (traceback frames, the closing exception line): counted with the first. */
  continued: boolean;
}

const LEVEL_RANK: Record<LogLevel, number> = { TRACE: 5, DEBUG: 10, INFO: 20, WARNING: 30, ERROR: 40, CRITICAL: 50 };

/**
 * Level filter for `?level=`. Lines without a level always pass: they are traceback frames, the
 * closing exception line and print() output such as the restart countdown, which are the context
 * someone filtering for warnings wants to see, and there are few of them.
 */
export function levelAtLeast(level: LogLevel | null, min: LogLevel): boolean {
  return level === null || LEVEL_RANK[level] >= LEVEL_RANK[min];
}

const TIMESTAMP_SHAPE = 'dddd-dd-ddTdd:dd:dd';

/** Length of a leading `YYYY-MM-DDTHH:MM:SS` (19) or `...Z` (20); 0 when the line has none. */
function timestampLength(text: string): number {
  if (text.length < 19) return 0;
  for (let i = 0; i < 19; i++) {
    const code = text.charCodeAt(i);
    const expected = TIMESTAMP_SHAPE.charCodeAt(i);
    if (expected === 100 /* d */ ? code < 48 || code > 57 : code !== expected) return 0;
  }
  return text.charCodeAt(19) === 90 /* Z */ ? 20 : 19;
}

const LEVEL_BY_INITIAL = new Map<number, LogLevel>([
  [73, 'INFO'],
  [68, 'DEBUG'],
  [87, 'WARNING'],
  [69, 'ERROR'],
  [84, 'TRACE'],
  [67, 'CRITICAL'],
]);

function levelAt(text: string, start: number): LogLevel | null {
  const level = LEVEL_BY_INITIAL.get(text.charCodeAt(start));
  if (!level || !text.startsWith(level, start)) return null;
  const after = text.charCodeAt(start + level.length);
  return Number.isNaN(after) || after === 32 ? level : null;
}

/** Tags that may open a message without an `[exchange]` prefix (before the user is resolved). */
const KNOWN_TAGS = new Set(['boot', 'order', 'fill', 'pos', 'balance', 'health', 'mode', 'memory', 'risk']);
/** Tagged lines whose text says "error" without being one (`errors=0/10` in [health]). */
const QUIET_TAGS = new Set(['health', 'fill', 'order', 'pos', 'balance']);

const TRACEBACK = 'Traceback (most recent call last):';

function isTagWord(word: string): boolean {
  if (word.length === 0 || word.length > 24) return false;
  for (let i = 0; i < word.length; i++) {
    const c = word.charCodeAt(i);
    if (!((c >= 97 && c <= 122) || (c >= 48 && c <= 57) || c === 95 || c === 45)) return false;
  }
  return true;
}

/** The word inside `[...]` at `start`, or null. */
function bracketWord(text: string, start: number): { word: string; end: number } | null {
  if (text.charCodeAt(start) !== 91 /* [ */) return null;
  const close = text.indexOf(']', start + 1);
  if (close === -1 || close - start > 33) return null;
  return { word: text.slice(start + 1, close), end: close + 1 };
}

/** `[tag]`, or `[exchange] [tag]`: a first word that is not a known tag is taken for the exchange. */
function tagAt(text: string, start: number): string | null {
  const first = bracketWord(text, start);
  if (!first) return null;
  if (KNOWN_TAGS.has(first.word)) return first.word;
  const second = bracketWord(text, first.end + (text.charCodeAt(first.end) === 32 ? 1 : 0));
  return second && isTagWord(second.word) ? second.word : null;
}

/** "error" / "Error" / "ERROR" anywhere after `from`, or a restart announcement. */
function mentionsError(text: string, from: number): boolean {
  for (let i = text.indexOf('rror', from + 1); i !== -1; i = text.indexOf('rror', i + 4)) {
    const before = text.charCodeAt(i - 1);
    if (before === 101 /* e */ || before === 69 /* E */) return true;
  }
  return text.includes('ERROR', from) || text.includes('restarting bot', from);
}

export function parseLogLine(text: string): LogLine {
  let ts: string | null = null;
  let level: LogLevel | null = null;
  let pos = 0;
  const tsLength = timestampLength(text);
  if (tsLength > 0) {
    ts = text.slice(0, tsLength);
    pos = tsLength;
    if (text.charCodeAt(pos) === 32) {
      level = levelAt(text, pos + 1);
      if (level) pos += 1 + level.length;
    }
    while (text.charCodeAt(pos) === 32) pos++;
  }
  let tag = tagAt(text, pos);
  let error = level === 'ERROR' || level === 'CRITICAL';
  let continued = false;
  if (text.startsWith(TRACEBACK, pos)) {
    tag = 'traceback';
    error = true;
  } else if (ts === null && text.startsWith('  File "')) {
    tag = 'traceback';
    error = continued = true;
  } else if (!error && (tag === null || !QUIET_TAGS.has(tag))) {
    error = mentionsError(text, pos);
  }
  return { text, ts, level, tag, error, continued };
}

const continuation = (text: string): LogLine => ({ text, ts: null, level: null, tag: 'traceback', error: true, continued: true });

const isIndented = (text: string) => text.charCodeAt(0) === 32 || text.charCodeAt(0) === 9;
const isChainLine = (text: string) => text.startsWith('During handling of the above exception') || text.startsWith('The above exception was the direct cause');

/**
 * Stateful classifier for one bot's stream. After a `Traceback` line, the indented frames and the
 * closing `SomeError: message` line are errors too, marked `continued`; so are chained tracebacks
 * ("During handling of the above exception...") and a traceback right after an error line (what
 * `logging.exception` writes): each such block counts as one error.
 */
export function createLineClassifier(): (text: string) => LogLine {
  let state: 'none' | 'inside' | 'closed' = 'none';
  let previousError = false;
  return (text) => {
    if (state === 'inside') {
      if (text === '' || isIndented(text) || isChainLine(text) || text.startsWith(TRACEBACK)) return continuation(text);
      state = 'closed';
      if (timestampLength(text) === 0) return continuation(text); // the closing exception line
    } else if (state === 'closed') {
      if (text === '') {
        previousError = false;
        return { text, ts: null, level: null, tag: null, error: false, continued: false };
      }
      if (isChainLine(text)) {
        state = 'inside';
        return continuation(text);
      }
    }
    const line = parseLogLine(text);
    if (line.tag === 'traceback' && !line.continued) {
      line.continued = previousError;
      state = 'inside';
    } else {
      state = 'none';
    }
    previousError = line.error;
    return line;
  };
}

// ---- live summary --------------------------------------------------------------------------

export interface LiveSummary {
  balance: number | null;
  currency: string | null;
  equity: number | null;
  positionsLong: number | null;
  positionsShort: number | null;
  /** Sum of [fill] pnl seen: continuous across internal restarts, but only covers lines we saw. */
  realizedPnl: number;
  /** [fill] lines seen (a batched `[fill] 25 fills, pnl=...` line counts 25). */
  fills: number;
  /** Error lines seen; a traceback (with the error line that introduced it) counts once. */
  errors: number;
  /** Saw `[boot] READY`; false again after `restarting bot...`. */
  ready: boolean;
  lastHealthAt: string | null;
  lastFillAt: string | null;
  uptime: string | null;
  loopSeconds: number | null;
  wsReconnects: number | null;
  rateLimits: number | null;
  rssMb: number | null;
  lastError: string | null;
  /** From [health] `errors=N/10`: errors in the last hour; Passivbot restarts itself past the budget. */
  recentErrors: number | null;
  /** From [health] `fills=N (pnl=X)`: counted by the bot since it (re)started, reset by internal restarts. */
  healthFills: number | null;
  healthPnl: number | null;
}

export function emptySummary(): LiveSummary {
  return {
    balance: null,
    currency: null,
    equity: null,
    positionsLong: null,
    positionsShort: null,
    realizedPnl: 0,
    fills: 0,
    errors: 0,
    ready: false,
    lastHealthAt: null,
    lastFillAt: null,
    uptime: null,
    loopSeconds: null,
    wsReconnects: null,
    rateLimits: null,
    rssMb: null,
    lastError: null,
    recentErrors: null,
    healthFills: null,
    healthPnl: null,
  };
}

const MAX_ERROR_TEXT = 300;
const clip = (text: string) => (text.length > MAX_ERROR_TEXT ? `${text.slice(0, MAX_ERROR_TEXT - 1)}…` : text);

/** The leading number of `text` ("352MB" -> 352, "+1.23" -> 1.23, "n/a" -> null). */
function leadingNumber(text: string): number | null {
  const value = Number.parseFloat(text);
  return Number.isFinite(value) ? value : null;
}

/** The message after `[tag]`, trimmed at the start. */
function afterTag(text: string, tag: string): string {
  const at = text.indexOf(`[${tag}]`);
  return at === -1 ? '' : text.slice(at + tag.length + 2).trimStart();
}

// [health] uptime=14.0h30.0m | loop=7.1s | positions=5 long, 0 short | balance=1180.00 USDC (snap 1186.87) | orders=+597/-584 | fills=2 (pnl=+1.23) | errors=27/10 | ws_reconnects=7 | rate_limits=203 | rss=352MB
function applyHealth(summary: LiveSummary, body: string, at: string | null): void {
  summary.lastHealthAt = at;
  for (const part of body.split('|')) {
    const field = part.trim();
    const eq = field.indexOf('=');
    const value = field.slice(eq + 1);
    switch (field.slice(0, Math.max(eq, 0))) {
      case 'uptime':
        summary.uptime = value;
        break;
      case 'loop':
        summary.loopSeconds = leadingNumber(value);
        break;
      case 'positions': {
        const comma = value.indexOf(',');
        summary.positionsLong = leadingNumber(value);
        summary.positionsShort = comma === -1 ? null : leadingNumber(value.slice(comma + 1));
        break;
      }
      case 'balance':
        summary.balance = leadingNumber(value);
        summary.currency = value.split(' ')[1] || summary.currency;
        break;
      case 'fills': {
        const pnl = value.indexOf('pnl=');
        summary.healthFills = leadingNumber(value);
        summary.healthPnl = pnl === -1 ? (summary.healthFills === 0 ? 0 : null) : leadingNumber(value.slice(pnl + 4));
        break;
      }
      case 'errors':
        summary.recentErrors = leadingNumber(value);
        break;
      case 'ws_reconnects':
        summary.wsReconnects = leadingNumber(value);
        break;
      case 'rate_limits':
        summary.rateLimits = leadingNumber(value);
        break;
      case 'rss':
        summary.rssMb = leadingNumber(value);
        break;
    }
  }
}

const BATCHED_FILLS = /^(\d+) fills, pnl=([+-]?\d+(?:\.\d+)?(?:e[+-]?\d+)?)/;
const roundPnl = (value: number) => Math.round(value * 1e8) / 1e8;

// [fill] 2025-01-01T12:00:00 BTC long close_grid_long -0.001 @ 100500.00, pnl=+5.5 USDT id=...   or   [fill] 25 fills, pnl=+12.3 USDT
function applyFill(summary: LiveSummary, body: string, at: string | null): void {
  const batch = BATCHED_FILLS.exec(body);
  if (batch) {
    summary.fills += Number(batch[1]);
    summary.realizedPnl = roundPnl(summary.realizedPnl + Number(batch[2]));
  } else {
    summary.fills += 1;
    const pnl = body.indexOf('pnl=');
    const value = pnl === -1 ? null : leadingNumber(body.slice(pnl + 4));
    if (value !== null) summary.realizedPnl = roundPnl(summary.realizedPnl + value);
  }
  summary.lastFillAt = at;
}

// [balance] raw 1000.000000 -> 1005.500000 | snap 1000.000000 -> 1000.000000 | equity: 1010.2000 source: REST
function applyBalance(summary: LiveSummary, body: string): void {
  const arrow = body.indexOf('->');
  const balance = arrow === -1 ? null : leadingNumber(body.slice(arrow + 2));
  if (balance !== null) summary.balance = balance;
  const equityAt = body.indexOf('equity:');
  const equity = equityAt === -1 ? null : leadingNumber(body.slice(equityAt + 7));
  if (equity !== null) summary.equity = equity;
}

/** The `SomeError: message` line that closes a traceback (not a frame, header or chain line). */
const isClosingLine = (text: string) => text !== '' && !isIndented(text) && !text.startsWith(TRACEBACK) && !isChainLine(text);

/**
 * Folds one classified line into the summary (mutates and returns it). `receivedAt` (ISO) stands in
 * for the timestamp of lines that have none; pass the clock's time.
 */
export function applyToSummary(summary: LiveSummary, line: LogLine, receivedAt: string | null = null): LiveSummary {
  const at = line.ts ?? receivedAt;
  if (line.error) {
    if (!line.continued) {
      summary.errors++;
      summary.lastError = clip(line.text);
    } else if (line.tag === 'traceback' && isClosingLine(line.text)) {
      // The exception line is the most telling part; keep the message that introduced it, if any.
      const previous = summary.lastError;
      summary.lastError = clip(previous && !previous.startsWith(TRACEBACK) ? `${previous} | ${line.text}` : line.text);
    }
    if (line.text.includes('restarting bot')) summary.ready = false;
  }
  switch (line.tag) {
    case 'health': {
      const body = afterTag(line.text, 'health');
      if (body.startsWith('uptime=')) applyHealth(summary, body, at);
      break;
    }
    case 'fill':
      applyFill(summary, afterTag(line.text, 'fill'), at);
      break;
    case 'balance':
      applyBalance(summary, afterTag(line.text, 'balance'));
      break;
    case 'boot':
      if (afterTag(line.text, 'boot').startsWith('READY')) summary.ready = true;
      break;
  }
  return summary;
}
