/**
 * Passivbot configs on the page: starting points for a new bot, the v7/v8 shape, and a
 * leaf-by-leaf diff with the same paths the API uses (`live.approved_coins`, `a["x.y"]`).
 */
import { joinPath } from '../../components/json-paths';

export type ConfigShape = 'v7' | 'v8';

export const TEMPLATES: Record<ConfigShape, Record<string, unknown>> = {
  v7: { live: { approved_coins: ['BTC', 'ETH'], ignored_coins: [], leverage: 10 } },
  v8: {
    config_version: 'v8.1.0',
    live: { approved_coins: { long: ['BTC', 'ETH'], short: [] }, ignored_coins: { long: [], short: [] }, leverage: 10 },
  },
};

export const toText = (config: unknown): string => `${JSON.stringify(config, null, 2)}\n`;

const isRecord = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

/** As the server tells them apart: `config_version` 8+, or v8's nested `bot.<side>.<section>` layout. */
export function configShape(config: unknown): ConfigShape {
  if (!isRecord(config)) return 'v7';
  const version = config.config_version;
  const major = typeof version === 'number' ? version : typeof version === 'string' ? Number(/^\s*v?(\d+)/i.exec(version)?.[1]) : NaN;
  if (Number.isFinite(major)) return major >= 8 ? 'v8' : 'v7';
  const bot = config.bot;
  if (isRecord(bot)) {
    for (const side of [bot.long, bot.short]) {
      if (isRecord(side) && ['risk', 'strategy', 'forager', 'hsl', 'unstuck'].some((s) => isRecord(side[s]))) return 'v8';
    }
  }
  return 'v7';
}

export interface ConfigChange {
  path: string;
  before: unknown;
  after: unknown;
}

function same(a: unknown, b: unknown): boolean {
  return a === b || JSON.stringify(a) === JSON.stringify(b);
}

function walk(a: unknown, b: unknown, path: string, depth: number, out: ConfigChange[]): void {
  const descend = depth < 64 && (isRecord(a) || a === undefined) && (isRecord(b) || b === undefined) && (isRecord(a) || isRecord(b));
  if (!descend) {
    if (!same(a, b)) out.push({ path, before: a, after: b });
    return;
  }
  const ra = isRecord(a) ? a : {};
  const rb = isRecord(b) ? b : {};
  for (const key of new Set([...Object.keys(ra), ...Object.keys(rb)])) walk(ra[key], rb[key], joinPath(path, key), depth + 1, out);
}

/** Every leaf that differs; lists compare as whole values (as the server's diff does). */
export function diffConfigs(before: unknown, after: unknown): ConfigChange[] {
  const out: ConfigChange[] = [];
  walk(before, after, '', 0, out);
  return out;
}

/** A value as a short, readable cell. */
export function showValue(value: unknown): string {
  if (value === undefined) return '—';
  const text = JSON.stringify(value);
  return text.length > 120 ? `${text.slice(0, 119)}…` : text;
}

/** Sets `live.approved_coins` in a config text (keeping v8's long/short form). */
export function withCoins(config: Record<string, unknown>, coins: string[]): Record<string, unknown> {
  const live = isRecord(config.live) ? config.live : {};
  const approved = isRecord(live.approved_coins) ? { long: coins, short: coins } : coins;
  return { ...config, live: { ...live, approved_coins: approved } };
}
