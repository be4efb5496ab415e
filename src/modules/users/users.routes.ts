import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { actorOf } from '../../http/auth.js';
import type { ResponseCache } from '../../http/response-cache.js';
import { IdParams, Ok, pagination, responses } from '../../http/schemas.js';
import type { UsersService } from './users.service.js';
import { CreateUserBody, ResetPasswordBody, ResetPasswordResult, UpdateUserBody, UserList, UserListQuery, UserSchema } from './users.schemas.js';

const tags = ['users'];

export const usersRoutes: FastifyPluginAsyncTypebox<{ users: UsersService; cache: ResponseCache }> = async (app, { users, cache }) => {
  app.get(
    '/users',
    { config: { auth: 'admin' }, schema: { operationId: 'listUsers', tags, summary: 'List users', querystring: UserListQuery, response: responses({ 200: UserList }) } },
    async (request, reply) =>
      cache.reply(request, reply, async () => {
        const { page = 1, limit = 50, q, role, active } = request.query;
        const result = await users.list({ page, limit, q, role, active });
        return { users: result.users, pagination: pagination(page, limit, result.total) };
      }),
  );

  app.post(
    '/users',
    { config: { auth: 'admin' }, schema: { operationId: 'createUser', tags, summary: 'Create a user', body: CreateUserBody, response: responses({ 201: UserSchema }) } },
    async (request, reply) => reply.status(201).send(await users.create(request.body, actorOf(request))),
  );

  app.get(
    '/users/:id',
    { config: { auth: 'admin' }, schema: { operationId: 'getUser', tags, summary: 'Get a user', params: IdParams, response: responses({ 200: UserSchema }) } },
    async (request) => users.get(request.params.id),
  );

  app.put(
    '/users/:id',
    {
      config: { auth: 'admin' },
      schema: { operationId: 'updateUser', tags, summary: 'Change email, role or active flag', params: IdParams, body: UpdateUserBody, response: responses({ 200: UserSchema }) },
    },
    async (request) => users.update(request.params.id, request.body, actorOf(request)),
  );

  app.delete(
    '/users/:id',
    { config: { auth: 'admin' }, schema: { operationId: 'deleteUser', tags, summary: 'Delete a user', params: IdParams, response: responses({ 200: Ok }) } },
    async (request) => {
      await users.delete(request.params.id, actorOf(request));
      return { ok: true as const };
    },
  );

  app.post(
    '/users/:id/password/reset',
    {
      config: { auth: 'admin' },
      schema: { operationId: 'resetUserPassword', tags, summary: "Reset a user's password; ends their sessions", params: IdParams, body: ResetPasswordBody, response: responses({ 200: ResetPasswordResult }) },
    },
    async (request) => ({ ok: true as const, ...(await users.resetPassword(request.params.id, request.body.newPassword, actorOf(request))) }),
  );
};
