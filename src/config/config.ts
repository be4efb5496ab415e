import { readFileSync, existsSync } from 'node:fs';
import { isIP } from 'node:net';
import { dirname, isAbsolute, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Ajv, type ErrorObject } from 'ajv';
import { createRequire } from 'node:module';
import type yamlTypes from 'yaml';
import { ConfigFileSchema, type ConfigFile } from './config.schema.js';
import { parseDuration } from './duration.js';

export class ConfigError extends Error {
  override name = 'ConfigError';
}

export interface AppConfig {
  readonly server: {
    readonly host: string;
    readonly port: number;
    readonly readTimeoutMs: number;
    readonly writeTimeoutMs: number;
    readonly shutdownTimeoutMs: number;
    readonly bodyLimit: number;
    readonly trustProxy: boolean;
  };
  readonly database: { readonly url: string };
  readonly jwt: { readonly secret: string; readonly expiryMs: number };
  readonly allowOrigins: readonly string[];
  readonly dataDir: string;
  readonly secrets: { readonly masterKey: string };
  readonly log: { readonly level: ConfigFile['log']['level'] };
  readonly audit: { readonly retentionDays: number; readonly purgeIntervalMs: number };
  readonly auth: { readonly adminPassword: string; readonly loginMaxFailures: number; readonly loginWindowMs: number };
  readonly hub: { readonly heartbeatIntervalMs: number; readonly maxBufferedBytes: number; readonly maxLaggedMessages: number; readonly maxConnectionsPerCredential: number };
  readonly network: { readonly allowTargets: readonly string[] };
  readonly health: { readonly workers: number; readonly degradedThresholdMs: number; readonly sampleRetentionMs: number; readonly hourlyRetentionDays: number };
  readonly ssh: { readonly maxChannelsPerHost: number; readonly connectTimeoutMs: number; readonly commandTimeoutMs: number; readonly keepaliveIntervalMs: number };
  readonly systemInfo: { readonly intervalMs: number };
  readonly supervisor: { readonly restartBackoffMs: number; readonly maxRestartBackoffMs: number; readonly probeIntervalMs: number; readonly readyTimeoutMs: number; readonly logRotateIntervalMs: number };
  readonly jobs: { readonly slots: number; readonly environmentSlots: Readonly<Record<string, number>>; readonly cancelTimeoutMs: number };
  readonly redis: { readonly url: string; readonly prefix: string };
  /** The built web UI (index.html, assets/) served at `/`. */
  readonly ui: { readonly dir: string };
}

type EnvKind = 'string' | 'integer' | 'boolean' | 'list';
/** Environment variables and the config keys they set. Documented in the README. */
export const ENV_KEYS: Readonly<Record<string, { path: string; kind: EnvKind }>> = {
  PBFLEET_HOST: { path: 'server.host', kind: 'string' },
  PBFLEET_PORT: { path: 'server.port', kind: 'integer' },
  PBFLEET_SHUTDOWN_TIMEOUT: { path: 'server.shutdownTimeout', kind: 'string' },
  PBFLEET_TRUST_PROXY: { path: 'server.trustProxy', kind: 'boolean' },
  PBFLEET_DATA_DIR: { path: 'dataDir', kind: 'string' },
  PBFLEET_DATABASE_URL: { path: 'database.url', kind: 'string' },
  PBFLEET_JWT_SECRET: { path: 'jwt.secret', kind: 'string' },
  PBFLEET_JWT_EXPIRY: { path: 'jwt.expiry', kind: 'string' },
  PBFLEET_MASTER_KEY: { path: 'secrets.masterKey', kind: 'string' },
  PBFLEET_ADMIN_PASSWORD: { path: 'auth.adminPassword', kind: 'string' },
  PBFLEET_LOG_LEVEL: { path: 'log.level', kind: 'string' },
  PBFLEET_ALLOW_ORIGINS: { path: 'allowOrigins', kind: 'list' },
  PBFLEET_AUDIT_RETENTION_DAYS: { path: 'audit.retentionDays', kind: 'integer' },
  PBFLEET_REDIS_URL: { path: 'redis.url', kind: 'string' },
  PBFLEET_REDIS_PREFIX: { path: 'redis.prefix', kind: 'string' },
  PBFLEET_JOB_SLOTS: { path: 'jobs.slots', kind: 'integer' },
  PBFLEET_UI_DIR: { path: 'ui.dir', kind: 'string' },
};
/** Variables that are read elsewhere and must not be mistaken for typos. */
const ENV_NOT_CONFIG = new Set(['PBFLEET_CONFIG']);

export interface LoadConfigOptions {
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** Overrides applied last, for tests and embedding. */
  overrides?: Record<string, unknown>;
}

export function loadConfig(options: LoadConfigOptions = {}): AppConfig {
  const env = options.env ?? process.env;
  const cwd = options.cwd ?? process.cwd();
  const raw: Record<string, unknown> = {};
  const file = env.PBFLEET_CONFIG ? resolve(cwd, env.PBFLEET_CONFIG) : resolve(cwd, 'config.yaml');
  if (env.PBFLEET_CONFIG || existsSync(file)) merge(raw, readConfigFile(file));
  merge(raw, readEnv(env));
  if (options.overrides) merge(raw, structuredClone(options.overrides));
  return resolveConfig(validate(raw), cwd);
}

function readConfigFile(file: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new ConfigError(`config file ${file}: cannot be read (${(error as NodeJS.ErrnoException).code ?? 'error'})`);
  }
  let parsed: unknown;
  try {
    // Loaded only when there is a file to read.
    parsed = (createRequire(import.meta.url)('yaml') as typeof yamlTypes).parse(text);
  } catch (error) {
    throw new ConfigError(`config file ${file}: invalid YAML (${(error as Error).message.split('\n')[0]})`);
  }
  if (parsed === null || parsed === undefined) return {};
  if (typeof parsed !== 'object' || Array.isArray(parsed)) throw new ConfigError(`config file ${file}: must be a mapping of keys`);
  return parsed as Record<string, unknown>;
}

function readEnv(env: NodeJS.ProcessEnv): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(env)) {
    if (!name.startsWith('PBFLEET_') || value === undefined || ENV_NOT_CONFIG.has(name) || name.startsWith('PBFLEET_TEST_')) continue;
    const key = ENV_KEYS[name];
    if (!key) throw new ConfigError(`${name}: unknown environment variable (known: ${Object.keys(ENV_KEYS).join(', ')})`);
    setPath(out, key.path, parseEnvValue(name, key, value));
  }
  return out;
}

function parseEnvValue(name: string, key: { path: string; kind: EnvKind }, value: string): unknown {
  switch (key.kind) {
    case 'integer': {
      if (!/^-?\d+$/.test(value.trim())) throw new ConfigError(`${key.path}: ${hintAt(key.path) ?? 'must be an integer'} (from ${name}=${JSON.stringify(value)})`);
      return Number(value);
    }
    case 'boolean': {
      if (!/^(true|false|1|0)$/i.test(value.trim())) throw new ConfigError(`${key.path}: must be true or false (from ${name})`);
      return /^(true|1)$/i.test(value.trim());
    }
    case 'list':
      return value.split(',').map((s) => s.trim()).filter(Boolean);
    default:
      return value;
  }
}

const ajv = new Ajv({ allErrors: false, useDefaults: true, strict: false });
const check = ajv.compile<ConfigFile>(ConfigFileSchema);

function validate(raw: Record<string, unknown>): ConfigFile {
  if (check(raw)) return raw;
  const error = check.errors?.[0];
  throw new ConfigError(error ? describe(error) : 'configuration is invalid');
}

function describe(error: ErrorObject): string {
  const path = error.instancePath.split('/').filter(Boolean).join('.');
  if (error.keyword === 'additionalProperties') {
    const key = String((error.params as { additionalProperty: string }).additionalProperty);
    return `${path ? `${path}.` : ''}${key}: unknown key`;
  }
  const hint = (error.parentSchema as { hint?: string } | undefined)?.hint ?? hintAt(path) ?? error.message ?? 'is invalid';
  return `${path || '(root)'}: ${hint}`;
}

/** Union and array errors point at a subschema; the hint lives on the property itself. */
function hintAt(path: string): string | undefined {
  let schema: unknown = ConfigFileSchema;
  for (const part of path.split('.').filter(Boolean)) {
    const props = (schema as { properties?: Record<string, unknown>; items?: unknown }).properties;
    schema = props ? props[part] : (schema as { items?: unknown }).items;
    if (!schema) return undefined;
  }
  return (schema as { hint?: string }).hint;
}

function resolveConfig(file: ConfigFile, cwd: string): AppConfig {
  const duration = (path: string, value: string | number) => {
    const ms = parseDuration(value);
    if (ms === undefined) throw new ConfigError(`${path}: ${hintAt(path) ?? 'must be a duration'}`);
    return ms;
  };
  if (file.jwt.secret && file.jwt.secret.length < 32) throw new ConfigError('jwt.secret: must be a string of at least 32 characters');
  const dataDir = isAbsolute(file.dataDir) ? file.dataDir : resolve(cwd, file.dataDir);
  const config: AppConfig = {
    server: {
      host: file.server.host,
      port: file.server.port,
      readTimeoutMs: duration('server.readTimeout', file.server.readTimeout),
      writeTimeoutMs: duration('server.writeTimeout', file.server.writeTimeout),
      shutdownTimeoutMs: duration('server.shutdownTimeout', file.server.shutdownTimeout),
      bodyLimit: file.server.bodyLimit,
      trustProxy: file.server.trustProxy,
    },
    database: { url: resolveDatabaseUrl(file.database.url, dataDir, cwd) },
    jwt: { secret: file.jwt.secret, expiryMs: duration('jwt.expiry', file.jwt.expiry) },
    allowOrigins: file.allowOrigins.map((origin) => validOrigin(origin)),
    dataDir,
    secrets: { masterKey: file.secrets.masterKey },
    log: { level: file.log.level },
    audit: { retentionDays: file.audit.retentionDays, purgeIntervalMs: duration('audit.purgeInterval', file.audit.purgeInterval) },
    auth: {
      adminPassword: file.auth.adminPassword,
      loginMaxFailures: file.auth.loginMaxFailures,
      loginWindowMs: duration('auth.loginWindow', file.auth.loginWindow),
    },
    hub: {
      heartbeatIntervalMs: duration('hub.heartbeatInterval', file.hub.heartbeatInterval),
      maxBufferedBytes: file.hub.maxBufferedBytes,
      maxLaggedMessages: file.hub.maxLaggedMessages,
      maxConnectionsPerCredential: file.hub.maxConnectionsPerCredential,
    },
    network: { allowTargets: file.network.allowTargets.map(validCidr) },
    health: {
      workers: file.health.workers,
      degradedThresholdMs: duration('health.degradedThreshold', file.health.degradedThreshold),
      sampleRetentionMs: duration('health.sampleRetention', file.health.sampleRetention),
      hourlyRetentionDays: file.health.hourlyRetentionDays,
    },
    ssh: {
      maxChannelsPerHost: file.ssh.maxChannelsPerHost,
      connectTimeoutMs: duration('ssh.connectTimeout', file.ssh.connectTimeout),
      commandTimeoutMs: duration('ssh.commandTimeout', file.ssh.commandTimeout),
      keepaliveIntervalMs: duration('ssh.keepaliveInterval', file.ssh.keepaliveInterval),
    },
    systemInfo: { intervalMs: duration('systemInfo.interval', file.systemInfo.interval) },
    supervisor: {
      restartBackoffMs: duration('supervisor.restartBackoff', file.supervisor.restartBackoff),
      maxRestartBackoffMs: duration('supervisor.maxRestartBackoff', file.supervisor.maxRestartBackoff),
      probeIntervalMs: duration('supervisor.probeInterval', file.supervisor.probeInterval),
      readyTimeoutMs: duration('supervisor.readyTimeout', file.supervisor.readyTimeout),
      logRotateIntervalMs: duration('supervisor.logRotateInterval', file.supervisor.logRotateInterval),
    },
    jobs: { slots: file.jobs.slots, environmentSlots: { ...file.jobs.environmentSlots }, cancelTimeoutMs: duration('jobs.cancelTimeout', file.jobs.cancelTimeout) },
    redis: { url: file.redis.url, prefix: file.redis.prefix },
    ui: { dir: file.ui.dir ? resolve(cwd, file.ui.dir) : DEFAULT_UI_DIR },
  };
  if (config.jwt.expiryMs < 60_000) throw new ConfigError('jwt.expiry: must be at least 1m');
  return deepFreeze(config);
}

/** dist/web of the installed package: this file is dist/config/config.js (or src/config/config.ts under tsx). */
const DEFAULT_UI_DIR = resolve(dirname(fileURLToPath(import.meta.url)), '../../dist/web');

function validCidr(entry: string): string {
  const [address = '', bits] = entry.split('/');
  const family = isIP(address);
  const max = family === 6 ? 128 : 32;
  if (!family || (bits !== undefined && (!/^\d+$/.test(bits) || Number(bits) > max))) {
    throw new ConfigError(`network.allowTargets: ${JSON.stringify(entry)} must be an address or CIDR like 10.8.0.0/16`);
  }
  return entry;
}

function resolveDatabaseUrl(url: string, dataDir: string, cwd: string): string {
  if (!url) return `sqlite:${resolve(dataDir, 'pbfleet.db')}`;
  if (/^postgres(ql)?:\/\//.test(url)) return url;
  if (url.startsWith('sqlite:')) {
    const path = url.slice('sqlite:'.length);
    if (!path) throw new ConfigError('database.url: sqlite: needs a file path');
    return path === ':memory:' ? url : `sqlite:${resolve(cwd, path)}`;
  }
  throw new ConfigError('database.url: must be empty (SQLite in the data dir), sqlite:<path> or postgres://...');
}

function validOrigin(origin: string): string {
  if (origin === '*') return origin;
  try {
    const parsed = new URL(origin);
    if (parsed.origin !== origin.replace(/\/$/, '')) throw new Error('not an origin');
    return parsed.origin;
  } catch {
    throw new ConfigError(`allowOrigins: ${JSON.stringify(origin)} must be an origin like https://fleet.example.com`);
  }
}

function merge(target: Record<string, unknown>, source: Record<string, unknown>): void {
  for (const [key, value] of Object.entries(source)) {
    const current = target[key];
    if (isPlainObject(value) && isPlainObject(current)) merge(current, value);
    else target[key] = value;
  }
}

function setPath(target: Record<string, unknown>, path: string, value: unknown): void {
  const parts = path.split('.');
  let node = target;
  for (const part of parts.slice(0, -1)) {
    if (!isPlainObject(node[part])) node[part] = {};
    node = node[part] as Record<string, unknown>;
  }
  node[parts.at(-1) as string] = value;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null) {
    for (const child of Object.values(value)) deepFreeze(child);
    Object.freeze(value);
  }
  return value;
}
