import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import Type from 'typebox';
import { decodeJwt } from 'jose';
import { actorOf, principalOf } from '../../http/auth.js';
import { assertNotCrossSite } from '../../http/csrf.js';
import { clearSessionCookie, sessionCookie, setSessionCookie } from '../../http/session-cookie.js';
import { IdParams, Ok, responses } from '../../http/schemas.js';
import { NotFoundError } from '../../lib/errors.js';
import type { UsersRepo } from '../users/users.repo.js';
import type { AuthService } from './auth.service.js';
import { ApiTokenSchema, ChangePasswordBody, CreateApiTokenBody, CreatedApiToken, LoginBody, LoginResult, Me, SessionSchema } from './auth.schemas.js';

const tags = ['auth'];

export interface AuthRoutesOptions {
  auth: AuthService;
  usersRepo: Pick<UsersRepo, 'findById'>;
  /** Origins besides the server's own whose pages may sign in with a cookie (config allowOrigins). */
  allowOrigins?: readonly string[];
}

export const authRoutes: FastifyPluginAsyncTypebox<AuthRoutesOptions> = async (app, { auth, usersRepo, allowOrigins = [] }) => {
  app.post(
    '/auth/login',
    {
      config: { auth: 'public' },
      schema: {
        operationId: 'login',
        tags,
        summary: 'Log in; returns a bearer token, or with cookie: true sets the browser session cookie instead (send X-PBFleet-CSRF: 1)',
        body: LoginBody,
        response: responses({ 200: LoginResult }),
      },
    },
    async (request, reply) => {
      const { cookie, ...credentials } = request.body;
      // Without the check a foreign page could sign the browser in to an account of its choosing.
      if (cookie) assertNotCrossSite(request, allowOrigins);
      const result = await auth.login({ ...credentials, userAgent: request.headers['user-agent'] ?? null }, actorOf(request));
      if (!cookie) return result;
      const { exp = 0, iat = 0 } = decodeJwt(result.token);
      setSessionCookie(reply, request, result.token, exp - iat);
      return { expiresAt: result.expiresAt, user: result.user };
    },
  );

  app.get(
    '/auth/me',
    { config: { auth: 'viewer' }, schema: { operationId: 'getCurrentUser', tags, summary: 'The current user and credential', response: responses({ 200: Me }) } },
    async (request) => {
      const principal = principalOf(request);
      const user = await usersRepo.findById(principal.userId);
      if (!user) throw new NotFoundError('user', principal.userId);
      return { user, role: principal.role, credential: { kind: principal.kind, id: principal.credentialId, expiresAt: principal.expiresAt } };
    },
  );

  app.post(
    '/auth/logout',
    { config: { auth: 'viewer' }, schema: { operationId: 'logout', tags, summary: 'End this session; the token (or session cookie, which is cleared) stops working at once', response: responses({ 200: Ok }) } },
    async (request, reply) => {
      await auth.logout(principalOf(request), actorOf(request));
      if (sessionCookie(request)) clearSessionCookie(reply, request);
      return { ok: true as const };
    },
  );

  app.post(
    '/users/password/change',
    {
      config: { auth: 'viewer' },
      schema: { operationId: 'changeOwnPassword', tags, summary: 'Change your own password; ends your other sessions and your API tokens (unless keepApiTokens)', body: ChangePasswordBody, response: responses({ 200: Ok }) },
    },
    async (request) => {
      await auth.changePassword(principalOf(request), request.body, actorOf(request));
      return { ok: true as const };
    },
  );

  app.get(
    '/auth/sessions',
    {
      config: { auth: 'viewer' },
      schema: { operationId: 'listOwnSessions', tags, summary: 'Your live sessions (browser sign-ins and logins), newest first; the one making the request is marked current', response: responses({ 200: Type.Object({ sessions: Type.Array(SessionSchema) }) }) },
    },
    async (request) => ({ sessions: await auth.listSessions(principalOf(request)) }),
  );

  app.delete(
    '/auth/sessions/:id',
    {
      config: { auth: 'viewer' },
      schema: { operationId: 'revokeOwnSession', tags, summary: 'End one of your sessions; it stops working at once and its realtime connections close', params: IdParams, response: responses({ 200: Ok }) },
    },
    async (request) => {
      await auth.revokeSession(principalOf(request), request.params.id, actorOf(request));
      return { ok: true as const };
    },
  );

  app.get(
    '/auth/tokens',
    { config: { auth: 'viewer' }, schema: { operationId: 'listApiTokens', tags, summary: 'Your API tokens', response: responses({ 200: Type.Object({ tokens: Type.Array(ApiTokenSchema) }) }) } },
    async (request) => ({ tokens: await auth.listApiTokens(principalOf(request)) }),
  );

  app.post(
    '/auth/tokens',
    {
      config: { auth: 'viewer' },
      schema: { operationId: 'createApiToken', tags, summary: 'Create an API token (acts with your role); the token is shown once', body: CreateApiTokenBody, response: responses({ 201: CreatedApiToken }) },
    },
    async (request, reply) => reply.status(201).send(await auth.createApiToken(principalOf(request), request.body, actorOf(request))),
  );

  app.delete(
    '/auth/tokens/:id',
    { config: { auth: 'viewer' }, schema: { operationId: 'revokeApiToken', tags, summary: 'Revoke one of your API tokens', params: IdParams, response: responses({ 200: Ok }) } },
    async (request) => {
      await auth.revokeApiToken(principalOf(request), request.params.id, actorOf(request));
      return { ok: true as const };
    },
  );
};
