import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { createSecretBox, parseMasterKey } from './secret-box.js';

describe('secret box', () => {
  const box = createSecretBox(randomBytes(32));

  it('round-trips text, unicode included, and never stores the plaintext', () => {
    const secret = 'api-secret-ÄÖ-🔑';
    const sealed = box.seal(secret);
    expect(sealed.startsWith(`v1.${box.keyId}.`)).toBe(true);
    expect(sealed).not.toContain('api-secret');
    expect(box.open(sealed)).toBe(secret);
  });

  it('uses a fresh IV each time', () => {
    expect(box.seal('x')).not.toBe(box.seal('x'));
  });

  it('refuses tampered data, another key and the wrong associated data', () => {
    const sealed = box.seal('value', 'users.1');
    const parts = sealed.split('.');
    parts[4] = Buffer.from('other').toString('base64url');
    expect(() => box.open(parts.join('.'), 'users.1')).toThrow(/cannot be decrypted/);
    expect(() => createSecretBox(randomBytes(32)).open(sealed, 'users.1')).toThrow(/sealed with key/);
    expect(() => box.open(sealed, 'users.2')).toThrow(/cannot be decrypted/);
    expect(() => box.open('garbage')).toThrow(/format/);
  });

  it('parses hex and base64 master keys and rejects others', () => {
    const key = randomBytes(32);
    expect(parseMasterKey(key.toString('hex'))?.equals(key)).toBe(true);
    expect(parseMasterKey(key.toString('base64'))?.equals(key)).toBe(true);
    expect(parseMasterKey('too-short')).toBeUndefined();
  });
});
