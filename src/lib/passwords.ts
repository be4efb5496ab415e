import { randomBytes } from 'node:crypto';
import { hash, verify } from '@node-rs/argon2';

/** Argon2id with the library's defaults (OWASP's recommended minimum). */
export interface PasswordHasher {
  hash(password: string): Promise<string>;
  verify(hash: string, password: string): Promise<boolean>;
}

export const argon2Hasher: PasswordHasher = {
  hash: (password) => hash(password),
  verify: async (passwordHash, password) => {
    try {
      return await verify(passwordHash, password);
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
