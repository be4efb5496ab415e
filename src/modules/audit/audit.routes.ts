import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyRequest } from 'fastify';
import { principalOf } from '../../http/auth.js';
import { JsonText, type ResponseCache } from '../../http/response-cache.js';
import { IdParams, pagination, responses } from '../../http/schemas.js';
import { ValidationError } from '../../lib/errors.js';
import { hiddenAuditTypes } from './audit.fns.js';
import type { AuditService } from './audit.service.js';
import type { AuditFilter } from './audit.types.js';
import { AuditCount, AuditCountQuery, AuditEntrySchema, AuditList, AuditListQuery, AuditStats } from './audit.schemas.js';

const tags = ['audit'];

/** Timestamps are stored as ISO UTC text; normalise the bounds so text comparison is exact. */
function toFilter(query: AuditFilter): AuditFilter {
  const iso = (field: 'from' | 'to') => {
    const value = query[field];
    if (value === undefined) return undefined;
    // The date-time format admits what Date cannot hold (a leap second, 23:59:60).
    const date = new Date(value);
    if (Number.isNaN(date.getTime())) throw ValidationError.field(field, 'is not a representable date-time');
    return date.toISOString();
  };
  const filter = { ...query, from: iso('from'), to: iso('to') };
  if (filter.from && filter.to && filter.from > filter.to) throw ValidationError.field('from', 'must not be after to');
  return filter;
}

/** The filters as this caller may apply them: entry types their role may not read are left out. */
const scoped = (request: FastifyRequest, query: AuditFilter): AuditFilter => ({ ...toFilter(query), hiddenTypes: hiddenAuditTypes(principalOf(request).role) });

export const auditRoutes: FastifyPluginAsyncTypebox<{ audit: AuditService; cache: ResponseCache }> = async (app, { audit, cache }) => {
  app.get(
    '/logs',
    { config: { auth: 'viewer' }, schema: { operationId: 'listAuditEntries', tags, summary: 'Audit log, newest first (auth entries: admins only)', querystring: AuditListQuery, response: responses({ 200: AuditList }) } },
    async (request, reply) =>
      cache.reply(
        request,
        reply,
        async () => {
          const { page = 1, limit = 50, ...filter } = request.query;
          const { logsJson, total } = await audit.listJson(scoped(request, filter), page, limit);
          // Written by hand in AuditList's key order: the entries come as JSON text from the database.
          return new JsonText(`{"logs":${logsJson},"pagination":${JSON.stringify(pagination(page, limit, total))}}`);
        },
        // What a viewer may see differs from an admin's page of the same URL.
        hiddenAuditTypes(principalOf(request).role).join(','),
      ),
  );

  app.get(
    '/logs/count',
    { config: { auth: 'viewer' }, schema: { operationId: 'countAuditEntries', tags, summary: 'Count of entries matching the filters', querystring: AuditCountQuery, response: responses({ 200: AuditCount }) } },
    async (request) => ({ count: await audit.count(scoped(request, request.query)) }),
  );

  app.get(
    '/logs/stats',
    { config: { auth: 'viewer' }, schema: { operationId: 'getAuditStats', tags, summary: 'Counts by type and by level', querystring: AuditCountQuery, response: responses({ 200: AuditStats }) } },
    async (request) => audit.stats(scoped(request, request.query)),
  );

  app.get(
    '/logs/:id',
    { config: { auth: 'viewer' }, schema: { operationId: 'getAuditEntry', tags, summary: 'One entry', params: IdParams, response: responses({ 200: AuditEntrySchema }) } },
    async (request) => audit.get(request.params.id, principalOf(request).role),
  );
};
