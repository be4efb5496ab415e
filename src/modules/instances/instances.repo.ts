import { sql, type Insertable, type Selectable } from 'kysely';
import type { Db, Executor } from '../../db/database.js';
import { likeContains, toCount } from '../../db/errors.js';
import type { InstancesTable } from '../../db/types.js';
import { emptySummary, type LiveSummary } from './logs/log-lines.js';
import type { ConfigVersion, DesiredState, InstanceRecord, InstanceStatus } from './instances.types.js';
import type { RuntimeShape } from './hosts/bot-layout.fns.js';

export interface InstanceListFilter {
  page: number;
  limit: number;
  environmentId?: string | undefined;
  status?: InstanceStatus | undefined;
  exchange?: string | undefined;
  q?: string | undefined;
}

/** Fields the supervisor and service change; the rest are fixed at creation. */
export type InstancePatch = Partial<
  Pick<
    InstanceRecord,
    | 'name'
    | 'environmentId'
    | 'account'
    | 'exchange'
    | 'symbols'
    | 'config'
    | 'runtime'
    | 'desiredState'
    | 'status'
    | 'pid'
    | 'processStart'
    | 'startedAt'
    | 'restartCount'
    | 'lastExitCode'
    | 'lastError'
    | 'crashTimes'
    | 'configVersion'
    | 'runningConfigVersion'
    | 'summary'
    | 'logOffset'
  >
>;

function toRecord(row: Selectable<InstancesTable>): InstanceRecord {
  return {
    id: row.id,
    name: row.name,
    environmentId: row.environment_id,
    account: row.account,
    exchange: row.exchange,
    symbols: JSON.parse(row.symbols) as string[],
    config: JSON.parse(row.config) as Record<string, unknown>,
    runtime: row.runtime as RuntimeShape,
    desiredState: row.desired_state as DesiredState,
    status: row.status as InstanceStatus,
    pid: row.pid,
    processStart: row.process_start,
    startedAt: row.started_at,
    restartCount: Number(row.restart_count),
    lastExitCode: row.last_exit_code,
    lastError: row.last_error,
    crashTimes: JSON.parse(row.crash_times) as number[],
    configVersion: Number(row.config_version),
    runningConfigVersion: row.running_config_version === null ? null : Number(row.running_config_version),
    restartNeeded: row.pid !== null && row.running_config_version !== null && Number(row.running_config_version) !== Number(row.config_version),
    summary: { ...emptySummary(), ...(JSON.parse(row.summary) as Partial<LiveSummary>) },
    logOffset: Number(row.log_offset),
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

const COLUMNS: Record<keyof InstancePatch, keyof InstancesTable> = {
  name: 'name',
  environmentId: 'environment_id',
  account: 'account',
  exchange: 'exchange',
  symbols: 'symbols',
  config: 'config',
  runtime: 'runtime',
  desiredState: 'desired_state',
  status: 'status',
  pid: 'pid',
  processStart: 'process_start',
  startedAt: 'started_at',
  restartCount: 'restart_count',
  lastExitCode: 'last_exit_code',
  lastError: 'last_error',
  crashTimes: 'crash_times',
  configVersion: 'config_version',
  runningConfigVersion: 'running_config_version',
  summary: 'summary',
  logOffset: 'log_offset',
};
const JSON_FIELDS = new Set<keyof InstancePatch>(['symbols', 'config', 'crashTimes', 'summary']);

function toRowPatch(patch: InstancePatch): Partial<Insertable<InstancesTable>> {
  const row: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(patch) as [keyof InstancePatch, unknown][]) {
    const column = Object.hasOwn(COLUMNS, key) ? COLUMNS[key] : undefined;
    if (value === undefined || column === undefined) continue;
    row[column] = JSON_FIELDS.has(key) ? JSON.stringify(value) : value;
  }
  return row;
}

export function createInstancesRepo(db: Db) {
  return {
    async insert(record: InstanceRecord, createdBy: string | null, trx: Executor = db): Promise<void> {
      await trx
        .insertInto('instances')
        .values({ ...(toRowPatch(record) as Insertable<InstancesTable>), id: record.id, created_at: record.createdAt, updated_at: record.updatedAt })
        .execute();
      await trx
        .insertInto('instance_config_versions')
        .values({ instance_id: record.id, version: record.configVersion, config: JSON.stringify(record.config), created_at: record.createdAt, created_by: createdBy, note: 'created' })
        .execute();
    },

    async get(id: string, trx: Executor = db): Promise<InstanceRecord | undefined> {
      const row = await trx.selectFrom('instances').selectAll().where('id', '=', id).executeTakeFirst();
      return row && toRecord(row);
    },

    async update(id: string, patch: InstancePatch, updatedAt: string, trx: Executor = db): Promise<InstanceRecord | undefined> {
      await trx.updateTable('instances').set({ ...toRowPatch(patch), updated_at: updatedAt }).where('id', '=', id).execute();
      return this.get(id, trx);
    },

    async remove(id: string, trx: Executor = db): Promise<boolean> {
      const result = await trx.deleteFrom('instances').where('id', '=', id).executeTakeFirst();
      return Number(result.numDeletedRows) > 0;
    },

    async list(filter: InstanceListFilter): Promise<{ items: InstanceRecord[]; total: number }> {
      let query = db.selectFrom('instances');
      if (filter.environmentId) query = query.where('environment_id', '=', filter.environmentId);
      if (filter.status) query = query.where('status', '=', filter.status);
      if (filter.exchange) query = query.where('exchange', '=', filter.exchange);
      if (filter.q) {
        const pattern = sql`${likeContains(filter.q)} escape '\\'`;
        query = query.where((eb) => eb.or([eb(sql`lower(name)`, 'like', pattern), eb(sql`lower(account)`, 'like', pattern), eb(sql`lower(symbols)`, 'like', pattern)]));
      }
      const [rows, count] = await Promise.all([
        query
          .selectAll()
          .orderBy('name')
          .limit(filter.limit)
          .offset((filter.page - 1) * filter.limit)
          .execute(),
        query.select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow(),
      ]);
      return { items: rows.map(toRecord), total: toCount(count.n) };
    },

    async all(trx: Executor = db): Promise<InstanceRecord[]> {
      return (await trx.selectFrom('instances').selectAll().orderBy('name').execute()).map(toRecord);
    },

    async byEnvironment(environmentId: string, trx: Executor = db): Promise<InstanceRecord[]> {
      return (await trx.selectFrom('instances').selectAll().where('environment_id', '=', environmentId).orderBy('name').execute()).map(toRecord);
    },

    async countByEnvironment(environmentId: string): Promise<number> {
      const row = await db.selectFrom('instances').select((eb) => eb.fn.countAll().as('n')).where('environment_id', '=', environmentId).executeTakeFirstOrThrow();
      return toCount(row.n);
    },

    async accountsOnEnvironment(environmentId: string): Promise<string[]> {
      const rows = await db.selectFrom('instances').select('account').distinct().where('environment_id', '=', environmentId).execute();
      return rows.map((r) => r.account);
    },

    async environmentsUsingAccount(account: string): Promise<string[]> {
      const rows = await db.selectFrom('instances').select('environment_id').distinct().where('account', '=', account).execute();
      return rows.map((r) => r.environment_id);
    },

    async addVersion(id: string, version: number, config: Record<string, unknown>, createdAt: string, createdBy: string | null, note: string | null, trx: Executor = db): Promise<void> {
      await trx.insertInto('instance_config_versions').values({ instance_id: id, version, config: JSON.stringify(config), created_at: createdAt, created_by: createdBy, note }).execute();
    },

    async versions(id: string): Promise<ConfigVersion[]> {
      const rows = await db.selectFrom('instance_config_versions').select(['version', 'created_at', 'created_by', 'note']).where('instance_id', '=', id).orderBy('version', 'desc').execute();
      return rows.map((r) => ({ version: Number(r.version), createdAt: r.created_at, createdBy: r.created_by, note: r.note }));
    },

    async versionConfig(id: string, version: number): Promise<Record<string, unknown> | undefined> {
      const row = await db.selectFrom('instance_config_versions').select('config').where('instance_id', '=', id).where('version', '=', version).executeTakeFirst();
      return row && (JSON.parse(row.config) as Record<string, unknown>);
    },
  };
}

export type InstancesRepo = ReturnType<typeof createInstancesRepo>;
