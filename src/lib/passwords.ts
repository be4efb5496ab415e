import { randomBytes } from 'node:crypto';
import { createRequire } from 'node:module';
import type argon2Types from '@node-rs/argon2';

// The native binding is loaded on the first login or password change, not at every start.
const requireCjs = createRequire(import.meta.url);
let argon2: typeof argon2Types | undefined;
const load = (): typeof argon2Types => (argon2 ??= requireCjs('@node-rs/argon2') as typeof argon2Types);

/** Argon2id with the library's defaults (OWASP's recommended minimum). */
export interface PasswordHasher {
  hash(password: string): Promise<string>;
  verify(hash: string, password: string): Promise<boolean>;
}

export const argon2Hasher: PasswordHasher = {
  hash: (password) => load().hash(password),
  verify: async (passwordHash, password) => {
    try {
      return await load().verify(passwordHash, password);
    } catch {
      return false;
    }
  },
};

/** A readable random password for first starts and resets: 20 chars, ~119 bits. */
export function generatePassword(): string {
  return randomBytes(15).toString('base64url');
}

export const PASSWORD_MIN = 8;
export const PASSWORD_MAX = 256;
