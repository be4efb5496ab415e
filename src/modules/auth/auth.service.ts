import { createHash, randomBytes } from 'node:crypto';
import { SignJWT, jwtVerify } from 'jose';
import type { Clock } from '../../lib/clock.js';
import { AlreadyExistsError, ConflictError, NotFoundError, RateLimitedError, UnauthorizedError, ValidationError } from '../../lib/errors.js';
import { newId } from '../../lib/ids.js';
import type { PasswordHasher } from '../../lib/passwords.js';
import { isUniqueViolation } from '../../db/errors.js';
import type { AuditService } from '../audit/audit.service.js';
import type { User, UsersRepo } from '../users/users.repo.js';
import type { ApiToken, CredentialOwner, CredentialsRepo } from './credentials.repo.js';
import type { Actor, CredentialRef, Principal, Revocation } from './auth.types.js';
import { CredentialCache } from './credential-cache.js';
import { LoginThrottle } from './login-throttle.js';
import { RefusalLog, type RefusalEntry } from './refusal-log.js';

export const API_TOKEN_PREFIX = 'pbf_';
const TOKEN_TOUCH_INTERVAL_MS = 60_000;

export interface AuthServiceDeps {
  usersRepo: Pick<UsersRepo, 'findCredentials' | 'findPasswordHash' | 'setPasswordHash' | 'touchLogin' | 'findById'>;
  credentialsRepo: CredentialsRepo;
  audit: Pick<AuditService, 'record'>;
  hasher: PasswordHasher;
  clock: Clock;
  jwtSecret: Uint8Array;
  jwtExpiryMs: number;
  loginMaxFailures: number;
  loginWindowMs: number;
}

const hashToken = (token: string) => createHash('sha256').update(token).digest('hex');

export function createAuthService(deps: AuthServiceDeps) {
  const { usersRepo, credentialsRepo, audit, hasher, clock } = deps;
  const throttle = new LoginThrottle(deps.loginMaxFailures, deps.loginWindowMs);
  const refusals = new RefusalLog(deps.loginWindowMs);
  // Wrong current passwords, per user: the same limit and window as logins.
  const passwordThrottle = new LoginThrottle(deps.loginMaxFailures, deps.loginWindowMs);
  const passwordRefusals = new RefusalLog(deps.loginWindowMs);
  const revocationListeners: ((r: Revocation) => void)[] = [];
  const cache = new CredentialCache();
  const emit = (r: Revocation) => {
    cache.forget(r);
    revocationListeners.forEach((listener) => listener(r));
  };
  const now = () => clock.now();
  // A real hash of a random password: verifying unknown users against it takes as long as
  // verifying known ones, so response times do not reveal which usernames exist.
  let dummyHash: Promise<string> | undefined;
  const getDummyHash = () => (dummyHash ??= hasher.hash(randomBytes(16).toString('hex')));

  /** Refused attempts of throttled keys, written as at most two entries per key and window. */
  async function auditRefusals(entries: readonly RefusalEntry[], action: 'login' | 'password_change'): Promise<void> {
    for (const entry of entries) {
      const [kind, ...rest] = entry.key.split(':');
      const subject = kind === 'ip' ? `from ${rest.join(':')}` : kind === 'untracked' ? 'from sources no longer tracked' : `for ${rest.join(':')}`;
      const what = action === 'login' ? 'login' : 'password change';
      const message = entry.first
        ? `${what} refused ${subject}: too many failed attempts; further refusals are counted`
        : `${entry.count} ${what} attempt(s) refused ${subject}: too many failed attempts`;
      await audit.record({
        type: 'auth',
        level: 'warning',
        action,
        message,
        details: { refused: entry.count, since: new Date(entry.since).toISOString(), until: new Date(entry.until).toISOString(), usernames: entry.usernames },
        actor: { userId: null, username: entry.usernames.length === 1 ? (entry.usernames[0] ?? null) : null, ip: entry.ip, requestId: null },
      });
    }
  }

  function toPrincipal(owner: CredentialOwner, kind: Principal['kind']): Principal {
    return { userId: owner.userId, username: owner.username, role: owner.role, kind, credentialId: owner.credentialId, expiresAt: owner.expiresAt };
  }

  async function issueSession(user: User, meta: { ip: string | null; userAgent: string | null }) {
    const issuedAt = now();
    const expiresAt = new Date(issuedAt.getTime() + deps.jwtExpiryMs);
    const sessionId = newId();
    await credentialsRepo.createSession({
      id: sessionId,
      userId: user.id,
      createdAt: issuedAt.toISOString(),
      expiresAt: expiresAt.toISOString(),
      ip: meta.ip,
      userAgent: meta.userAgent,
    });
    const token = await new SignJWT({})
      .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
      .setSubject(user.id)
      .setJti(sessionId)
      .setIssuedAt(Math.floor(issuedAt.getTime() / 1000))
      .setExpirationTime(Math.floor(expiresAt.getTime() / 1000))
      .sign(deps.jwtSecret);
    return { token, expiresAt: expiresAt.toISOString() };
  }

  return {
    onRevocation(listener: (r: Revocation) => void): void {
      revocationListeners.push(listener);
    },

    async login(input: { username: string; password: string; userAgent: string | null }, actor: Actor) {
      const username = input.username.toLowerCase();
      const ipKey = `ip:${actor.ip ?? 'unknown'}`;
      const userKey = `user:${username}`;
      const at = now().getTime();
      const auditBase = { type: 'auth' as const, action: 'login', actor: { ...actor, username } };
      // Counted before the password is checked: concurrent attempts cannot outrun the limit.
      const wait = throttle.tryReserve([ipKey, userKey], at);
      if (wait > 0) {
        // The key that refuses names the window: an IP trying many usernames is one entry.
        const key = throttle.retryAfter(ipKey, at) > 0 ? ipKey : userKey;
        await auditRefusals(refusals.refuse(key, { now: at, ip: actor.ip, username }), 'login');
        throw new RateLimitedError(`too many failed logins; try again in ${wait}s`, wait);
      }
      const found = await usersRepo.findCredentials(username);
      const passwordOk = await hasher.verify(found?.passwordHash ?? (await getDummyHash()), input.password);
      if (!found || !passwordOk || !found.user.active) {
        // The reservation stays: it is this failure, counted.
        const reason = !found ? 'unknown user' : !passwordOk ? 'wrong password' : 'user is deactivated';
        await audit.record({ ...auditBase, level: 'warning', message: `login failed for ${username}: ${reason}` });
        // One message for every cause, so the answer does not reveal which usernames exist.
        throw new UnauthorizedError('invalid username or password');
      }
      // A success clears the username's failures and does not count against the IP (an office
      // behind one address); it never clears the IP's failures, or one valid account would let
      // its owner guess other users' passwords without limit.
      throttle.reset(userKey);
      throttle.release(ipKey, at);
      const session = await issueSession(found.user, { ip: actor.ip, userAgent: input.userAgent });
      const lastLogin = now().toISOString();
      await usersRepo.touchLogin(found.user.id, lastLogin);
      await audit.record({ ...auditBase, actor: { ...actor, userId: found.user.id, username }, level: 'success', message: `${username} logged in` });
      return { token: session.token, expiresAt: session.expiresAt, user: { ...found.user, lastLogin } };
    },

    /** Resolves a bearer credential to its principal, or throws UNAUTHORIZED. */
    async authenticate(token: string): Promise<Principal> {
      const at = now();
      const nowMs = at.getTime();
      if (token.startsWith(API_TOKEN_PREFIX)) {
        const tokenHash = hashToken(token);
        const cached = cache.liveOwner(tokenHash, nowMs);
        if (cached) return toPrincipal(cached.owner, 'api_token');
        const owner = await credentialsRepo.findLiveApiToken(tokenHash, at.toISOString());
        if (!owner) throw new UnauthorizedError('invalid, expired or revoked token');
        cache.rememberLive(tokenHash, 'api_token', owner, nowMs);
        // Recording every use would be a write per request; a minute's precision is plenty.
        if (!owner.lastUsedAt || at.getTime() - Date.parse(owner.lastUsedAt) > TOKEN_TOUCH_INTERVAL_MS) {
          await credentialsRepo.touchApiToken(owner.credentialId, at.toISOString());
        }
        return toPrincipal(owner, 'api_token');
      }
      let sessionId = cache.verifiedSession(token, nowMs);
      if (!sessionId) {
        try {
          const { payload } = await jwtVerify(token, deps.jwtSecret, { algorithms: ['HS256'], currentDate: at });
          sessionId = payload.jti;
          if (sessionId && payload.exp) cache.rememberVerified(token, sessionId, payload.exp * 1000);
        } catch {
          throw new UnauthorizedError('invalid or expired token');
        }
      }
      if (!sessionId) throw new UnauthorizedError('invalid or expired token');
      const cached = cache.liveOwner(sessionId, nowMs);
      if (cached) return toPrincipal(cached.owner, 'session');
      const owner = await credentialsRepo.findLiveSession(sessionId, at.toISOString());
      if (!owner) throw new UnauthorizedError('session ended; log in again');
      cache.rememberLive(sessionId, 'session', owner, nowMs);
      return toPrincipal(owner, 'session');
    },

    async logout(principal: Principal, actor: Actor): Promise<void> {
      if (principal.kind !== 'session') throw new ConflictError('API tokens are revoked with DELETE /api/v1/auth/tokens/:id');
      await credentialsRepo.revokeSession(principal.credentialId, now().toISOString());
      emit({ kind: 'session', id: principal.credentialId });
      await audit.record({ type: 'auth', level: 'info', action: 'logout', message: `${principal.username} logged out`, actor });
    },

    /**
     * Checks the current password (throttled per user like logins: counted before the check) and
     * sets the new one. Ends the caller's other sessions and, unless `keepApiTokens`, every API
     * token of theirs: whoever learned the old password may have made one.
     */
    async changePassword(principal: Principal, input: { currentPassword: string; newPassword: string; keepApiTokens?: boolean | undefined }, actor: Actor): Promise<void> {
      const key = `user:${principal.userId}`;
      const at = now().getTime();
      const wait = passwordThrottle.tryReserve([key], at);
      if (wait > 0) {
        await auditRefusals(passwordRefusals.refuse(`user:${principal.username}`, { now: at, ip: actor.ip, username: principal.username }), 'password_change');
        throw new RateLimitedError(`too many wrong current passwords; try again in ${wait}s`, wait);
      }
      const current = await usersRepo.findPasswordHash(principal.userId);
      if (!current || !(await hasher.verify(current, input.currentPassword))) {
        await audit.record({ type: 'auth', level: 'warning', action: 'password_change', message: `password change refused for ${principal.username}: wrong current password`, actor });
        throw ValidationError.field('currentPassword', 'does not match your current password');
      }
      passwordThrottle.reset(key);
      if (input.currentPassword === input.newPassword) throw ValidationError.field('newPassword', 'must differ from the current password');
      const stamp = now().toISOString();
      await usersRepo.setPasswordHash(principal.userId, await hasher.hash(input.newPassword), stamp);
      const keep = principal.kind === 'session' ? principal.credentialId : undefined;
      const revoked = await credentialsRepo.revokeUserSessions(principal.userId, stamp, keep);
      revoked.forEach((id) => emit({ kind: 'session', id }));
      // A change made with an API token keeps that token only when the caller asks to keep them all.
      const deletedTokens = input.keepApiTokens ? [] : await credentialsRepo.deleteUserApiTokens(principal.userId);
      deletedTokens.forEach((id) => emit({ kind: 'api_token', id }));
      await audit.record({
        type: 'auth',
        level: 'success',
        action: 'password_change',
        message: `${principal.username} changed their password; ${revoked.length} other session(s) and ${deletedTokens.length} API token(s) ended`,
        details: { sessionsEnded: revoked.length, apiTokensEnded: deletedTokens.length },
        actor,
      });
    },

    /**
     * Which of these credentials stopped working: revoked, expired, deleted, or their user
     * deactivated. One query per kind (per 500 ids), however many there are; the hub asks on
     * every heartbeat, to close connections whose credential another process ended.
     */
    endedCredentials: async (credentials: readonly CredentialRef[]): Promise<CredentialRef[]> => {
      const at = now().toISOString();
      const idsOf = (kind: CredentialRef['kind']) => credentials.filter((c) => c.kind === kind).map((c) => c.id);
      const [sessions, apiTokens] = await Promise.all([credentialsRepo.liveSessionIds(idsOf('session'), at), credentialsRepo.liveApiTokenIds(idsOf('api_token'), at)]);
      return credentials.filter((c) => !(c.kind === 'session' ? sessions : apiTokens).has(c.id));
    },

    /** A user's role or state changed: their next request is checked against the database. */
    forgetUser(userId: string): void {
      cache.forget({ kind: 'user', userId });
    },

    /**
     * Ends every session and every API token of a user (deactivation, deletion, password reset):
     * a reactivated account starts with no credential but its password.
     */
    async revokeUser(userId: string): Promise<{ sessions: number; apiTokens: number }> {
      const sessions = await credentialsRepo.revokeUserSessions(userId, now().toISOString());
      const apiTokens = await credentialsRepo.deleteUserApiTokens(userId);
      emit({ kind: 'user', userId });
      return { sessions: sessions.length, apiTokens: apiTokens.length };
    },

    /** The caller's live sessions, the one making the request marked `current`. */
    async listSessions(principal: Principal) {
      const sessions = await credentialsRepo.listLiveSessions(principal.userId, now().toISOString());
      return sessions.map((s) => ({ ...s, current: principal.kind === 'session' && s.id === principal.credentialId }));
    },

    /** Ends one of the caller's own sessions (another user's, or an ended one, is not found); its realtime connections close at once. */
    async revokeSession(principal: Principal, id: string, actor: Actor): Promise<void> {
      const session = await credentialsRepo.revokeOwnSession(id, principal.userId, now().toISOString());
      if (!session) throw new NotFoundError('session', id);
      emit({ kind: 'session', id });
      const current = principal.kind === 'session' && principal.credentialId === id;
      await audit.record({
        type: 'auth',
        level: 'info',
        action: 'session_revoke',
        message: `${principal.username} ended ${current ? 'their current' : 'a'} session${session.ip ? ` from ${session.ip}` : ''}`,
        details: { sessionId: id, createdAt: session.createdAt, ip: session.ip, userAgent: session.userAgent },
        actor,
      });
    },

    async createApiToken(principal: Principal, input: { name: string; expiresInDays?: number | undefined }, actor: Actor) {
      const token = `${API_TOKEN_PREFIX}${randomBytes(32).toString('base64url')}`;
      const createdAt = now();
      const expiresAt = input.expiresInDays ? new Date(createdAt.getTime() + input.expiresInDays * 86_400_000).toISOString() : null;
      let apiToken: ApiToken;
      try {
        apiToken = await credentialsRepo.createApiToken({
          id: newId(),
          userId: principal.userId,
          name: input.name,
          tokenHash: hashToken(token),
          prefix: token.slice(0, API_TOKEN_PREFIX.length + 6),
          createdAt: createdAt.toISOString(),
          expiresAt,
        });
      } catch (error) {
        if (isUniqueViolation(error)) throw new AlreadyExistsError('API token', 'name', input.name);
        throw error;
      }
      await audit.record({ type: 'auth', level: 'info', action: 'api_token_create', message: `${principal.username} created API token "${input.name}"`, details: { tokenId: apiToken.id, expiresAt }, actor });
      return { ...apiToken, token };
    },

    listApiTokens: (principal: Principal) => credentialsRepo.listApiTokens(principal.userId),

    async revokeApiToken(principal: Principal, id: string, actor: Actor): Promise<void> {
      const name = await credentialsRepo.findApiTokenName(id, principal.userId);
      if (name === undefined || !(await credentialsRepo.deleteApiToken(id, principal.userId))) throw new NotFoundError('API token', id);
      emit({ kind: 'api_token', id });
      await audit.record({ type: 'auth', level: 'info', action: 'api_token_revoke', message: `${principal.username} revoked API token "${name}"`, details: { tokenId: id }, actor });
    },

    /** Forgets attempts past their window and writes the refusal counts of ended windows. */
    async pruneThrottle(): Promise<void> {
      const at = now().getTime();
      throttle.prune(at);
      passwordThrottle.prune(at);
      await auditRefusals(refusals.flush(at), 'login');
      await auditRefusals(passwordRefusals.flush(at), 'password_change');
    },

    /** At shutdown: writes every refusal count not yet written. */
    async flushRefusals(): Promise<void> {
      const at = now().getTime();
      await auditRefusals(refusals.flush(at, true), 'login');
      await auditRefusals(passwordRefusals.flush(at, true), 'password_change');
    },

    purgeExpiredSessions: () => credentialsRepo.purgeSessions(now().toISOString()),
  };
}

export type AuthService = ReturnType<typeof createAuthService>;
