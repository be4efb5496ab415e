import type { AuditLogRow } from '../../db/types.js';
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

/** AuditEntrySchema's keys in order, each with the audit_logs column it comes from. */
export const AUDIT_ENTRY_COLUMNS = [
  ['id', 'id'],
  ['timestamp', 'ts'],
  ['environmentId', 'environment_id'],
  ['environmentName', 'environment_name'],
  ['userId', 'user_id'],
  ['username', 'username'],
  ['type', 'type'],
  ['level', 'level'],
  ['action', 'action'],
  ['message', 'message'],
  ['details', 'details'],
  ['requestId', 'request_id'],
  ['ip', 'ip'],
] as const satisfies readonly (readonly [string, keyof AuditLogRow])[];

const text = (value: string | null): string => (value === null ? 'null' : JSON.stringify(value));

/**
 * Entries as the JSON text AuditEntrySchema's serializer writes for them, built from the rows:
 * `details` is stored as JSON.stringify wrote it, so its text goes in as it is instead of being
 * parsed and written again.
 */
export function auditEntriesJson(rows: readonly Pick<AuditLogRow, (typeof AUDIT_ENTRY_COLUMNS)[number][1]>[]): string {
  let out = '[';
  for (let i = 0; i < rows.length; i++) {
    const r = rows[i]!;
    if (i > 0) out += ',';
    out +=
      `{"id":${text(r.id)},"timestamp":${text(r.ts)},"environmentId":${text(r.environment_id)},"environmentName":${text(r.environment_name)},` +
      `"userId":${text(r.user_id)},"username":${text(r.username)},"type":${text(r.type)},"level":${text(r.level)},"action":${text(r.action)},` +
      `"message":${text(r.message)},"details":${r.details || 'null'},"requestId":${text(r.request_id)},"ip":${text(r.ip)}}`;
  }
  return `${out}]`;
}
