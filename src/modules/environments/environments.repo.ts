import { sql } from 'kysely';
import type { Db, Executor } from '../../db/database.js';
import { likeContains, toCount } from '../../db/errors.js';
import type { EnvironmentsTable } from '../../db/types.js';
import type { SystemInfo } from './system-info.fns.js';
import type { SecretConfig } from './config-secrets.js';
import type { Environment, HealthCheckConfig, HealthState, HealthStatus, HostKey, Runtime, StoredCredentials, StoredHeaders } from './environments.types.js';

/** An environment as stored: credentials and header values still sealed. The service turns it into the public shape. */
export interface EnvironmentRecord extends Omit<Environment, 'credentials' | keyof SecretConfig>, SecretConfig {
  credentials: StoredCredentials | null;
}

export interface EnvironmentListFilter {
  page: number;
  limit: number;
  health?: HealthState | undefined;
  q?: string | undefined;
  sort?: 'name' | '-name' | 'createdAt' | '-createdAt' | 'health' | '-health' | undefined;
}

const json = (value: unknown): string | null => (value === null || value === undefined ? null : JSON.stringify(value));
const parse = <T>(text: string | null): T | null => (text === null ? null : (JSON.parse(text) as T));

function toRecord(row: EnvironmentsTable): EnvironmentRecord {
  return {
    id: row.id,
    name: row.name,
    description: row.description,
    environmentURL: row.environment_url,
    kind: row.kind,
    target: row.host === null ? null : { host: row.host, port: row.port ?? 22, ...(row.domain !== null && { domain: row.domain }) },
    credentials: parse<StoredCredentials>(row.credentials),
    hostKey: parse<HostKey>(row.host_key),
    healthCheck: JSON.parse(row.health_check) as HealthCheckConfig<StoredHeaders>,
    status: JSON.parse(row.status) as HealthStatus,
    systemInfo: parse<SystemInfo>(row.system_info),
    timestamps: { createdAt: row.created_at, updatedAt: row.updated_at },
    commands: parse(row.commands),
    upgradeConfig: parse(row.upgrade_config),
    runtime: parse<Runtime>(row.runtime) ?? { passivbotDir: '', pythonPath: 'python3', kind: 'v7', workDir: 'pbfleet' },
    metadata: parse<Record<string, unknown>>(row.metadata) ?? {},
  };
}

function toRow(record: EnvironmentRecord): EnvironmentsTable {
  return {
    id: record.id,
    name: record.name,
    description: record.description,
    environment_url: record.environmentURL,
    kind: record.kind,
    host: record.target?.host ?? null,
    port: record.target?.port ?? null,
    domain: record.target?.domain ?? null,
    credentials: json(record.credentials),
    host_key: json(record.hostKey),
    health_check: JSON.stringify(record.healthCheck),
    commands: json(record.commands),
    upgrade_config: json(record.upgradeConfig),
    runtime: json(record.runtime),
    metadata: json(record.metadata),
    health: record.status.health,
    status: JSON.stringify(record.status),
    system_info: json(record.systemInfo),
    created_at: record.timestamps.createdAt,
    updated_at: record.timestamps.updatedAt,
  };
}

const SORT: Record<NonNullable<EnvironmentListFilter['sort']>, ['name' | 'created_at' | 'health', 'asc' | 'desc']> = {
  name: ['name', 'asc'],
  '-name': ['name', 'desc'],
  createdAt: ['created_at', 'asc'],
  '-createdAt': ['created_at', 'desc'],
  health: ['health', 'asc'],
  '-health': ['health', 'desc'],
};

export function createEnvironmentsRepo(db: Db) {
  return {
    async findById(id: string, ex: Executor = db): Promise<EnvironmentRecord | undefined> {
      const row = await ex.selectFrom('environments').selectAll().where('id', '=', id).executeTakeFirst();
      return row && toRecord(row);
    },

    async findByName(name: string, ex: Executor = db): Promise<EnvironmentRecord | undefined> {
      const row = await ex.selectFrom('environments').selectAll().where('name', '=', name).executeTakeFirst();
      return row && toRecord(row);
    },

    async exists(id: string, ex: Executor = db): Promise<boolean> {
      return (await ex.selectFrom('environments').select('id').where('id', '=', id).executeTakeFirst()) !== undefined;
    },

    async list(filter: EnvironmentListFilter, ex: Executor = db): Promise<{ environments: EnvironmentRecord[]; total: number }> {
      let query = ex.selectFrom('environments');
      if (filter.health) query = query.where('health', '=', filter.health);
      if (filter.q) {
        const pattern = likeContains(filter.q);
        query = query.where((eb) =>
          eb.or([
            eb(sql`lower(name)`, 'like', sql`${pattern} escape '\\'`),
            eb(sql`lower(description)`, 'like', sql`${pattern} escape '\\'`),
            eb(sql`lower(coalesce(host, ''))`, 'like', sql`${pattern} escape '\\'`),
          ]),
        );
      }
      const [column, direction] = SORT[filter.sort ?? 'name'];
      const [rows, count] = await Promise.all([
        query.selectAll().orderBy(column, direction).orderBy('id').limit(filter.limit).offset((filter.page - 1) * filter.limit).execute(),
        query.select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow(),
      ]);
      return { environments: rows.map(toRecord), total: toCount(count.n) };
    },

    /** Every environment, for the health scheduler and key rotation. */
    async all(ex: Executor = db): Promise<EnvironmentRecord[]> {
      return (await ex.selectFrom('environments').selectAll().orderBy('name').execute()).map(toRecord);
    },

    async insert(record: EnvironmentRecord, ex: Executor = db): Promise<void> {
      await ex.insertInto('environments').values(toRow(record)).execute();
    },

    /** Replaces the configuration; status and system info are left to their own writers. */
    async replace(record: EnvironmentRecord, ex: Executor = db): Promise<void> {
      const { status: _s, health: _h, system_info: _i, id, created_at: _c, ...rest } = toRow(record);
      await ex.updateTable('environments').set(rest).where('id', '=', id).execute();
    },

    async setHostKey(id: string, hostKey: HostKey, updatedAt: string, ex: Executor = db): Promise<void> {
      await ex.updateTable('environments').set({ host_key: JSON.stringify(hostKey), updated_at: updatedAt }).where('id', '=', id).execute();
    },

    async setStatus(id: string, status: HealthStatus, ex: Executor = db): Promise<void> {
      await ex.updateTable('environments').set({ status: JSON.stringify(status), health: status.health }).where('id', '=', id).execute();
    },

    async setSystemInfo(id: string, systemInfo: SystemInfo, ex: Executor = db): Promise<void> {
      await ex.updateTable('environments').set({ system_info: JSON.stringify(systemInfo) }).where('id', '=', id).execute();
    },

    async setCredentials(id: string, credentials: StoredCredentials | null, ex: Executor = db): Promise<void> {
      await ex.updateTable('environments').set({ credentials: json(credentials) }).where('id', '=', id).execute();
    },

    /** Stores re-sealed secrets of the configuration, nothing else. */
    async setSecretConfig(id: string, config: SecretConfig, ex: Executor = db): Promise<void> {
      await ex
        .updateTable('environments')
        .set({ health_check: JSON.stringify(config.healthCheck), commands: json(config.commands), upgrade_config: json(config.upgradeConfig) })
        .where('id', '=', id)
        .execute();
    },

    async delete(id: string, ex: Executor = db): Promise<boolean> {
      const result = await ex.deleteFrom('environments').where('id', '=', id).executeTakeFirst();
      return Number(result.numDeletedRows) > 0;
    },
  };
}

export type EnvironmentsRepo = ReturnType<typeof createEnvironmentsRepo>;
