import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';

/**
 * Encrypts secrets at rest with AES-256-GCM. Format: `v1.<keyId>.<iv>.<tag>.<ciphertext>`
 * (base64url parts). The key id (first bytes of the key's hash) lets a key rotation find
 * values still sealed with an older key; the version lets the format change later.
 */
export interface SecretBox {
  readonly keyId: string;
  seal(plaintext: string, associatedData?: string): string;
  open(sealed: string, associatedData?: string): string;
}

export class SecretBoxError extends Error {
  override name = 'SecretBoxError';
}

export function keyIdOf(key: Buffer): string {
  return createHash('sha256').update(key).digest('base64url').slice(0, 8);
}

/**
 * `key` seals; `previousKeys` can still open what they sealed (an interrupted key rotation
 * leaves values under both keys until it is finished).
 */
export function createSecretBox(key: Buffer, previousKeys: readonly Buffer[] = []): SecretBox {
  if (key.length !== 32) throw new SecretBoxError('master key must be 32 bytes');
  const keyId = keyIdOf(key);
  const openers = new Map([key, ...previousKeys].map((k) => [keyIdOf(k), k]));
  return {
    keyId,
    seal(plaintext, associatedData) {
      const iv = randomBytes(12);
      const cipher = createCipheriv('aes-256-gcm', key, iv);
      if (associatedData) cipher.setAAD(Buffer.from(associatedData));
      const ciphertext = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
      return ['v1', keyId, iv.toString('base64url'), cipher.getAuthTag().toString('base64url'), ciphertext.toString('base64url')].join('.');
    },
    open(sealed, associatedData) {
      const parts = sealed.split('.');
      if (parts.length !== 5 || parts[0] !== 'v1') throw new SecretBoxError('unrecognised secret format');
      const [, id, iv, tag, ciphertext] = parts as [string, string, string, string, string];
      const opener = openers.get(id);
      if (!opener) throw new SecretBoxError(`secret was sealed with key ${id}, not the current key ${keyId}`);
      try {
        const decipher = createDecipheriv('aes-256-gcm', opener, Buffer.from(iv, 'base64url'));
        if (associatedData) decipher.setAAD(Buffer.from(associatedData));
        decipher.setAuthTag(Buffer.from(tag, 'base64url'));
        return Buffer.concat([decipher.update(Buffer.from(ciphertext, 'base64url')), decipher.final()]).toString('utf8');
      } catch (error) {
        throw new SecretBoxError('secret cannot be decrypted (wrong key or tampered data)', { cause: error });
      }
    },
  };
}

/** Accepts a master key as 64 hex characters or base64 of 32 bytes. */
export function parseMasterKey(text: string): Buffer | undefined {
  const trimmed = text.trim();
  if (/^[0-9a-fA-F]{64}$/.test(trimmed)) return Buffer.from(trimmed, 'hex');
  const decoded = Buffer.from(trimmed, 'base64');
  return decoded.length === 32 && /^[A-Za-z0-9+/_-]+={0,2}$/.test(trimmed) ? decoded : undefined;
}
