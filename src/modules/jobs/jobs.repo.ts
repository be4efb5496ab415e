import { sql, type Insertable, type Selectable } from 'kysely';
import type { Db, Executor } from '../../db/database.js';
import { likeContains, toCount } from '../../db/errors.js';
import type { JobsTable } from '../../db/types.js';
import type { JobParams, JobProgress, JobRecord, JobState, JobStatus, JobType } from './jobs.types.js';

export interface JobListFilter {
  page: number;
  limit: number;
  type?: JobType | undefined;
  status?: JobStatus | undefined;
  environmentId?: string | undefined;
  q?: string | undefined;
}

export type JobPatch = Partial<
  Pick<JobRecord, 'status' | 'priority' | 'progress' | 'attempts' | 'runner' | 'pid' | 'processStart' | 'workDir' | 'resultDir' | 'logPath' | 'result' | 'error' | 'startedAt' | 'finishedAt'>
>;

const COLUMNS: Record<keyof JobPatch, keyof JobsTable> = {
  status: 'status',
  priority: 'priority',
  progress: 'progress',
  attempts: 'attempts',
  runner: 'runner',
  pid: 'pid',
  processStart: 'process_start',
  workDir: 'work_dir',
  resultDir: 'result_dir',
  logPath: 'log_path',
  result: 'result',
  error: 'error',
  startedAt: 'started_at',
  finishedAt: 'finished_at',
};
const JSON_FIELDS = new Set<keyof JobPatch>(['progress', 'result']);

function toRow(patch: JobPatch): Partial<Insertable<JobsTable>> {
  const row: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(patch) as [keyof JobPatch, unknown][]) {
    const column = Object.hasOwn(COLUMNS, key) ? COLUMNS[key] : undefined;
    if (value === undefined || column === undefined) continue;
    row[column] = JSON_FIELDS.has(key) && value !== null ? JSON.stringify(value) : value;
  }
  return row;
}

/** Every column but params and result: state changes read back only these. */
const STATE_COLUMNS = [
  'id',
  'type',
  'name',
  'environment_id',
  'status',
  'priority',
  'slots',
  'progress',
  'requeue',
  'attempts',
  'runner',
  'pid',
  'process_start',
  'work_dir',
  'result_dir',
  'log_path',
  'error',
  'requested_by',
  'created_at',
  'started_at',
  'finished_at',
] as const satisfies readonly (keyof JobsTable)[];

type StateRow = Pick<Selectable<JobsTable>, (typeof STATE_COLUMNS)[number]>;

function toState(row: StateRow): JobState {
  return {
    id: row.id,
    type: row.type as JobType,
    name: row.name,
    environmentId: row.environment_id,
    status: row.status as JobStatus,
    priority: Number(row.priority),
    slots: Number(row.slots),
    progress: JSON.parse(row.progress) as JobProgress,
    requeueOnInterrupt: Boolean(row.requeue),
    attempts: Number(row.attempts),
    runner: row.runner,
    pid: row.pid,
    processStart: row.process_start,
    workDir: row.work_dir,
    resultDir: row.result_dir,
    logPath: row.log_path,
    error: row.error,
    requestedBy: row.requested_by,
    createdAt: row.created_at,
    startedAt: row.started_at,
    finishedAt: row.finished_at,
  };
}

function toRecord(row: Selectable<JobsTable>): JobRecord {
  return {
    ...toState(row),
    params: JSON.parse(row.params) as JobParams,
    result: row.result === null ? null : (JSON.parse(row.result) as Record<string, unknown>),
  };
}

export function createJobsRepo(db: Db) {
  return {
    async insert(job: JobRecord, trx: Executor = db): Promise<void> {
      await trx
        .insertInto('jobs')
        .values({
          ...(toRow(job) as Insertable<JobsTable>),
          id: job.id,
          type: job.type,
          name: job.name,
          params: JSON.stringify(job.params),
          environment_id: job.environmentId,
          slots: job.slots,
          requeue: job.requeueOnInterrupt ? 1 : 0,
          requested_by: job.requestedBy,
          created_at: job.createdAt,
        })
        .execute();
    },

    async get(id: string, trx: Executor = db): Promise<JobRecord | undefined> {
      const row = await trx.selectFrom('jobs').selectAll().where('id', '=', id).executeTakeFirst();
      return row && toRecord(row);
    },

    /** A job's state without its params and result (cheap: those are the big columns). */
    async state(id: string, trx: Executor = db): Promise<JobState | undefined> {
      const row = await trx.selectFrom('jobs').select(STATE_COLUMNS).where('id', '=', id).executeTakeFirst();
      return row && toState(row);
    },

    /** Writes the patch and reads the state back in the same statement. */
    async update(id: string, patch: JobPatch, trx: Executor = db): Promise<JobState | undefined> {
      const row = toRow(patch);
      if (!Object.keys(row).length) return this.state(id, trx);
      const updated = await trx.updateTable('jobs').set(row).where('id', '=', id).returning(STATE_COLUMNS).executeTakeFirst();
      return updated && toState(updated);
    },

    /** A running job's progress; a late report about a job that has ended changes nothing. */
    async progress(id: string, progress: JobProgress, trx: Executor = db): Promise<void> {
      await trx.updateTable('jobs').set({ progress: JSON.stringify(progress) }).where('id', '=', id).where('status', '=', 'running').execute();
    },

    /**
     * Moves a job from one status to another only if it is still in the first, so claims are
     * atomic; the whole record when it moved, undefined when another move won.
     */
    async transition(id: string, from: readonly JobStatus[], patch: JobPatch & { status: JobStatus }, trx: Executor = db): Promise<JobRecord | undefined> {
      const row = await trx.updateTable('jobs').set(toRow(patch)).where('id', '=', id).where('status', 'in', [...from]).returningAll().executeTakeFirst();
      return row && toRecord(row);
    },

    async list(filter: JobListFilter): Promise<{ items: JobRecord[]; total: number }> {
      let query = db.selectFrom('jobs');
      if (filter.type) query = query.where('type', '=', filter.type);
      if (filter.status) query = query.where('status', '=', filter.status);
      if (filter.environmentId) query = query.where('environment_id', '=', filter.environmentId);
      if (filter.q) query = query.where(sql`lower(name)`, 'like', sql`${likeContains(filter.q)} escape '\\'`);
      const [rows, count] = await Promise.all([
        query
          .selectAll()
          .orderBy('created_at', 'desc')
          .orderBy('id', 'desc')
          .limit(filter.limit)
          .offset((filter.page - 1) * filter.limit)
          .execute(),
        query.select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow(),
      ]);
      return { items: rows.map(toRecord), total: toCount(count.n) };
    },

    /** Queued jobs, in dispatch order: priority (high first), then oldest first. */
    async queued(environmentId?: string): Promise<JobRecord[]> {
      let query = db.selectFrom('jobs').selectAll().where('status', '=', 'queued');
      if (environmentId) query = query.where('environment_id', '=', environmentId);
      return (await query.orderBy('priority', 'desc').orderBy('created_at').orderBy('id').execute()).map(toRecord);
    },

    /** Environments with queued jobs. */
    async queuedEnvironments(): Promise<string[]> {
      const rows = await db.selectFrom('jobs').select('environment_id').distinct().where('status', '=', 'queued').execute();
      return rows.map((r) => r.environment_id);
    },

    /** The first queued jobs of an environment in dispatch order: just what the dispatcher needs. */
    async queueHead(environmentId: string, limit: number): Promise<{ id: string; slots: number; attempts: number }[]> {
      const rows = await db
        .selectFrom('jobs')
        .select(['id', 'slots', 'attempts'])
        .where('status', '=', 'queued')
        .where('environment_id', '=', environmentId)
        .orderBy('priority', 'desc')
        .orderBy('created_at')
        .orderBy('id')
        .limit(limit)
        .execute();
      return rows.map((r) => ({ id: r.id, slots: Number(r.slots), attempts: Number(r.attempts) }));
    },

    async withStatus(status: JobStatus): Promise<JobRecord[]> {
      return (await db.selectFrom('jobs').selectAll().where('status', '=', status).execute()).map(toRecord);
    },
  };
}

export type JobsRepo = ReturnType<typeof createJobsRepo>;
