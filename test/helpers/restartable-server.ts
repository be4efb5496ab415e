import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { jsonClient, loginToken } from './http.js';
import { childEnv, freePort, startServer, type ServerProcess } from './process.js';

/**
 * `pbfleet serve` in a process of its own, on a data dir of its own, that a test kills with
 * SIGKILL and starts again on the same data: what adoption after a crash needs.
 */
export function restartableServer(name: string, configYaml: string) {
  const password = `${name} test password`;
  let dir = '';
  let port = 0;
  let server: ServerProcess | undefined;
  let token = '';
  const { call } = jsonClient(() => server?.baseUrl ?? '', () => token);

  return {
    call,
    /** Makes the data dir and picks the port (once, before the first start). */
    setup: async (): Promise<void> => {
      dir = mkdtempSync(join(tmpdir(), `pbfleet-${name}-`));
      port = await freePort();
      writeFileSync(join(dir, 'config.yaml'), configYaml);
    },
    /** Starts the server and logs in as admin. */
    start: async (): Promise<void> => {
      const env = childEnv({ PBFLEET_DATA_DIR: join(dir, 'data'), PBFLEET_PORT: String(port), PBFLEET_HOST: '127.0.0.1', PBFLEET_LOG_LEVEL: 'warn', PBFLEET_ADMIN_PASSWORD: password });
      server = await startServer(port, { cwd: dir, env });
      token = await loginToken(server.baseUrl, 'admin', password);
    },
    /** kill -9, and waits until the process is gone. */
    kill: async (): Promise<void> => {
      server?.signal('SIGKILL');
      await server?.waitForExit();
    },
    /** Removes the data dir (the caller ends the processes). */
    remove: (): void => {
      if (dir) rmSync(dir, { recursive: true, force: true });
    },
  };
}
