import { randomBytes } from 'node:crypto';
import { renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Db } from '../../db/database.js';
import { createSecretBox, type SecretBox } from '../../lib/secret-box.js';
import { MASTER_KEY_FILE, NEXT_MASTER_KEY_FILE } from '../../lib/secret-files.js';
import { credentialsAad } from '../accounts/accounts.fns.js';
import { mapConfigSecrets, type SecretConfig } from '../environments/config-secrets.js';
import type { StoredCredentials } from '../environments/environments.types.js';

const SEALED_FIELDS = ['privateKey', 'passphrase', 'password'] as const;

export interface RotationResult {
  keyId: string;
  settings: number;
  environments: number;
  /** Environments whose header values or secret command bodies were re-encrypted. */
  environmentConfigs: number;
  /** Exchange accounts whose credentials were re-encrypted. */
  accounts: number;
  /** The new key, when the old one came from the configuration and the operator must replace it. */
  newKeyHex?: string;
}

/**
 * Re-encrypts every sealed value (secret settings, environment and exchange account
 * credentials) under a new master key, in one transaction. With a key file in the data dir the new key is written to
 * master.key.new first and renamed over master.key only after the commit, so a crash at any
 * point leaves every value readable (the server opens values under either key meanwhile).
 * Run it with the server stopped: a running server keeps using the key it started with.
 */
export async function rotateMasterKey(input: {
  db: Db;
  dataDir: string;
  current: Buffer;
  previous: readonly Buffer[];
  /** True when the key comes from PBFLEET_MASTER_KEY / config rather than the data dir. */
  keyFromConfig: boolean;
}): Promise<RotationResult> {
  const pendingPath = join(input.dataDir, NEXT_MASTER_KEY_FILE);
  // An unfinished rotation already chose its new key: finish that one.
  const newKey = !input.keyFromConfig && input.previous[0] ? input.previous[0] : randomBytes(32);
  if (!input.keyFromConfig) writeFileSync(pendingPath, `${newKey.toString('hex')}\n`, { mode: 0o600 });
  const from = createSecretBox(input.current, [...input.previous, newKey]);
  const to = createSecretBox(newKey);
  const reseal = (box: SecretBox, sealed: string, aad: string) => to.seal(box.open(sealed, aad), aad);

  let settingsCount = 0;
  let environmentsCount = 0;
  let accountsCount = 0;
  let configCount = 0;
  await input.db.transaction().execute(async (trx) => {
    for (const row of await trx.selectFrom('settings').select(['key', 'value']).execute()) {
      const parsed = JSON.parse(row.value) as unknown;
      if (typeof parsed !== 'object' || parsed === null || typeof (parsed as { sealed?: unknown }).sealed !== 'string') continue;
      const value = JSON.stringify({ sealed: reseal(from, (parsed as { sealed: string }).sealed, row.key) });
      await trx.updateTable('settings').set({ value }).where('key', '=', row.key).execute();
      settingsCount += 1;
    }
    for (const row of await trx.selectFrom('environments').select(['id', 'credentials']).where('credentials', 'is not', null).execute()) {
      const credentials = JSON.parse(row.credentials as string) as StoredCredentials;
      for (const field of SEALED_FIELDS) {
        const sealed = credentials[field];
        if (sealed) credentials[field] = reseal(from, sealed, `environment:${row.id}:${field}`);
      }
      await trx.updateTable('environments').set({ credentials: JSON.stringify(credentials) }).where('id', '=', row.id).execute();
      environmentsCount += 1;
    }
    // Header values of health checks and HTTP commands, and secret bodies; plain values left by an older version are sealed too.
    for (const row of await trx.selectFrom('environments').select(['id', 'health_check', 'commands', 'upgrade_config']).execute()) {
      const config: SecretConfig = {
        healthCheck: JSON.parse(row.health_check) as SecretConfig['healthCheck'],
        commands: row.commands === null ? null : (JSON.parse(row.commands) as SecretConfig['commands']),
        upgradeConfig: row.upgrade_config === null ? null : (JSON.parse(row.upgrade_config) as SecretConfig['upgradeConfig']),
      };
      let touched = false;
      const next = mapConfigSecrets(row.id, config, (value, aad) => {
        touched = true;
        return { sealed: to.seal(typeof value === 'string' ? value : from.open(value.sealed, aad), aad) };
      });
      if (!touched) continue;
      await trx
        .updateTable('environments')
        .set({ health_check: JSON.stringify(next.healthCheck), commands: next.commands && JSON.stringify(next.commands), upgrade_config: next.upgradeConfig && JSON.stringify(next.upgradeConfig) })
        .where('id', '=', row.id)
        .execute();
      configCount += 1;
    }
    for (const row of await trx.selectFrom('exchange_accounts').select(['id', 'credentials']).execute()) {
      const credentials = reseal(from, row.credentials, credentialsAad(row.id));
      await trx.updateTable('exchange_accounts').set({ credentials }).where('id', '=', row.id).execute();
      accountsCount += 1;
    }
  });
  const counts = { settings: settingsCount, environments: environmentsCount, environmentConfigs: configCount, accounts: accountsCount };

  if (input.keyFromConfig) return { keyId: to.keyId, ...counts, newKeyHex: newKey.toString('hex') };
  renameSync(pendingPath, join(input.dataDir, MASTER_KEY_FILE));
  rmSync(pendingPath, { force: true });
  return { keyId: to.keyId, ...counts };
}
