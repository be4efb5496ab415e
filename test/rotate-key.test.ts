import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { buildApp } from '../src/app.js';
import { loadConfig } from '../src/config/config.js';
import { migrateToLatest, openDatabase, type DatabaseHandle } from '../src/db/database.js';
import { loadServerSecrets } from '../src/lib/secret-files.js';
import { SYSTEM_ACTOR } from '../src/modules/auth/auth.types.js';
import { rotateMasterKey } from '../src/modules/secrets/rotate-key.js';
import { childEnv, runCli } from './helpers/process.js';

const ACCOUNT_SECRETS = { key: 'okx-key-123', secret: 'okx-secret-456', passphrase: 'okx-phrase-789' };
const ACCOUNT_ENTRY = { exchange: 'okx', ...ACCOUNT_SECRETS };

/** Seeds a secret setting, an environment with a key and passphrase, and an exchange account under the data dir's key. */
async function seed(dataDir: string, database: DatabaseHandle) {
  const config = loadConfig({ env: {}, cwd: dataDir, overrides: { dataDir, log: { level: 'silent' } } });
  const keyDir = mkdtempSync(join(tmpdir(), 'rotate-key-'));
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', 'phrase one', '-f', join(keyDir, 'k')]);
  const privateKey = readFileSync(join(keyDir, 'k'), 'utf8');
  rmSync(keyDir, { recursive: true, force: true });
  const built = await buildApp({ config, database, secrets: loadServerSecrets(config), logger: false });
  await built.services.settings.update({ market: { coinmarketcapApiKey: 'cmc-secret-123' } }, SYSTEM_ACTOR);
  const env = await built.services.environments.create(
    {
      name: 'vps-1',
      target: { host: '127.0.0.1', port: 22 },
      credentials: { type: 'key', username: 'trader', privateKey, passphrase: 'phrase one' },
      healthCheck: { enabled: false, type: 'http', endpoint: 'https://vps-1.example.com/health', interval: 60, timeout: 5, retries: 1, headers: { 'x-health-key': 'health-secret-1' } },
      commands: { type: 'http', restart: { enabled: true, url: 'https://hooks.example.com/restart', headers: { authorization: 'Bearer hook-secret-1' }, body: { pin: 'body-secret-1' }, bodySecret: true } },
    },
    SYSTEM_ACTOR,
  );
  await built.services.accounts.create({ name: 'okx_01', exchange: 'okx', ...ACCOUNT_SECRETS }, SYSTEM_ACTOR);
  return { config, privateKey, environmentId: env.id };
}

/** Reads the secrets back through a freshly built app, as a restarted server would. */
async function readBack(dataDir: string, database: DatabaseHandle, environmentId: string) {
  const config = loadConfig({ env: {}, cwd: dataDir, overrides: { dataDir, log: { level: 'silent' } } });
  const built = await buildApp({ config, database, secrets: loadServerSecrets(config), logger: false });
  const setting = await built.services.settings.get('market', 'coinmarketcapApiKey');
  const target = built.services.environments.sshTarget(await built.services.environments.getRecord(environmentId));
  const account = (await built.services.accounts.apiKeysFor(['okx_01'])).okx_01;
  return { setting, privateKey: target.privateKey, passphrase: target.passphrase, account };
}

/** The header values and secret body of the seeded environment, opened by a freshly built app. */
async function readBackConfig(dataDir: string, database: DatabaseHandle, environmentId: string) {
  const config = loadConfig({ env: {}, cwd: dataDir, overrides: { dataDir, log: { level: 'silent' } } });
  const built = await buildApp({ config, database, secrets: loadServerSecrets(config), logger: false });
  const record = await built.services.environments.getRecord(environmentId);
  const restart = built.services.environments.openCommand(record, 'restart');
  return { health: built.services.environments.openHealthCheck(record).headers, restart: restart?.headers, body: restart?.body };
}

describe('master key rotation', () => {
  let dataDir: string;
  let database: DatabaseHandle;
  beforeEach(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'pbfleet-rotate-'));
    database = openDatabase(`sqlite:${join(dataDir, 'pbfleet.db')}`);
    await migrateToLatest(database.db);
  });
  afterEach(async () => {
    await database.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('re-encrypts every secret under a new key; the old key no longer opens them', async () => {
    const { config, privateKey, environmentId } = await seed(dataDir, database);
    const oldKey = readFileSync(join(dataDir, 'master.key'), 'utf8').trim();
    const before = await database.db.selectFrom('environments').select('credentials').where('id', '=', environmentId).executeTakeFirstOrThrow();

    const secrets = loadServerSecrets(config);
    const result = await rotateMasterKey({ db: database.db, dataDir, current: secrets.masterKey, previous: [], keyFromConfig: false });
    expect(result).toMatchObject({ settings: 1, environments: 1, environmentConfigs: 1, accounts: 1 });
    const newKey = readFileSync(join(dataDir, 'master.key'), 'utf8').trim();
    expect(newKey).not.toBe(oldKey);
    expect(existsSync(join(dataDir, 'master.key.new'))).toBe(false);
    const after = await database.db.selectFrom('environments').select('credentials').where('id', '=', environmentId).executeTakeFirstOrThrow();
    expect(after.credentials).not.toBe(before.credentials);
    expect(after.credentials).toContain(`v1.${result.keyId}.`);
    const account = await database.db.selectFrom('exchange_accounts').select('credentials').where('name', '=', 'okx_01').executeTakeFirstOrThrow();
    expect(account.credentials.startsWith(`v1.${result.keyId}.`)).toBe(true);
    expect(account.credentials).not.toMatch(/okx-/);

    await expect(readBack(dataDir, database, environmentId)).resolves.toEqual({ setting: 'cmc-secret-123', privateKey, passphrase: 'phrase one', account: ACCOUNT_ENTRY });
    const stored = await database.db.selectFrom('environments').select(['health_check', 'commands']).where('id', '=', environmentId).executeTakeFirstOrThrow();
    expect(JSON.stringify(stored)).not.toMatch(/health-secret|hook-secret|body-secret/);
    expect(JSON.stringify(stored).split(`v1.${result.keyId}.`)).toHaveLength(4);
    await expect(readBackConfig(dataDir, database, environmentId)).resolves.toEqual({ health: { 'x-health-key': 'health-secret-1' }, restart: { authorization: 'Bearer hook-secret-1' }, body: { pin: 'body-secret-1' } });
    writeFileSync(join(dataDir, 'master.key'), `${oldKey}\n`);
    await expect(readBack(dataDir, database, environmentId)).rejects.toThrow(/sealed with key/);
    await expect(readBackConfig(dataDir, database, environmentId)).rejects.toThrow(/sealed with key/);
  });

  it('a rotation interrupted after the commit still opens everything, and running it again finishes it', async () => {
    const { config, privateKey, environmentId } = await seed(dataDir, database);
    const secrets = loadServerSecrets(config);
    const oldKey = readFileSync(join(dataDir, 'master.key'), 'utf8');
    // The crash: the database was re-encrypted under the new key, but the process died before
    // master.key was replaced, so master.key.new still holds the new key.
    await rotateMasterKey({ db: database.db, dataDir, current: secrets.masterKey, previous: [], keyFromConfig: false });
    const pending = readFileSync(join(dataDir, 'master.key'), 'utf8').trim();
    writeFileSync(join(dataDir, 'master.key'), oldKey);
    writeFileSync(join(dataDir, 'master.key.new'), `${pending}\n`, { mode: 0o600 });

    // A server started now reads every value (through the pending key).
    await expect(readBack(dataDir, database, environmentId)).resolves.toEqual({ setting: 'cmc-secret-123', privateKey, passphrase: 'phrase one', account: ACCOUNT_ENTRY });

    const restarted = loadServerSecrets(config);
    expect(restarted.previousMasterKeys?.map((k) => k.toString('hex'))).toEqual([pending]);
    const finished = await rotateMasterKey({ db: database.db, dataDir, current: restarted.masterKey, previous: restarted.previousMasterKeys ?? [], keyFromConfig: false });
    expect(readFileSync(join(dataDir, 'master.key'), 'utf8').trim()).toBe(pending);
    expect(existsSync(join(dataDir, 'master.key.new'))).toBe(false);
    expect(finished).toMatchObject({ environments: 1, accounts: 1 });
    await expect(readBack(dataDir, database, environmentId)).resolves.toEqual({ setting: 'cmc-secret-123', privateKey, passphrase: 'phrase one', account: ACCOUNT_ENTRY });
  });

  it('`pbfleet secrets rotate-key` does it from the command line and audits it', async () => {
    const { environmentId, privateKey } = await seed(dataDir, database);
    const result = await runCli(['secrets', 'rotate-key'], { cwd: dataDir, env: childEnv({ PBFLEET_DATA_DIR: dataDir }) });
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toMatch(/re-encrypted 1 secret setting\(s\), the credentials of 1 environment\(s\) and \d+ exchange account\(s\)/);
    await expect(readBack(dataDir, database, environmentId)).resolves.toMatchObject({ privateKey, account: ACCOUNT_ENTRY });
    const entry = await database.db.selectFrom('audit_logs').selectAll().where('action', '=', 'master_key_rotate').executeTakeFirst();
    expect(entry?.username).toBe('cli');
    expect(JSON.stringify(entry)).not.toMatch(/cmc-secret|PRIVATE KEY|okx-/);
  });
});
