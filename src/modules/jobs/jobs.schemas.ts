import Type from 'typebox';
import { FreeJson, FreeObject, MAX_JSON_DEPTH, NO_CONTROL_CHARS, NullableTimestamp, PageQuery, Pagination, Timestamp } from '../../http/schemas.js';
import { EXCHANGES } from '../accounts/accounts.types.js';
import { InstanceFields } from '../instances/instances.schemas.js';
import { JOB_STATUSES, JOB_TYPES } from './jobs.types.js';

const Nullable = <T extends Parameters<typeof Type.Union>[0][number]>(schema: T) => Type.Union([schema, Type.Null()]);
const Id = Type.String({ minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9_-]+$' });
const Day = Type.String({ pattern: '^\\d{4}-\\d{2}-\\d{2}$', description: 'YYYY-MM-DD' });
const Config = FreeObject({ description: 'A Passivbot config (v7 or v8); checked like a bot config' });
const EntryId = Type.String({ minLength: 1, maxLength: 200, pattern: '^[A-Za-z0-9._-]+$', description: 'A pareto entry id; default: the best' });

const BacktestOverrideFields = {
  start_date: Type.Optional(Day),
  end_date: Type.Optional(Day),
  exchanges: Type.Optional(Type.Array(Type.Enum([...EXCHANGES]), { minItems: 1, maxItems: 11, uniqueItems: true })),
  symbols: Type.Optional(Type.Array(Type.String({ minLength: 1, maxLength: 40, pattern: '^[A-Za-z0-9._:/-]+$' }), { minItems: 1, maxItems: 1000, uniqueItems: true, description: 'Coins to backtest (live.approved_coins)' })),
  starting_balance: Type.Optional(Type.Number({ exclusiveMinimum: 0, maximum: 1e12 })),
};

export const BacktestOverrides = Type.Object(BacktestOverrideFields, { additionalProperties: false });
export const OptimizeOverrides = Type.Object(
  {
    ...BacktestOverrideFields,
    iters: Type.Optional(Type.Integer({ minimum: 1, maximum: 100_000_000 })),
    n_cpus: Type.Optional(Type.Integer({ minimum: 1, maximum: 1024, description: 'Also the CPU slots the job takes' })),
    population_size: Type.Optional(Type.Integer({ minimum: 1, maximum: 1_000_000 })),
    bounds: Type.Optional(FreeObject({ description: 'optimize.bounds: key -> [low, high] or [low, high, step]' })),
    scoring: Type.Optional(Type.Array(Type.Unknown(), { minItems: 1, maxItems: 50, maxDepth: MAX_JSON_DEPTH })),
    limits: Type.Optional(FreeJson({ description: 'optimize.limits' })),
    seed: Type.Optional(
      Type.Object(
        { jobId: Id, entry: Type.Optional(EntryId) },
        { additionalProperties: false, description: 'Start from a previous result: a backtest config or an optimization pareto entry' },
      ),
    ),
  },
  { additionalProperties: false },
);

/** How a job runs, whatever its config. */
const JobFields = {
  environmentId: Type.Optional(Id),
  name: Type.Optional(Type.String({ minLength: 1, maxLength: 100, pattern: NO_CONTROL_CHARS })),
  priority: Type.Optional(Type.Integer({ minimum: -100, maximum: 100, description: 'Higher runs first (default 0)' })),
  requeueOnInterrupt: Type.Optional(Type.Boolean({ description: 'Queue it again if it dies with pbfleet (default false)' })),
};
export const BacktestRunBody = Type.Object({ config: Config, ...JobFields, overrides: Type.Optional(BacktestOverrides) }, { additionalProperties: false });
export const OptimizeRunBody = Type.Object({ config: Config, ...JobFields, overrides: Type.Optional(OptimizeOverrides) }, { additionalProperties: false });
/** A backtest of a pareto entry's config: the run body without `config`. */
export const EntryBacktestBody = Type.Object({ entry: Type.Optional(EntryId), ...JobFields, overrides: Type.Optional(BacktestOverrides) }, { additionalProperties: false });
/** A bot made from a result's config: the instance body without `config`. */
export const BacktestInstanceBody = Type.Object(InstanceFields, { additionalProperties: false });
export const OptimizeInstanceBody = Type.Object({ ...InstanceFields, entry: Type.Optional(EntryId) }, { additionalProperties: false });
export const PriorityBody = Type.Object({ priority: Type.Integer({ minimum: -100, maximum: 100 }) }, { additionalProperties: false });

export const ProgressSchema = Type.Object({
  fraction: Nullable(Type.Number({ description: '0..1 of the current stage; null when Passivbot reports nothing measurable' })),
  stage: Type.String(),
  etaSeconds: Nullable(Type.Number()),
  detail: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
});

export const JobSchema = Type.Object({
  id: Type.String(),
  type: Type.Enum([...JOB_TYPES]),
  name: Type.String(),
  params: Type.Object({ config: Config, overrides: Type.Record(Type.String(), Type.Unknown()), effective: Config, seedConfig: Type.Optional(Config) }),
  environmentId: Type.String(),
  status: Type.Enum([...JOB_STATUSES]),
  priority: Type.Integer(),
  slots: Type.Integer(),
  progress: ProgressSchema,
  requeueOnInterrupt: Type.Boolean(),
  attempts: Type.Integer(),
  runner: Nullable(Type.String()),
  error: Nullable(Type.String()),
  logPath: Nullable(Type.String()),
  requestedBy: Nullable(Type.String()),
  createdAt: Timestamp,
  startedAt: NullableTimestamp,
  finishedAt: NullableTimestamp,
  result: Nullable(Type.Record(Type.String(), Type.Unknown())),
});
export const JobSummarySchema = Type.Omit(JobSchema, ['params', 'result']);
export const JobList = Type.Object({ jobs: Type.Array(JobSummarySchema), pagination: Pagination });
export const JobListQuery = Type.Object({
  ...PageQuery,
  type: Type.Optional(Type.Enum([...JOB_TYPES])),
  status: Type.Optional(Type.Enum([...JOB_STATUSES])),
  environment: Type.Optional(Id),
  q: Type.Optional(Type.String({ minLength: 1, maxLength: 100, pattern: NO_CONTROL_CHARS })),
});

export const BacktestResultSchema = Type.Object({
  job: JobSummarySchema,
  metrics: Type.Record(Type.String(), Type.Union([Type.Number(), Type.String(), Type.Null()])),
  typed: Type.Record(Type.String(), Type.Union([Type.Number(), Type.Null()])),
  equity: Type.Object({ points: Type.Array(Type.Record(Type.String(), Type.Unknown())), sourceRows: Type.Integer() }),
  fillsCount: Type.Integer(),
  fillColumns: Type.Array(Type.String()),
  fills: Type.Optional(Type.Object({ page: Type.Integer(), limit: Type.Integer(), total: Type.Integer(), columns: Type.Array(Type.String()), rows: Type.Array(Type.Record(Type.String(), Type.Unknown())) })),
});
export const ResultQuery = Type.Object({
  fills: Type.Optional(Type.Integer({ minimum: 1, maximum: 1_000_000, description: 'A page of fills (1 = first)' })),
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 5000, default: 100 })),
  sort: Type.Optional(Type.String({ minLength: 1, maxLength: 100, pattern: '^[A-Za-z0-9_.-]+$', description: 'Sort the fills by this column of fills.csv (default: file order)' })),
  order: Type.Optional(Type.Enum(['asc', 'desc'], { default: 'asc' })),
  coin: Type.Optional(Type.String({ minLength: 1, maxLength: 40, pattern: '^[A-Za-z0-9._:/-]+$', description: 'Only fills of this coin' })),
  side: Type.Optional(Type.Enum(['long', 'short'], { description: 'Only fills whose type ends in _long / _short' })),
});
export const CoinPnlList = Type.Object({
  coins: Type.Array(Type.Object({ coin: Type.String(), fills: Type.Integer(), pnl: Type.Number({ description: 'Sum of pnl (fees not included)' }), fees: Type.Number({ description: 'Sum of fee_paid' }) }), {
    description: 'Per coin, biggest PnL first',
  }),
});
export const OptimizeResultSchema = Type.Object({
  job: JobSummarySchema,
  frontSize: Type.Integer(),
  front: Type.Array(Type.Record(Type.String(), Type.Unknown()), { description: 'Pareto entries, best first by the scoring metrics' }),
});
export const ExportQuery = Type.Object({ format: Type.Optional(Type.Enum(['csv', 'json'], { default: 'csv' })), token: Type.Optional(Type.String({ maxLength: 4096 })) });

export const TemplateQuery = Type.Object({ environment: Type.Optional(Id) }, { additionalProperties: false });
export const TemplateSchema = Type.Object({
  environmentId: Type.String(),
  path: Type.String({ description: 'Where the template was read: configs/template.json of the Passivbot checkout' }),
  config: Config,
});
export const CapacitySchema = Type.Object({
  mode: Type.Enum(['embedded', 'distributed'], { description: 'distributed: jobs for `local` run on `pbfleet worker`s, which bring their own slots' }),
  defaultSlots: Type.Integer({ description: 'Slots of an environment not listed' }),
  environments: Type.Array(
    Type.Object({
      environmentId: Type.String(),
      slots: Nullable(Type.Integer({ description: "null: the distributed workers' slots (not known to the server)" })),
      usedSlots: Type.Integer(),
      running: Type.Integer(),
      queued: Type.Integer(),
    }),
  ),
});
