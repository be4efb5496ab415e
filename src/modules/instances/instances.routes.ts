import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyRequest } from 'fastify';
import { actorOf } from '../../http/auth.js';
import { IdParams, Ok, pagination, responses } from '../../http/schemas.js';
import { ValidationError } from '../../lib/errors.js';
import {
  BulkBody,
  BulkResult,
  ConfigVersionDetail,
  ConfigVersionList,
  CreateInstanceBody,
  InstanceList,
  InstanceListQuery,
  InstanceSchema,
  StopAllResult,
  UpdateInstanceBody,
  VersionParams,
  VersionQuery,
} from './instances.schemas.js';
import type { InstancesService } from './instances.service.js';

const tags = ['instances'];
const One = responses({ 200: InstanceSchema });
/** Action routes take no body (`curl -X POST .../start`); `{}` is tolerated, anything else named. */
const noBody = async (request: FastifyRequest) => {
  const body = request.body;
  if (body === undefined || body === null) return;
  if (typeof body !== 'object' || Array.isArray(body)) throw ValidationError.field('body', 'this action takes no body');
  const [first] = Object.keys(body);
  if (first !== undefined) throw ValidationError.field(first, 'is not an allowed field (this action takes no body)');
};

export const instancesRoutes: FastifyPluginAsyncTypebox<{ instances: InstancesService }> = async (app, { instances }) => {
  app.get(
    '/instances',
    { config: { auth: 'viewer' }, schema: { operationId: 'listInstances', tags, summary: 'List bot instances', querystring: InstanceListQuery, response: responses({ 200: InstanceList }) } },
    async (request) => {
      const { page = 1, limit = 50, environment, ...filter } = request.query;
      const result = await instances.list({ page, limit, environmentId: environment, ...filter });
      return { instances: result.instances, pagination: pagination(page, limit, result.total) };
    },
  );

  app.post(
    '/instances',
    { config: { auth: 'operator' }, schema: { operationId: 'createInstance', tags, summary: 'Create a bot instance (stopped)', body: CreateInstanceBody, response: responses({ 201: InstanceSchema }) } },
    async (request, reply) => reply.code(201).send(await instances.create(request.body, actorOf(request))),
  );

  app.post(
    '/instances/bulk',
    { config: { auth: 'operator' }, schema: { operationId: 'bulkInstanceAction', tags, summary: 'Start, stop or restart many bots (a result per id)', body: BulkBody, response: responses({ 200: BulkResult }) } },
    async (request) => instances.bulk(request.body.action, request.body.ids, actorOf(request)),
  );

  app.post(
    '/instances/stop-all',
    {
      config: { auth: 'operator' },
      preValidation: noBody,
      schema: { operationId: 'stopAllInstances', tags, summary: 'Emergency: stop every bot on every environment (audited)', response: responses({ 200: StopAllResult }) },
    },
    async (request) => instances.stopAll(actorOf(request)),
  );

  app.get(
    '/instances/:id',
    { config: { auth: 'viewer' }, schema: { operationId: 'getInstance', tags, summary: 'One bot instance', params: IdParams, response: One } },
    async (request) => instances.get(request.params.id),
  );

  app.put(
    '/instances/:id',
    {
      config: { auth: 'operator' },
      schema: { operationId: 'updateInstance', tags, summary: 'Update a bot; a changed config becomes a new version (restart to apply; coin lists apply live)', params: IdParams, body: UpdateInstanceBody, response: One },
    },
    async (request) => instances.update(request.params.id, request.body, actorOf(request)),
  );

  app.delete(
    '/instances/:id',
    { config: { auth: 'operator' }, schema: { operationId: 'deleteInstance', tags, summary: 'Stop (waiting for it) and delete a bot', params: IdParams, response: responses({ 200: Ok }) } },
    async (request) => {
      await instances.remove(request.params.id, actorOf(request));
      return { ok: true as const };
    },
  );

  for (const action of ['start', 'stop', 'restart'] as const) {
    app.post(
      `/instances/:id/${action}`,
      {
        config: { auth: 'operator' },
        preValidation: noBody,
        schema: { operationId: `${action}Instance`, tags, summary: `${action[0]?.toUpperCase()}${action.slice(1)} a bot`, params: IdParams, response: One },
      },
      async (request) => instances[action](request.params.id, actorOf(request)),
    );
  }

  app.get(
    '/instances/:id/config/versions',
    { config: { auth: 'viewer' }, schema: { operationId: 'listInstanceConfigVersions', tags, summary: 'Saved config versions, newest first', params: IdParams, response: responses({ 200: ConfigVersionList }) } },
    async (request) => instances.versions(request.params.id),
  );

  app.get(
    '/instances/:id/config/versions/:version',
    {
      config: { auth: 'viewer' },
      schema: { operationId: 'getInstanceConfigVersion', tags, summary: 'One config version with its diff against the current (or `against`) version', params: VersionParams, querystring: VersionQuery, response: responses({ 200: ConfigVersionDetail }) },
    },
    async (request) => instances.version(request.params.id, request.params.version, request.query.against),
  );

  app.post(
    '/instances/:id/config/restore/:version',
    {
      config: { auth: 'operator' },
      preValidation: noBody,
      schema: { operationId: 'restoreInstanceConfigVersion', tags, summary: 'Make an old config version current (as a new version)', params: VersionParams, response: One },
    },
    async (request) => instances.restore(request.params.id, request.params.version, actorOf(request)),
  );
};
