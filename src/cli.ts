#!/usr/bin/env -S node --max-semi-space-size=2
// A small young generation keeps an idle server near 100 MB; a control plane does not need
// more. `npm start` uses the same flag.
import { rotateMasterKey } from './modules/secrets/rotate-key.js';
import { parseArgs } from 'node:util';
import { cpus, hostname } from 'node:os';
import { resolve } from 'node:path';
import { ConfigError, loadConfig } from './config/config.js';
import { boot, type Booted } from './boot.js';
import { MigrationError } from './db/database.js';
import { systemClock } from './lib/clock.js';
import { AppError, NotFoundError, type FieldIssue } from './lib/errors.js';
import { argon2Hasher, generatePassword } from './lib/passwords.js';
import { ROLES, type Role } from './lib/roles.js';
import { createAuditRepo } from './modules/audit/audit.repo.js';
import { createAuditService } from './modules/audit/audit.service.js';
import { createAuthService } from './modules/auth/auth.service.js';
import { SYSTEM_ACTOR, type Actor } from './modules/auth/auth.types.js';
import { createCredentialsRepo } from './modules/auth/credentials.repo.js';
import { createUsersRepo } from './modules/users/users.repo.js';
import { createUsersService } from './modules/users/users.service.js';
import { startServer } from './server.js';
import { VERSION } from './version.js';

const USAGE = `pbfleet ${VERSION}: control plane for Passivbot fleets

Usage:
  pbfleet [serve]                                  start the server
  pbfleet users create <username> [--role R] [--email E] [--password P]
                                                   create a user (password generated and printed if not given)
  pbfleet users reset-password <username> [--password P]
                                                   set a new password and end the user's sessions
  pbfleet secrets rotate-key                       re-encrypt every stored secret under a new master key
                                                   (stop the server first)
  pbfleet worker --passivbot-dir D [--python P] [--kind v7|cli] [--slots N] [--name W] [--work-dir D]
                                                   run backtests and optimizations from the Redis queue
                                                   (redis.url / PBFLEET_REDIS_URL must be set)
  pbfleet --version

Configuration: config.yaml or PBFLEET_CONFIG, and PBFLEET_* environment variables (see README).
`;

class UsageError extends Error {}

/** Who the audit log says acted: no user is logged in here. */
const CLI_ACTOR: Actor = { ...SYSTEM_ACTOR, username: 'cli' };

/**
 * The users service wired as the server wires it, so the command line gets the same checks,
 * the same session revocation and the same audit entries. No server runs in this process, so
 * there is no hub to tell; a running server notices ended sessions on its next heartbeat.
 */
function usersServiceFor({ config, secrets, database }: Booted) {
  const clock = systemClock;
  const usersRepo = createUsersRepo(database.db);
  const audit = createAuditService({ auditRepo: createAuditRepo(database.db), publisher: { publish: () => undefined }, clock, retentionDays: config.audit.retentionDays });
  const auth = createAuthService({
    usersRepo,
    credentialsRepo: createCredentialsRepo(database.db),
    audit,
    hasher: argon2Hasher,
    clock,
    jwtSecret: secrets.jwtSecret,
    jwtExpiryMs: config.jwt.expiryMs,
    loginMaxFailures: config.auth.loginMaxFailures,
    loginWindowMs: config.auth.loginWindowMs,
  });
  return { usersRepo, users: createUsersService({ db: database.db, usersRepo, audit, auth, hasher: argon2Hasher, clock }) };
}

async function usersCommand(args: string[]): Promise<void> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: { role: { type: 'string' }, email: { type: 'string' }, password: { type: 'string' } },
  });
  const [action, username] = positionals;
  if (!username || (action !== 'create' && action !== 'reset-password')) throw new UsageError('users: expected create|reset-password <username>');
  const role = (values.role ?? 'viewer') as Role;
  if (action === 'create' && !ROLES.includes(role)) throw new UsageError(`--role: must be one of ${ROLES.join(', ')}`);
  const booted = await boot();
  try {
    const { users, usersRepo } = usersServiceFor(booted);
    if (action === 'create') {
      const password = values.password ?? generatePassword();
      const user = await users.create({ username, email: values.email ?? null, password, role }, CLI_ACTOR);
      process.stdout.write(`created ${user.role} ${user.username}\n`);
      if (!values.password) process.stdout.write(`password: ${password}\n`);
    } else {
      const user = await usersRepo.findByUsername(username);
      if (!user) throw new NotFoundError('user', username);
      const { temporaryPassword } = await users.resetPassword(user.id, values.password, CLI_ACTOR);
      // A locked-out admin is usually also deactivated by mistake: restore access.
      if (!user.active) await users.update(user.id, { active: true }, CLI_ACTOR);
      process.stdout.write(`password of ${user.username} reset; their sessions were ended\n`);
      if (temporaryPassword) process.stdout.write(`password: ${temporaryPassword}\n`);
    }
  } finally {
    await booted.database.close();
  }
}

/** Service errors name API fields; on the command line they were flags. */
const FLAGS: Record<string, string> = { email: '--email', password: '--password', newPassword: '--password' };

function describeAppError(error: AppError): string {
  const field = (error.details as { fields?: FieldIssue[] } | undefined)?.fields?.[0];
  if (error.code === 'VALIDATION_ERROR' && field) return `${FLAGS[field.field] ?? field.field}: ${field.message}`;
  return error.message;
}

async function rotateKeyCommand(): Promise<void> {
  const { config, secrets, database } = await boot();
  try {
    const result = await rotateMasterKey({
      db: database.db,
      dataDir: config.dataDir,
      current: secrets.masterKey,
      previous: secrets.previousMasterKeys ?? [],
      keyFromConfig: Boolean(config.secrets.masterKey),
    });
    const audit = createAuditService({ auditRepo: createAuditRepo(database.db), publisher: { publish: () => undefined }, clock: systemClock, retentionDays: config.audit.retentionDays });
    await audit.record({ type: 'system', level: 'warning', action: 'master_key_rotate', message: `master key rotated to ${result.keyId}: ${result.settings} setting(s), ${result.environments} environment(s), ${result.accounts} exchange account(s) re-encrypted`, actor: CLI_ACTOR });
    process.stdout.write(`re-encrypted ${result.settings} secret setting(s), the credentials of ${result.environments} environment(s) and ${result.accounts} exchange account(s) under key ${result.keyId}\n`);
    if (result.newKeyHex) {
      process.stdout.write(`the master key comes from your configuration: set PBFLEET_MASTER_KEY (secrets.masterKey) to\n${result.newKeyHex}\nbefore starting the server again\n`);
    }
  } finally {
    await database.close();
  }
}

async function workerCommand(args: string[]): Promise<void> {
  const { values } = parseArgs({
    args,
    options: {
      'passivbot-dir': { type: 'string' },
      python: { type: 'string', default: 'python3' },
      kind: { type: 'string', default: 'v7' },
      slots: { type: 'string', default: String(cpus().length) },
      name: { type: 'string', default: `${hostname()}-${process.pid}` },
      'work-dir': { type: 'string' },
      'lock-ms': { type: 'string', default: '30000' },
    },
  });
  const config = loadConfig();
  if (!config.redis.url) throw new UsageError('worker: set redis.url (PBFLEET_REDIS_URL): workers take jobs from Redis');
  const passivbotDir = values['passivbot-dir'];
  if (!passivbotDir) throw new UsageError('worker: --passivbot-dir is required');
  const slots = Number(values.slots);
  const lockMs = Number(values['lock-ms']);
  if (!Number.isInteger(slots) || slots < 1 || slots > 1024) throw new UsageError('--slots: must be an integer 1-1024');
  if (!Number.isInteger(lockMs) || lockMs < 1000) throw new UsageError('--lock-ms: must be an integer >= 1000');
  if (values.kind !== 'v7' && values.kind !== 'cli') throw new UsageError('--kind: must be v7 or cli');
  const { startJobWorker } = await import('./modules/jobs/queue/job-worker.js');
  const log = (level: string) => (obj: object, msg: string) => process.stdout.write(`${JSON.stringify({ level, time: Date.now(), ...obj, msg })}\n`);
  const worker = await startJobWorker({
    url: config.redis.url,
    prefix: config.redis.prefix,
    name: values.name,
    slots,
    lockMs,
    stopTimeoutMs: config.jobs.cancelTimeoutMs,
    runtime: { passivbotDir: resolve(passivbotDir), pythonPath: values.python, kind: values.kind, workDir: resolve(values['work-dir'] ?? `${config.dataDir}/worker`) },
    log: { info: log('info'), error: log('error') },
  });
  log('info')({ name: values.name, slots }, 'worker ready');
  await new Promise<void>((done) => {
    const stop = () => {
      log('info')({}, 'worker stopping: running jobs are cancelled');
      void worker.close().finally(done);
    };
    process.once('SIGTERM', stop);
    process.once('SIGINT', stop);
  });
}

async function main(argv: string[]): Promise<void> {
  const [command = 'serve', ...rest] = argv;
  if (command === '--version' || command === '-v') return void process.stdout.write(`${VERSION}\n`);
  if (command === '--help' || command === '-h' || command === 'help') return void process.stdout.write(USAGE);
  if (command === 'serve') return startServer();
  if (command === 'users') return usersCommand(rest);
  if (command === 'worker') return workerCommand(rest);
  if (command === 'secrets' && rest[0] === 'rotate-key' && rest.length === 1) return rotateKeyCommand();
  if (command === 'secrets') throw new UsageError('secrets: expected rotate-key');
  throw new UsageError(`unknown command: ${command}`);
}

main(process.argv.slice(2)).catch((error: unknown) => {
  if (error instanceof ConfigError) {
    process.stderr.write(`pbfleet: configuration error: ${error.message}\n`);
    process.exit(2);
  }
  if (error instanceof AppError) {
    process.stderr.write(`pbfleet: ${describeAppError(error)}\n`);
    process.exit(2);
  }
  if (error instanceof UsageError || (error as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
    process.stderr.write(`pbfleet: ${(error as Error).message}\n\n${USAGE}`);
    process.exit(2);
  }
  if (error instanceof MigrationError) {
    process.stderr.write(`pbfleet: ${error.message}; the database was left unchanged\n`);
    process.exit(1);
  }
  process.stderr.write(`pbfleet: ${(error as Error).stack ?? String(error)}\n`);
  process.exit(1);
});
