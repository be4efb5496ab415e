import type { Executor } from '../../db/database.js';
import type { Clock } from '../../lib/clock.js';
import type { Role } from '../../lib/roles.js';
import { NotFoundError } from '../../lib/errors.js';
import { newId } from '../../lib/ids.js';
import type { Actor } from '../auth/auth.types.js';
import type { Publisher } from '../hub/hub.js';
import { topics } from '../hub/topics.js';
import { auditTypeVisibleTo, redactDetails } from './audit.fns.js';
import type { AuditRepo } from './audit.repo.js';
import type { AuditEntry, AuditFilter, AuditLevel, AuditType } from './audit.types.js';

export interface AuditInput {
  type: AuditType;
  level: AuditLevel;
  action?: string;
  message: string;
  details?: Record<string, unknown>;
  environmentId?: string | null;
  environmentName?: string | null;
  actor?: Actor;
}

export function createAuditService(deps: {
  auditRepo: AuditRepo;
  publisher: Publisher;
  clock: Clock;
  retentionDays: number;
  /** Bumped on every write, so cached reads of audited data go stale at once. */
  dataVersion?: { bump(): void };
}) {
  const { auditRepo, publisher, clock } = deps;
  return {
    async record(input: AuditInput, ex?: Executor): Promise<AuditEntry> {
      const entry: AuditEntry = {
        id: newId(),
        timestamp: clock.now().toISOString(),
        environmentId: input.environmentId ?? null,
        environmentName: input.environmentName ?? null,
        userId: input.actor?.userId ?? null,
        username: input.actor?.username ?? null,
        type: input.type,
        level: input.level,
        action: input.action ?? null,
        message: input.message,
        details: input.details ? redactDetails(input.details) : null,
        requestId: input.actor?.requestId ?? null,
        ip: input.actor?.ip ?? null,
      };
      await auditRepo.insert(entry, ex);
      deps.dataVersion?.bump();
      publisher.publish(topics.audit, 'audit_entry', entry, auditTypeVisibleTo('viewer', entry.type) ? undefined : (principal) => auditTypeVisibleTo(principal.role, entry.type));
      return entry;
    },

    async list(filter: AuditFilter, page: number, limit: number): Promise<{ logs: AuditEntry[]; total: number }> {
      const [logs, total] = await Promise.all([auditRepo.list(filter, page, limit), auditRepo.count(filter)]);
      return { logs, total };
    },

    /** Like `list`, with the page as the JSON text of an AuditEntry array (the read dashboards poll). */
    async listJson(filter: AuditFilter, page: number, limit: number): Promise<{ logsJson: string; total: number }> {
      const [logsJson, total] = await Promise.all([auditRepo.listJson(filter, page, limit), auditRepo.count(filter)]);
      return { logsJson, total };
    },

    count: (filter: AuditFilter) => auditRepo.count(filter),

    async stats(filter: AuditFilter): Promise<{ total: number; byType: Record<string, number>; byLevel: Record<string, number> }> {
      const [byType, byLevel] = await Promise.all([auditRepo.countBy('type', filter), auditRepo.countBy('level', filter)]);
      return { total: Object.values(byType).reduce((a, b) => a + b, 0), byType, byLevel };
    },

    /** One entry; an entry `role` may not read is as absent as an unknown id. */
    async get(id: string, role: Role): Promise<AuditEntry> {
      const entry = await auditRepo.findById(id);
      if (!entry || !auditTypeVisibleTo(role, entry.type)) throw new NotFoundError('log entry', id);
      return entry;
    },

    /** Deletes entries older than the retention period. */
    async purge(): Promise<number> {
      const cutoff = new Date(clock.now().getTime() - deps.retentionDays * 86_400_000).toISOString();
      const purged = await auditRepo.deleteOlderThan(cutoff);
      if (purged > 0) deps.dataVersion?.bump();
      return purged;
    },
  };
}

export type AuditService = ReturnType<typeof createAuditService>;
