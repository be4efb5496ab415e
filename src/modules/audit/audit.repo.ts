import { sql, SqliteIntrospector, type SelectQueryBuilder } from 'kysely';
import type { Db, Executor } from '../../db/database.js';
import { likeContains, toCount } from '../../db/errors.js';
import type { AuditLogRow, Database } from '../../db/types.js';
import { AUDIT_ENTRY_COLUMNS, auditEntriesJson } from './audit.fns.js';
import { AUDIT_TYPES, type AuditEntry, type AuditFilter } from './audit.types.js';

const COLUMNS = AUDIT_ENTRY_COLUMNS.map(([, column]) => column);

/**
 * SQLite writes a page of entries as JSON itself (json_object per row, in AuditEntrySchema's key
 * order), so no row object is built and no `details` text is parsed and written again: the stored
 * text is valid JSON written by JSON.stringify, and json() embeds it as it is.
 */
const SQLITE_ENTRY_JSON = sql.raw(
  `json_object(${AUDIT_ENTRY_COLUMNS.map(([key, column]) => `'${key}', ${column === 'details' ? "json(nullif(details, ''))" : column}`).join(', ')})`,
);

function toEntry(row: AuditLogRow): AuditEntry {
  return {
    id: row.id,
    timestamp: row.ts,
    environmentId: row.environment_id,
    environmentName: row.environment_name,
    userId: row.user_id,
    username: row.username,
    type: row.type,
    level: row.level,
    action: row.action,
    message: row.message,
    details: row.details ? (JSON.parse(row.details) as Record<string, unknown>) : null,
    requestId: row.request_id,
    ip: row.ip,
  };
}

function applyFilter<O>(query: SelectQueryBuilder<Database, 'audit_logs', O>, filter: AuditFilter) {
  let q = query;
  if (filter.type) q = q.where('type', '=', filter.type);
  // Said as the types that may be seen: a count then reads only the (type, ts) index, 5x faster than `not in` on 10,000 rows.
  if (filter.hiddenTypes?.length) q = q.where('type', 'in', AUDIT_TYPES.filter((t) => !filter.hiddenTypes?.includes(t)));
  if (filter.level) q = q.where('level', '=', filter.level);
  if (filter.action) q = q.where('action', '=', filter.action);
  if (filter.environmentId) q = q.where('environment_id', '=', filter.environmentId);
  if (filter.userId) q = q.where('user_id', '=', filter.userId);
  if (filter.from) q = q.where('ts', '>=', filter.from);
  if (filter.to) q = q.where('ts', '<=', filter.to);
  if (filter.q) q = q.where(sql`lower(message)`, 'like', sql`${likeContains(filter.q)} escape '\\'`);
  return q;
}

export function createAuditRepo(db: Db) {
  const onSqlite = db.introspection instanceof SqliteIntrospector;
  return {
    async insert(entry: AuditEntry, ex: Executor = db): Promise<void> {
      await ex
        .insertInto('audit_logs')
        .values({
          id: entry.id,
          ts: entry.timestamp,
          environment_id: entry.environmentId,
          environment_name: entry.environmentName,
          user_id: entry.userId,
          username: entry.username,
          type: entry.type,
          level: entry.level,
          action: entry.action,
          message: entry.message,
          details: entry.details ? JSON.stringify(entry.details) : null,
          request_id: entry.requestId,
          ip: entry.ip,
        })
        .execute();
    },

    async findById(id: string, ex: Executor = db): Promise<AuditEntry | undefined> {
      const row = await ex.selectFrom('audit_logs').selectAll().where('id', '=', id).executeTakeFirst();
      return row && toEntry(row);
    },

    async list(filter: AuditFilter, page: number, limit: number, ex: Executor = db): Promise<AuditEntry[]> {
      const rows = await applyFilter(ex.selectFrom('audit_logs').selectAll(), filter)
        .orderBy('ts', 'desc')
        .orderBy('id', 'desc')
        .limit(limit)
        .offset((page - 1) * limit)
        .execute();
      return rows.map(toEntry);
    },

    /** A page of entries, newest first, as the JSON text of an AuditEntry array. */
    async listJson(filter: AuditFilter, page: number, limit: number, ex: Executor = db): Promise<string> {
      const query = applyFilter(ex.selectFrom('audit_logs').select(COLUMNS), filter)
        .orderBy('ts', 'desc')
        .orderBy('id', 'desc')
        .limit(limit)
        .offset((page - 1) * limit);
      if (!onSqlite) return auditEntriesJson(await query.execute());
      // The ordered, limited page is a co-routine the aggregate reads in order; an ORDER BY inside
      // json_group_array would sort the page again in a temporary b-tree (4x the CPU).
      const row = await ex
        .selectFrom(query.as('e'))
        .select(sql<string>`json_group_array(${SQLITE_ENTRY_JSON})`.as('logs'))
        .executeTakeFirstOrThrow();
      return row.logs;
    },

    async count(filter: AuditFilter, ex: Executor = db): Promise<number> {
      const row = await applyFilter(ex.selectFrom('audit_logs').select((eb) => eb.fn.countAll().as('n')), filter).executeTakeFirstOrThrow();
      return toCount(row.n);
    },

    async countBy(column: 'type' | 'level', filter: AuditFilter, ex: Executor = db): Promise<Record<string, number>> {
      const rows = await applyFilter(ex.selectFrom('audit_logs').select([column, (eb) => eb.fn.countAll().as('n')]), filter)
        .groupBy(column)
        .execute();
      return Object.fromEntries(rows.map((r) => [r[column], toCount(r.n)]));
    },

    async deleteOlderThan(cutoff: string, ex: Executor = db): Promise<number> {
      const result = await ex.deleteFrom('audit_logs').where('ts', '<', cutoff).executeTakeFirst();
      return Number(result.numDeletedRows);
    },
  };
}

export type AuditRepo = ReturnType<typeof createAuditRepo>;
