import { randomBytes } from 'node:crypto';
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError, type AppConfig } from '../config/config.js';
import { parseMasterKey } from './secret-box.js';

export interface ServerSecrets {
  jwtSecret: Uint8Array;
  masterKey: Buffer;
  /** Keys that may still have sealed some values (an unfinished rotation). */
  previousMasterKeys?: Buffer[];
}

export const MASTER_KEY_FILE = 'master.key';
/** Written before a rotation re-encrypts anything; renamed over master.key when it is done. */
export const NEXT_MASTER_KEY_FILE = 'master.key.new';

/**
 * Secrets not given in the configuration are generated once and kept in the data dir
 * (mode 0600), so sessions and encrypted values survive restarts.
 */
export function loadServerSecrets(config: AppConfig): ServerSecrets {
  mkdirSync(config.dataDir, { recursive: true, mode: 0o700 });
  const jwtText = config.jwt.secret || readOrCreate(join(config.dataDir, 'jwt.secret'), () => randomBytes(48).toString('base64url'));
  const masterText = config.secrets.masterKey || readOrCreate(join(config.dataDir, 'master.key'), () => randomBytes(32).toString('hex'));
  const masterKey = parseMasterKey(masterText);
  if (!masterKey) {
    throw new ConfigError(config.secrets.masterKey ? 'secrets.masterKey: must be 32 bytes as 64 hex characters or base64' : `${join(config.dataDir, 'master.key')}: does not hold a valid master key`);
  }
  // A rotation that stopped half way: values may be under either key until it is run again.
  const pending = config.secrets.masterKey ? undefined : readIfExists(join(config.dataDir, NEXT_MASTER_KEY_FILE));
  const next = pending ? parseMasterKey(pending) : undefined;
  return { jwtSecret: new TextEncoder().encode(jwtText), masterKey, ...(next && { previousMasterKeys: [next] }) };
}

function readIfExists(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8').trim();
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}

function readOrCreate(path: string, generate: () => string): string {
  try {
    return readFileSync(path, 'utf8').trim();
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  const value = generate();
  // 'wx' fails if another process created it in between; then read theirs.
  try {
    writeFileSync(path, `${value}\n`, { mode: 0o600, flag: 'wx' });
    chmodSync(path, 0o600);
    return value;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return readFileSync(path, 'utf8').trim();
    throw error;
  }
}
