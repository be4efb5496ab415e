import type { Db, Executor } from '../../db/database.js';
import type { Role } from '../../lib/roles.js';

export interface CredentialOwner {
  credentialId: string;
  userId: string;
  username: string;
  role: Role;
  expiresAt: string | null;
  lastUsedAt?: string | null;
}

export interface SessionInfo {
  id: string;
  createdAt: string;
  expiresAt: string;
  ip: string | null;
  userAgent: string | null;
}

export interface ApiToken {
  id: string;
  name: string;
  prefix: string;
  createdAt: string;
  expiresAt: string | null;
  lastUsedAt: string | null;
}

/** Ids per `in (...)` query: well under SQLite's and PostgreSQL's bound-parameter limits. */
const BATCH = 500;

function* batches(ids: readonly string[]): Generator<string[]> {
  for (let i = 0; i < ids.length; i += BATCH) yield ids.slice(i, i + BATCH);
}

/** Sessions (behind JWTs) and API tokens: the two credentials a request can carry. */
export function createCredentialsRepo(db: Db) {
  return {
    async createSession(
      input: { id: string; userId: string; createdAt: string; expiresAt: string; ip: string | null; userAgent: string | null },
      ex: Executor = db,
    ): Promise<void> {
      await ex
        .insertInto('sessions')
        .values({
          id: input.id,
          user_id: input.userId,
          created_at: input.createdAt,
          expires_at: input.expiresAt,
          ip: input.ip,
          user_agent: input.userAgent?.slice(0, 512) ?? null,
        })
        .execute();
    },

    /** A live session of an active user, or nothing. */
    async findLiveSession(id: string, now: string, ex: Executor = db): Promise<CredentialOwner | undefined> {
      const row = await ex
        .selectFrom('sessions')
        .innerJoin('users', 'users.id', 'sessions.user_id')
        .select(['sessions.id as credentialId', 'users.id as userId', 'users.username', 'users.role', 'sessions.expires_at as expiresAt'])
        .where('sessions.id', '=', id)
        .where('sessions.revoked_at', 'is', null)
        .where('sessions.expires_at', '>', now)
        .where('users.active', '=', 1)
        .executeTakeFirst();
      return row;
    },

    /** Which of these sessions are still live (not revoked, not expired, user active). */
    async liveSessionIds(ids: readonly string[], now: string, ex: Executor = db): Promise<Set<string>> {
      const live = new Set<string>();
      for (const batch of batches(ids)) {
        const rows = await ex
          .selectFrom('sessions')
          .innerJoin('users', 'users.id', 'sessions.user_id')
          .select('sessions.id')
          .where('sessions.id', 'in', batch)
          .where('sessions.revoked_at', 'is', null)
          .where('sessions.expires_at', '>', now)
          .where('users.active', '=', 1)
          .execute();
        for (const row of rows) live.add(row.id);
      }
      return live;
    },

    /** A user's live sessions (not revoked, not expired), newest first. */
    async listLiveSessions(userId: string, now: string, ex: Executor = db): Promise<SessionInfo[]> {
      return ex
        .selectFrom('sessions')
        .select(['id', 'created_at as createdAt', 'expires_at as expiresAt', 'ip', 'user_agent as userAgent'])
        .where('user_id', '=', userId)
        .where('revoked_at', 'is', null)
        .where('expires_at', '>', now)
        .orderBy('created_at', 'desc')
        .orderBy('id', 'desc')
        .execute();
    },

    /** Revokes a live session only if it belongs to `userId`; returns it, or nothing when there is no such live session of theirs. */
    async revokeOwnSession(id: string, userId: string, now: string, ex: Executor = db): Promise<SessionInfo | undefined> {
      return ex
        .updateTable('sessions')
        .set({ revoked_at: now })
        .where('id', '=', id)
        .where('user_id', '=', userId)
        .where('revoked_at', 'is', null)
        .where('expires_at', '>', now)
        .returning(['id', 'created_at as createdAt', 'expires_at as expiresAt', 'ip', 'user_agent as userAgent'])
        .executeTakeFirst();
    },

    async revokeSession(id: string, now: string, ex: Executor = db): Promise<void> {
      await ex.updateTable('sessions').set({ revoked_at: now }).where('id', '=', id).where('revoked_at', 'is', null).execute();
    },

    /** Revokes every live session of a user except `keepId`; returns the revoked ids. */
    async revokeUserSessions(userId: string, now: string, keepId?: string, ex: Executor = db): Promise<string[]> {
      let query = ex.updateTable('sessions').set({ revoked_at: now }).where('user_id', '=', userId).where('revoked_at', 'is', null);
      if (keepId) query = query.where('id', '!=', keepId);
      const rows = await query.returning('id').execute();
      return rows.map((r) => r.id);
    },

    async purgeSessions(before: string, ex: Executor = db): Promise<number> {
      const result = await ex.deleteFrom('sessions').where('expires_at', '<', before).executeTakeFirst();
      return Number(result.numDeletedRows);
    },

    async createApiToken(
      input: { id: string; userId: string; name: string; tokenHash: string; prefix: string; createdAt: string; expiresAt: string | null },
      ex: Executor = db,
    ): Promise<ApiToken> {
      await ex
        .insertInto('api_tokens')
        .values({
          id: input.id,
          user_id: input.userId,
          name: input.name,
          token_hash: input.tokenHash,
          prefix: input.prefix,
          created_at: input.createdAt,
          expires_at: input.expiresAt,
        })
        .execute();
      return { id: input.id, name: input.name, prefix: input.prefix, createdAt: input.createdAt, expiresAt: input.expiresAt, lastUsedAt: null };
    },

    async findLiveApiToken(tokenHash: string, now: string, ex: Executor = db): Promise<CredentialOwner | undefined> {
      return ex
        .selectFrom('api_tokens')
        .innerJoin('users', 'users.id', 'api_tokens.user_id')
        .select([
          'api_tokens.id as credentialId',
          'users.id as userId',
          'users.username',
          'users.role',
          'api_tokens.expires_at as expiresAt',
          'api_tokens.last_used_at as lastUsedAt',
        ])
        .where('api_tokens.token_hash', '=', tokenHash)
        .where('users.active', '=', 1)
        .where((eb) => eb.or([eb('api_tokens.expires_at', 'is', null), eb('api_tokens.expires_at', '>', now)]))
        .executeTakeFirst();
    },

    /** Which of these API tokens still work (not deleted, not expired, user active). */
    async liveApiTokenIds(ids: readonly string[], now: string, ex: Executor = db): Promise<Set<string>> {
      const live = new Set<string>();
      for (const batch of batches(ids)) {
        const rows = await ex
          .selectFrom('api_tokens')
          .innerJoin('users', 'users.id', 'api_tokens.user_id')
          .select('api_tokens.id')
          .where('api_tokens.id', 'in', batch)
          .where('users.active', '=', 1)
          .where((eb) => eb.or([eb('api_tokens.expires_at', 'is', null), eb('api_tokens.expires_at', '>', now)]))
          .execute();
        for (const row of rows) live.add(row.id);
      }
      return live;
    },

    async touchApiToken(id: string, at: string, ex: Executor = db): Promise<void> {
      await ex.updateTable('api_tokens').set({ last_used_at: at }).where('id', '=', id).execute();
    },

    async listApiTokens(userId: string, ex: Executor = db): Promise<ApiToken[]> {
      return ex
        .selectFrom('api_tokens')
        .select(['id', 'name', 'prefix', 'created_at as createdAt', 'expires_at as expiresAt', 'last_used_at as lastUsedAt'])
        .where('user_id', '=', userId)
        .orderBy('created_at', 'desc')
        .execute();
    },

    async findApiTokenName(id: string, userId: string, ex: Executor = db): Promise<string | undefined> {
      const row = await ex.selectFrom('api_tokens').select('name').where('id', '=', id).where('user_id', '=', userId).executeTakeFirst();
      return row?.name;
    },

    /** Deletes every API token of a user; returns the deleted ids. */
    async deleteUserApiTokens(userId: string, ex: Executor = db): Promise<string[]> {
      const rows = await ex.deleteFrom('api_tokens').where('user_id', '=', userId).returning('id').execute();
      return rows.map((r) => r.id);
    },

    async deleteApiToken(id: string, userId: string, ex: Executor = db): Promise<boolean> {
      const result = await ex.deleteFrom('api_tokens').where('id', '=', id).where('user_id', '=', userId).executeTakeFirst();
      return Number(result.numDeletedRows) > 0;
    },
  };
}

export type CredentialsRepo = ReturnType<typeof createCredentialsRepo>;
