import { sql } from 'kysely';
import type { Db, Executor } from '../../db/database.js';
import { likeContains, toCount } from '../../db/errors.js';
import type { ExchangeAccountsTable } from '../../db/types.js';
import type { Exchange, SecretField } from './accounts.types.js';

/** An account as stored: its credentials one sealed JSON object. */
export interface AccountRecord {
  id: string;
  name: string;
  exchange: Exchange;
  /** SecretBox-sealed JSON of the secret fields. */
  sealed: string;
  /** Which secret fields are set, readable without opening the seal. */
  fields: SecretField[];
  isVault: boolean;
  createdAt: string;
  updatedAt: string;
}

export interface AccountListFilter {
  page: number;
  limit: number;
  exchange?: Exchange | undefined;
  q?: string | undefined;
}

function toRecord(row: ExchangeAccountsTable): AccountRecord {
  return {
    id: row.id,
    name: row.name,
    exchange: row.exchange as Exchange,
    sealed: row.credentials,
    fields: JSON.parse(row.fields) as SecretField[],
    isVault: row.is_vault === 1,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

function toRow(record: AccountRecord): ExchangeAccountsTable {
  return {
    id: record.id,
    name: record.name,
    exchange: record.exchange,
    credentials: record.sealed,
    fields: JSON.stringify(record.fields),
    is_vault: record.isVault ? 1 : 0,
    created_at: record.createdAt,
    updated_at: record.updatedAt,
  };
}

export function createAccountsRepo(db: Db) {
  return {
    transaction: <T>(work: (trx: Executor) => Promise<T>): Promise<T> => db.transaction().execute(work),

    async findById(id: string, ex: Executor = db): Promise<AccountRecord | undefined> {
      const row = await ex.selectFrom('exchange_accounts').selectAll().where('id', '=', id).executeTakeFirst();
      return row && toRecord(row);
    },

    async findByName(name: string, ex: Executor = db): Promise<AccountRecord | undefined> {
      const row = await ex.selectFrom('exchange_accounts').selectAll().where('name', '=', name).executeTakeFirst();
      return row && toRecord(row);
    },

    async findByNames(names: readonly string[], ex: Executor = db): Promise<AccountRecord[]> {
      if (names.length === 0) return [];
      return (await ex.selectFrom('exchange_accounts').selectAll().where('name', 'in', [...names]).orderBy('name').execute()).map(toRecord);
    },

    async list(filter: AccountListFilter, ex: Executor = db): Promise<{ accounts: AccountRecord[]; total: number }> {
      let query = ex.selectFrom('exchange_accounts');
      if (filter.exchange) query = query.where('exchange', '=', filter.exchange);
      if (filter.q) query = query.where(sql<boolean>`lower(name) like ${likeContains(filter.q)} escape '\\'`);
      const [rows, count] = await Promise.all([
        query.selectAll().orderBy('name').orderBy('id').limit(filter.limit).offset((filter.page - 1) * filter.limit).execute(),
        query.select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow(),
      ]);
      return { accounts: rows.map(toRecord), total: toCount(count.n) };
    },

    async insert(record: AccountRecord, ex: Executor = db): Promise<void> {
      await ex.insertInto('exchange_accounts').values(toRow(record)).execute();
    },

    async update(record: AccountRecord, ex: Executor = db): Promise<void> {
      const { id, created_at: _c, ...rest } = toRow(record);
      await ex.updateTable('exchange_accounts').set(rest).where('id', '=', id).execute();
    },

    /**
     * Locks the account's row until the transaction ends (a write that changes nothing, which
     * both databases lock), so a check of its users and the change that depends on it are one
     * step. False when there is no such account.
     */
    async lock(id: string, trx: Executor): Promise<boolean> {
      const result = await trx.updateTable('exchange_accounts').set((eb) => ({ updated_at: eb.ref('updated_at') })).where('id', '=', id).executeTakeFirst();
      return Number(result.numUpdatedRows) > 0;
    },

    async delete(id: string, ex: Executor = db): Promise<boolean> {
      const result = await ex.deleteFrom('exchange_accounts').where('id', '=', id).executeTakeFirst();
      return Number(result.numDeletedRows) > 0;
    },

    /** How many bot instances use each of these accounts (by name); accounts without any are absent. */
    async usage(names: readonly string[], ex: Executor = db): Promise<Map<string, number>> {
      if (names.length === 0) return new Map();
      const rows = await ex
        .selectFrom('instances')
        .select((eb) => ['account', eb.fn.countAll().as('n')])
        .where('account', 'in', [...names])
        .groupBy('account')
        .execute();
      return new Map(rows.map((r) => [r.account, toCount(r.n)]));
    },

    /** The names of (up to `limit` of) the instances using an account, for messages. */
    async instanceNames(account: string, limit: number, ex: Executor = db): Promise<string[]> {
      const rows = await ex.selectFrom('instances').select('name').where('account', '=', account).orderBy('name').limit(limit).execute();
      return rows.map((r) => r.name);
    },
  };
}

export type AccountsRepo = ReturnType<typeof createAccountsRepo>;
