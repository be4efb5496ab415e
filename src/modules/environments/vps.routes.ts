import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import Type from 'typebox';
import { actorOf } from '../../http/auth.js';
import { IdParams, PageQuery, pagination, responses } from '../../http/schemas.js';
import type { OperationsService } from '../operations/operations.service.js';
import { CreateEnvironmentBody, DeleteQuery, EnvironmentSchema, OperationStarted, ServerList, UpdateEnvironmentBody } from './environments.schemas.js';
import type { EnvironmentsService } from './environments.service.js';

const tags = ['vps'];

/** The PBGui-era VPS routes: the same environments, under the names the old UI used. */
export const vpsRoutes: FastifyPluginAsyncTypebox<{ environments: EnvironmentsService; operations: OperationsService }> = async (app, { environments, operations }) => {
  app.get(
    '/vps/servers',
    { config: { auth: 'viewer' }, schema: { operationId: 'listVpsServers', tags, summary: 'List servers (environments)', querystring: Type.Object(PageQuery, { additionalProperties: false }), response: responses({ 200: ServerList }) } },
    async (request) => {
      const { page = 1, limit = 50 } = request.query;
      const result = await environments.list({ page, limit });
      return { servers: result.environments, pagination: pagination(page, limit, result.total) };
    },
  );

  app.post(
    '/vps/servers',
    { config: { auth: 'admin' }, schema: { operationId: 'createVpsServer', tags, summary: 'Add a server', body: CreateEnvironmentBody, response: responses({ 201: EnvironmentSchema }) } },
    async (request, reply) => reply.status(201).send(await environments.create(request.body, actorOf(request))),
  );

  app.put(
    '/vps/servers/:id',
    { config: { auth: 'admin' }, schema: { operationId: 'updateVpsServer', tags, summary: 'Change a server', params: IdParams, body: UpdateEnvironmentBody, response: responses({ 200: EnvironmentSchema }) } },
    async (request) => environments.update(request.params.id, request.body, actorOf(request)),
  );

  app.delete(
    '/vps/servers/:id',
    { config: { auth: 'admin' }, schema: { operationId: 'deleteVpsServer', tags, summary: 'Remove a server', params: IdParams, querystring: DeleteQuery, response: responses({ 200: Type.Object({ ok: Type.Literal(true) }) }) } },
    async (request) => {
      await environments.delete(request.params.id, request.query.force ?? false, actorOf(request));
      return { ok: true as const };
    },
  );

  app.post(
    '/vps/deploy/:id',
    { config: { auth: 'operator' }, schema: { operationId: 'deployVpsServer', tags, summary: 'Prepare the server for bots (idempotent)', params: IdParams, response: responses({ 202: OperationStarted }) } },
    async (request, reply) => reply.status(202).send(await operations.deploy(request.params.id, actorOf(request))),
  );
};
