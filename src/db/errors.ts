/** True for a unique-constraint violation on either database. */
export function isUniqueViolation(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return code === '23505' || code === 'SQLITE_CONSTRAINT_UNIQUE' || code === 'SQLITE_CONSTRAINT_PRIMARYKEY';
}

/** count(*) is a bigint in PostgreSQL (a string through pg) and a number in SQLite. */
export const toCount = (value: unknown): number => Number(value ?? 0);

/** Escapes LIKE wildcards so user text matches literally (used with ESCAPE '\'). */
export const likeContains = (text: string): string => `%${text.toLowerCase().replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
