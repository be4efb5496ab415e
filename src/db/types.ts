import type { ColumnType, Generated, Insertable, Selectable, Updateable } from 'kysely';

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

export interface EnvironmentsTable {
  id: string;
  name: string;
  description: string;
  environment_url: string | null;
  kind: 'local' | 'ssh';
  host: string | null;
  port: number | null;
  domain: string | null;
  credentials: string | null;
  host_key: string | null;
  health_check: string;
  commands: string | null;
  upgrade_config: string | null;
  runtime: string | null;
  metadata: string | null;
  health: string;
  status: string;
  system_info: string | null;
  created_at: string;
  updated_at: string;
}

export interface HealthSamplesTable {
  environment_id: string;
  ts: string;
  health: string;
  response_time_ms: number | null;
  message: string | null;
}

export interface HealthHourlyTable {
  environment_id: string;
  hour: string;
  checks: number;
  up_checks: number;
  avg_latency_ms: number | null;
  p95_latency_ms: number | null;
}

export interface OperationsTable {
  id: string;
  environment_id: string;
  type: string;
  status: string;
  params: string | null;
  output: string | null;
  error: string | null;
  requested_by: string | null;
  started_at: string;
  finished_at: string | null;
  exit_code: number | null;
  http_status: number | null;
}

export interface ExchangeAccountsTable {
  id: string;
  name: string;
  exchange: string;
  /** Sealed JSON of the secret fields. */
  credentials: string;
  /** JSON array of the field names that are set. */
  fields: string;
  is_vault: number;
  created_at: string;
  updated_at: string;
}

export interface InstancesTable {
  id: string;
  name: string;
  environment_id: string;
  account: string;
  exchange: string;
  symbols: string;
  config: string;
  runtime: string;
  desired_state: string;
  status: string;
  pid: number | null;
  process_start: string | null;
  started_at: string | null;
  restart_count: Generated<number>;
  last_exit_code: number | null;
  last_error: string | null;
  crash_times: Generated<string>;
  config_version: number;
  running_config_version: number | null;
  summary: Generated<string>;
  log_offset: Generated<number>;
  created_at: string;
  updated_at: string;
}

export interface InstanceConfigVersionsTable {
  instance_id: string;
  version: number;
  config: string;
  created_at: string;
  created_by: string | null;
  note: string | null;
}

export interface JobsTable {
  id: string;
  type: string;
  name: string;
  params: string;
  environment_id: string;
  status: string;
  priority: number;
  slots: number;
  progress: Generated<string>;
  requeue: number;
  attempts: Generated<number>;
  runner: string | null;
  pid: number | null;
  process_start: string | null;
  work_dir: string | null;
  result_dir: string | null;
  log_path: string | null;
  result: string | null;
  error: string | null;
  requested_by: string | null;
  created_at: string;
  started_at: string | null;
  finished_at: string | null;
}

/** Epoch milliseconds: PostgreSQL returns bigint as text. */
type Millis = ColumnType<number | string, number, number>;

export interface DashboardFillsTable {
  account: string;
  fill_id: string;
  exchange: string;
  instance_id: string | null;
  ts: Millis;
  day: string;
  symbol: string;
  side: string;
  position_side: string | null;
  order_type: string | null;
  qty: number;
  price: number;
  pnl: number;
  fee: number | null;
  net_pnl: number;
  pending: number;
  estimated: number;
  source: string;
}

export interface DashboardDailyTable {
  account: string;
  day: string;
  symbol: string;
  pnl: number;
  fees: number;
  fills: number;
}

export interface DashboardSamplesTable {
  scope: 'account' | 'bot';
  key: string;
  ts: Millis;
  balance: number;
  equity: number;
}

export interface DashboardBotStateTable {
  instance_id: string;
  account: string;
  exchange: string;
  snapshot_ts: Millis;
  balance: number;
  equity: number;
  upnl: number;
  positions: string;
  open_orders: string;
}

export interface DashboardFilesTable {
  environment_id: string;
  path: string;
  size: Millis;
  mtime_ms: Millis;
  problem: string | null;
  read_at: string;
}

export interface Database {
  users: UsersTable;
  sessions: SessionsTable;
  api_tokens: ApiTokensTable;
  audit_logs: AuditLogsTable;
  settings: SettingsTable;
  environments: EnvironmentsTable;
  health_samples: HealthSamplesTable;
  health_hourly: HealthHourlyTable;
  operations: OperationsTable;
  exchange_accounts: ExchangeAccountsTable;
  instances: InstancesTable;
  instance_config_versions: InstanceConfigVersionsTable;
  jobs: JobsTable;
  dashboard_fills: DashboardFillsTable;
  dashboard_daily: DashboardDailyTable;
  dashboard_samples: DashboardSamplesTable;
  dashboard_bot_state: DashboardBotStateTable;
  dashboard_files: DashboardFilesTable;
}

export type UserRow = Selectable<UsersTable>;
export type NewUserRow = Insertable<UsersTable>;
export type UserUpdate = Updateable<UsersTable>;
export type AuditLogRow = Selectable<AuditLogsTable>;
export type Count = ColumnType<number | string | bigint>;
