import { sql } from 'kysely';
import type { Db, Executor } from '../../db/database.js';
import { likeContains, toCount } from '../../db/errors.js';
import type { UserRow } from '../../db/types.js';
import type { Role } from '../../lib/roles.js';

export interface User {
  id: string;
  username: string;
  email: string | null;
  role: Role;
  active: boolean;
  lastLogin: string | null;
  createdAt: string;
  updatedAt: string;
}

export interface UserListFilter {
  page: number;
  limit: number;
  q?: string | undefined;
  role?: Role | undefined;
  active?: boolean | undefined;
}

const USER_COLUMNS = ['id', 'username', 'email', 'role', 'active', 'last_login', 'created_at', 'updated_at'] as const;

function toUser(row: Omit<UserRow, 'password_hash'>): User {
  return {
    id: row.id,
    username: row.username,
    email: row.email,
    role: row.role,
    active: row.active === 1,
    lastLogin: row.last_login,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

/** The only module that reads password hashes; nothing it returns as a User carries one. */
export function createUsersRepo(db: Db) {
  return {
    async findById(id: string, ex: Executor = db): Promise<User | undefined> {
      const row = await ex.selectFrom('users').select(USER_COLUMNS).where('id', '=', id).executeTakeFirst();
      return row && toUser(row);
    },

    async findByUsername(username: string, ex: Executor = db): Promise<User | undefined> {
      const row = await ex.selectFrom('users').select(USER_COLUMNS).where('username', '=', username.toLowerCase()).executeTakeFirst();
      return row && toUser(row);
    },

    async findByEmail(email: string, ex: Executor = db): Promise<User | undefined> {
      const row = await ex.selectFrom('users').select(USER_COLUMNS).where('email', '=', email.toLowerCase()).executeTakeFirst();
      return row && toUser(row);
    },

    async findPasswordHash(id: string, ex: Executor = db): Promise<string | undefined> {
      const row = await ex.selectFrom('users').select('password_hash').where('id', '=', id).executeTakeFirst();
      return row?.password_hash;
    },

    async findCredentials(username: string, ex: Executor = db): Promise<{ user: User; passwordHash: string } | undefined> {
      const row = await ex.selectFrom('users').selectAll().where('username', '=', username.toLowerCase()).executeTakeFirst();
      return row && { user: toUser(row), passwordHash: row.password_hash };
    },

    async list(filter: UserListFilter, ex: Executor = db): Promise<{ users: User[]; total: number }> {
      let query = ex.selectFrom('users');
      if (filter.q) {
        const pattern = likeContains(filter.q);
        query = query.where((eb) =>
          eb.or([
            eb(sql`lower(username)`, 'like', sql`${pattern} escape '\\'`),
            eb(sql`lower(coalesce(email, ''))`, 'like', sql`${pattern} escape '\\'`),
          ]),
        );
      }
      if (filter.role) query = query.where('role', '=', filter.role);
      if (filter.active !== undefined) query = query.where('active', '=', filter.active ? 1 : 0);
      const [rows, count] = await Promise.all([
        query.select(USER_COLUMNS).orderBy('username').limit(filter.limit).offset((filter.page - 1) * filter.limit).execute(),
        query.select((eb) => eb.fn.countAll().as('total')).executeTakeFirstOrThrow(),
      ]);
      return { users: rows.map(toUser), total: toCount(count.total) };
    },

    async create(
      input: { id: string; username: string; email: string | null; role: Role; active: boolean; passwordHash: string; now: string },
      ex: Executor = db,
    ): Promise<User> {
      const row = await ex
        .insertInto('users')
        .values({
          id: input.id,
          username: input.username.toLowerCase(),
          email: input.email?.toLowerCase() ?? null,
          role: input.role,
          active: input.active ? 1 : 0,
          password_hash: input.passwordHash,
          created_at: input.now,
          updated_at: input.now,
        })
        .returning(USER_COLUMNS)
        .executeTakeFirstOrThrow();
      return toUser(row);
    },

    async update(
      id: string,
      patch: { email?: string | null; role?: Role; active?: boolean; now: string },
      ex: Executor = db,
    ): Promise<User | undefined> {
      const row = await ex
        .updateTable('users')
        .set({
          ...(patch.email !== undefined && { email: patch.email?.toLowerCase() ?? null }),
          ...(patch.role !== undefined && { role: patch.role }),
          ...(patch.active !== undefined && { active: patch.active ? 1 : 0 }),
          updated_at: patch.now,
        })
        .where('id', '=', id)
        .returning(USER_COLUMNS)
        .executeTakeFirst();
      return row && toUser(row);
    },

    async setPasswordHash(id: string, passwordHash: string, now: string, ex: Executor = db): Promise<void> {
      await ex.updateTable('users').set({ password_hash: passwordHash, updated_at: now }).where('id', '=', id).execute();
    },

    async touchLogin(id: string, at: string, ex: Executor = db): Promise<void> {
      await ex.updateTable('users').set({ last_login: at }).where('id', '=', id).execute();
    },

    async delete(id: string, ex: Executor = db): Promise<boolean> {
      const result = await ex.deleteFrom('users').where('id', '=', id).executeTakeFirst();
      return Number(result.numDeletedRows) > 0;
    },

    async countActiveAdmins(ex: Executor = db): Promise<number> {
      const row = await ex
        .selectFrom('users')
        .select((eb) => eb.fn.countAll().as('n'))
        .where('role', '=', 'admin')
        .where('active', '=', 1)
        .executeTakeFirstOrThrow();
      return toCount(row.n);
    },

    /**
     * Counts the active admins and locks their rows until the transaction ends. A plain count
     * does not stop two transactions (admins demoting each other on PostgreSQL) from both
     * seeing two admins: here the second waits for the first and counts what it left.
     */
    async lockActiveAdmins(trx: Executor): Promise<number> {
      const result = await trx
        .updateTable('users')
        .set((eb) => ({ role: eb.ref('role') }))
        .where('role', '=', 'admin')
        .where('active', '=', 1)
        .executeTakeFirst();
      return Number(result.numUpdatedRows);
    },

    async count(ex: Executor = db): Promise<number> {
      const row = await ex.selectFrom('users').select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow();
      return toCount(row.n);
    },
  };
}

export type UsersRepo = ReturnType<typeof createUsersRepo>;
