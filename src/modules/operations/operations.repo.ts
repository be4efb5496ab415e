import type { Db, Executor } from '../../db/database.js';
import type { OperationsTable } from '../../db/types.js';

export type OperationType = 'restart' | 'upgrade' | 'check_health' | 'deploy';
export type OperationStatus = 'in_progress' | 'succeeded' | 'failed';

export interface Operation {
  id: string;
  environmentId: string;
  type: OperationType;
  status: OperationStatus;
  params: Record<string, unknown>;
  output: string;
  error: string | null;
  requestedBy: string | null;
  startedAt: string;
  finishedAt: string | null;
  /** Exit status of the SSH command it ran; null for HTTP commands, a command killed by a signal or timeout, and operations that run no one command. */
  exitCode: number | null;
  /** Status code the HTTP command answered; null for everything else. */
  httpStatus: number | null;
}

function toOperation(row: OperationsTable): Operation {
  return {
    id: row.id,
    environmentId: row.environment_id,
    type: row.type as OperationType,
    status: row.status as OperationStatus,
    params: row.params ? (JSON.parse(row.params) as Record<string, unknown>) : {},
    output: row.output ?? '',
    error: row.error,
    requestedBy: row.requested_by,
    startedAt: row.started_at,
    finishedAt: row.finished_at,
    exitCode: row.exit_code ?? null,
    httpStatus: row.http_status ?? null,
  };
}

export function createOperationsRepo(db: Db) {
  return {
    async insert(op: Operation, ex: Executor = db): Promise<void> {
      await ex
        .insertInto('operations')
        .values({
          id: op.id,
          environment_id: op.environmentId,
          type: op.type,
          status: op.status,
          params: JSON.stringify(op.params),
          output: op.output,
          error: op.error,
          requested_by: op.requestedBy,
          started_at: op.startedAt,
          finished_at: op.finishedAt,
          exit_code: op.exitCode,
          http_status: op.httpStatus,
        })
        .execute();
    },

    async update(
      id: string,
      patch: { status?: OperationStatus; output?: string; error?: string | null; finishedAt?: string | null; params?: Record<string, unknown>; exitCode?: number | null; httpStatus?: number | null },
      ex: Executor = db,
    ): Promise<void> {
      await ex
        .updateTable('operations')
        .set({
          ...(patch.status && { status: patch.status }),
          ...(patch.output !== undefined && { output: patch.output }),
          ...(patch.error !== undefined && { error: patch.error }),
          ...(patch.finishedAt !== undefined && { finished_at: patch.finishedAt }),
          ...(patch.params && { params: JSON.stringify(patch.params) }),
          ...(patch.exitCode !== undefined && { exit_code: patch.exitCode }),
          ...(patch.httpStatus !== undefined && { http_status: patch.httpStatus }),
        })
        .where('id', '=', id)
        .execute();
    },

    async findById(id: string, ex: Executor = db): Promise<Operation | undefined> {
      const row = await ex.selectFrom('operations').selectAll().where('id', '=', id).executeTakeFirst();
      return row && toOperation(row);
    },

    async list(filter: { environmentId?: string | undefined; limit: number }, ex: Executor = db): Promise<Operation[]> {
      let query = ex.selectFrom('operations').selectAll();
      if (filter.environmentId) query = query.where('environment_id', '=', filter.environmentId);
      return (await query.orderBy('started_at', 'desc').orderBy('id', 'desc').limit(filter.limit).execute()).map(toOperation);
    },

    /** Operations left running by a previous server process can never finish. */
    async failInterrupted(finishedAt: string, ex: Executor = db): Promise<number> {
      const result = await ex
        .updateTable('operations')
        .set({ status: 'failed', error: 'interrupted: the server stopped while it ran', finished_at: finishedAt })
        .where('status', '=', 'in_progress')
        .executeTakeFirst();
      return Number(result.numUpdatedRows);
    },
  };
}

export type OperationsRepo = ReturnType<typeof createOperationsRepo>;
