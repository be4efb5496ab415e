import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { actorOf } from '../../http/auth.js';
import { IdParams, Ok, pagination, responses } from '../../http/schemas.js';
import { EXCHANGE_FIELDS, usesVaultFlag } from './accounts.fns.js';
import { AccountList, AccountListQuery, AccountSchema, CreateAccountBody, ExchangeList, UpdateAccountBody } from './accounts.schemas.js';
import { EXCHANGES } from './accounts.types.js';
import type { AccountsService } from './accounts.service.js';

const tags = ['accounts'];

/**
 * Exchange accounts. Operators read them (they pick one when creating a bot); only admins
 * manage them. Secrets go in and never come out.
 */
export const accountsRoutes: FastifyPluginAsyncTypebox<{ accounts: AccountsService }> = async (app, { accounts }) => {
  // Static: the same answer for everyone, built once.
  const exchanges = { exchanges: EXCHANGES.map((exchange) => ({ exchange, fields: [...EXCHANGE_FIELDS[exchange]], vaultFlag: usesVaultFlag(exchange) })) };
  app.get(
    '/accounts/exchanges',
    { config: { auth: 'viewer' }, schema: { operationId: 'listAccountExchanges', tags, summary: 'The exchanges an account can be for, and the secret fields each one needs', response: responses({ 200: ExchangeList }) } },
    () => exchanges,
  );

  app.get(
    '/accounts',
    { config: { auth: 'operator' }, schema: { operationId: 'listAccounts', tags, summary: 'List exchange accounts (which secret fields are set, never their values)', querystring: AccountListQuery, response: responses({ 200: AccountList }) } },
    async (request) => {
      const { page = 1, limit = 50, exchange, q } = request.query;
      const result = await accounts.list({ page, limit, exchange, q });
      return { accounts: result.accounts, pagination: pagination(page, limit, result.total) };
    },
  );

  app.get(
    '/accounts/:id',
    { config: { auth: 'operator' }, schema: { operationId: 'getAccount', tags, summary: 'One exchange account', params: IdParams, response: responses({ 200: AccountSchema }) } },
    async (request) => accounts.get(request.params.id),
  );

  app.post(
    '/accounts',
    { config: { auth: 'admin' }, schema: { operationId: 'createAccount', tags, summary: 'Add an exchange account (an api-keys.json user); secrets are write-only', body: CreateAccountBody, response: responses({ 201: AccountSchema }) } },
    async (request, reply) => reply.status(201).send(await accounts.create(request.body, actorOf(request))),
  );

  app.put(
    '/accounts/:id',
    {
      config: { auth: 'admin' },
      schema: { operationId: 'updateAccount', tags, summary: 'Change an account; secrets omitted are kept, null clears them', params: IdParams, body: UpdateAccountBody, response: responses({ 200: AccountSchema }) },
    },
    async (request) => accounts.update(request.params.id, request.body, actorOf(request)),
  );

  app.delete(
    '/accounts/:id',
    { config: { auth: 'admin' }, schema: { operationId: 'deleteAccount', tags, summary: 'Remove an account (409 while instances use it)', params: IdParams, response: responses({ 200: Ok }) } },
    async (request) => {
      await accounts.delete(request.params.id, actorOf(request));
      return { ok: true as const };
    },
  );
};
