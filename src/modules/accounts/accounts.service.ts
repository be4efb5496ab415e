import type { Static } from 'typebox';
import type { Executor } from '../../db/database.js';
import { isUniqueViolation } from '../../db/errors.js';
import type { Clock } from '../../lib/clock.js';
import { AlreadyExistsError, ConflictError, NotFoundError, ValidationError, type FieldIssue } from '../../lib/errors.js';
import { newId } from '../../lib/ids.js';
import type { SecretBox } from '../../lib/secret-box.js';
import type { AuditService } from '../audit/audit.service.js';
import type { Actor } from '../auth/auth.types.js';
import { credentialsAad, isReservedName, mergeCredentials, toApiKeyEntry } from './accounts.fns.js';
import type { AccountListFilter, AccountRecord, AccountsRepo } from './accounts.repo.js';
import type { CreateAccountBody, UpdateAccountBody } from './accounts.schemas.js';
import { SECRET_FIELDS, type Account, type AccountChange, type ApiKeyEntry, type Credentials, type Exchange, type SecretField } from './accounts.types.js';

export type CreateAccountInput = Static<typeof CreateAccountBody>;
export type UpdateAccountInput = Static<typeof UpdateAccountBody>;
export type AccountListener = (event: AccountChange) => void | Promise<void>;

/** Instances named in a refusal: enough to find them, short enough to read. */
const NAMED_USERS = 5;

export interface AccountsServiceDeps {
  repo: AccountsRepo;
  secretBox: SecretBox;
  audit: Pick<AuditService, 'record'>;
  clock: Clock;
  /** A listener threw or rejected; the change itself has committed. */
  onListenerError: (error: unknown, event: AccountChange) => void;
}

export function createAccountsService(deps: AccountsServiceDeps) {
  const { repo, secretBox, audit, clock } = deps;
  const listeners = new Set<AccountListener>();

  const seal = (id: string, credentials: Credentials): string => secretBox.seal(JSON.stringify(credentials), credentialsAad(id));
  const open = (record: AccountRecord): Credentials => JSON.parse(secretBox.open(record.sealed, credentialsAad(record.id))) as Credentials;
  const setFields = (credentials: Credentials): SecretField[] => SECRET_FIELDS.filter((f) => credentials[f] !== undefined);

  function toPublic(record: AccountRecord, usedBy: number): Account {
    return {
      id: record.id,
      name: record.name,
      exchange: record.exchange,
      isVault: record.isVault,
      fields: Object.fromEntries(SECRET_FIELDS.map((f) => [f, record.fields.includes(f)])) as Record<SecretField, boolean>,
      usedBy,
      createdAt: record.createdAt,
      updatedAt: record.updatedAt,
    };
  }

  async function withUsage(record: AccountRecord): Promise<Account> {
    return toPublic(record, (await repo.usage([record.name])).get(record.name) ?? 0);
  }

  async function mustFind(id: string): Promise<AccountRecord> {
    const record = await repo.findById(id);
    if (!record) throw new NotFoundError('account', id);
    return record;
  }

  function checkName(name: string): void {
    if (isReservedName(name)) throw ValidationError.field('name', `${JSON.stringify(name)} is reserved in api-keys.json`);
  }

  async function assertNameFree(name: string, exceptId?: string): Promise<void> {
    const other = await repo.findByName(name);
    if (other && other.id !== exceptId) throw new AlreadyExistsError('account', 'name', name);
  }

  const nameTaken = (name: string) => (error: unknown): never => {
    if (isUniqueViolation(error)) throw new AlreadyExistsError('account', 'name', name);
    throw error;
  };

  function throwIssues(issues: FieldIssue[]): void {
    if (issues.length) throw new ValidationError(issues.map((i) => `${i.field}: ${i.message}`).join('; '), issues);
  }

  /** Refuses a change while instances use the account; names a few of them. */
  async function assertUnused(record: AccountRecord, what: string, ex: Executor): Promise<void> {
    const count = (await repo.usage([record.name], ex)).get(record.name) ?? 0;
    if (count === 0) return;
    const names = await repo.instanceNames(record.name, NAMED_USERS, ex);
    const listed = `${names.join(', ')}${count > names.length ? `, and ${count - names.length} more` : ''}`;
    throw new ConflictError(`account ${record.name} is used by ${count} instance(s) (${listed}): ${what}`, { instances: count, names });
  }

  function notify(event: AccountChange): void {
    for (const listener of listeners) {
      try {
        const result = listener(event);
        if (result instanceof Promise) result.catch((error: unknown) => deps.onListenerError(error, event));
      } catch (error) {
        deps.onListenerError(error, event);
      }
    }
  }

  return {
    async list(filter: AccountListFilter): Promise<{ accounts: Account[]; total: number }> {
      const result = await repo.list(filter);
      const usage = await repo.usage(result.accounts.map((a) => a.name));
      return { accounts: result.accounts.map((a) => toPublic(a, usage.get(a.name) ?? 0)), total: result.total };
    },

    get: async (id: string): Promise<Account> => withUsage(await mustFind(id)),

    async getByName(name: string): Promise<Account> {
      const record = await repo.findByName(name);
      if (!record) throw new NotFoundError('account', name);
      return withUsage(record);
    },

    async exchangeOf(name: string): Promise<Exchange> {
      const record = await repo.findByName(name);
      if (!record) throw new NotFoundError('account', name);
      return record.exchange;
    },

    async create(input: CreateAccountInput, actor: Actor): Promise<Account> {
      checkName(input.name);
      const merged = mergeCredentials(input.exchange, { credentials: {}, isVault: false, exchange: null }, input);
      throwIssues(merged.issues);
      await assertNameFree(input.name);
      const id = newId();
      const at = clock.now().toISOString();
      const fields = setFields(merged.credentials);
      const record: AccountRecord = { id, name: input.name, exchange: input.exchange, sealed: seal(id, merged.credentials), fields, isVault: merged.isVault, createdAt: at, updatedAt: at };
      await repo.insert(record).catch(nameTaken(record.name));
      await audit.record({
        type: 'action',
        level: 'success',
        action: 'account_create',
        message: `account ${record.name} (${record.exchange}) created with ${fields.join(', ')}${record.isVault ? ' (vault)' : ''}`,
        details: { accountId: id, account: record.name, exchange: record.exchange, fields, isVault: record.isVault },
        actor,
      });
      return toPublic(record, 0);
    },

    async update(id: string, input: UpdateAccountInput, actor: Actor): Promise<Account> {
      if (input.name !== undefined) checkName(input.name);
      const before = await mustFind(id);
      if (input.name !== undefined && input.name !== before.name) await assertNameFree(input.name, id);
      const { current, record, changes } = await repo
        .transaction(async (trx) => {
          if (!(await repo.lock(id, trx))) throw new NotFoundError('account', id);
          const current = (await repo.findById(id, trx)) as AccountRecord;
          const name = input.name ?? current.name;
          const exchange = input.exchange ?? current.exchange;
          const merged = mergeCredentials(exchange, { credentials: open(current), isVault: current.isVault, exchange: current.exchange }, input);
          throwIssues(merged.issues);
          const changes = [...(name !== current.name ? [`renamed from ${current.name}`] : []), ...(exchange !== current.exchange ? [`exchange ${current.exchange} -> ${exchange}`] : []), ...merged.changes];
          // Instances name their account in their configs and on their hosts, and trade on its exchange.
          const fixed = [name !== current.name && 'name', exchange !== current.exchange && 'exchange'].filter(Boolean);
          if (fixed.length) await assertUnused(current, `its ${fixed.join(' and ')} cannot change while instances use it`, trx);
          const record: AccountRecord = { ...current, name, exchange, sealed: seal(id, merged.credentials), fields: setFields(merged.credentials), isVault: merged.isVault, updatedAt: clock.now().toISOString() };
          await repo.update(record, trx);
          return { current, record, changes };
        })
        .catch(nameTaken(input.name ?? before.name));
      await audit.record({
        type: 'action',
        level: 'success',
        action: 'account_update',
        message: `account ${record.name} (${record.exchange}) updated${changes.length ? `: ${changes.join(', ')}` : ''}`,
        details: { accountId: id, account: record.name, exchange: record.exchange, changes, ...(record.name !== current.name && { previousName: current.name }) },
        actor,
      });
      notify({ name: record.name, kind: 'updated', ...(record.name !== current.name && { previousName: current.name }) });
      return withUsage(record);
    },

    async delete(id: string, actor: Actor): Promise<void> {
      const record = await repo.transaction(async (trx) => {
        if (!(await repo.lock(id, trx))) throw new NotFoundError('account', id);
        const record = (await repo.findById(id, trx)) as AccountRecord;
        await assertUnused(record, 'remove them or move them to another account first', trx);
        await repo.delete(id, trx);
        return record;
      });
      await audit.record({
        type: 'action',
        level: 'warning',
        action: 'account_delete',
        message: `account ${record.name} (${record.exchange}) deleted`,
        details: { accountId: id, account: record.name, exchange: record.exchange },
        actor,
      });
      notify({ name: record.name, kind: 'deleted' });
    },

    /** Decrypted api-keys.json entries, keyed by account name; unknown names are skipped. The only place secrets are opened. */
    async apiKeysFor(names: readonly string[]): Promise<Record<string, ApiKeyEntry>> {
      const entries: Record<string, ApiKeyEntry> = {};
      for (const record of await repo.findByNames([...new Set(names)])) {
        entries[record.name] = toApiKeyEntry(record.name, record.exchange, open(record), record.isVault);
      }
      return entries;
    },

    /** Listens to committed updates and deletes; returns a function that stops listening. */
    onChange(listener: AccountListener): () => void {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };
}

export type AccountsService = ReturnType<typeof createAccountsService>;
