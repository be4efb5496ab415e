import { buildApp } from './app.js';
import { boot } from './boot.js';
import { dataDirWarning } from './lib/data-dir.js';
import { SYSTEM_ACTOR } from './modules/auth/auth.types.js';
import { VERSION } from './version.js';

/**
 * Starts pbfleet: boot, build, bootstrap the first admin, listen. SIGTERM/SIGINT stop
 * accepting, let in-flight requests finish, close sockets (1001), stop loops, close the
 * database and exit 0, or exit 1 if that takes longer than server.shutdownTimeout.
 */
export async function startServer(): Promise<void> {
  const startedAt = performance.now();
  const { config, secrets, database } = await boot();
  const { app, services } = await buildApp({ config, database, secrets });
  const exposed = dataDirWarning(config.dataDir);
  if (exposed) app.log.warn({ dataDir: config.dataDir }, exposed);

  const admin = await services.users.bootstrapAdmin(config.auth.adminPassword, SYSTEM_ACTOR);
  if (admin.status === 'created' && admin.generatedPassword) {
    process.stdout.write(
      `\n  pbfleet: first start, created user "${admin.username}" with password: ${admin.generatedPassword}\n` +
        '  This is shown once. Log in and change it (POST /api/v1/users/password/change).\n\n',
    );
  } else if (admin.status === 'no_active_admin') {
    process.stderr.write(
      'pbfleet: warning: no active admin user exists, so nobody can manage users; run `pbfleet users create <name> --role admin` ' +
        '(or `pbfleet users reset-password <name>` to re-activate a deactivated admin)\n',
    );
  }

  await app.listen({ host: config.server.host, port: config.server.port });
  app.log.info({ version: VERSION, database: database.dialect, startupMs: Math.round(performance.now() - startedAt) }, 'pbfleet ready');
  await services.audit.record({ type: 'system', level: 'info', action: 'server_start', message: `pbfleet ${VERSION} started`, actor: SYSTEM_ACTOR });

  let stopping = false;
  const shutdown = (signal: string) => {
    if (stopping) {
      app.log.warn({ signal }, 'second signal: exiting now');
      process.exit(1);
    }
    stopping = true;
    app.log.info({ signal }, 'shutting down');
    setTimeout(() => {
      app.log.error({ timeoutMs: config.server.shutdownTimeoutMs }, 'shutdown took too long; exiting');
      process.exit(1);
    }, config.server.shutdownTimeoutMs).unref();
    void (async () => {
      try {
        await services.audit.record({ type: 'system', level: 'info', action: 'server_stop', message: `pbfleet stopping (${signal})`, actor: SYSTEM_ACTOR });
        await app.close();
        await database.close();
        app.log.info('stopped');
        process.exit(0);
      } catch (err) {
        app.log.error({ err }, 'shutdown failed');
        process.exit(1);
      }
    })();
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
}
