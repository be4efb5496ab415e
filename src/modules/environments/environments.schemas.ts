import Type, { type TSchema } from 'typebox';
import { FreeObject, NullableTimestamp, PageQuery, Pagination, Timestamp } from '../../http/schemas.js';
import { SystemInfoSchema } from './system-info.fns.js';
import { CHECK_TYPES, HEALTH_STATES, HTTP_METHODS } from './environments.types.js';

const Nullable = <T extends TSchema>(schema: T) => Type.Union([schema, Type.Null()]);
const NoControl = '^[^\\u0000-\\u001f\\u007f]*$';
const HeaderName = Type.String({ maxLength: 100, pattern: "^[A-Za-z0-9!#$%&'*+.^_`|~-]+$" });
const KeepStored = Type.Object({ set: Type.Optional(Type.Literal(true)) }, { additionalProperties: false, description: 'keep the stored value' });
const Headers = Type.Union(
  [Type.Record(HeaderName, Type.Union([Type.String({ maxLength: 4000, pattern: NoControl }), Type.Null(), KeepStored]), { maxProperties: 50 }), Type.Null()],
  {
    description:
      'HTTP headers. Values are secret: sealed at rest and never returned (responses show `{ "set": true }`). A value sets a header, null removes it, `{}` or `{ "set": true }` or leaving the name out keeps the stored value; `headers: null` removes all. Values are kept only while the URL keeps its origin.',
  },
);
const PublicHeaders = Type.Record(Type.String(), Type.Object({ set: Type.Literal(true) }), { description: 'header names; values are write-only' });
const HttpUrl = Type.String({ maxLength: 2000, pattern: '^https?://[^\\s]+$', description: 'http(s) URL' });
const Method = Type.Enum([...HTTP_METHODS]);
export const Fingerprint = Type.String({ pattern: '^SHA256:[A-Za-z0-9+/]{43}$', description: 'OpenSSH SHA256 fingerprint, as `ssh-keygen -l` prints it' });

export const EnvironmentName = Type.String({ minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9][A-Za-z0-9._-]*$', description: 'letters, digits, . _ -' });
const Host = Type.String({ minLength: 1, maxLength: 253, pattern: '^[A-Za-z0-9.:_-]+$', description: 'host name, IPv4 or IPv6 address' });
const Port = Type.Integer({ minimum: 1, maximum: 65535 });
const Username = Type.String({ minLength: 1, maxLength: 64, pattern: '^[A-Za-z_][A-Za-z0-9._-]*$' });
const PathText = Type.String({ minLength: 1, maxLength: 1024, pattern: NoControl });
// Free text may span lines; other control characters (NUL above all: PostgreSQL text refuses it) may not.
const Description = Type.String({ maxLength: 1000, pattern: '^[^\\u0000-\\u0008\\u000b\\u000c\\u000e-\\u001f\\u007f]*$' });

export const TargetSchema = Type.Object({ host: Host, port: Type.Optional(Port), domain: Type.Optional(Host) }, { additionalProperties: false });

export const CredentialsBody = Type.Object(
  {
    type: Type.Enum(['key', 'password']),
    username: Username,
    privateKey: Type.Optional(Nullable(Type.String({ minLength: 1, maxLength: 16_384, description: 'OpenSSH or PEM private key; write-only' }))),
    passphrase: Type.Optional(Nullable(Type.String({ minLength: 1, maxLength: 1024, description: 'write-only' }))),
    password: Type.Optional(Nullable(Type.String({ minLength: 1, maxLength: 1024, description: 'write-only' }))),
  },
  { additionalProperties: false, description: 'Secret parts are write-only: omit to keep, null to clear' },
);

export const HealthCheckBody = Type.Object(
  {
    enabled: Type.Boolean(),
    type: Type.Enum([...CHECK_TYPES]),
    endpoint: Type.Optional(Type.String({ minLength: 1, maxLength: 2000, pattern: NoControl, description: 'http: URL; tcp: host:port' })),
    method: Type.Optional(Method),
    interval: Type.Integer({ minimum: 5, maximum: 86_400, description: 'seconds between checks' }),
    timeout: Type.Integer({ minimum: 1, maximum: 300, description: 'seconds' }),
    retries: Type.Integer({ minimum: 0, maximum: 20, description: 'failures in a row tolerated before unhealthy' }),
    validation: Type.Optional(
      Type.Object(
        { type: Type.Enum(['statusCode', 'jsonRegex', 'bodyRegex']), value: Type.String({ minLength: 1, maxLength: 500 }) },
        { additionalProperties: false },
      ),
    ),
    headers: Type.Optional(Headers),
    command: Type.Optional(Type.String({ minLength: 1, maxLength: 1000, pattern: NoControl, description: 'ssh, local: probe command; exit 0 is healthy' })),
    degradedAfter: Type.Optional(Type.Number({ exclusiveMinimum: 0, maximum: 300, description: 'seconds above which a success is degraded' })),
  },
  { additionalProperties: false },
);

const CommandDetailsBody = Type.Object(
  {
    enabled: Type.Boolean(),
    command: Type.Optional(Type.String({ minLength: 1, maxLength: 4000, description: 'ssh: run as given on the host' })),
    url: Type.Optional(HttpUrl),
    method: Type.Optional(Method),
    headers: Type.Optional(Headers),
    body: Type.Optional(Nullable(FreeObject({ keys: Type.String({ maxLength: 200 }), description: 'JSON body; left out keeps the stored one, null removes it' }))),
    bodySecret: Type.Optional(Type.Boolean({ description: 'seal the body at rest and never return it' })),
  },
  { additionalProperties: false },
);

/** What responses show of a command: header names only, no secret body. */
const CommandDetailsPublic = Type.Object({
  enabled: Type.Boolean(),
  command: Type.Optional(Type.String()),
  url: Type.Optional(Type.String()),
  method: Type.Optional(Method),
  headers: Type.Optional(PublicHeaders),
  body: Type.Optional(Type.Record(Type.String(), Type.Unknown(), { description: 'absent when bodySecret' })),
  bodySecret: Type.Optional(Type.Boolean()),
});

export const CommandsBody = Type.Object({ type: Type.Enum(['ssh', 'http']), restart: CommandDetailsBody }, { additionalProperties: false });

const UpgradeSourceFields = {
  type: Type.Enum(['ssh', 'http']),
  versionListURL: Type.Optional(HttpUrl),
  versionPath: Type.Optional(Type.String({ maxLength: 200, pattern: '^[A-Za-z0-9_$.\\[\\]*-]*$', description: 'where the list is in the JSON: versions, data.releases[*].tag' })),
};

export const UpgradeConfigBody = Type.Object(
  { ...CommandDetailsBody.properties, ...UpgradeSourceFields },
  { additionalProperties: false, description: 'command/url/body may contain {VERSION}, replaced by the validated, quoted version' },
);
const CommandsPublic = Type.Object({ type: Type.Enum(['ssh', 'http']), restart: CommandDetailsPublic });
const UpgradeConfigPublic = Type.Object({ ...CommandDetailsPublic.properties, ...UpgradeSourceFields });

export const RuntimeBody = Type.Object(
  {
    passivbotDir: Type.Optional(PathText),
    pythonPath: Type.Optional(PathText),
    kind: Type.Optional(Type.Enum(['v7', 'cli'])),
    workDir: Type.Optional(PathText),
  },
  { additionalProperties: false },
);

const Metadata = FreeObject({ keys: Type.String({ maxLength: 100 }), description: 'free-form labels' });

export const CreateEnvironmentBody = Type.Object(
  {
    name: EnvironmentName,
    description: Type.Optional(Description),
    environmentURL: Type.Optional(Nullable(HttpUrl)),
    target: TargetSchema,
    credentials: CredentialsBody,
    hostKey: Type.Optional(Type.Object({ fingerprint: Fingerprint }, { additionalProperties: false, description: 'pin the host key instead of trusting on first use' })),
    healthCheck: Type.Optional(HealthCheckBody),
    commands: Type.Optional(Nullable(CommandsBody)),
    upgradeConfig: Type.Optional(Nullable(UpgradeConfigBody)),
    runtime: Type.Optional(RuntimeBody),
    metadata: Type.Optional(Metadata),
  },
  { additionalProperties: false },
);

export const UpdateEnvironmentBody = Type.Object(
  {
    name: Type.Optional(EnvironmentName),
    description: Type.Optional(Description),
    environmentURL: Type.Optional(Nullable(HttpUrl)),
    target: Type.Optional(TargetSchema),
    credentials: Type.Optional(Type.Object({ ...CredentialsBody.properties, type: Type.Optional(CredentialsBody.properties.type), username: Type.Optional(Username) }, { additionalProperties: false })),
    healthCheck: Type.Optional(HealthCheckBody),
    commands: Type.Optional(Nullable(CommandsBody)),
    upgradeConfig: Type.Optional(Nullable(UpgradeConfigBody)),
    runtime: Type.Optional(RuntimeBody),
    metadata: Type.Optional(Metadata),
  },
  { additionalProperties: false, minProperties: 1 },
);

const HealthStatusSchema = Type.Object({
  health: Type.Enum([...HEALTH_STATES]),
  lastCheck: NullableTimestamp,
  message: Type.String(),
  responseTime: Nullable(Type.Number()),
  lastHealthyAt: NullableTimestamp,
  consecutiveFailures: Type.Integer(),
});

/** The response: picks public fields, so sealed secrets cannot be serialised by accident. */
export const EnvironmentSchema = Type.Object(
  {
    id: Type.String(),
    name: Type.String(),
    description: Type.String(),
    environmentURL: Nullable(Type.String()),
    kind: Type.Enum(['local', 'ssh']),
    target: Nullable(Type.Object({ host: Type.String(), port: Type.Integer(), domain: Type.Optional(Type.String()) })),
    credentials: Nullable(
      Type.Object({
        type: Type.Enum(['key', 'password']),
        username: Type.String(),
        hasPrivateKey: Type.Boolean(),
        hasPassphrase: Type.Boolean(),
        hasPassword: Type.Boolean(),
        keyFingerprint: Nullable(Type.String()),
      }),
    ),
    hostKey: Nullable(
      Type.Object({
        fingerprint: Nullable(Type.String()),
        pinned: Type.Boolean(),
        trustedAt: NullableTimestamp,
        mismatch: Nullable(Type.Object({ fingerprint: Type.String(), seenAt: Timestamp })),
      }),
    ),
    healthCheck: Type.Object({ ...HealthCheckBody.properties, headers: Type.Optional(PublicHeaders) }),
    status: HealthStatusSchema,
    systemInfo: Nullable(SystemInfoSchema),
    timestamps: Type.Object({ createdAt: Timestamp, updatedAt: Timestamp }),
    commands: Nullable(CommandsPublic),
    upgradeConfig: Nullable(UpgradeConfigPublic),
    runtime: Type.Object({ passivbotDir: Type.String(), pythonPath: Type.String(), kind: Type.Enum(['v7', 'cli']), workDir: Type.String() }),
    metadata: Type.Record(Type.String(), Type.Unknown()),
  },
  { $id: 'Environment' },
);

export const EnvironmentListQuery = Type.Object(
  {
    ...PageQuery,
    health: Type.Optional(Type.Enum([...HEALTH_STATES])),
    q: Type.Optional(Type.String({ minLength: 1, maxLength: 200, pattern: NoControl })),
    sort: Type.Optional(Type.Enum(['name', '-name', 'createdAt', '-createdAt', 'health', '-health'])),
  },
  { additionalProperties: false },
);

export const EnvironmentList = Type.Object({ environments: Type.Array(EnvironmentSchema), pagination: Pagination });
export const ServerList = Type.Object({ servers: Type.Array(EnvironmentSchema), pagination: Pagination });

export const OperationStarted = Type.Object({
  operationId: Type.String(),
  status: Type.Literal('in_progress'),
  startedAt: Timestamp,
});

export const OperationSchema = Type.Object(
  {
    id: Type.String(),
    environmentId: Type.String(),
    type: Type.Enum(['restart', 'upgrade', 'check_health', 'deploy']),
    status: Type.Enum(['in_progress', 'succeeded', 'failed']),
    params: Type.Record(Type.String(), Type.Unknown()),
    output: Type.Optional(Type.String({ description: 'operators and admins only: capped, credentials redacted' })),
    error: Nullable(Type.String()),
    requestedBy: Nullable(Type.String()),
    startedAt: Timestamp,
    finishedAt: NullableTimestamp,
    exitCode: Nullable(Type.Integer({ description: 'exit status of the SSH command (restart, upgrade); null for HTTP commands, a command ended by a signal or timeout, and other operations' })),
    httpStatus: Nullable(Type.Integer({ description: 'status code the HTTP command answered (restart, upgrade); null otherwise' })),
  },
  { $id: 'Operation' },
);

export const DeleteQuery = Type.Object({ force: Type.Optional(Type.Boolean({ default: false })) }, { additionalProperties: false });
export const RestartBody = Type.Object({ force: Type.Optional(Type.Boolean()) }, { additionalProperties: false });
export const UpgradeBody = Type.Object({ version: Type.String({ minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9][A-Za-z0-9._+-]*$' }) }, { additionalProperties: false });
export const AcceptHostKeyBody = Type.Object(
  { fingerprint: Type.Optional(Fingerprint) },
  { additionalProperties: false, description: 'The fingerprint being accepted; must be the one the host presented' },
);
export const VersionsResult = Type.Object({ versions: Type.Array(Type.String()), source: Type.String() });
