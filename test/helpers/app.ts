import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { hash, verify } from '@node-rs/argon2';
import { buildApp, type AppDeps } from '../../src/app.js';
import { loadConfig } from '../../src/config/config.js';
import { migrateToLatest } from '../../src/db/database.js';
import type { Clock } from '../../src/lib/clock.js';
import type { PasswordHasher } from '../../src/lib/passwords.js';
import type { Role } from '../../src/lib/roles.js';
import { SYSTEM_ACTOR } from '../../src/modules/auth/auth.types.js';
import type { TestDatabase } from './databases.js';

/** Argon2id with minimal cost: the same code path, fast enough for hundreds of logins. */
export const fastHasher: PasswordHasher = {
  hash: (password) => hash(password, { memoryCost: 1024, timeCost: 1, parallelism: 1 }),
  verify: async (h, password) => verify(h, password).catch(() => false),
};

export const PASSWORD = 'correct horse battery';

export interface TestAppOptions {
  overrides?: Record<string, unknown>;
  clock?: Clock;
  /** Fastify logger options (e.g. a capturing stream); default: no logging. */
  logger?: AppDeps['logger'];
}

export type TestApp = Awaited<ReturnType<typeof createTestApp>>;

/** A full app on a fresh database with one user per role, each logged in. */
export async function createTestApp(database: TestDatabase, options: TestAppOptions = {}) {
  const dataDir = mkdtempSync(join(tmpdir(), 'pbfleet-data-'));
  let db: Awaited<ReturnType<TestDatabase['create']>> | undefined;
  let built: Awaited<ReturnType<typeof buildApp>> | undefined;
  /** Undoes whatever was made, each step even if an earlier one fails: a PostgreSQL schema must never be left behind. */
  const cleanUp = async () => {
    const steps = [() => built?.app.close(), () => db?.handle.close(), () => db?.drop(), () => rmSync(dataDir, { recursive: true, force: true })];
    const failures: unknown[] = [];
    for (const step of steps) await Promise.resolve().then(step).catch((error: unknown) => failures.push(error));
    if (failures.length) throw new AggregateError(failures, 'test app clean-up failed');
  };

  try {
    db = await database.create();
    await migrateToLatest(db.handle.db);
    const config = loadConfig({
      env: {},
      cwd: dataDir,
      overrides: { dataDir, database: { url: db.url }, log: { level: 'silent' }, ...options.overrides },
    });
    built = await buildApp({
      config,
      database: db.handle,
      secrets: { jwtSecret: randomBytes(32), masterKey: randomBytes(32) },
      hasher: fastHasher,
      ...(options.clock && { clock: options.clock }),
      logger: options.logger ?? false,
    });
    await built.app.ready();

    const tokens = {} as Record<Role, string>;
    const userIds = {} as Record<Role, string>;
    for (const role of ['admin', 'operator', 'viewer'] as const) {
      const user = await built.services.users.create({ username: `${role}1`, password: PASSWORD, role }, SYSTEM_ACTOR);
      userIds[role] = user.id;
      tokens[role] = await login(built.app, `${role}1`);
    }

    return {
      ...built,
      config,
      database: db.handle,
      dialect: database.name,
      tokens,
      userIds,
      auth: (role: Role) => ({ authorization: `Bearer ${tokens[role]}` }),
      close: cleanUp,
    };
  } catch (error) {
    // The failure is what the caller needs to see; a clean-up failure on top is only logged.
    await cleanUp().catch((cleanUpError: unknown) => console.error('createTestApp: clean-up after a failed start failed too', cleanUpError));
    throw error;
  }
}

export async function login(app: TestApp['app'], username: string, password = PASSWORD): Promise<string> {
  const response = await app.inject({ method: 'POST', url: '/api/v1/auth/login', payload: { username, password } });
  if (response.statusCode !== 200) throw new Error(`login ${username} failed: ${response.statusCode} ${response.body}`);
  return response.json<{ token: string }>().token;
}

/** A clock tests move by hand. */
export function manualClock(start = new Date('2026-01-01T00:00:00Z')): Clock & { advance(ms: number): void; set(d: Date): void } {
  let now = start.getTime();
  return {
    now: () => new Date(now),
    advance: (ms) => {
      now += ms;
    },
    set: (d) => {
      now = d.getTime();
    },
  };
}
