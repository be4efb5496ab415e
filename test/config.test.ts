import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ConfigError, ENV_KEYS, loadConfig, type AppConfig } from '../src/config/config.js';
import { loadServerSecrets } from '../src/lib/secret-files.js';

let cwd: string;
beforeEach(() => {
  cwd = mkdtempSync(join(tmpdir(), 'pbfleet-config-'));
});
afterEach(() => {
  rmSync(cwd, { recursive: true, force: true });
});

const writeYaml = (name: string, text: string): string => {
  const file = join(cwd, name);
  writeFileSync(file, text);
  return file;
};

/** The ConfigError a load throws; fails the test when it does not throw one. */
function configError(load: () => unknown): ConfigError {
  try {
    load();
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return error as ConfigError;
  }
  throw new Error('expected a ConfigError, but the configuration loaded');
}

/** Reads a dotted path from the loaded config. */
const at = (config: AppConfig, path: string): unknown =>
  path.split('.').reduce<unknown>((node, key) => (node as Record<string, unknown>)[key], config);

describe('loadConfig: defaults and sources', () => {
  it('has sensible defaults with no file and no environment', () => {
    const config = loadConfig({ env: {}, cwd });
    expect(config.server).toEqual({
      host: '0.0.0.0',
      port: 8080,
      readTimeoutMs: 30_000,
      writeTimeoutMs: 30_000,
      shutdownTimeoutMs: 10_000,
      bodyLimit: 1_048_576,
      trustProxy: false,
    });
    expect(config.dataDir).toBe(join(cwd, 'data'));
    expect(config.database.url).toBe(`sqlite:${join(cwd, 'data', 'pbfleet.db')}`);
    expect(config.jwt).toEqual({ secret: '', expiryMs: 86_400_000 });
    expect(config.secrets.masterKey).toBe('');
    expect(config.allowOrigins).toEqual([]);
    expect(config.log.level).toBe('info');
    expect(config.audit).toEqual({ retentionDays: 90, purgeIntervalMs: 3_600_000 });
    expect(config.auth).toEqual({ adminPassword: '', loginMaxFailures: 10, loginWindowMs: 600_000 });
    expect(config.hub).toEqual({ heartbeatIntervalMs: 30_000, maxBufferedBytes: 1_048_576, maxLaggedMessages: 1000, maxConnectionsPerCredential: 20 });
  });

  it('reads ./config.yaml from the working directory', () => {
    writeYaml('config.yaml', 'server:\n  port: 9000\n  host: 127.0.0.1\nlog:\n  level: debug\n');
    const config = loadConfig({ env: {}, cwd });
    expect(config.server.port).toBe(9000);
    expect(config.server.host).toBe('127.0.0.1');
    expect(config.log.level).toBe('debug');
  });

  it('reads the file named by PBFLEET_CONFIG (relative to cwd) instead of ./config.yaml', () => {
    writeYaml('config.yaml', 'server:\n  port: 9000\n');
    mkdirSync(join(cwd, 'etc'));
    writeYaml('etc/fleet.yml', 'server:\n  port: 9100\n');
    expect(loadConfig({ env: { PBFLEET_CONFIG: 'etc/fleet.yml' }, cwd }).server.port).toBe(9100);
    expect(loadConfig({ env: { PBFLEET_CONFIG: join(cwd, 'etc/fleet.yml') }, cwd: tmpdir() }).server.port).toBe(9100);
  });

  it('accepts an empty config file', () => {
    writeYaml('config.yaml', '# nothing set yet\n');
    expect(loadConfig({ env: {}, cwd }).server.port).toBe(8080);
  });

  it('applies defaults < YAML < environment < overrides', () => {
    writeYaml('config.yaml', 'server:\n  port: 9000\n  host: 10.0.0.1\n  bodyLimit: 4096\naudit:\n  retentionDays: 30\n');
    const config = loadConfig({ env: { PBFLEET_PORT: '9001' }, cwd });
    expect(config.server.port).toBe(9001); // env beats YAML
    expect(config.server.host).toBe('10.0.0.1'); // YAML beats the default
    expect(config.server.bodyLimit).toBe(4096);
    expect(config.server.readTimeoutMs).toBe(30_000); // a default beside YAML keys of the same section
    expect(config.audit.retentionDays).toBe(30);

    const overridden = loadConfig({ env: { PBFLEET_PORT: '9001' }, cwd, overrides: { server: { port: 9002 } } });
    expect(overridden.server.port).toBe(9002);
    expect(overridden.server.host).toBe('10.0.0.1');
  });

  it('maps every documented environment variable to its key', () => {
    const master = randomBytes(32).toString('hex');
    const secret = 'x'.repeat(40);
    const env: Record<string, string> = {
      PBFLEET_HOST: '127.0.0.2',
      PBFLEET_PORT: '4321',
      PBFLEET_SHUTDOWN_TIMEOUT: '15s',
      PBFLEET_TRUST_PROXY: 'true',
      PBFLEET_DATA_DIR: '/var/lib/pbfleet-test',
      PBFLEET_DATABASE_URL: 'postgres://fleet@db.internal:5432/fleet',
      PBFLEET_JWT_SECRET: secret,
      PBFLEET_JWT_EXPIRY: '15m',
      PBFLEET_MASTER_KEY: master,
      PBFLEET_ADMIN_PASSWORD: 'a fine admin password',
      PBFLEET_LOG_LEVEL: 'warn',
      PBFLEET_ALLOW_ORIGINS: 'https://a.example.com, https://b.example.com',
      PBFLEET_AUDIT_RETENTION_DAYS: '7',
      PBFLEET_REDIS_URL: 'redis://127.0.0.1:6379/2',
      PBFLEET_REDIS_PREFIX: 'fleet-a',
      PBFLEET_JOB_SLOTS: '6',
      PBFLEET_UI_DIR: '/srv/pbfleet-ui',
    };
    // The test must list every variable the loader knows, so a new one cannot go untested.
    expect(Object.keys(env).sort()).toEqual(Object.keys(ENV_KEYS).sort());

    const config = loadConfig({ env, cwd });
    const expected: Record<string, unknown> = {
      'server.host': '127.0.0.2',
      'server.port': 4321,
      'server.shutdownTimeoutMs': 15_000,
      'server.trustProxy': true,
      dataDir: '/var/lib/pbfleet-test',
      'database.url': 'postgres://fleet@db.internal:5432/fleet',
      'jwt.secret': secret,
      'jwt.expiryMs': 900_000,
      'secrets.masterKey': master,
      'auth.adminPassword': 'a fine admin password',
      'log.level': 'warn',
      allowOrigins: ['https://a.example.com', 'https://b.example.com'],
      'audit.retentionDays': 7,
      'redis.url': 'redis://127.0.0.1:6379/2',
      'redis.prefix': 'fleet-a',
      'jobs.slots': 6,
      'ui.dir': '/srv/pbfleet-ui',
    };
    for (const [path, value] of Object.entries(expected)) expect(at(config, path), path).toEqual(value);
  });

  it('parses booleans and lists from the environment', () => {
    for (const [text, value] of [['1', true], ['TRUE', true], ['0', false], ['false', false]] as const) {
      expect(loadConfig({ env: { PBFLEET_TRUST_PROXY: text }, cwd }).server.trustProxy).toBe(value);
    }
    expect(configError(() => loadConfig({ env: { PBFLEET_TRUST_PROXY: 'yes please' }, cwd })).message).toMatch(/^server\.trustProxy: must be true or false/);
    expect(loadConfig({ env: { PBFLEET_ALLOW_ORIGINS: '*' }, cwd }).allowOrigins).toEqual(['*']);
    expect(loadConfig({ env: { PBFLEET_ALLOW_ORIGINS: '' }, cwd }).allowOrigins).toEqual([]);
  });

  it('resolves relative paths against cwd: the data dir, the default SQLite file and sqlite: URLs', () => {
    const config = loadConfig({ env: { PBFLEET_DATA_DIR: 'state' }, cwd });
    expect(config.dataDir).toBe(join(cwd, 'state'));
    expect(config.database.url).toBe(`sqlite:${join(cwd, 'state', 'pbfleet.db')}`);
    expect(loadConfig({ env: { PBFLEET_DATABASE_URL: 'sqlite:db/fleet.db' }, cwd }).database.url).toBe(`sqlite:${join(cwd, 'db', 'fleet.db')}`);
    expect(loadConfig({ env: { PBFLEET_DATABASE_URL: 'sqlite::memory:' }, cwd }).database.url).toBe('sqlite::memory:');
  });

  it('parses durations written as text or as bare seconds', () => {
    writeYaml(
      'config.yaml',
      'server:\n  readTimeout: 30s\n  writeTimeout: 500ms\n  shutdownTimeout: 3\nauth:\n  loginWindow: 15m\njwt:\n  expiry: 7d\nhub:\n  heartbeatInterval: "1.5s"\naudit:\n  purgeInterval: 2h\n',
    );
    const config = loadConfig({ env: {}, cwd });
    expect(config.server.readTimeoutMs).toBe(30_000);
    expect(config.server.writeTimeoutMs).toBe(500);
    expect(config.server.shutdownTimeoutMs).toBe(3000);
    expect(config.auth.loginWindowMs).toBe(900_000);
    expect(config.jwt.expiryMs).toBe(7 * 86_400_000);
    expect(config.hub.heartbeatIntervalMs).toBe(1500);
    expect(config.audit.purgeIntervalMs).toBe(7_200_000);
  });

  it('returns a deeply frozen object', () => {
    const config = loadConfig({ env: { PBFLEET_ALLOW_ORIGINS: 'https://a.example.com' }, cwd });
    expect(Object.isFrozen(config)).toBe(true);
    for (const section of [config.server, config.database, config.jwt, config.allowOrigins, config.secrets, config.log, config.audit, config.auth, config.hub]) {
      expect(Object.isFrozen(section)).toBe(true);
    }
    // ESM modules are strict: writing to a frozen object throws.
    expect(() => {
      (config.server as { port: number }).port = 1;
    }).toThrow(TypeError);
    expect(() => {
      (config.allowOrigins as string[]).push('https://evil.example.com');
    }).toThrow(TypeError);
    expect(config.server.port).toBe(8080);
  });

  it('does not let the overrides object be changed through the result, nor the result through it', () => {
    const overrides = { server: { port: 9999 }, allowOrigins: ['https://a.example.com'] };
    const config = loadConfig({ env: {}, cwd, overrides });
    overrides.server.port = 1;
    overrides.allowOrigins.push('https://b.example.com');
    expect(config.server.port).toBe(9999);
    expect(config.allowOrigins).toEqual(['https://a.example.com']);
    expect(Object.isFrozen(overrides.server)).toBe(false);
  });
});

describe('loadConfig: one-line errors that name the key', () => {
  const expectOneLine = (error: ConfigError) => expect(error.message).not.toContain('\n');

  it('server.port out of range in YAML', () => {
    writeYaml('config.yaml', 'server:\n  port: 70000\n');
    const error = configError(() => loadConfig({ env: {}, cwd }));
    expect(error.message).toBe('server.port: must be an integer 1-65535');
  });

  it('server.port not a number in the environment', () => {
    const error = configError(() => loadConfig({ env: { PBFLEET_PORT: 'abc' }, cwd }));
    expect(error.message).toMatch(/^server\.port: must be an integer 1-65535\b/);
    expect(error.message).toContain('PBFLEET_PORT');
    expectOneLine(error);
  });

  it('server.port out of range in the environment', () => {
    const error = configError(() => loadConfig({ env: { PBFLEET_PORT: '70000' }, cwd }));
    expect(error.message).toBe('server.port: must be an integer 1-65535');
  });

  it('other bad values carry their own hint', () => {
    const cases: [string, string][] = [
      ['server:\n  port: "8080"\n', 'server.port: must be an integer 1-65535'],
      ['server:\n  bodyLimit: 10\n', 'server.bodyLimit: must be a byte count 1024-104857600'],
      ['server:\n  trustProxy: maybe\n', 'server.trustProxy: must be true or false'],
      ['server:\n  readTimeout: soon\n', 'server.readTimeout: must be a duration like "30s"'],
      ['log:\n  level: loud\n', 'log.level: must be one of fatal, error, warn, info, debug, trace, silent'],
      ['audit:\n  retentionDays: 0\n', 'audit.retentionDays: must be an integer 1-36500'],
      ['jwt:\n  expiry: 10s\n', 'jwt.expiry: must be at least 1m'],
      ['allowOrigins: https://a.example.com\n', 'allowOrigins: must be a list of origins like https://fleet.example.com'],
    ];
    for (const [yaml, message] of cases) {
      writeYaml('config.yaml', yaml);
      expect(configError(() => loadConfig({ env: {}, cwd })).message, yaml).toBe(message);
    }
  });

  it('an unknown YAML key, nested or at the top', () => {
    writeYaml('config.yaml', 'server:\n  prot: 8080\n');
    expect(configError(() => loadConfig({ env: {}, cwd })).message).toBe('server.prot: unknown key');
    writeYaml('config.yaml', 'sever:\n  port: 8080\n');
    expect(configError(() => loadConfig({ env: {}, cwd })).message).toBe('sever: unknown key');
  });

  it('an unknown PBFLEET_ environment variable, but not PBFLEET_TEST_* or PBFLEET_CONFIG', () => {
    const error = configError(() => loadConfig({ env: { PBFLEET_PROT: '8080' }, cwd }));
    expect(error.message).toMatch(/^PBFLEET_PROT: unknown environment variable/);
    expectOneLine(error);
    expect(loadConfig({ env: { PBFLEET_TEST_POSTGRES_URL: 'postgres://x', OTHER_PORT: 'abc' }, cwd }).server.port).toBe(8080);
  });

  it('invalid YAML names the file', () => {
    const file = writeYaml('config.yaml', 'server:\n  port: [8080\n');
    const error = configError(() => loadConfig({ env: {}, cwd }));
    expect(error.message).toMatch(/invalid YAML/);
    expect(error.message).toContain(file);
    expectOneLine(error);
  });

  it('a YAML file that is not a mapping', () => {
    writeYaml('config.yaml', '- server\n- port\n');
    expect(configError(() => loadConfig({ env: {}, cwd })).message).toMatch(/must be a mapping/);
  });

  it('a PBFLEET_CONFIG file that does not exist', () => {
    const error = configError(() => loadConfig({ env: { PBFLEET_CONFIG: 'missing.yaml' }, cwd }));
    expect(error.message).toContain(join(cwd, 'missing.yaml'));
    expect(error.message).toMatch(/cannot be read \(ENOENT\)/);
    expectOneLine(error);
  });

  it('a database.url with an unsupported scheme', () => {
    for (const url of ['mysql://root@localhost/fleet', 'fleet.db', 'sqlite:']) {
      const error = configError(() => loadConfig({ env: { PBFLEET_DATABASE_URL: url }, cwd }));
      expect(error.message, url).toMatch(/^database\.url: /);
    }
    for (const url of ['postgres://u@h/db', 'postgresql://u@h:5433/db']) {
      expect(loadConfig({ env: { PBFLEET_DATABASE_URL: url }, cwd }).database.url).toBe(url);
    }
  });

  it('a jwt.secret shorter than 32 characters', () => {
    expect(configError(() => loadConfig({ env: { PBFLEET_JWT_SECRET: 'x'.repeat(31) }, cwd })).message).toBe(
      'jwt.secret: must be a string of at least 32 characters',
    );
    expect(loadConfig({ env: { PBFLEET_JWT_SECRET: 'x'.repeat(32) }, cwd }).jwt.secret).toHaveLength(32);
  });

  it('a bad allowOrigins entry', () => {
    for (const origin of ['fleet.example.com', 'https://fleet.example.com/app', 'not a url']) {
      const error = configError(() => loadConfig({ env: { PBFLEET_ALLOW_ORIGINS: `https://ok.example.com,${origin}` }, cwd }));
      expect(error.message, origin).toBe(`allowOrigins: ${JSON.stringify(origin)} must be an origin like https://fleet.example.com`);
    }
    expect(loadConfig({ env: { PBFLEET_ALLOW_ORIGINS: 'https://fleet.example.com/,http://localhost:5173' }, cwd }).allowOrigins).toEqual([
      'https://fleet.example.com',
      'http://localhost:5173',
    ]);
  });
});

describe('loadServerSecrets', () => {
  const mode = (file: string) => statSync(file).mode & 0o777;

  it('creates jwt.secret and master.key (0600) in the data dir once and reuses them', () => {
    const dataDir = join(cwd, 'data');
    const config = loadConfig({ env: { PBFLEET_DATA_DIR: dataDir }, cwd });
    const first = loadServerSecrets(config);
    expect(mode(join(dataDir, 'jwt.secret'))).toBe(0o600);
    expect(mode(join(dataDir, 'master.key'))).toBe(0o600);
    expect(first.masterKey).toHaveLength(32);
    expect(first.jwtSecret.length).toBeGreaterThanOrEqual(32);
    expect(new TextDecoder().decode(first.jwtSecret)).toBe(readFileSync(join(dataDir, 'jwt.secret'), 'utf8').trim());
    expect(first.masterKey.toString('hex')).toBe(readFileSync(join(dataDir, 'master.key'), 'utf8').trim());

    const second = loadServerSecrets(loadConfig({ env: { PBFLEET_DATA_DIR: dataDir }, cwd }));
    expect(Buffer.from(second.jwtSecret).equals(Buffer.from(first.jwtSecret))).toBe(true);
    expect(second.masterKey.equals(first.masterKey)).toBe(true);
  });

  it('uses configured secrets and writes no files for them', () => {
    const dataDir = join(cwd, 'data');
    const master = randomBytes(32);
    const secret = 'y'.repeat(48);
    const hexSecrets = loadServerSecrets(loadConfig({ env: { PBFLEET_DATA_DIR: dataDir, PBFLEET_JWT_SECRET: secret, PBFLEET_MASTER_KEY: master.toString('hex') }, cwd }));
    expect(new TextDecoder().decode(hexSecrets.jwtSecret)).toBe(secret);
    expect(hexSecrets.masterKey.equals(master)).toBe(true);
    const base64 = loadServerSecrets(loadConfig({ env: { PBFLEET_DATA_DIR: dataDir, PBFLEET_JWT_SECRET: secret, PBFLEET_MASTER_KEY: master.toString('base64') }, cwd }));
    expect(base64.masterKey.equals(master)).toBe(true);
    expect(() => statSync(join(dataDir, 'jwt.secret'))).toThrow();
    expect(() => statSync(join(dataDir, 'master.key'))).toThrow();
  });

  it('rejects a configured master key that is not 32 bytes of hex or base64', () => {
    for (const key of ['not-a-key', randomBytes(16).toString('hex'), randomBytes(31).toString('base64'), 'z'.repeat(64)]) {
      const config = loadConfig({ env: { PBFLEET_DATA_DIR: join(cwd, 'data'), PBFLEET_MASTER_KEY: key }, cwd });
      const error = configError(() => loadServerSecrets(config));
      expect(error.message, key).toBe('secrets.masterKey: must be 32 bytes as 64 hex characters or base64');
    }
  });

  it('rejects a corrupted master.key file, naming it', () => {
    const dataDir = join(cwd, 'data');
    mkdirSync(dataDir);
    writeFileSync(join(dataDir, 'master.key'), 'garbage\n', { mode: 0o600 });
    const error = configError(() => loadServerSecrets(loadConfig({ env: { PBFLEET_DATA_DIR: dataDir }, cwd })));
    expect(error.message).toContain(join(dataDir, 'master.key'));
  });
});
