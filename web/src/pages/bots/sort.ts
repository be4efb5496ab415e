/**
 * Sorting the bots table: the column and direction live in the URL (`/bots?sort=balance&dir=desc`)
 * so a reload or a shared link keeps them. Pure: no React, no DOM.
 */

export const SORT_KEYS = ['name', 'status', 'environment', 'account', 'balance', 'pnl', 'uptime', 'crashes'] as const;
export type SortKey = (typeof SORT_KEYS)[number];
export type SortDir = 'asc' | 'desc';

export interface BotsSearch {
  /** Absent: by name. */
  sort?: SortKey;
  /** Absent: ascending. */
  dir?: SortDir;
}

/** The /bots route's search: unknown columns or directions are dropped, not errors. */
export function botsSearch(search: Record<string, unknown>): BotsSearch {
  const sort = SORT_KEYS.find((key) => key === search.sort);
  const dir = search.dir === 'desc' || search.dir === 'asc' ? search.dir : undefined;
  return { ...(sort && sort !== 'name' ? { sort } : {}), ...(dir === 'desc' ? { dir } : {}) };
}

/** The search after a click on a column's header: the same column flips, another one starts ascending. */
export function nextSort(current: BotsSearch, key: SortKey): BotsSearch {
  const same = (current.sort ?? 'name') === key;
  const dir: SortDir = same && (current.dir ?? 'asc') === 'asc' ? 'desc' : 'asc';
  return botsSearch({ sort: key, dir });
}

/** What sorting needs of a bot (a subset of the API's instance). */
export interface SortableBot {
  id: string;
  name: string;
  status: string;
  environmentId: string;
  account: string;
  exchange: string;
  startedAt: string | null;
  restartCount: number;
  summary: { balance: number | null; realizedPnl: number | null };
}

/** Status order: what needs attention after what runs; anything else last. */
const STATUS_ORDER = ['running', 'starting', 'stopping', 'stopped', 'crashed', 'error', 'unknown'];

type SortValue = string | number | null;

function valueOf(bot: SortableBot, key: SortKey, environmentName: (id: string) => string): SortValue {
  switch (key) {
    case 'name':
      return bot.name;
    case 'status': {
      const rank = STATUS_ORDER.indexOf(bot.status);
      return rank < 0 ? STATUS_ORDER.length : rank;
    }
    case 'environment':
      return environmentName(bot.environmentId);
    case 'account':
      return `${bot.account}\u0000${bot.exchange}`;
    case 'balance':
      return bot.summary.balance;
    case 'pnl':
      return bot.summary.realizedPnl;
    case 'uptime': {
      // Longer uptime = started earlier; a bot that is not running has none (sorted last).
      if (!bot.startedAt || (bot.status !== 'running' && bot.status !== 'starting')) return null;
      const started = Date.parse(bot.startedAt);
      return Number.isNaN(started) ? null : -started;
    }
    case 'crashes':
      return bot.restartCount;
  }
}

const text = new Intl.Collator(undefined, { numeric: true, sensitivity: 'base' });

function compareValues(a: SortValue, b: SortValue): number {
  if (typeof a === 'number' && typeof b === 'number') return a - b;
  return text.compare(String(a), String(b));
}

/**
 * A new array of the bots in the order asked for. Bots without a value (no balance yet, not
 * running for uptime) come last in both directions; ties go by name, then id, so the order is
 * stable while live updates arrive.
 */
export function sortBots<T extends SortableBot>(bots: readonly T[], search: BotsSearch, environmentName: (id: string) => string): T[] {
  const key = search.sort ?? 'name';
  const sign = search.dir === 'desc' ? -1 : 1;
  const keyed = bots.map((bot) => ({ bot, value: valueOf(bot, key, environmentName) }));
  keyed.sort((x, y) => {
    if (x.value === null || y.value === null) {
      if (x.value !== y.value) return x.value === null ? 1 : -1;
    } else {
      const order = compareValues(x.value, y.value);
      if (order !== 0) return sign * order;
    }
    return text.compare(x.bot.name, y.bot.name) || (x.bot.id < y.bot.id ? -1 : x.bot.id > y.bot.id ? 1 : 0);
  });
  return keyed.map((k) => k.bot);
}
