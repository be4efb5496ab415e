import type { ColumnType, Insertable, Selectable, Updateable } from 'kysely';

/**
 * One schema for SQLite and PostgreSQL: ids and timestamps are text (ISO-8601 UTC, which
 * sorts correctly as text), booleans are 0/1 integers and JSON is text. Repositories map rows
 * to domain objects, so nothing above them sees these storage choices.
 */
export interface UsersTable {
  id: string;
  username: string;
  email: string | null;
  password_hash: string;
  role: 'admin' | 'operator' | 'viewer';
  active: number;
  last_login: string | null;
  created_at: string;
  updated_at: string;
}

export interface SessionsTable {
  id: string;
  user_id: string;
  created_at: string;
  expires_at: string;
  revoked_at: string | null;
  ip: string | null;
  user_agent: string | null;
}

export interface ApiTokensTable {
  id: string;
  user_id: string;
  name: string;
  token_hash: string;
  prefix: string;
  created_at: string;
  expires_at: string | null;
  last_used_at: string | null;
}

export interface AuditLogsTable {
  id: string;
  ts: string;
  environment_id: string | null;
  environment_name: string | null;
  user_id: string | null;
  username: string | null;
  type: 'auth' | 'action' | 'health_check' | 'system' | 'error';
  level: 'info' | 'success' | 'warning' | 'error';
  action: string | null;
  message: string;
  details: string | null;
  request_id: string | null;
  ip: string | null;
}

export interface SettingsTable {
  key: string;
  value: string;
  updated_at: string;
  updated_by: string | null;
}

export interface Database {
  users: UsersTable;
  sessions: SessionsTable;
  api_tokens: ApiTokensTable;
  audit_logs: AuditLogsTable;
  settings: SettingsTable;
}

export type UserRow = Selectable<UsersTable>;
export type NewUserRow = Insertable<UsersTable>;
export type UserUpdate = Updateable<UsersTable>;
export type AuditLogRow = Selectable<AuditLogsTable>;
export type Count = ColumnType<number | string | bigint>;
