import type { Role } from '../../lib/roles.js';

/** Who is calling: resolved from a session JWT or an API token on every request. */
export interface Principal {
  userId: string;
  username: string;
  role: Role;
  kind: 'session' | 'api_token';
  /** Session id (JWT `jti`) or API token id. */
  credentialId: string;
  /** When the credential stops working by itself; null for tokens without expiry. */
  expiresAt: string | null;
}

/** The caller of a service method, as the audit log records it. */
export interface Actor {
  userId: string | null;
  username: string | null;
  ip: string | null;
  requestId: string | null;
}

export const SYSTEM_ACTOR: Actor = { userId: null, username: 'system', ip: null, requestId: null };

/** One credential: a session (JWT `jti`) or an API token, by id. */
export type CredentialRef = { kind: 'session'; id: string } | { kind: 'api_token'; id: string };

/** A credential stopped working: sockets opened with it are closed. */
export type Revocation = CredentialRef | { kind: 'user'; userId: string };
