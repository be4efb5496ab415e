import type { Db } from '../../db/database.js';
import { isUniqueViolation } from '../../db/errors.js';
import type { Clock } from '../../lib/clock.js';
import { AlreadyExistsError, ConflictError, NotFoundError } from '../../lib/errors.js';
import { newId } from '../../lib/ids.js';
import { generatePassword, type PasswordHasher } from '../../lib/passwords.js';
import type { Role } from '../../lib/roles.js';
import type { AuditService } from '../audit/audit.service.js';
import type { AuthService } from '../auth/auth.service.js';
import type { Actor } from '../auth/auth.types.js';
import { validateEmail, validatePassword, validateUsername } from './users.fns.js';
import type { User, UserListFilter, UsersRepo } from './users.repo.js';

export interface CreateUserInput {
  username: string;
  email?: string | null | undefined;
  password: string;
  role: Role;
  active?: boolean | undefined;
}

export interface UpdateUserInput {
  email?: string | null | undefined;
  role?: Role | undefined;
  active?: boolean | undefined;
}

export type BootstrapOutcome =
  | { status: 'ok' }
  | { status: 'created'; username: string; generatedPassword?: string }
  | { status: 'no_active_admin' };

export function createUsersService(deps: {
  db: Db;
  usersRepo: UsersRepo;
  audit: Pick<AuditService, 'record'>;
  auth: Pick<AuthService, 'revokeUser' | 'forgetUser'>;
  hasher: PasswordHasher;
  clock: Clock;
}) {
  const { db, usersRepo, audit, hasher, clock } = deps;

  async function mustFind(id: string): Promise<User> {
    const user = await usersRepo.findById(id);
    if (!user) throw new NotFoundError('user', id);
    return user;
  }

  async function assertUnique(input: { username?: string; email?: string | null }, exceptId?: string) {
    if (input.username) {
      const other = await usersRepo.findByUsername(input.username);
      if (other && other.id !== exceptId) throw new AlreadyExistsError('user', 'username', input.username.toLowerCase());
    }
    if (input.email) {
      const other = await usersRepo.findByEmail(input.email);
      if (other && other.id !== exceptId) throw new AlreadyExistsError('user', 'email', input.email.toLowerCase());
    }
  }

  function uniqueConflict(error: unknown, input: { username?: string; email?: string | null }): never {
    if (isUniqueViolation(error)) {
      const field = /email/i.test(String((error as Error).message)) ? 'email' : 'username';
      throw new AlreadyExistsError('user', field, String((field === 'email' ? input.email : input.username) ?? ''));
    }
    throw error;
  }

  const service = {
    list: (filter: UserListFilter) => usersRepo.list(filter),
    get: mustFind,

    async create(input: CreateUserInput, actor: Actor): Promise<User> {
      validateUsername(input.username);
      if (input.email != null) validateEmail(input.email);
      validatePassword(input.password);
      await assertUnique(input);
      const passwordHash = await hasher.hash(input.password);
      const user = await usersRepo
        .create({ id: newId(), username: input.username, email: input.email ?? null, role: input.role, active: input.active ?? true, passwordHash, now: clock.now().toISOString() })
        .catch((error: unknown) => uniqueConflict(error, input));
      await audit.record({ type: 'action', level: 'success', action: 'user_create', message: `user ${user.username} created with role ${user.role}`, details: { userId: user.id, role: user.role }, actor });
      return user;
    },

    async update(id: string, input: UpdateUserInput, actor: Actor): Promise<User> {
      if (input.email != null) validateEmail(input.email);
      const before = await mustFind(id);
      if (input.email) await assertUnique({ email: input.email }, id);
      const losesAdmin = before.role === 'admin' && before.active && ((input.role && input.role !== 'admin') || input.active === false);
      // The check and the write share a transaction so two admins demoting each other cannot both succeed.
      const user = await db.transaction().execute(async (trx) => {
        if (losesAdmin && (await usersRepo.lockActiveAdmins(trx)) <= 1) {
          throw new ConflictError('this is the last active admin; promote another user first');
        }
        return usersRepo.update(id, { ...input, now: clock.now().toISOString() }, trx);
      }).catch((error: unknown) => uniqueConflict(error, input));
      if (!user) throw new NotFoundError('user', id);
      deps.auth.forgetUser(id);
      if (input.active === false && before.active) await deps.auth.revokeUser(id);
      const changes = Object.fromEntries(Object.entries(input).filter(([, v]) => v !== undefined));
      await audit.record({ type: 'action', level: 'success', action: 'user_update', message: `user ${user.username} updated`, details: { userId: id, changes }, actor });
      return user;
    },

    async delete(id: string, actor: Actor): Promise<void> {
      if (id === actor.userId) throw new ConflictError('you cannot delete your own account');
      const user = await mustFind(id);
      await db.transaction().execute(async (trx) => {
        if (user.role === 'admin' && user.active && (await usersRepo.lockActiveAdmins(trx)) <= 1) {
          throw new ConflictError('this is the last active admin; promote another user first');
        }
        await usersRepo.delete(id, trx);
      });
      await deps.auth.revokeUser(id);
      await audit.record({ type: 'action', level: 'warning', action: 'user_delete', message: `user ${user.username} deleted`, details: { userId: id }, actor });
    },

    /** Sets a new password (or generates one, returned once) and ends the user's sessions and API tokens. */
    async resetPassword(id: string, newPassword: string | undefined, actor: Actor): Promise<{ temporaryPassword?: string }> {
      if (newPassword !== undefined) validatePassword(newPassword, 'newPassword');
      const user = await mustFind(id);
      const password = newPassword ?? generatePassword();
      await usersRepo.setPasswordHash(id, await hasher.hash(password), clock.now().toISOString());
      const ended = await deps.auth.revokeUser(id);
      await audit.record({
        type: 'auth',
        level: 'warning',
        action: 'password_reset',
        message: `password of ${user.username} reset by ${actor.username ?? 'system'}; ${ended.sessions} session(s) and ${ended.apiTokens} API token(s) ended`,
        details: { userId: id, generated: !newPassword, sessionsEnded: ended.sessions, apiTokensEnded: ended.apiTokens },
        actor,
      });
      return newPassword ? {} : { temporaryPassword: password };
    },

    /**
     * At every start. With no users at all (the first start), creates `admin` with the configured
     * password or a generated one, which the caller prints once. With users but no active admin
     * (users created from the CLI before the first start, say), says so: nobody could manage users.
     */
    async bootstrapAdmin(configuredPassword: string, actor: Actor): Promise<BootstrapOutcome> {
      if ((await usersRepo.count()) > 0) return (await usersRepo.countActiveAdmins()) > 0 ? { status: 'ok' } : { status: 'no_active_admin' };
      const password = configuredPassword || generatePassword();
      await service.create({ username: 'admin', password, role: 'admin' }, actor);
      return configuredPassword ? { status: 'created', username: 'admin' } : { status: 'created', username: 'admin', generatedPassword: password };
    },
  };
  return service;
}

export type UsersService = ReturnType<typeof createUsersService>;
