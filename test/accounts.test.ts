import { randomBytes, randomUUID } from 'node:crypto';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LOG_REDACT } from '../src/app.js';
import { SYSTEM_ACTOR } from '../src/modules/auth/auth.types.js';
import type { Account, AccountChange, Exchange } from '../src/modules/accounts/accounts.types.js';
import { createTestApp, type TestApp } from './helpers/app.js';
import { testDatabases } from './helpers/databases.js';
import { apiClient, type ApiClient, type ErrorBody } from './helpers/environments.js';

/**
 * Exchange accounts end to end: one per exchange with the fields it needs, write-only secrets
 * sealed at rest, validation naming the field, roles, partial updates, the rules that protect
 * accounts bots use, the audit trail, and the api-keys.json entries handed to the supervisor.
 */

/** Every secret a test sends; none may ever come back in a response, the audit log or a log line. */
const sent = new Set<string>();
const secret = (label: string): string => {
  const value = `${label}-${randomBytes(9).toString('base64url')}`;
  sent.add(value);
  return value;
};

/** The credentials an exchange needs, freshly made. */
function credentialsFor(exchange: Exchange): Record<string, string> {
  switch (exchange) {
    case 'bitget':
    case 'okx':
    case 'kucoin':
      return { key: secret('key'), secret: secret('secret'), passphrase: secret('passphrase') };
    case 'hyperliquid':
    case 'paradex':
      return { wallet_address: secret('0xwallet'), private_key: secret('0xprivate') };
    default:
      return { key: secret('key'), secret: secret('secret') };
  }
}

/** What each exchange needs, as Passivbot's api-keys.json example writes it. */
const NEEDS = [
  ['binance', ['key', 'secret']],
  ['bybit', ['key', 'secret']],
  ['gateio', ['key', 'secret']],
  ['defx', ['key', 'secret']],
  ['bitunix', ['key', 'secret']],
  ['weex', ['key', 'secret']],
  ['bitget', ['key', 'secret', 'passphrase']],
  ['okx', ['key', 'secret', 'passphrase']],
  ['kucoin', ['key', 'secret', 'passphrase']],
  ['hyperliquid', ['wallet_address', 'private_key']],
  ['paradex', ['wallet_address', 'private_key']],
] as const;

const NONE = { key: false, secret: false, passphrase: false, wallet_address: false, private_key: false };

function expectFieldError(res: { statusCode: number; body: string; json: <T>() => T }, field: string, message?: RegExp): void {
  expect(res.statusCode, res.body).toBe(400);
  const { error } = res.json<ErrorBody>();
  expect(error.code).toBe('VALIDATION_ERROR');
  expect(error.details?.fields?.map((f) => f.field), res.body).toContain(field);
  expect(error.message).toContain(field);
  if (message) expect(error.message).toMatch(message);
}

async function addInstance(t: TestApp, name: string, account: string, exchange: Exchange = 'binance'): Promise<string> {
  const id = randomUUID();
  const at = new Date().toISOString();
  await t.database.db
    .insertInto('instances')
    .values({
      id,
      name,
      environment_id: 'local',
      account,
      exchange,
      symbols: '[]',
      config: '{}',
      runtime: '{}',
      desired_state: 'stopped',
      status: 'stopped',
      config_version: 1,
      restart_count: 0,
      crash_times: '[]',
      summary: '{}',
      log_offset: 0,
      created_at: at,
      updated_at: at,
    })
    .execute();
  return id;
}

async function tableText(t: TestApp, table: 'audit_logs' | 'exchange_accounts'): Promise<string> {
  return JSON.stringify(await t.database.db.selectFrom(table).selectAll().execute());
}

function expectNoSecrets(text: string, what: string): void {
  for (const value of sent) expect(text, `${what} contains a secret`).not.toContain(value);
}

describe.each(testDatabases)('exchange accounts on $name', (database) => {
  let t: TestApp;
  let api: ApiClient;
  const create = async (body: Record<string, unknown>): Promise<Account> => {
    const res = await api.post('/accounts', body);
    if (res.statusCode !== 201) throw new Error(`creating ${String(body.name)}: ${res.statusCode} ${res.body}`);
    return res.json<Account>();
  };
  const accountRows = async () => (await t.database.db.selectFrom('exchange_accounts').select('id').execute()).length;

  beforeAll(async () => {
    t = await createTestApp(database);
    api = apiClient(t);
  });
  afterAll(async () => {
    // Whatever happened above, no response carried a secret.
    if (api) expectNoSecrets(api.bodies.join('\n'), 'a response');
    await t?.close();
  });

  it.each(NEEDS)('creates a %s account: the answer shows which fields are set, never their values', async (exchange, fields) => {
    const credentials = credentialsFor(exchange);
    const res = await api.post('/accounts', { name: `${exchange}_01`, exchange, ...credentials });
    expect(res.statusCode, res.body).toBe(201);
    const account = res.json<Account>();
    expect(account).toEqual({
      id: expect.any(String),
      name: `${exchange}_01`,
      exchange,
      isVault: false,
      fields: { ...NONE, ...Object.fromEntries(fields.map((f) => [f, true])) },
      usedBy: 0,
      createdAt: expect.any(String),
      updatedAt: account.createdAt,
    });
    expect((await api.get(`/accounts/${account.id}`, 'operator')).json()).toEqual(account);
    // At rest: one sealed blob, no plaintext anywhere in the row.
    const row = await t.database.db.selectFrom('exchange_accounts').selectAll().where('id', '=', account.id).executeTakeFirstOrThrow();
    expect(row.credentials).toMatch(/^v1\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/);
    expect(JSON.parse(row.fields)).toEqual(fields);
    for (const value of Object.values(credentials)) expect(JSON.stringify(row)).not.toContain(value);
    // The supervisor gets them back exactly.
    expect((await t.services.accounts.apiKeysFor([account.name]))[account.name]).toEqual({ exchange, ...credentials, ...(exchange === 'hyperliquid' && { is_vault: false }) });
  });

  it('a missing or unneeded field is a 400 naming it, and nothing is written', async () => {
    const before = await accountRows();
    expectFieldError(await api.post('/accounts', { name: 'okx_missing', exchange: 'okx', key: secret('k'), secret: secret('s') }), 'passphrase', /is required for okx/);
    expectFieldError(await api.post('/accounts', { name: 'hl_missing', exchange: 'hyperliquid', wallet_address: secret('w') }), 'private_key', /is required for hyperliquid/);
    expectFieldError(await api.post('/accounts', { name: 'bin_extra', exchange: 'binance', ...credentialsFor('binance'), passphrase: secret('p') }), 'passphrase', /is not used by binance/);
    expectFieldError(await api.post('/accounts', { name: 'bin_wallet', exchange: 'binance', ...credentialsFor('binance'), wallet_address: secret('w') }), 'wallet_address');
    expectFieldError(await api.post('/accounts', { name: 'bin_vault', exchange: 'binance', ...credentialsFor('binance'), is_vault: false }), 'is_vault', /hyperliquid only/);
    expectFieldError(await api.post('/accounts', { name: 'pdx_vault', exchange: 'paradex', ...credentialsFor('paradex'), is_vault: true }), 'is_vault');
    expectFieldError(await api.post('/accounts', { name: 'hl_keys', exchange: 'hyperliquid', ...credentialsFor('hyperliquid'), key: secret('k') }), 'key');
    // Every problem at once, each named.
    const all = await api.post('/accounts', { name: 'okx_all', exchange: 'okx', wallet_address: secret('w') });
    expect(all.json<ErrorBody>().error.details?.fields?.map((f) => f.field)).toEqual(['key', 'secret', 'passphrase', 'wallet_address']);
    // Values: not empty, no control characters, bounded, no pasted whitespace.
    expectFieldError(await api.post('/accounts', { name: 'b1', exchange: 'binance', key: '', secret: secret('s') }), 'key');
    expectFieldError(await api.post('/accounts', { name: 'b2', exchange: 'binance', key: `${secret('k')}\n`, secret: secret('s') }), 'key');
    expectFieldError(await api.post('/accounts', { name: 'b3', exchange: 'binance', key: secret('k'), secret: 'x'.repeat(4097) }), 'secret');
    expectFieldError(await api.post('/accounts', { name: 'b4', exchange: 'binance', key: ` ${secret('k')}`, secret: secret('s') }), 'key', /whitespace/);
    expectFieldError(await api.post('/accounts', { name: 'b5', exchange: 'kraken', ...credentialsFor('binance') }), 'exchange');
    expect(await accountRows()).toBe(before);
  });

  it('names are Passivbot users: a letter or digit first, no reserved api-keys.json keys, unique', async () => {
    const before = await accountRows();
    for (const name of ['_comment_x', '.hidden', '-u', 'a b', 'a/b', 'x'.repeat(65), '']) {
      expectFieldError(await api.post('/accounts', { name, exchange: 'binance', ...credentialsFor('binance') }), 'name');
    }
    for (const name of ['referrals', 'tradfi', 'Referrals']) {
      expectFieldError(await api.post('/accounts', { name, exchange: 'binance', ...credentialsFor('binance') }), 'name', /reserved/);
    }
    expect(await accountRows()).toBe(before);
    const first = await create({ name: 'dup.1-A', exchange: 'binance', ...credentialsFor('binance') });
    const dup = await api.post('/accounts', { name: 'dup.1-A', exchange: 'bybit', ...credentialsFor('bybit') });
    expect(dup.statusCode).toBe(409);
    expect(dup.json<ErrorBody>().error).toMatchObject({ code: 'ALREADY_EXISTS', details: { fields: [{ field: 'name', message: 'already exists' }] } });
    const other = await create({ name: 'dup-2', exchange: 'bybit', ...credentialsFor('bybit') });
    const taken = await api.put(`/accounts/${other.id}`, { name: first.name });
    expect(taken.statusCode).toBe(409);
    expect(taken.json<ErrorBody>().error.code).toBe('ALREADY_EXISTS');
  });

  it('a sealed blob opens only for its own row', async () => {
    const a = await create({ name: 'seal-a', exchange: 'binance', ...credentialsFor('binance') });
    const b = await create({ name: 'seal-b', exchange: 'binance', ...credentialsFor('binance') });
    const rowA = await t.database.db.selectFrom('exchange_accounts').select('credentials').where('id', '=', a.id).executeTakeFirstOrThrow();
    await t.database.db.updateTable('exchange_accounts').set({ credentials: rowA.credentials }).where('id', '=', b.id).execute();
    await expect(t.services.accounts.apiKeysFor(['seal-b'])).rejects.toThrow(/cannot be decrypted/);
    await t.database.db.deleteFrom('exchange_accounts').where('id', 'in', [a.id, b.id]).execute();
  });

  it('publishes the fields each exchange needs to every role (the account form draws them), and to nobody signed out', async () => {
    const res = await api.get('/accounts/exchanges', 'viewer');
    expect(res.statusCode, res.body).toBe(200);
    const { exchanges } = res.json<{ exchanges: { exchange: string; fields: string[]; vaultFlag: boolean }[] }>();
    expect(exchanges.map((e) => e.exchange).sort()).toEqual(NEEDS.map(([exchange]) => exchange).sort());
    for (const [exchange, fields] of NEEDS) expect(exchanges.find((e) => e.exchange === exchange), exchange).toEqual({ exchange, fields, vaultFlag: exchange === 'hyperliquid' });
    expect((await api.get('/accounts/exchanges', 'operator')).json()).toEqual(res.json());
    expect((await api.get('/accounts/exchanges', 'admin')).json()).toEqual(res.json());
    expect((await api.call(null, 'GET', '/accounts/exchanges')).statusCode).toBe(401);
  });

  it('operators and admins read; only admins manage; viewers see nothing', async () => {
    const account = await create({ name: 'roles-1', exchange: 'bybit', ...credentialsFor('bybit') });
    for (const url of ['/accounts', `/accounts/${account.id}`]) {
      expect((await api.get(url, 'viewer')).statusCode).toBe(403);
      expect((await api.get(url, 'operator')).statusCode).toBe(200);
      expect((await api.get(url, 'admin')).statusCode).toBe(200);
    }
    expect((await api.post('/accounts', { name: 'roles-2', exchange: 'bybit', ...credentialsFor('bybit') }, 'operator')).statusCode).toBe(403);
    expect((await api.put(`/accounts/${account.id}`, { secret: secret('s') }, 'operator')).statusCode).toBe(403);
    expect((await api.del(`/accounts/${account.id}`, 'operator')).statusCode).toBe(403);
    expect((await api.get(`/accounts/${account.id}`, 'operator')).json<Account>()).toEqual(account);
    expect((await api.get('/accounts/0190a1b2-0000-7000-8000-000000000000', 'operator')).statusCode).toBe(404);
  });

  it('lists with pagination, an exchange filter and a literal name search, counting the instances on each', async () => {
    for (const name of ['list_a', 'list_b']) await create({ name, exchange: 'okx', ...credentialsFor('okx') });
    await create({ name: 'listxb', exchange: 'bybit', ...credentialsFor('bybit') });
    await create({ name: 'list_c', exchange: 'kucoin', ...credentialsFor('kucoin') });
    await addInstance(t, 'list-bot-1', 'list_a', 'okx');
    await addInstance(t, 'list-bot-2', 'list_a', 'okx');

    const page = (await api.get('/accounts?q=list_&limit=2', 'operator')).json<{ accounts: Account[]; pagination: unknown }>();
    expect(page.accounts.map((a) => [a.name, a.usedBy])).toEqual([
      ['list_a', 2],
      ['list_b', 0],
    ]);
    expect(page.pagination).toEqual({ page: 1, limit: 2, total: 3, totalPages: 2 });
    expect((await api.get('/accounts?q=list_&limit=2&page=2', 'operator')).json<{ accounts: Account[] }>().accounts.map((a) => a.name)).toEqual(['list_c']);
    expect((await api.get('/accounts?q=LIST&exchange=kucoin', 'operator')).json<{ accounts: Account[] }>().accounts.map((a) => a.name)).toEqual(['list_c']);
    // `_` and `%` match themselves, not any character.
    expect((await api.get('/accounts?q=list%25', 'operator')).json<{ pagination: { total: number } }>().pagination.total).toBe(0);
    expect((await api.get('/accounts?q=listx', 'operator')).json<{ accounts: Account[] }>().accounts.map((a) => a.name)).toEqual(['listxb']);
    expect((await api.get(`/accounts/${page.accounts[0]?.id ?? ''}`, 'operator')).json<Account>().usedBy).toBe(2);
    expect((await api.get('/accounts?exchange=kraken', 'operator')).statusCode).toBe(400);
    expect((await api.get('/accounts?nope=1', 'operator')).statusCode).toBe(400);
    await t.database.db.deleteFrom('instances').where('account', '=', 'list_a').execute();
  });

  it('updates secrets in part: omitted kept, given replaced, null clears only what the exchange can do without', async () => {
    const original = credentialsFor('okx');
    const account = await create({ name: 'upd-okx', exchange: 'okx', ...original });
    const newSecret = secret('secret2');
    const res = await api.put(`/accounts/${account.id}`, { secret: newSecret });
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json<Account>()).toMatchObject({ name: 'upd-okx', exchange: 'okx', fields: { key: true, secret: true, passphrase: true } });
    expect((await t.services.accounts.apiKeysFor(['upd-okx']))['upd-okx']).toEqual({ exchange: 'okx', key: original.key, secret: newSecret, passphrase: original.passphrase });

    const before = await tableText(t, 'exchange_accounts');
    expectFieldError(await api.put(`/accounts/${account.id}`, { passphrase: null }), 'passphrase', /is required for okx/);
    expectFieldError(await api.put(`/accounts/${account.id}`, { private_key: secret('p') }), 'private_key', /is not used by okx/);
    expectFieldError(await api.put(`/accounts/${account.id}`, { is_vault: true }), 'is_vault');
    // To hyperliquid: the key fields go, and the wallet fields must come.
    expectFieldError(await api.put(`/accounts/${account.id}`, { exchange: 'hyperliquid', wallet_address: secret('w') }), 'private_key');
    expect((await api.put(`/accounts/${account.id}`, {})).statusCode).toBe(400);
    expect(await tableText(t, 'exchange_accounts')).toBe(before);

    // To binance: the passphrase means nothing there and is dropped.
    const moved = await api.put(`/accounts/${account.id}`, { exchange: 'binance' });
    expect(moved.statusCode, moved.body).toBe(200);
    expect(moved.json<Account>()).toMatchObject({ exchange: 'binance', fields: { ...NONE, key: true, secret: true } });
    expect((await t.services.accounts.apiKeysFor(['upd-okx']))['upd-okx']).toEqual({ exchange: 'binance', key: original.key, secret: newSecret });
    // Back to bitget: the passphrase is needed again.
    expectFieldError(await api.put(`/accounts/${account.id}`, { exchange: 'bitget' }), 'passphrase', /is required for bitget/);
    const phrase = secret('phrase');
    expect((await api.put(`/accounts/${account.id}`, { exchange: 'bitget', passphrase: phrase })).json<Account>().fields.passphrase).toBe(true);

    // Hyperliquid: is_vault is kept unless given, and dropped when the exchange changes.
    const hl = await create({ name: 'upd-hl', exchange: 'hyperliquid', ...credentialsFor('hyperliquid'), is_vault: true });
    expect(hl.isVault).toBe(true);
    const key = secret('0xprivate2');
    expect((await api.put(`/accounts/${hl.id}`, { private_key: key })).json<Account>().isVault).toBe(true);
    expect((await t.services.accounts.apiKeysFor(['upd-hl']))['upd-hl']).toMatchObject({ exchange: 'hyperliquid', private_key: key, is_vault: true });
    expect((await api.put(`/accounts/${hl.id}`, { is_vault: false })).json<Account>().isVault).toBe(false);
    expect((await api.put(`/accounts/${hl.id}`, { exchange: 'paradex', is_vault: true })).statusCode).toBe(400);
    expect((await api.put(`/accounts/0190a1b2-0000-7000-8000-000000000000`, { secret: secret('s') })).statusCode).toBe(404);
  });

  it('name and exchange are fixed while instances use the account; secrets can still change', async () => {
    const account = await create({ name: 'used-1', exchange: 'bybit', ...credentialsFor('bybit') });
    const renamed = await api.put(`/accounts/${account.id}`, { name: 'used-1b' });
    expect(renamed.statusCode, renamed.body).toBe(200);
    expect(renamed.json<Account>().name).toBe('used-1b');
    expect(await t.services.accounts.apiKeysFor(['used-1'])).toEqual({});

    await addInstance(t, 'used-bot', 'used-1b', 'bybit');
    const before = await tableText(t, 'exchange_accounts');
    for (const change of [{ name: 'used-1c' }, { exchange: 'binance' }, { name: 'used-1c', exchange: 'binance', secret: secret('s') }]) {
      const res = await api.put(`/accounts/${account.id}`, change);
      expect(res.statusCode, res.body).toBe(409);
      expect(res.json<ErrorBody>().error.message).toMatch(/used by 1 instance\(s\) \(used-bot\)/);
    }
    expect(await tableText(t, 'exchange_accounts')).toBe(before);
    const rotated = await api.put(`/accounts/${account.id}`, { name: 'used-1b', exchange: 'bybit', secret: secret('rotated') });
    expect(rotated.statusCode, rotated.body).toBe(200);
    expect(rotated.json<Account>().usedBy).toBe(1);
  });

  it('delete is refused while instances use the account, naming a few of them', async () => {
    const account = await create({ name: 'del-1', exchange: 'gateio', ...credentialsFor('gateio') });
    for (let i = 1; i <= 7; i++) await addInstance(t, `del-bot-${i}`, 'del-1', 'gateio');
    const refused = await api.del(`/accounts/${account.id}`);
    expect(refused.statusCode).toBe(409);
    expect(refused.json<ErrorBody>().error).toMatchObject({
      code: 'CONFLICT',
      message: 'account del-1 is used by 7 instance(s) (del-bot-1, del-bot-2, del-bot-3, del-bot-4, del-bot-5, and 2 more): remove them or move them to another account first',
      details: { instances: 7, names: ['del-bot-1', 'del-bot-2', 'del-bot-3', 'del-bot-4', 'del-bot-5'] },
    });
    expect((await api.get(`/accounts/${account.id}`, 'operator')).statusCode).toBe(200);

    await t.database.db.deleteFrom('instances').where('account', '=', 'del-1').execute();
    const deleted = await api.del(`/accounts/${account.id}`);
    expect(deleted.statusCode, deleted.body).toBe(200);
    expect(deleted.json()).toEqual({ ok: true });
    expect((await api.get(`/accounts/${account.id}`, 'operator')).statusCode).toBe(404);
    expect((await api.del(`/accounts/${account.id}`)).statusCode).toBe(404);
  });

  it('every change is audited with actor, account, exchange and what changed; never a value', async () => {
    const account = await create({ name: 'audit-1', exchange: 'kucoin', ...credentialsFor('kucoin') });
    await api.put(`/accounts/${account.id}`, { name: 'audit-2', passphrase: secret('p2') });
    await api.put(`/accounts/${account.id}`, { exchange: 'binance' });
    await api.del(`/accounts/${account.id}`);
    const entries = await t.database.db.selectFrom('audit_logs').selectAll().where('details', 'like', `%${account.id}%`).orderBy('ts').orderBy('id').execute();
    expect(entries.map((e) => [e.action, e.username, e.level, e.message])).toEqual([
      ['account_create', 'admin1', 'success', 'account audit-1 (kucoin) created with key, secret, passphrase'],
      ['account_update', 'admin1', 'success', 'account audit-2 (kucoin) updated: renamed from audit-1, passphrase replaced'],
      ['account_update', 'admin1', 'success', 'account audit-2 (binance) updated: exchange kucoin -> binance, passphrase dropped (not used by binance)'],
      ['account_delete', 'admin1', 'warning', 'account audit-2 (binance) deleted'],
    ]);
    expect(JSON.parse(entries[1]?.details ?? '{}')).toEqual({
      accountId: account.id,
      account: 'audit-2',
      exchange: 'kucoin',
      changes: ['renamed from audit-1', 'passphrase replaced'],
      previousName: 'audit-1',
    });
    expect(entries.every((e) => e.request_id && e.ip)).toBe(true);
    // Nothing any test sent as a secret is anywhere in the audit log.
    expectNoSecrets(await tableText(t, 'audit_logs'), 'the audit log');
  });

  it('apiKeysFor gives the api-keys.json entries in the shapes of Passivbot example file; unknown names are skipped', async () => {
    const made: Record<string, Record<string, string>> = {};
    for (const exchange of ['binance', 'bitget', 'hyperliquid', 'paradex'] as const) {
      made[exchange] = credentialsFor(exchange);
      await create({ name: `keys_${exchange}`, exchange, ...made[exchange], ...(exchange === 'hyperliquid' && { is_vault: true }) });
    }
    const entries = await t.services.accounts.apiKeysFor(['keys_binance', 'keys_bitget', 'keys_hyperliquid', 'keys_paradex', 'nobody', 'keys_binance', 'referrals']);
    expect(Object.keys(entries).sort()).toEqual(['keys_binance', 'keys_bitget', 'keys_hyperliquid', 'keys_paradex']);
    // Key sets and order exactly as in api-keys.example.json (binance_01, bitget_01, hyperliquid_01, paradex_01).
    expect(Object.keys(entries.keys_binance ?? {})).toEqual(['exchange', 'key', 'secret']);
    expect(Object.keys(entries.keys_bitget ?? {})).toEqual(['exchange', 'key', 'secret', 'passphrase']);
    expect(Object.keys(entries.keys_hyperliquid ?? {})).toEqual(['exchange', 'wallet_address', 'private_key', 'is_vault']);
    expect(Object.keys(entries.keys_paradex ?? {})).toEqual(['exchange', 'wallet_address', 'private_key']);
    expect(entries.keys_hyperliquid).toEqual({ exchange: 'hyperliquid', ...made.hyperliquid, is_vault: true });
    expect(entries.keys_bitget).toEqual({ exchange: 'bitget', ...made.bitget });
    expect(await t.services.accounts.apiKeysFor([])).toEqual({});

    await expect(t.services.accounts.getByName('keys_paradex')).resolves.toMatchObject({ name: 'keys_paradex', exchange: 'paradex', fields: { wallet_address: true, private_key: true } });
    await expect(t.services.accounts.exchangeOf('keys_bitget')).resolves.toBe('bitget');
    await expect(t.services.accounts.getByName('nobody')).rejects.toMatchObject({ code: 'NOT_FOUND' });
    await expect(t.services.accounts.exchangeOf('nobody')).rejects.toMatchObject({ code: 'NOT_FOUND' });
  });

  it('tells listeners after an update or delete commits, not after a refused one; a failing listener fails nothing', async () => {
    const events: AccountChange[] = [];
    const stop = t.services.accounts.onChange((event) => void events.push(event));
    const stopThrowing = t.services.accounts.onChange(() => {
      throw new Error('listener bug');
    });
    const stopRejecting = t.services.accounts.onChange(async () => {
      throw new Error('async listener bug');
    });
    try {
      const account = await t.services.accounts.create({ name: 'listen-1', exchange: 'weex', ...credentialsFor('weex') }, SYSTEM_ACTOR);
      expect(events).toEqual([]);
      expect((await api.put(`/accounts/${account.id}`, { secret: secret('s') })).statusCode).toBe(200);
      expect((await api.put(`/accounts/${account.id}`, { name: 'listen-2' })).statusCode).toBe(200);
      expect((await api.put(`/accounts/${account.id}`, { passphrase: secret('p') })).statusCode).toBe(400);
      await addInstance(t, 'listen-bot', 'listen-2', 'weex');
      expect((await api.del(`/accounts/${account.id}`)).statusCode).toBe(409);
      await t.database.db.deleteFrom('instances').where('account', '=', 'listen-2').execute();
      expect((await api.del(`/accounts/${account.id}`)).statusCode).toBe(200);
      expect(events).toEqual([
        { name: 'listen-1', kind: 'updated' },
        { name: 'listen-2', previousName: 'listen-1', kind: 'updated' },
        { name: 'listen-2', kind: 'deleted' },
      ]);
    } finally {
      stop();
      stopThrowing();
      stopRejecting();
    }
    const account = await t.services.accounts.create({ name: 'listen-3', exchange: 'weex', ...credentialsFor('weex') }, SYSTEM_ACTOR);
    await t.services.accounts.update(account.id, { secret: secret('s') }, SYSTEM_ACTOR);
    expect(events).toHaveLength(3);
  });

  it('secrets stay out of the logs, even at trace level', async () => {
    const lines: string[] = [];
    const stream = new Writable({
      write(chunk: Buffer, _encoding, done) {
        lines.push(chunk.toString('utf8'));
        done();
      },
    });
    const logged = await createTestApp(database, { logger: { level: 'trace', redact: LOG_REDACT, stream } });
    try {
      const client = apiClient(logged);
      const created = await client.post('/accounts', { name: 'logged-1', exchange: 'okx', ...credentialsFor('okx') });
      expect(created.statusCode).toBe(201);
      const id = created.json<Account>().id;
      await client.put(`/accounts/${id}`, { secret: secret('s'), passphrase: secret('p') });
      // Refused requests too: an unknown field beside secrets, a field the exchange does not use, a listener that throws.
      await client.post('/accounts', { name: 'logged-2', exchange: 'hyperliquid', ...credentialsFor('hyperliquid'), extra: 'x' });
      await client.post('/accounts', { name: 'logged-3', exchange: 'binance', ...credentialsFor('binance'), private_key: secret('pk') });
      logged.services.accounts.onChange(() => {
        throw new Error('listener bug');
      });
      await client.put(`/accounts/${id}`, { key: secret('k') });
    } finally {
      await logged.close();
    }
    const text = lines.join('');
    expect(text).toContain('account change listener failed');
    expectNoSecrets(text, 'the log');
  });
});
