import type { CredentialOwner } from './credentials.repo.js';
import type { Principal, Revocation } from './auth.types.js';

/**
 * Remembers credential checks so a busy API does not verify the same JWT and look up the same
 * session on every request. A verified JWT is kept until it expires (its signature cannot
 * change); a live-credential answer is kept for at most `ttlMs`. Revocations and user changes
 * made through this process drop the affected entries at once, so logout, deactivation and
 * password changes act immediately; changes made by another process (the CLI) within `ttlMs`.
 */
export class CredentialCache {
  private readonly verified = new Map<string, { sessionId: string; expiresAtMs: number }>();
  private readonly live = new Map<string, { owner: CredentialOwner; kind: Principal['kind']; checkedAtMs: number }>();

  constructor(
    private readonly ttlMs = 1000,
    private readonly maxEntries = 10_000,
  ) {}

  verifiedSession(token: string, nowMs: number): string | undefined {
    const entry = this.verified.get(token);
    if (!entry) return undefined;
    if (entry.expiresAtMs <= nowMs) {
      this.verified.delete(token);
      return undefined;
    }
    return entry.sessionId;
  }

  rememberVerified(token: string, sessionId: string, expiresAtMs: number): void {
    this.bound(this.verified);
    this.verified.set(token, { sessionId, expiresAtMs });
  }

  /** `key` is the session id or the API token hash. */
  liveOwner(key: string, nowMs: number): { owner: CredentialOwner; kind: Principal['kind'] } | undefined {
    const entry = this.live.get(key);
    if (!entry) return undefined;
    if (nowMs - entry.checkedAtMs >= this.ttlMs || (entry.owner.expiresAt !== null && Date.parse(entry.owner.expiresAt) <= nowMs)) {
      this.live.delete(key);
      return undefined;
    }
    return entry;
  }

  rememberLive(key: string, kind: Principal['kind'], owner: CredentialOwner, nowMs: number): void {
    this.bound(this.live);
    this.live.set(key, { owner, kind, checkedAtMs: nowMs });
  }

  forget(revocation: Revocation): void {
    for (const [key, entry] of this.live) {
      const hit = revocation.kind === 'user' ? entry.owner.userId === revocation.userId : entry.kind === revocation.kind && entry.owner.credentialId === revocation.id;
      if (hit) this.live.delete(key);
    }
  }

  private bound(map: Map<string, unknown>): void {
    if (map.size >= this.maxEntries) {
      const oldest = map.keys().next().value;
      if (oldest !== undefined) map.delete(oldest);
    }
  }
}
