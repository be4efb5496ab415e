import Type, { type Static } from 'typebox';

/**
 * The configuration file schema. `hint` is the one-line reason printed when a value is bad,
 * so an operator reads "server.port: must be an integer 1-65535" rather than a validator's jargon.
 */
const Duration = (hint: string, def: string) =>
  Type.Union([Type.String(), Type.Number()], { default: def, hint: `must be a duration like ${hint}` });

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

export const ConfigFileSchema = Type.Object(
  {
    server: Type.Object(
      {
        host: Type.String({ minLength: 1, default: '0.0.0.0', hint: 'must be a host name or IP address' }),
        port: Type.Integer({ minimum: 1, maximum: 65535, default: 8080, hint: 'must be an integer 1-65535' }),
        readTimeout: Duration('"30s"', '30s'),
        writeTimeout: Duration('"30s"', '30s'),
        shutdownTimeout: Duration('"10s"', '10s'),
        bodyLimit: Type.Integer({ minimum: 1024, maximum: 104_857_600, default: 1_048_576, hint: 'must be a byte count 1024-104857600' }),
        trustProxy: Type.Boolean({ default: false, hint: 'must be true or false' }),
      },
      { additionalProperties: false, default: {} },
    ),
    database: Type.Object(
      {
        url: Type.String({ default: '', hint: 'must be empty (SQLite in the data dir), sqlite:<path> or postgres://...' }),
      },
      { additionalProperties: false, default: {} },
    ),
    jwt: Type.Object(
      {
        secret: Type.String({ default: '', hint: 'must be a string of at least 32 characters' }),
        expiry: Duration('"24h"', '24h'),
      },
      { additionalProperties: false, default: {} },
    ),
    allowOrigins: Type.Array(Type.String({ minLength: 1 }), { default: [], hint: 'must be a list of origins like https://fleet.example.com' }),
    dataDir: Type.String({ minLength: 1, default: './data', hint: 'must be a directory path' }),
    secrets: Type.Object(
      {
        masterKey: Type.String({ default: '', hint: 'must be 32 bytes as 64 hex characters or base64' }),
      },
      { additionalProperties: false, default: {} },
    ),
    log: Type.Object(
      {
        level: Type.Union(LOG_LEVELS.map((l) => Type.Literal(l)), { default: 'info', hint: `must be one of ${LOG_LEVELS.join(', ')}` }),
      },
      { additionalProperties: false, default: {} },
    ),
    audit: Type.Object(
      {
        retentionDays: Type.Integer({ minimum: 1, maximum: 36_500, default: 90, hint: 'must be an integer 1-36500' }),
        purgeInterval: Duration('"1h"', '1h'),
      },
      { additionalProperties: false, default: {} },
    ),
    auth: Type.Object(
      {
        adminPassword: Type.String({ default: '', hint: 'must be a string' }),
        loginMaxFailures: Type.Integer({ minimum: 1, maximum: 1000, default: 10, hint: 'must be an integer 1-1000' }),
        loginWindow: Duration('"10m"', '10m'),
      },
      { additionalProperties: false, default: {} },
    ),
    hub: Type.Object(
      {
        heartbeatInterval: Duration('"30s"', '30s'),
        maxBufferedBytes: Type.Integer({ minimum: 1024, default: 1_048_576, hint: 'must be a byte count >= 1024' }),
        maxLaggedMessages: Type.Integer({ minimum: 1, default: 1000, hint: 'must be an integer >= 1' }),
        maxConnectionsPerCredential: Type.Integer({ minimum: 1, maximum: 10_000, default: 20, hint: 'must be an integer 1-10000' }),
      },
      { additionalProperties: false, default: {} },
    ),
    network: Type.Object(
      {
        allowTargets: Type.Array(Type.String({ pattern: '^[0-9a-fA-F:.]+(/\\d{1,3})?$' }), {
          default: [],
          hint: 'must be a list of addresses or CIDRs like 10.8.0.0/16 (loopback and private targets of health checks and HTTP commands)',
        }),
      },
      { additionalProperties: false, default: {} },
    ),
    health: Type.Object(
      {
        workers: Type.Integer({ minimum: 1, maximum: 2000, default: 100, hint: 'must be an integer 1-2000 (checks run at once)' }),
        degradedThreshold: Duration('"2s"', '2s'),
        sampleRetention: Duration('"48h"', '48h'),
        hourlyRetentionDays: Type.Integer({ minimum: 1, maximum: 3650, default: 90, hint: 'must be an integer 1-3650' }),
      },
      { additionalProperties: false, default: {} },
    ),
    ssh: Type.Object(
      {
        maxChannelsPerHost: Type.Integer({ minimum: 1, maximum: 64, default: 8, hint: 'must be an integer 1-64' }),
        connectTimeout: Duration('"10s"', '10s'),
        commandTimeout: Duration('"60s"', '60s'),
        keepaliveInterval: Duration('"15s"', '15s'),
      },
      { additionalProperties: false, default: {} },
    ),
    systemInfo: Type.Object(
      {
        interval: Duration('"5m"', '5m'),
      },
      { additionalProperties: false, default: {} },
    ),
    supervisor: Type.Object(
      {
        restartBackoff: Duration('"5s"', '5s'),
        maxRestartBackoff: Duration('"5m"', '5m'),
        probeInterval: Duration('"3s"', '3s'),
        readyTimeout: Duration('"30s"', '30s'),
        logRotateInterval: Duration('"30s"', '30s'),
      },
      { additionalProperties: false, default: {} },
    ),
    jobs: Type.Object(
      {
        slots: Type.Integer({ minimum: 1, maximum: 1024, default: 2, hint: 'must be an integer 1-1024 (CPU slots per environment)' }),
        environmentSlots: Type.Record(Type.String(), Type.Integer({ minimum: 1, maximum: 1024 }), { default: {}, hint: 'must map environment ids to slot counts 1-1024' }),
        cancelTimeout: Duration('"30s"', '30s'),
      },
      { additionalProperties: false, default: {} },
    ),
    ui: Type.Object(
      {
        dir: Type.String({ default: '', hint: 'must be a directory path (empty: the web UI built next to the installed package, dist/web)' }),
      },
      { additionalProperties: false, default: {} },
    ),
    redis: Type.Object(
      {
        url: Type.String({ default: '', pattern: '^(|rediss?://.+)$', hint: 'must be empty or a redis:// URL' }),
        prefix: Type.String({ default: 'pbfleet', pattern: '^[A-Za-z0-9_.:-]{1,64}$', hint: 'must be 1-64 letters, digits or _ . : -' }),
      },
      { additionalProperties: false, default: {} },
    ),
  },
  { additionalProperties: false },
);

export type ConfigFile = Static<typeof ConfigFileSchema>;
