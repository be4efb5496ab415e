/** The audit page's filters, page and open entry, kept in the URL (validated: the URL is user input). */

export const AUDIT_TYPES = ['action', 'auth', 'health_check', 'system', 'error'] as const;
export const AUDIT_LEVELS = ['info', 'success', 'warning', 'error'] as const;
export type AuditType = (typeof AUDIT_TYPES)[number];
export type AuditLevel = (typeof AUDIT_LEVELS)[number];

export interface AuditSearch {
  type?: AuditType;
  level?: AuditLevel;
  action?: string;
  environmentId?: string;
  userId?: string;
  /** ISO date-times. */
  from?: string;
  to?: string;
  q?: string;
  page?: number;
  /** The entry whose details are open. */
  entry?: string;
}

const ID = /^[A-Za-z0-9_-]{1,64}$/;
const ACTION = /^[a-z0-9_.:-]{1,64}$/;

const pick = <T extends string>(value: unknown, allowed: readonly T[]): T | undefined => (allowed.includes(value as T) ? (value as T) : undefined);
const matching = (value: unknown, pattern: RegExp): string | undefined => (typeof value === 'string' && pattern.test(value) ? value : undefined);
const isoDate = (value: unknown): string | undefined => (typeof value === 'string' && value.length <= 40 && !Number.isNaN(Date.parse(value)) ? new Date(value).toISOString() : undefined);

export function validateAuditSearch(search: Record<string, unknown>): AuditSearch {
  const out: AuditSearch = {
    type: pick(search.type, AUDIT_TYPES),
    level: pick(search.level, AUDIT_LEVELS),
    action: matching(search.action, ACTION),
    environmentId: matching(search.environmentId, ID),
    userId: matching(search.userId, ID),
    from: isoDate(search.from),
    to: isoDate(search.to),
    // Control characters are refused by the API: drop them here rather than show an error.
    q: typeof search.q === 'string' && search.q.trim() ? search.q.replace(/\p{Cc}/gu, '').slice(0, 200) || undefined : undefined,
    page: typeof search.page === 'number' && Number.isInteger(search.page) && search.page > 1 ? search.page : undefined,
    entry: matching(search.entry, ID),
  };
  return Object.fromEntries(Object.entries(out).filter(([, v]) => v !== undefined));
}

/** The filters alone (what the list, the stats and the live tail are narrowed by). */
export type AuditFilter = Omit<AuditSearch, 'page' | 'entry'>;

export function filterOf(search: AuditSearch): AuditFilter {
  const { page: _page, entry: _entry, ...filter } = search;
  return filter;
}

export interface LiveEntry {
  type: string;
  level: string;
  action: string | null;
  environmentId: string | null;
  userId: string | null;
  timestamp: string;
  message: string;
}

/** Whether a new entry from the hub belongs in the list as filtered (the server's rules: exact fields, message contains q). */
export function matchesFilter(entry: LiveEntry, filter: AuditFilter): boolean {
  if (filter.type && entry.type !== filter.type) return false;
  if (filter.level && entry.level !== filter.level) return false;
  if (filter.action && entry.action !== filter.action) return false;
  if (filter.environmentId && entry.environmentId !== filter.environmentId) return false;
  if (filter.userId && entry.userId !== filter.userId) return false;
  if (filter.from && entry.timestamp < filter.from) return false;
  if (filter.to && entry.timestamp > filter.to) return false;
  if (filter.q && !entry.message.toLowerCase().includes(filter.q.toLowerCase())) return false;
  return true;
}
