import { roleAllows, type Role } from '../../lib/roles.js';
import type { AuditType } from './audit.types.js';

// "passivbot" (the bot pbfleet runs: `paths.passivbotDir`) is the one word starting with "pass" that is not about a password.
const SECRET_KEY = /pass(?!ivbot)|secret|token|private|api[-_]?key|master|credential|authorization|cookie/i;
const MAX_STRING = 2000;
const MAX_DEPTH = 6;

/**
 * Makes audit details safe to store and show: values under secret-looking keys are replaced,
 * long strings are cut, deep or cyclic structures are bounded. Services should not pass
 * secrets in the first place; this is the second line.
 */
export function redactDetails(details: Record<string, unknown>): Record<string, unknown> {
  return redact(details, 0, new WeakSet()) as Record<string, unknown>;
}

function redact(value: unknown, depth: number, seen: WeakSet<object>): unknown {
  if (typeof value === 'string') return value.length > MAX_STRING ? `${value.slice(0, MAX_STRING)}…` : value;
  if (typeof value !== 'object' || value === null) return typeof value === 'bigint' ? value.toString() : value;
  if (seen.has(value) || depth >= MAX_DEPTH) return '[truncated]';
  seen.add(value);
  if (Array.isArray(value)) return value.slice(0, 100).map((v) => redact(v, depth + 1, seen));
  const out: Record<string, unknown> = {};
  for (const [key, child] of Object.entries(value)) {
    out[key] = SECRET_KEY.test(key) && child !== null && typeof child !== 'boolean' ? '[redacted]' : redact(child, depth + 1, seen);
  }
  return out;
}

/**
 * Entry types only admins may read, in lists, counts, stats, by id and on the hub: logins and
 * failed logins carry the usernames people typed (a password, now and then) and their IPs.
 */
const ADMIN_ONLY_TYPES: readonly AuditType[] = ['auth'];

/** The entry types hidden from `role`. */
export const hiddenAuditTypes = (role: Role): readonly AuditType[] => (roleAllows(role, 'admin') ? [] : ADMIN_ONLY_TYPES);

export const auditTypeVisibleTo = (role: Role, type: AuditType): boolean => !hiddenAuditTypes(role).includes(type);
