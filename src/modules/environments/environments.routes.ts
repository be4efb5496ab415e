import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyRequest } from 'fastify';
import Type from 'typebox';
import { actorOf } from '../../http/auth.js';
import { IdParams, PageQuery, pagination, responses } from '../../http/schemas.js';
import { AuditEntrySchema } from '../audit/audit.schemas.js';
import type { AuditService } from '../audit/audit.service.js';
import { AUDIT_LEVELS, AUDIT_TYPES } from '../audit/audit.types.js';
import { roleAllows } from '../../lib/roles.js';
import { viewerOperation, type OperationsService } from '../operations/operations.service.js';
import type { Operation } from '../operations/operations.repo.js';
import {
  AcceptHostKeyBody,
  CreateEnvironmentBody,
  DeleteQuery,
  EnvironmentList,
  EnvironmentListQuery,
  EnvironmentSchema,
  OperationSchema,
  OperationStarted,
  RestartBody,
  UpdateEnvironmentBody,
  UpgradeBody,
  VersionsResult,
} from './environments.schemas.js';
import type { EnvironmentsService } from './environments.service.js';
import { SystemInfoSchema, type SystemInfo } from './system-info.fns.js';

const tags = ['environments'];

/** An operation's output (command output, HTTP answers) is for operators and admins. */
const operationFor = (request: FastifyRequest, op: Operation) => (request.principal && roleAllows(request.principal.role, 'operator') ? op : viewerOperation(op));

/** `curl -X POST .../restart` sends no body: that means "no options", not a malformed request. */
const emptyBodyIsNoOptions = async (request: FastifyRequest) => {
  if (request.body === undefined) request.body = {};
};
const Accepted = responses({ 202: OperationStarted });
const SystemInfoResult = Type.Object({ environmentId: Type.String(), systemInfo: Type.Union([SystemInfoSchema, Type.Null()]) });

export interface EnvironmentRoutesOptions {
  environments: EnvironmentsService;
  operations: OperationsService;
  audit: Pick<AuditService, 'list'>;
  refreshSystemInfo: (id: string) => Promise<SystemInfo>;
}

export const environmentsRoutes: FastifyPluginAsyncTypebox<EnvironmentRoutesOptions> = async (app, { environments, operations, audit, refreshSystemInfo }) => {
  app.get(
    '/environments',
    { config: { auth: 'viewer' }, schema: { operationId: 'listEnvironments', tags, summary: 'List environments', querystring: EnvironmentListQuery, response: responses({ 200: EnvironmentList }) } },
    async (request) => {
      const { page = 1, limit = 50, ...filter } = request.query;
      const result = await environments.list({ page, limit, ...filter });
      return { environments: result.environments, pagination: pagination(page, limit, result.total) };
    },
  );

  app.get(
    '/environments/:id',
    { config: { auth: 'viewer' }, schema: { operationId: 'getEnvironment', tags, summary: 'One environment', params: IdParams, response: responses({ 200: EnvironmentSchema }) } },
    async (request) => environments.get(request.params.id),
  );

  app.post(
    '/environments',
    { config: { auth: 'admin' }, schema: { operationId: 'createEnvironment', tags, summary: 'Add a server reached over SSH', body: CreateEnvironmentBody, response: responses({ 201: EnvironmentSchema }) } },
    async (request, reply) => reply.status(201).send(await environments.create(request.body, actorOf(request))),
  );

  app.put(
    '/environments/:id',
    {
      config: { auth: 'admin' },
      schema: { operationId: 'updateEnvironment', tags, summary: 'Change an environment; secrets omitted are kept, null clears them', params: IdParams, body: UpdateEnvironmentBody, response: responses({ 200: EnvironmentSchema }) },
    },
    async (request) => environments.update(request.params.id, request.body, actorOf(request)),
  );

  app.delete(
    '/environments/:id',
    {
      config: { auth: 'admin' },
      schema: { operationId: 'deleteEnvironment', tags, summary: 'Remove an environment (409 while bots live on it, unless force)', params: IdParams, querystring: DeleteQuery, response: responses({ 200: Type.Object({ ok: Type.Literal(true) }) }) },
    },
    async (request) => {
      await environments.delete(request.params.id, request.query.force ?? false, actorOf(request));
      return { ok: true as const };
    },
  );

  app.post(
    '/environments/:id/restart',
    { config: { auth: 'operator' }, preValidation: emptyBodyIsNoOptions, schema: { operationId: 'restartEnvironment', tags, summary: 'Run the configured restart (ssh command or http call)', params: IdParams, body: RestartBody, response: Accepted } },
    async (request, reply) => reply.status(202).send(await operations.restart(request.params.id, request.body.force ?? false, actorOf(request))),
  );

  app.post(
    '/environments/:id/check-health',
    { config: { auth: 'operator' }, schema: { operationId: 'checkEnvironmentHealth', tags, summary: 'Run the health check now', params: IdParams, response: Accepted } },
    async (request, reply) => reply.status(202).send(await operations.checkHealth(request.params.id, actorOf(request))),
  );

  app.get(
    '/environments/:id/versions',
    { config: { auth: 'viewer' }, schema: { operationId: 'listEnvironmentVersions', tags, summary: 'Versions published at upgradeConfig.versionListURL', params: IdParams, response: responses({ 200: VersionsResult }) } },
    async (request) => operations.versions(request.params.id),
  );

  app.post(
    '/environments/:id/upgrade',
    { config: { auth: 'operator' }, schema: { operationId: 'upgradeEnvironment', tags, summary: 'Upgrade to a published version', params: IdParams, body: UpgradeBody, response: Accepted } },
    async (request, reply) => reply.status(202).send(await operations.upgrade(request.params.id, request.body.version, actorOf(request))),
  );

  app.get(
    '/environments/:id/logs',
    {
      config: { auth: 'viewer' },
      schema: {
        operationId: 'listEnvironmentAuditEntries',
        tags,
        summary: "The environment's audit entries, newest first",
        params: IdParams,
        querystring: Type.Object({ ...PageQuery, type: Type.Optional(Type.Enum([...AUDIT_TYPES])), level: Type.Optional(Type.Enum([...AUDIT_LEVELS])) }, { additionalProperties: false }),
        response: responses({ 200: Type.Object({ logs: Type.Array(AuditEntrySchema), pagination: Type.Object({ page: Type.Integer(), limit: Type.Integer(), total: Type.Integer(), totalPages: Type.Integer() }) }) }),
      },
    },
    async (request) => {
      await environments.get(request.params.id);
      const { page = 1, limit = 50, type, level } = request.query;
      const result = await audit.list({ environmentId: request.params.id, type, level }, page, limit);
      return { logs: result.logs, pagination: pagination(page, limit, result.total) };
    },
  );

  app.get(
    '/environments/:id/system-info',
    { config: { auth: 'viewer' }, schema: { operationId: 'getEnvironmentSystemInfo', tags, summary: 'Last collected system info', params: IdParams, response: responses({ 200: SystemInfoResult }) } },
    async (request) => {
      const environment = await environments.get(request.params.id);
      return { environmentId: environment.id, systemInfo: environment.systemInfo };
    },
  );

  app.post(
    '/environments/:id/system-info',
    { config: { auth: 'operator' }, schema: { operationId: 'refreshEnvironmentSystemInfo', tags, summary: 'Collect system info now', params: IdParams, response: responses({ 200: SystemInfoResult }) } },
    async (request) => ({ environmentId: request.params.id, systemInfo: await refreshSystemInfo(request.params.id) }),
  );

  app.post(
    '/environments/:id/host-key/accept',
    {
      config: { auth: 'admin' },
      preValidation: emptyBodyIsNoOptions,
      schema: { operationId: 'acceptEnvironmentHostKey', tags, summary: 'Trust the new host key the server presented', params: IdParams, body: AcceptHostKeyBody, response: responses({ 200: EnvironmentSchema }) },
    },
    async (request) => environments.acceptHostKey(request.params.id, request.body.fingerprint, actorOf(request)),
  );

  app.get(
    '/operations',
    {
      config: { auth: 'viewer' },
      schema: {
        operationId: 'listOperations',
        tags,
        summary: 'Recent operations, newest first',
        querystring: Type.Object({ environmentId: Type.Optional(IdParams.properties.id), limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 500, default: 50 })) }, { additionalProperties: false }),
        response: responses({ 200: Type.Object({ operations: Type.Array(OperationSchema) }) }),
      },
    },
    async (request) => ({ operations: (await operations.list(request.query.environmentId, request.query.limit ?? 50)).map((op) => operationFor(request, op)) }),
  );

  app.get(
    '/operations/:id',
    { config: { auth: 'viewer' }, schema: { operationId: 'getOperation', tags, summary: 'An operation: progress, output, result', params: IdParams, response: responses({ 200: OperationSchema }) } },
    async (request) => operationFor(request, await operations.get(request.params.id)),
  );
};
