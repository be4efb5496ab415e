import { IssueList, dateKey, isRecord, joinPath, own } from './passivbot-config.rules.js';
import type { ConfigIssue, ConfigShape } from './passivbot-config.rules.js';
import { CONFIG_RULES, V8_SIDE_SECTIONS } from './passivbot-config.schema.js';

export type { ConfigIssue, ConfigShape } from './passivbot-config.rules.js';
export { MAX_ISSUES } from './passivbot-config.rules.js';

function versionMajor(value: unknown): number | null {
  if (typeof value === 'number' && Number.isFinite(value)) return Math.trunc(value);
  if (typeof value !== 'string') return null;
  const match = /^\s*v?(\d{1,6})/i.exec(value);
  return match ? Number(match[1]) : null;
}

/** v8 by `config_version` (8+), else by layout: nested `bot.<side>.risk|strategy|...` or nested `optimize.bounds.<side>`. */
export function detectConfigShape(config: Record<string, unknown>): ConfigShape {
  const major = versionMajor(own(config, 'config_version'));
  if (major !== null) return major >= 8 ? 'v8' : 'v7';
  const bot = own(config, 'bot');
  if (isRecord(bot)) {
    for (const sideName of ['long', 'short']) {
      const side = own(bot, sideName);
      if (isRecord(side) && V8_SIDE_SECTIONS.some((section) => isRecord(own(side, section)))) return 'v8';
    }
  }
  const optimize = own(config, 'optimize');
  const bounds = isRecord(optimize) ? own(optimize, 'bounds') : undefined;
  if (isRecord(bounds) && (isRecord(own(bounds, 'long')) || isRecord(own(bounds, 'short')))) return 'v8';
  return 'v7';
}

function checkDateOrder(section: Record<string, unknown>, path: string, issues: IssueList): void {
  const start = own(section, 'start_date');
  const end = own(section, 'end_date');
  if (typeof start !== 'string' || typeof end !== 'string') return;
  const startKey = dateKey(start);
  const endKey = dateKey(end);
  if (startKey && endKey && startKey > endKey) issues.add(`${path}.end_date`, `must not be before ${path}.start_date (${start})`);
}

function checkCrossFields(config: Record<string, unknown>, issues: IssueList): void {
  const backtest = own(config, 'backtest');
  if (!isRecord(backtest)) return;
  checkDateOrder(backtest, 'backtest', issues);
  const scenarios = own(backtest, 'scenarios');
  if (!Array.isArray(scenarios)) return;
  const n = Math.min(scenarios.length, 1000);
  for (let i = 0; i < n && !issues.full; i++) {
    const scenario: unknown = scenarios[i];
    if (isRecord(scenario)) checkDateOrder(scenario, `backtest.scenarios[${i}]`, issues);
  }
}

/**
 * Checks types and bounds of every known key (all optional: Passivbot fills defaults; unknown keys
 * pass), reporting up to MAX_ISSUES issues with JSON paths. Never throws.
 */
export function validatePassivbotConfig(config: unknown): { shape: ConfigShape; issues: ConfigIssue[] } {
  if (!isRecord(config)) return { shape: 'v7', issues: [{ path: '', message: 'must be a JSON object' }] };
  const issues = new IssueList();
  let shape: ConfigShape = 'v7';
  try {
    shape = detectConfigShape(config);
    CONFIG_RULES[shape](config, '', issues);
    checkCrossFields(config, issues);
  } catch {
    // Parsed JSON cannot throw here; only exotic objects (throwing getters, proxies) can.
    issues.add('', 'could not be read');
  }
  return { shape, issues: issues.items };
}

// ---- reading and comparing configs ---------------------------------------------------------

const SYMBOL = /^[A-Za-z0-9]+\/[A-Za-z]+(?::[A-Za-z]+)?$/;

/** A coin-list string names a file when it has a file extension or a path separator that is not a `BTC/USDT:USDT` symbol. */
function isFilePath(text: string): boolean {
  return /\.(?:h?json|txt|csv)$/i.test(text) || (/[/\\]/.test(text) && !SYMBOL.test(text));
}

/** Collects the coins of one coin-list value; false when the list lives in a file or is the `all` sentinel. */
function collectCoins(value: unknown, into: Set<string>): boolean {
  if (typeof value === 'string') {
    if (isFilePath(value.trim())) return false;
    return collectCoins([value], into);
  }
  if (Array.isArray(value)) {
    const tokens: string[] = [];
    for (const item of value as unknown[]) {
      if (typeof item !== 'string') continue;
      for (const part of item.split(',')) {
        const token = part.trim();
        if (!token) continue;
        if (isFilePath(token) || token.toLowerCase() === 'all') return false;
        tokens.push(token);
      }
    }
    for (const token of tokens) into.add(SYMBOL.test(token) ? (token.split('/')[0] ?? token) : token);
    return true;
  }
  if (isRecord(value)) return collectCoins(own(value, 'long'), into) && collectCoins(own(value, 'short'), into);
  return true;
}

/**
 * Approved coins the bot trades (union of long and short, sorted, de-duplicated); [] when the
 * config points at a file or uses the `all` sentinel (the list is then not known from the config
 * alone), and also when the list is empty (which means "all" under `live.empty_means_all_approved`).
 */
export function approvedCoins(config: Record<string, unknown>): string[] {
  const live = own(config, 'live');
  if (!isRecord(live)) return [];
  const coins = new Set<string>();
  return collectCoins(own(live, 'approved_coins'), coins) ? [...coins].sort() : [];
}

export function liveUser(config: Record<string, unknown>): string | null {
  const live = own(config, 'live');
  const user = isRecord(live) ? own(live, 'user') : undefined;
  return typeof user === 'string' && user.trim() ? user : null;
}

export interface ConfigChange {
  path: string;
  before: unknown;
  after: unknown;
}

const MAX_DEPTH = 64;

function sameValue(a: unknown, b: unknown, depth: number): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null || depth > MAX_DEPTH) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((item, i) => sameValue(item, b[i], depth + 1));
  const ra = a as Record<string, unknown>;
  const rb = b as Record<string, unknown>;
  const keys = Object.keys(ra);
  return keys.length === Object.keys(rb).length && keys.every((key) => Object.hasOwn(rb, key) && sameValue(ra[key], rb[key], depth + 1));
}

function walk(a: unknown, b: unknown, path: string, depth: number, out: ConfigChange[]): void {
  const aIsObject = isRecord(a);
  const bIsObject = isRecord(b);
  // Descend into objects on both sides, or into a non-empty object that was added or removed.
  const descend =
    depth < MAX_DEPTH &&
    ((aIsObject && bIsObject) || (aIsObject && b === undefined && Object.keys(a).length > 0) || (bIsObject && a === undefined && Object.keys(b).length > 0));
  if (!descend) {
    if (!sameValue(a, b, 0)) out.push({ path, before: a, after: b });
    return;
  }
  const ra = aIsObject ? a : {};
  const rb = bIsObject ? b : {};
  const keys = new Set([...Object.keys(ra), ...Object.keys(rb)]);
  for (const key of keys) walk(own(ra, key), own(rb, key), joinPath(path, key), depth + 1, out);
}

/** Every leaf that differs, with dotted paths (`a["x.y"]` for keys with dots); arrays compared as whole values. */
export function diffConfigs(a: unknown, b: unknown): ConfigChange[] {
  const out: ConfigChange[] = [];
  walk(a, b, '', 0, out);
  return out;
}

const HOT_PATHS = ['live.approved_coins', 'live.ignored_coins'];

const isHotPath = (path: string) => HOT_PATHS.some((hot) => path === hot || path.startsWith(`${hot}.`) || path.startsWith(`${hot}[`));

/**
 * True when the only differences are live.approved_coins / live.ignored_coins (these can be applied
 * to a running bot without restart). Identical configs count as true: nothing needs a restart.
 */
export function onlyCoinListsChanged(a: unknown, b: unknown): boolean {
  return diffConfigs(a, b).every((change) => isHotPath(change.path));
}
