/**
 * Rules for checking Passivbot configs: small combinators (num, str, obj, list...) and the value
 * rules Passivbot's own parsing implies (coin lists, forced modes, dates, optimizer bounds).
 * Hand-written rather than ajv because every issue needs an exact JSON path, validation must never
 * throw on hostile input, and only known keys are walked: unknown keys pass.
 */

export interface ConfigIssue {
  path: string;
  message: string;
}

export type ConfigShape = 'v7' | 'v8';

export const MAX_ISSUES = 50;

export class IssueList {
  readonly items: ConfigIssue[] = [];
  add(path: string, message: string): void {
    if (this.items.length < MAX_ISSUES) this.items.push({ path, message });
  }
  get full(): boolean {
    return this.items.length >= MAX_ISSUES;
  }
}

export type Rule = (value: unknown, path: string, issues: IssueList) => void;

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Own properties only: a key such as `toString` must never resolve through the prototype. */
export function own(record: Record<string, unknown>, key: string): unknown {
  return Object.hasOwn(record, key) ? record[key] : undefined;
}

const PLAIN_KEY = /^[A-Za-z0-9_$-]+$/;

/** `a.b` for plain keys, `a["x.y"]` otherwise, so a key containing a dot can't pass for a nested path. */
export function joinPath(path: string, key: string): string {
  if (PLAIN_KEY.test(key)) return path ? `${path}.${key}` : key;
  return `${path}[${JSON.stringify(key.length > 64 ? `${key.slice(0, 64)}…` : key)}]`;
}

function kind(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  switch (typeof value) {
    case 'string':
      return 'a string';
    case 'number':
      return 'a number';
    case 'boolean':
      return 'a boolean';
    case 'object':
      return 'an object';
    default:
      return typeof value;
  }
}

function hasControlChar(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code < 32 || code === 127) return true;
  }
  return false;
}

const isFiniteNumber = (value: unknown): value is number => typeof value === 'number' && Number.isFinite(value);

// ---- combinators ---------------------------------------------------------------------------

interface NumberOptions {
  min?: number;
  above?: number;
  max?: number;
  integer?: boolean;
  nullable?: boolean;
}

export function num(options: NumberOptions = {}): Rule {
  const what = `${options.integer ? 'an integer' : 'a number'}${options.nullable ? ' or null' : ''}`;
  return (value, path, issues) => {
    if (value === null && options.nullable) return;
    if (typeof value !== 'number') return issues.add(path, `must be ${what}, not ${kind(value)}`);
    if (!Number.isFinite(value)) return issues.add(path, 'must be a finite number');
    if (options.integer && !Number.isInteger(value)) return issues.add(path, 'must be a whole number');
    if (options.above !== undefined && !(value > options.above)) issues.add(path, `must be greater than ${options.above}`);
    else if (options.min !== undefined && value < options.min) issues.add(path, `must be at least ${options.min}`);
    else if (options.max !== undefined && value > options.max) issues.add(path, `must be at most ${options.max}`);
  };
}

interface StringOptions {
  nonEmpty?: boolean;
  maxLength?: number;
  oneOf?: readonly string[];
  nullable?: boolean;
}

export function str(options: StringOptions = {}): Rule {
  const allowed = options.oneOf ? new Set(options.oneOf.map((v) => v.toLowerCase())) : undefined;
  const choices = options.oneOf?.map((v) => JSON.stringify(v)).join(', ');
  const maxLength = options.maxLength ?? 4096;
  return (value, path, issues) => {
    if (value === null && options.nullable) return;
    if (typeof value !== 'string') return issues.add(path, `must be a string${options.nullable ? ' or null' : ''}, not ${kind(value)}`);
    if (value.length > maxLength) return issues.add(path, `must be at most ${maxLength} characters`);
    if (hasControlChar(value)) return issues.add(path, 'must not contain control characters');
    if (options.nonEmpty && !value.trim()) return issues.add(path, 'must not be empty');
    if (allowed && !allowed.has(value.toLowerCase())) issues.add(path, `must be one of ${choices ?? ''}`);
  };
}

export function bool(options: { nullable?: boolean } = {}): Rule {
  return (value, path, issues) => {
    if (typeof value === 'boolean' || (value === null && options.nullable)) return;
    issues.add(path, `must be true or false, not ${kind(value)}`);
  };
}

export function list(item: Rule, maxItems = 1000): Rule {
  return (value, path, issues) => {
    if (!Array.isArray(value)) return issues.add(path, `must be a list, not ${kind(value)}`);
    const items = value as unknown[];
    if (items.length > maxItems) issues.add(path, `must have at most ${maxItems} items`);
    const n = Math.min(items.length, maxItems);
    for (let i = 0; i < n && !issues.full; i++) item(items[i], `${path}[${i}]`, issues);
  };
}

/** Known `fields` get their rule, any other key gets `each` (or passes unchecked). */
export function obj(fields: Record<string, Rule>, options: { each?: Rule } = {}): Rule {
  const known = new Map(Object.entries(fields));
  return (value, path, issues) => {
    if (!isRecord(value)) return issues.add(path, `must be an object, not ${kind(value)}`);
    for (const key of Object.keys(value)) {
      if (issues.full) return;
      const rule = known.get(key) ?? options.each;
      rule?.(value[key], joinPath(path, key), issues);
    }
  };
}

// ---- leaf rules ----------------------------------------------------------------------------

export const NUM = num();
export const NONNEG = num({ min: 0 });
export const POSITIVE = num({ above: 0 });
export const FRACTION = num({ min: 0, max: 1 });
export const COUNT = num({ integer: true, min: 0 });
export const COUNT1 = num({ integer: true, min: 1 });
/**
 * A count the optimizer searches as a float (a `[low, high]` bound has no step): Passivbot rounds
 * it to the nearest whole number, so its own pareto configs hold values like 16.83.
 */
export const ROUNDED_COUNT = num({ min: 0 });
export const GRID_RATIO = num({ min: -1, max: 1 });
export const BOOL = bool();
export const NAME = str({ nonEmpty: true, maxLength: 256 });
export const PATH = str({ nonEmpty: true });
export const NULLABLE_PATH = str({ nullable: true });
export const ANY_OBJECT = obj({});
export const NAMES = list(NAME);

export const SCALAR: Rule = (value, path, issues) => {
  if (typeof value === 'object' && value !== null) issues.add(path, `must be a number, string or boolean, not ${kind(value)}`);
  else if (typeof value === 'number' && !Number.isFinite(value)) issues.add(path, 'must be a finite number');
};

export const NUM_OR_BOOL: Rule = (value, path, issues) => {
  if (typeof value !== 'boolean') NUM(value, path, issues);
};

/** `live.user` picks the api-keys.json entry and names the log file `logs/<user>.log`. */
export const USER: Rule = (value, path, issues) => {
  if (typeof value !== 'string') return issues.add(path, `must be a string, not ${kind(value)}`);
  if (!value.trim()) return issues.add(path, 'must not be empty');
  if (value.length > 64) return issues.add(path, 'must be at most 64 characters');
  if (hasControlChar(value) || /[/\\]/.test(value) || value === '.' || value === '..') return issues.add(path, 'must not contain control characters or path separators');
  if (value.trim() !== value) issues.add(path, 'must not start or end with whitespace');
};

function isCoinToken(token: string): boolean {
  if (token.length > 64) return false;
  for (let i = 0; i < token.length; i++) {
    const code = token.charCodeAt(i);
    if (code <= 32 || code === 127) return false;
  }
  return true;
}

/** One list entry: a coin, a symbol (`BTC/USDT:USDT`), or comma-separated coins, as Passivbot splits them. */
const COIN: Rule = (value, path, issues) => {
  if (typeof value !== 'string') return issues.add(path, `must be a coin name, not ${kind(value)}`);
  if (!value.trim()) return issues.add(path, 'must not be empty');
  if (value.length > 4096) return issues.add(path, 'must be at most 4096 characters');
  for (const part of value.split(',')) {
    const token = part.trim();
    if (token && !isCoinToken(token)) return issues.add(path, `is not a coin name: ${JSON.stringify(token.slice(0, 40))}`);
  }
};

const COIN_LIST = list(COIN, 10_000);
/** A string is a file path Passivbot re-reads, or comma-separated coins; '' means none. */
const COIN_SOURCE = str();
const COIN_SIDE: Rule = (value, path, issues) => (typeof value === 'string' ? COIN_SOURCE : COIN_LIST)(value, path, issues);

/** `approved_coins` / `ignored_coins`: a list, `{long, short}` (both: Passivbot ignores a half dict), or a path. */
export const COINS: Rule = (value, path, issues) => {
  if (typeof value === 'string') return COIN_SOURCE(value, path, issues);
  if (Array.isArray(value)) return COIN_LIST(value, path, issues);
  if (!isRecord(value)) return issues.add(path, `must be a list of coins, {"long": [...], "short": [...]} or a file path, not ${kind(value)}`);
  for (const key of Object.keys(value)) {
    if (key === 'long' || key === 'short') COIN_SIDE(value[key], joinPath(path, key), issues);
    else issues.add(joinPath(path, key), 'is not allowed here: use {"long": [...], "short": [...]}');
  }
  for (const side of ['long', 'short']) if (!Object.hasOwn(value, side)) issues.add(joinPath(path, side), 'is required when the coins are split by side');
};

/** Passivbot's expand_PB_mode, case-insensitive; '' means not forced. */
export const FORCED_MODE = str({ oneOf: ['', 'n', 'normal', 'm', 'manual', 'gs', 'graceful_stop', 'graceful-stop', 't', 'tp', 'tp_only', 'tp-only', 'p', 'panic'] });

const DATE_PATTERN = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2}))?Z?)?$/;

/** `YYYY-MM-DDTHH:MM:SS` for a valid date (time optional), else null; comparable as strings. */
export function dateKey(text: string): string | null {
  const match = DATE_PATTERN.exec(text);
  if (!match) return null;
  const [, y, m, d, hh = '00', mm = '00', ss = '00'] = match;
  const date = new Date(Date.UTC(Number(y), Number(m) - 1, Number(d)));
  if (date.getUTCMonth() !== Number(m) - 1 || date.getUTCDate() !== Number(d) || Number(hh) > 23 || Number(mm) > 59 || Number(ss) > 59) return null;
  return `${y}-${m}-${d}T${hh}:${mm}:${ss}`;
}

function dateRule(allowNow: boolean): Rule {
  return (value, path, issues) => {
    if (typeof value !== 'string') return issues.add(path, `must be a date string, not ${kind(value)}`);
    if (allowNow && value.toLowerCase() === 'now') return;
    if (value.length > 32 || dateKey(value) === null) issues.add(path, `must be a date like 2024-01-31${allowNow ? ' or "now"' : ''}`);
  };
}
export const START_DATE = dateRule(false);
export const END_DATE = dateRule(true);

/** Optimizer bounds: `[low, high]`, `[low, high, step]` (step 0 or null = continuous) or a fixed number. */
const BOUND: Rule = (value, path, issues) => {
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) issues.add(path, 'must be a finite number');
    return;
  }
  if (!Array.isArray(value) || value.length < 2 || value.length > 3) return issues.add(path, 'must be [low, high], [low, high, step] or a fixed number');
  const [low, high, step] = value as unknown[];
  if (!isFiniteNumber(low)) issues.add(`${path}[0]`, `must be a number, not ${kind(low)}`);
  if (!isFiniteNumber(high)) issues.add(`${path}[1]`, `must be a number, not ${kind(high)}`);
  if (value.length === 3 && step !== null && !(isFiniteNumber(step) && step >= 0)) issues.add(`${path}[2]`, 'must be a step >= 0 or null');
  if (isFiniteNumber(low) && isFiniteNumber(high) && low > high) issues.add(path, `low (${low}) must not be greater than high (${high})`);
};

/** v7 bounds are flat (`long_n_positions`); v8 nests them like the bot section (`long.risk.n_positions`). */
function checkBounds(value: unknown, path: string, issues: IssueList, depth: number): void {
  if (!isRecord(value)) return issues.add(path, `must be an object, not ${kind(value)}`);
  for (const key of Object.keys(value)) {
    if (issues.full) return;
    const item = value[key];
    if (isRecord(item) && depth < 6) checkBounds(item, joinPath(path, key), issues, depth + 1);
    else BOUND(item, joinPath(path, key), issues);
  }
}
export const BOUNDS: Rule = (value, path, issues) => checkBounds(value, path, issues, 0);

const RANGE: Rule = (value, path, issues) => {
  if (!Array.isArray(value) || value.length !== 2 || !value.every(isFiniteNumber)) issues.add(path, 'must be [low, high]');
};

const LIMIT_FIELDS = obj({ metric: NAME, penalize_if: NAME, value: NUM, range: RANGE, stat: NAME, reducer: NAME, enabled: BOOL });
const LIMIT_LIST = list((value, path, issues) => {
  LIMIT_FIELDS(value, path, issues);
  if (isRecord(value) && own(value, 'metric') === undefined) issues.add(joinPath(path, 'metric'), 'is required');
}, 500);
const LEGACY_LIMITS = obj({}, { each: NUM });

/** A list of `{metric, penalize_if, value}`; older v7 used `{penalize_if_greater_than_x: n}` or a flags string. */
export const LIMITS: Rule = (value, path, issues) => {
  if (Array.isArray(value)) return LIMIT_LIST(value, path, issues);
  if (isRecord(value)) return LEGACY_LIMITS(value, path, issues);
  if (typeof value !== 'string') issues.add(path, `must be a list of {"metric", "penalize_if", "value"}, not ${kind(value)}`);
};

const SCORE_FIELDS = obj({ metric: NAME, goal: str({ oneOf: ['max', 'min'] }) });
/** v7: metric names; v8: `{metric, goal}`. */
export const SCORING = list((value, path, issues) => {
  if (typeof value === 'string') return NAME(value, path, issues);
  SCORE_FIELDS(value, path, issues);
  if (isRecord(value) && own(value, 'metric') === undefined) issues.add(joinPath(path, 'metric'), 'is required');
}, 200);

export const VERSION: Rule = (value, path, issues) => {
  if (isFiniteNumber(value) || (typeof value === 'string' && value.length <= 32 && /^v?\d+(?:\.\d+)*$/i.test(value.trim()))) return;
  issues.add(path, 'must be a version like "v8.2.0" or a number');
};

export const LOG_LEVEL: Rule = (value, path, issues) => (typeof value === 'string' ? NAME : num({ integer: true, min: 0, max: 3 }))(value, path, issues);
