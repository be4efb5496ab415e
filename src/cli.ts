#!/usr/bin/env node
import { parseArgs } from 'node:util';
import { ConfigError } from './config/config.js';
import { boot } from './boot.js';
import { MigrationError } from './db/database.js';
import { createUsersRepo } from './modules/users/users.repo.js';
import { SYSTEM_ACTOR } from './modules/auth/auth.types.js';
import { ROLES, type Role } from './lib/roles.js';
import { argon2Hasher, generatePassword, PASSWORD_MIN } from './lib/passwords.js';
import { newId } from './lib/ids.js';
import { startServer } from './server.js';
import { createAuditRepo } from './modules/audit/audit.repo.js';
import { createAuditService } from './modules/audit/audit.service.js';
import { createCredentialsRepo } from './modules/auth/credentials.repo.js';
import { systemClock } from './lib/clock.js';
import { VERSION } from './version.js';

const USAGE = `pbfleet ${VERSION}: control plane for Passivbot fleets

Usage:
  pbfleet [serve]                                  start the server
  pbfleet users create <username> [--role R] [--email E] [--password P]
                                                   create a user (password generated and printed if not given)
  pbfleet users reset-password <username> [--password P]
                                                   set a new password and end the user's sessions
  pbfleet --version

Configuration: config.yaml or PBFLEET_CONFIG, and PBFLEET_* environment variables (see README).
`;

class UsageError extends Error {}

async function usersCommand(args: string[]): Promise<void> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: { role: { type: 'string' }, email: { type: 'string' }, password: { type: 'string' } },
  });
  const [action, username] = positionals;
  if (!username || (action !== 'create' && action !== 'reset-password')) throw new UsageError('users: expected create|reset-password <username>');
  const password = values.password ?? generatePassword();
  if (password.length < PASSWORD_MIN) throw new UsageError(`--password: must be at least ${PASSWORD_MIN} characters`);
  const { database } = await boot();
  try {
    const repo = createUsersRepo(database.db);
    // No server runs in this process, so there is no hub to tell.
    const audit = createAuditService({ auditRepo: createAuditRepo(database.db), publisher: { publish: () => undefined }, clock: systemClock, retentionDays: 1 });
    const now = new Date().toISOString();
    const hash = await argon2Hasher.hash(password);
    if (action === 'create') {
      const role = (values.role ?? 'viewer') as Role;
      if (!ROLES.includes(role)) throw new UsageError(`--role: must be one of ${ROLES.join(', ')}`);
      if (await repo.findByUsername(username)) throw new UsageError(`user ${username} already exists`);
      await repo.create({ id: newId(), username, email: values.email ?? null, role, active: true, passwordHash: hash, now });
      process.stdout.write(`created ${role} ${username.toLowerCase()}\n`);
    } else {
      const user = await repo.findByUsername(username);
      if (!user) throw new UsageError(`user ${username} not found`);
      await repo.setPasswordHash(user.id, hash, now);
      await createCredentialsRepo(database.db).revokeUserSessions(user.id, now);
      // A locked-out admin is usually also deactivated or demoted by mistake: restore access.
      await repo.update(user.id, { active: true, now });
      process.stdout.write(`password of ${user.username} reset; their sessions were ended\n`);
    }
    if (!values.password) process.stdout.write(`password: ${password}\n`);
    await audit.record({
      type: 'auth',
      level: 'warning',
      action: action === 'create' ? 'user_create' : 'password_reset',
      message: `${action} for ${username.toLowerCase()} from the command line`,
      actor: SYSTEM_ACTOR,
    });
  } finally {
    await database.close();
  }
}

async function main(argv: string[]): Promise<void> {
  const [command = 'serve', ...rest] = argv;
  if (command === '--version' || command === '-v') return void process.stdout.write(`${VERSION}\n`);
  if (command === '--help' || command === '-h' || command === 'help') return void process.stdout.write(USAGE);
  if (command === 'serve') return startServer();
  if (command === 'users') return usersCommand(rest);
  throw new UsageError(`unknown command: ${command}`);
}

main(process.argv.slice(2)).catch((error: unknown) => {
  if (error instanceof ConfigError) {
    process.stderr.write(`pbfleet: configuration error: ${error.message}\n`);
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
