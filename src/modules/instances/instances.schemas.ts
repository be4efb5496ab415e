import Type from 'typebox';
import { FreeObject, NO_CONTROL_CHARS, NullableTimestamp, Pagination, PageQuery, Timestamp } from '../../http/schemas.js';
import { INSTANCE_STATUSES } from './instances.types.js';

const Nullable = <T extends Parameters<typeof Type.Union>[0][number]>(schema: T) => Type.Union([schema, Type.Null()]);

export const INSTANCE_NAME_PATTERN = '^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$';
const Name = Type.String({ minLength: 1, maxLength: 64, pattern: INSTANCE_NAME_PATTERN, description: 'Unique; letters, digits, . _ -' });
const EnvironmentId = Type.String({ minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9_-]+$' });
const AccountName = Type.String({ minLength: 1, maxLength: 64, pattern: NO_CONTROL_CHARS, description: 'The exchange account (Passivbot user) by name' });
const Shape = Type.Enum(['v7', 'cli'], { description: 'v7 scripts (src/main.py) or the passivbot CLI' });
/** Validated by the Passivbot config checks (paths named in the error), not by the route schema. */
const Config = FreeObject({ description: 'A Passivbot config (v7 or v8); partial configs are filled by Passivbot' });

export const LiveSummarySchema = Type.Object(
  {
    balance: Nullable(Type.Number()),
    currency: Nullable(Type.String()),
    equity: Nullable(Type.Number()),
    positionsLong: Nullable(Type.Number()),
    positionsShort: Nullable(Type.Number()),
    realizedPnl: Type.Number(),
    fills: Type.Integer(),
    errors: Type.Integer(),
    ready: Type.Boolean(),
    lastHealthAt: Nullable(Type.String()),
    lastFillAt: Nullable(Type.String()),
    uptime: Nullable(Type.String()),
    loopSeconds: Nullable(Type.Number()),
    wsReconnects: Nullable(Type.Number()),
    rateLimits: Nullable(Type.Number()),
    rssMb: Nullable(Type.Number()),
    lastError: Nullable(Type.String()),
    recentErrors: Nullable(Type.Number({ description: '[health] errors=N/10: errors in the last hour (Passivbot restarts itself past its budget)' })),
    healthFills: Nullable(Type.Number({ description: '[health] fills since the bot last (re)started itself' })),
    healthPnl: Nullable(Type.Number({ description: '[health] pnl since the bot last (re)started itself' })),
  },
  { description: "Parsed from the bot's log lines ([health], [fill], [balance], errors)" },
);

export const InstanceSchema = Type.Object({
  id: Type.String(),
  name: Type.String(),
  environmentId: Type.String(),
  account: Type.String(),
  exchange: Type.String(),
  symbols: Type.Array(Type.String()),
  config: Config,
  runtime: Shape,
  desiredState: Type.Enum(['running', 'stopped']),
  status: Type.Enum([...INSTANCE_STATUSES]),
  pid: Nullable(Type.Integer()),
  startedAt: NullableTimestamp,
  restartCount: Type.Integer(),
  lastExitCode: Nullable(Type.Integer()),
  lastError: Nullable(Type.String()),
  configVersion: Type.Integer(),
  runningConfigVersion: Nullable(Type.Integer()),
  restartNeeded: Type.Boolean({ description: 'The running bot was started from an older config version' }),
  summary: LiveSummarySchema,
  createdAt: Timestamp,
  updatedAt: Timestamp,
});

export const InstanceList = Type.Object({ instances: Type.Array(InstanceSchema), pagination: Pagination });

export const InstanceListQuery = Type.Object({
  ...PageQuery,
  environment: Type.Optional(EnvironmentId),
  status: Type.Optional(Type.Enum([...INSTANCE_STATUSES])),
  exchange: Type.Optional(Type.String({ minLength: 1, maxLength: 32, pattern: '^[a-z0-9_]+$' })),
  q: Type.Optional(Type.String({ minLength: 1, maxLength: 100, pattern: NO_CONTROL_CHARS })),
});

/** What a new bot needs besides its config (which may come from elsewhere, e.g. a job's result). */
export const InstanceFields = { name: Name, environmentId: EnvironmentId, account: AccountName, runtime: Type.Optional(Shape) };

export const CreateInstanceBody = Type.Object({ ...InstanceFields, config: Config }, { additionalProperties: false });

export const UpdateInstanceBody = Type.Object(
  {
    name: Type.Optional(Name),
    environmentId: Type.Optional(EnvironmentId),
    account: Type.Optional(AccountName),
    config: Type.Optional(Config),
    runtime: Type.Optional(Shape),
    note: Type.Optional(Type.String({ maxLength: 200, pattern: NO_CONTROL_CHARS, description: 'Kept with the new config version' })),
  },
  { additionalProperties: false, minProperties: 1 },
);

export const BulkBody = Type.Object(
  {
    action: Type.Enum(['start', 'stop', 'restart']),
    ids: Type.Array(Type.String({ minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9_-]+$' }), { minItems: 1, maxItems: 500, uniqueItems: true }),
  },
  { additionalProperties: false },
);

export const BulkResult = Type.Object({
  action: Type.String(),
  results: Type.Array(
    Type.Object({ id: Type.String(), ok: Type.Boolean(), status: Type.Optional(Type.String()), error: Type.Optional(Type.String()) }),
  ),
});

export const StopAllResult = Type.Object({ stopped: Type.Integer(), failed: Type.Array(Type.Object({ id: Type.String(), name: Type.String(), error: Type.String() })) });

export const ConfigVersionSchema = Type.Object({ version: Type.Integer(), createdAt: Timestamp, createdBy: Nullable(Type.String()), note: Nullable(Type.String()) });
export const ConfigVersionList = Type.Object({ currentVersion: Type.Integer(), runningVersion: Nullable(Type.Integer()), versions: Type.Array(ConfigVersionSchema) });
export const ConfigChangeSchema = Type.Object({ path: Type.String(), before: Type.Optional(Type.Unknown()), after: Type.Optional(Type.Unknown()) });
export const ConfigVersionDetail = Type.Object({
  version: Type.Integer(),
  config: Config,
  against: Type.Integer({ description: 'The version the diff compares to (default: the current one)' }),
  changes: Type.Array(ConfigChangeSchema, { description: 'From `against` to this version' }),
});
export const VersionParams = Type.Object({ id: Type.String({ minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9_-]+$' }), version: Type.Integer({ minimum: 1, maximum: 1_000_000 }) });
export const VersionQuery = Type.Object({ against: Type.Optional(Type.Integer({ minimum: 1, maximum: 1_000_000 })) });

export const LogQuery = Type.Object({
  tail: Type.Optional(Type.Integer({ minimum: 0, maximum: 2000, default: 100, description: 'Lines of backlog before live lines' })),
  q: Type.Optional(Type.String({ minLength: 1, maxLength: 200, pattern: NO_CONTROL_CHARS, description: 'Only lines containing this text (case-insensitive)' })),
  level: Type.Optional(Type.Enum(['TRACE', 'DEBUG', 'INFO', 'WARNING', 'ERROR', 'CRITICAL'], { description: 'Only lines at this level or above' })),
  token: Type.Optional(Type.String({ maxLength: 4096, description: 'Bearer token, for EventSource' })),
});
