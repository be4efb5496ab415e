import { loadConfig, type AppConfig, type LoadConfigOptions } from './config/config.js';
import { migrateToLatest, openDatabase, type DatabaseHandle } from './db/database.js';
import { loadServerSecrets, type ServerSecrets } from './lib/secret-files.js';

export interface Booted {
  config: AppConfig;
  secrets: ServerSecrets;
  database: DatabaseHandle;
}

/** What every command needs: configuration, secrets, a migrated database. */
export async function boot(options: LoadConfigOptions = {}): Promise<Booted> {
  const config = loadConfig(options);
  const secrets = loadServerSecrets(config);
  const database = openDatabase(config.database.url);
  try {
    await migrateToLatest(database.db);
  } catch (error) {
    await database.close();
    throw error;
  }
  return { config, secrets, database };
}
