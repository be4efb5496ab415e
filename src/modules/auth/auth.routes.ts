import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import Type from 'typebox';
import { actorOf, principalOf } from '../../http/auth.js';
import { IdParams, Ok, responses } from '../../http/schemas.js';
import { NotFoundError } from '../../lib/errors.js';
import type { UsersRepo } from '../users/users.repo.js';
import type { AuthService } from './auth.service.js';
import { ApiTokenSchema, ChangePasswordBody, CreateApiTokenBody, CreatedApiToken, LoginBody, LoginResult, Me } from './auth.schemas.js';

const tags = ['auth'];

export const authRoutes: FastifyPluginAsyncTypebox<{ auth: AuthService; usersRepo: Pick<UsersRepo, 'findById'> }> = async (app, { auth, usersRepo }) => {
  app.post(
    '/auth/login',
    { config: { auth: 'public' }, schema: { tags, summary: 'Log in; returns a bearer token', body: LoginBody, response: responses({ 200: LoginResult }) } },
    async (request) => auth.login({ ...request.body, userAgent: request.headers['user-agent'] ?? null }, actorOf(request)),
  );

  app.get(
    '/auth/me',
    { config: { auth: 'viewer' }, schema: { tags, summary: 'The current user and credential', response: responses({ 200: Me }) } },
    async (request) => {
      const principal = principalOf(request);
      const user = await usersRepo.findById(principal.userId);
      if (!user) throw new NotFoundError('user', principal.userId);
      return { user, role: principal.role, credential: { kind: principal.kind, id: principal.credentialId, expiresAt: principal.expiresAt } };
    },
  );

  app.post(
    '/auth/logout',
    { config: { auth: 'viewer' }, schema: { tags, summary: 'End this session; the token stops working at once', response: responses({ 200: Ok }) } },
    async (request) => {
      await auth.logout(principalOf(request), actorOf(request));
      return { ok: true as const };
    },
  );

  app.post(
    '/users/password/change',
    {
      config: { auth: 'viewer' },
      schema: { tags, summary: 'Change your own password; ends your other sessions', body: ChangePasswordBody, response: responses({ 200: Ok }) },
    },
    async (request) => {
      await auth.changePassword(principalOf(request), request.body, actorOf(request));
      return { ok: true as const };
    },
  );

  app.get(
    '/auth/tokens',
    { config: { auth: 'viewer' }, schema: { tags, summary: 'Your API tokens', response: responses({ 200: Type.Object({ tokens: Type.Array(ApiTokenSchema) }) }) } },
    async (request) => ({ tokens: await auth.listApiTokens(principalOf(request)) }),
  );

  app.post(
    '/auth/tokens',
    {
      config: { auth: 'viewer' },
      schema: { tags, summary: 'Create an API token (acts with your role); the token is shown once', body: CreateApiTokenBody, response: responses({ 201: CreatedApiToken }) },
    },
    async (request, reply) => reply.status(201).send(await auth.createApiToken(principalOf(request), request.body, actorOf(request))),
  );

  app.delete(
    '/auth/tokens/:id',
    { config: { auth: 'viewer' }, schema: { tags, summary: 'Revoke one of your API tokens', params: IdParams, response: responses({ 200: Ok }) } },
    async (request) => {
      await auth.revokeApiToken(principalOf(request), request.params.id, actorOf(request));
      return { ok: true as const };
    },
  );
};
