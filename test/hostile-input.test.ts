import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { InjectOptions, LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Account } from '../src/modules/accounts/accounts.types.js';
import { SYSTEM_ACTOR } from '../src/modules/auth/auth.types.js';
import type { Environment } from '../src/modules/environments/environments.types.js';
import type { Job } from '../src/modules/jobs/jobs.types.js';
import type { SettingsGroup } from '../src/modules/settings/settings.registry.js';
import { createTestApp, login, PASSWORD, type TestApp } from './helpers/app.js';
import { testDatabases } from './helpers/databases.js';
import { generateKey } from './helpers/environments.js';
import { closedPort } from './helpers/http-targets.js';

/**
 * Hostile input against every route that takes a JSON body, a query string or a path parameter.
 * Body routes, their fields and query parameters are discovered from the OpenAPI document, so a new
 * route or field is attacked without editing this file (a new body route only needs a valid
 * example body in CASES, and the coverage test fails until it has one).
 *
 * Invariants on every response: never a 5xx; every error is the envelope with a known code and
 * the request id; no stack trace or database/library text; a refused request writes nothing.
 */

const API = '/api/v1';
const PLAUSIBLE_ID = '0190a1b2-0000-7000-8000-000000000000';
const KNOWN_CODES = ['VALIDATION_ERROR', 'UNAUTHORIZED', 'FORBIDDEN', 'NOT_FOUND', 'ALREADY_EXISTS', 'CONFLICT', 'PAYLOAD_TOO_LARGE', 'UNSUPPORTED_MEDIA_TYPE', 'RATE_LIMITED'];
/** Stack frames, source paths, and the words a database driver or query builder would leak. */
const LEAK = /\bat\s+\S+\s+\(|\.[cm]?[jt]s:\d+|node_modules|node:internal|kysely|sqlite|\bpg\b|postgres|syntax error|relation "|violates|constraint|\bselect\b[^"]*\bfrom\b|insert into|delete from/i;
const STACK = /\n\s+at\s|\.[cm]?[jt]s:\d+:\d+|node_modules/;

const HOSTILE: Record<string, string> = {
  sqlOr: "' OR 1=1 --",
  sqlDrop: '"; DROP TABLE users; --',
  sqlComment: "admin'/*",
  sqlUnion: "x' UNION SELECT password_hash FROM users --",
  shellSubst: '$(rm -rf /)',
  shellBacktick: '`cat /etc/passwd`',
  shellOps: 'a; b | c & d && e || f > /tmp/x',
  emoji: '🔥💣👩‍👩‍👧 pbfleet',
  rtl: '\u202Egnp.exe\u202C مرحبا שלום',
  nul: 'nul\u0000byte',
  control: 'line\nbreak\ttab\r',
  long: 'x'.repeat(10_000),
  traversal: '../../../../etc/passwd',
  html: '<script>alert(1)</script>',
  percent: '%00%27%22',
  likeWildcards: '%_%\\',
};

// ---------------------------------------------------------------------------------------------
// The OpenAPI document, read at collection time so tests can be generated per route and field.

interface JsonSchema {
  type?: string;
  nullable?: boolean;
  enum?: unknown[];
  anyOf?: JsonSchema[];
  properties?: Record<string, JsonSchema>;
  required?: string[];
}
interface OpenApiOperation {
  parameters?: { in: string; name: string; schema?: JsonSchema }[];
  requestBody?: { content: Record<string, { schema: JsonSchema }> };
}
type OpenApiDoc = { paths: Record<string, Record<string, OpenApiOperation>> };

const collected = await (async () => {
  const probe = await createTestApp(testDatabases[0] as (typeof testDatabases)[number]);
  try {
    const doc = (await probe.app.inject({ method: 'GET', url: `${API}/openapi.json` })).json<OpenApiDoc>();
    return { doc, rules: [...probe.routeRules] };
  } finally {
    await probe.close();
  }
})();

/**
 * `record`: an object of free keys (headers, metadata), attacked as a whole; `array`: a list (bot ids),
 * likewise; `unknown`: any JSON value is valid to the schema (optimize.limits), so only the route's own
 * checks can refuse one (see Case.refuses).
 */
type Kind = 'string' | 'enum' | 'integer' | 'number' | 'boolean' | 'record' | 'array' | 'unknown';
interface Field {
  path: string[];
  name: string;
  kind: Kind;
  nullable: boolean;
}

function kindOf(schema: JsonSchema): Kind {
  if (schema.anyOf) {
    const kinds = schema.anyOf.map(kindOf);
    return kinds.includes('string') ? 'string' : (kinds[0] as Kind);
  }
  if (schema.type === 'string') return 'string';
  if (schema.enum) return 'enum';
  if (schema.type === 'integer' || schema.type === 'number' || schema.type === 'boolean') return schema.type;
  if (schema.type === 'object' && !schema.properties) return 'record';
  if (schema.type === 'array') return 'array';
  if (schema.type === undefined && !schema.properties && !schema.anyOf) return 'unknown';
  throw new Error(`no test values for schema ${JSON.stringify(schema)}`);
}

/** Leaf fields and nested objects of a body schema, by dotted path. */
function walk(schema: JsonSchema, prefix: string[] = []): { fields: Field[]; objects: string[][]; required: string[][] } {
  const out = { fields: [] as Field[], objects: [prefix], required: (schema.required ?? []).map((r) => [...prefix, r]) };
  for (const [key, prop] of Object.entries(schema.properties ?? {})) {
    const path = [...prefix, key];
    if (prop.type === 'object' && prop.properties) {
      const inner = walk(prop, path);
      out.fields.push(...inner.fields);
      out.objects.push(...inner.objects);
      out.required.push(...inner.required);
    } else {
      out.fields.push({ path, name: path.join('.'), kind: kindOf(prop), nullable: prop.nullable === true || Boolean(prop.anyOf?.some((s) => s.type === 'null')) });
    }
  }
  return out;
}

interface BodyRoute {
  key: string;
  method: 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  path: string;
  schema: JsonSchema;
}
const bodyRoutes: BodyRoute[] = Object.entries(collected.doc.paths).flatMap(([path, ops]) =>
  Object.entries(ops)
    .filter(([, op]) => op.requestBody?.content['application/json'])
    .map(([method, op]) => ({
      key: `${method.toUpperCase()} ${path}`,
      method: method.toUpperCase() as BodyRoute['method'],
      path,
      schema: (op.requestBody as NonNullable<OpenApiOperation['requestBody']>).content['application/json']?.schema as JsonSchema,
    })),
);

const queryOps = Object.entries(collected.doc.paths).flatMap(([path, ops]) =>
  Object.entries(ops)
    .filter(([method, op]) => method === 'get' && op.parameters?.some((p) => p.in === 'query'))
    .map(([, op]) => ({ path, params: (op.parameters ?? []).filter((p) => p.in === 'query') })),
);

const paramRules = collected.rules.filter((r) => r.url.includes(':'));

// ---------------------------------------------------------------------------------------------
// Per-route knowledge the schema cannot give: a valid body, who calls, and how to check a value
// that was accepted really round-trips.

interface Ctx {
  t: TestApp;
  victimId: string;
  /** Environments the environment routes work on, and the host key one of them presented. */
  env: { victim: string; restart: string; upgrade: string; hostKey: string; presented: string };
  /** The exchange account the account update route works on (hyperliquid). */
  accountVictim: string;
  /** A stopped bot the instance update and bulk routes work on. */
  instanceVictim: string;
  /** A queued job (the dispatcher is stopped in this app) the priority route works on. */
  jobVictim: string;
  /** A completed backtest an optimization can be seeded from (and a bot made from). */
  seedJob: string;
  /** A completed optimization whose front holds the entry PARETO_ENTRY. */
  optimizationJob: string;
  changerToken: string;
  changerPassword: string;
  n: number;
}
interface Case {
  /** Tables a refused request must leave unchanged. */
  tables: readonly Table[];
  url?: (ctx: Ctx) => string;
  headers: (ctx: Ctx) => Record<string, string>;
  body: (ctx: Ctx) => Record<string, unknown>;
  /** Hostile-looking values this route must accept, by field. */
  accepts?: Record<string, string[]>;
  /** Values the route's own checks must refuse (400 naming the field or a part of it), for fields whose schema takes anything. */
  refuses?: Record<string, unknown[]>;
  /** Keeps ctx in step after any accepted request (a changed password). */
  onAccepted?: (ctx: Ctx, sent: Record<string, unknown>) => void;
  /** Called after a 2xx for a hostile value: the value must have been stored verbatim. */
  verify?: (ctx: Ctx, field: Field, value: string, res: LightMyRequestResponse, sent: Record<string, unknown>) => Promise<void>;
}

type Table = 'users' | 'sessions' | 'api_tokens' | 'settings' | 'environments' | 'exchange_accounts' | 'instances' | 'instance_config_versions' | 'jobs';
const ALL_TABLES = ['users', 'sessions', 'api_tokens', 'settings'] as const;
// Not `operations`: an accepted restart or upgrade finishes in the background, at any moment.
const ENV_TABLES = [...ALL_TABLES, 'environments'] as const;
const ACCOUNT_TABLES = [...ALL_TABLES, 'exchange_accounts'] as const;
const INSTANCE_TABLES = [...ALL_TABLES, 'instances', 'instance_config_versions'] as const;
// The job dispatcher is stopped in this app: an accepted run stays queued, nothing changes in the background.
const JOB_TABLES = [...ALL_TABLES, 'jobs'] as const;
const admin = (ctx: Ctx) => ctx.t.auth('admin');

async function canLogIn(ctx: Ctx, username: string, password: string) {
  await expect(login(ctx.t.app, username, password), `log in ${username} with the accepted password`).resolves.toEqual(expect.any(String));
}

const GROUP_VALUES = {
  general: { siteName: 'pbfleet', timezone: 'UTC' },
  market: { coinmarketcapApiKey: 'cmc-key-1', refreshMinutes: 60, topCoins: 200 },
  notifications: { telegramBotToken: '123456:abc', telegramChatId: '-100123' },
  instances: { maxCrashesPerHour: 5, stopTimeoutSeconds: 30, logMaxMegabytes: 50, logGenerations: 3 },
};
const SECRET_SETTINGS = new Set(['market.coinmarketcapApiKey', 'notifications.telegramBotToken']);
const HOSTILE_PATHS = ["/opt/'; DROP TABLE users; --", '/tmp/$(rm -rf /)`id`;|&', '/srv/🔥 שלום'];

const KEY = generateKey();
const SOME_FINGERPRINT = generateKey().fingerprint;
const SECRET_FIELDS = ['credentials.privateKey', 'credentials.passphrase', 'credentials.password'];

/** Every optional object present (so each field is attacked inside a valid body); checks disabled. */
function environmentBody(): Record<string, unknown> {
  return {
    description: 'hostile input target',
    environmentURL: 'https://vps.example.com/',
    target: { host: '192.0.2.50', port: 22, domain: 'vps.example.com' },
    credentials: { type: 'key', username: 'deploy', privateKey: KEY.privateKey },
    healthCheck: {
      enabled: false,
      type: 'http',
      endpoint: 'https://vps.example.com/health',
      method: 'GET',
      interval: 60,
      timeout: 10,
      retries: 1,
      validation: { type: 'bodyRegex', value: 'ok' },
      headers: { 'x-probe': '1' },
      command: 'true',
      degradedAfter: 2,
    },
    commands: { type: 'ssh', restart: { enabled: true, command: 'systemctl restart passivbot', url: 'https://vps.example.com/restart', method: 'POST', headers: { 'x-a': 'b' }, body: { a: 1 } } },
    upgradeConfig: { enabled: true, type: 'ssh', command: 'upgrade {VERSION}', url: 'https://vps.example.com/up', method: 'POST', headers: {}, body: {}, versionListURL: 'https://vps.example.com/versions.json', versionPath: 'versions' },
    runtime: { passivbotDir: '/opt/passivbot', pythonPath: '/opt/passivbot/venv/bin/python', kind: 'v7', workDir: '/srv/pbfleet' },
    metadata: { region: 'eu' },
  };
}

const valueAt = (node: unknown, path: string[]): unknown => path.reduce<unknown>((n, k) => (n as Record<string, unknown> | undefined)?.[k], node);

/** An accepted value is stored verbatim: public fields read back through the API, secrets opened from storage. */
async function verifyEnvironment(ctx: Ctx, field: Field, value: string, res: LightMyRequestResponse): Promise<void> {
  const { id } = res.json<Environment>();
  const services = ctx.t.services.environments;
  if (SECRET_FIELDS.includes(field.name)) {
    const target = services.sshTarget(await services.getRecord(id)) as unknown as Record<string, unknown>;
    expect(target[field.path[1] as string]).toBe(value);
    expect(res.body).not.toContain(JSON.stringify(value).slice(1, -1));
    return;
  }
  expect(valueAt(res.json(), field.path)).toBe(value);
  const again = await ctx.t.app.inject({ method: 'GET', url: `${API}/environments/${id}`, headers: ctx.t.auth('viewer') });
  expect(valueAt(again.json(), field.path)).toBe(value);
}

/** A small config the checks accept; the overrides give it dates, coins and the optimizer's settings. */
const JOB_CONFIG = { live: { leverage: 10 }, backtest: { exchanges: ['binance'] } };
const BACKTEST_OVERRIDES = { start_date: '2024-01-01', end_date: '2024-02-01', exchanges: ['bybit'], symbols: ['BTC', 'ETH'], starting_balance: 1000 };
/** Every field present (so each is attacked inside a valid body), the seed too (its jobId is required). */
const optimizeOverrides = (ctx: Ctx) => ({
  ...BACKTEST_OVERRIDES,
  iters: 100,
  n_cpus: 1,
  population_size: 10,
  bounds: { long_n_positions: [1, 5] },
  scoring: ['adg', 'sharpe_ratio'],
  limits: [{ metric: 'drawdown_worst', penalize_if: 'greater_than', value: 0.5 }],
  seed: { jobId: ctx.seedJob, entry: 'best' },
});
const PARETO_ENTRY = 'hostile-entry';
/** Names are free text: these must be accepted and stored verbatim. */
const JOB_NAMES = ["Robert'); DROP TABLE jobs; --", 'btc/eth 50% "best" <run> & $(id)', "100%_done\\ ' OR ''='"];

/** An accepted run keeps its name verbatim, and a search for that name finds it literally. */
async function verifyJob(ctx: Ctx, field: Field, value: string, res: LightMyRequestResponse): Promise<void> {
  if (field.name !== 'name') throw new Error(`unexpected 2xx for ${field.name}=${JSON.stringify(value).slice(0, 80)}`);
  const job = res.json<Job>();
  expect(job).toMatchObject({ name: value, status: 'queued' });
  const again = await ctx.t.app.inject({ method: 'GET', url: `${API}/jobs/${job.id}`, headers: ctx.t.auth('viewer') });
  expect(again.json<Job>().name).toBe(value);
  const found = await ctx.t.app.inject({ method: 'GET', url: `${API}/jobs?limit=500&q=${encodeURIComponent(value)}`, headers: ctx.t.auth('viewer') });
  const names = found.json<{ jobs: Job[] }>().jobs.map((j) => j.name.toLowerCase());
  expect(names.length).toBeGreaterThan(0);
  expect(names.filter((n) => !n.includes(value.toLowerCase())), `q=${value} matched more than the literal text`).toEqual([]);
  expect(found.json<{ jobs: Job[] }>().jobs.map((j) => j.id)).toContain(job.id);
}

const ACCOUNT_SECRETS = ['key', 'secret', 'passphrase', 'wallet_address', 'private_key'];

/** An accepted secret is stored verbatim (as the supervisor reads it back) and never echoed. */
async function verifyAccount(ctx: Ctx, field: Field, value: string, res: LightMyRequestResponse): Promise<void> {
  if (!ACCOUNT_SECRETS.includes(field.name)) throw new Error(`unexpected 2xx for ${field.name}=${JSON.stringify(value).slice(0, 80)}`);
  const { name } = res.json<Account>();
  const entry = (await ctx.t.services.accounts.apiKeysFor([name]))[name] as Record<string, unknown> | undefined;
  expect(entry?.[field.name]).toBe(value);
  expect(res.body).not.toContain(JSON.stringify(value).slice(1, -1));
}

const CASES: Record<string, Case> = {
  [`POST ${API}/auth/login`]: {
    // Failed logins are audited by design: only users and sessions must stay untouched.
    tables: ['users', 'sessions'],
    headers: () => ({}),
    body: () => ({ username: 'viewer1', password: PASSWORD }),
  },
  [`POST ${API}/users`]: {
    tables: ALL_TABLES,
    headers: admin,
    body: (ctx) => ({ username: `hostile${ctx.n++}`, email: `h${ctx.n}@example.com`, password: 'a good long password', role: 'viewer', active: true }),
    accepts: { email: ["o'brien@example.com", "x'or'1'='1@example.com", 'a$`|&{}@example.com'] },
    async verify(ctx, field, value, res, sent) {
      const user = res.json<{ email: string | null }>();
      if (field.name === 'password') await canLogIn(ctx, sent.username as string, value);
      else if (field.name === 'email') expect(user.email).toBe(value.toLowerCase());
      else throw new Error(`unexpected 2xx for ${field.name}=${JSON.stringify(value).slice(0, 80)}`);
    },
  },
  [`PUT ${API}/users/{id}`]: {
    tables: ALL_TABLES,
    url: (ctx) => `${API}/users/${ctx.victimId}`,
    headers: admin,
    body: (ctx) => ({ email: `victim${ctx.n++}@example.com`, role: 'viewer', active: true }),
    accepts: { email: ["o'neil@example.com", "y'or'1'='1@example.com", 'b$`|&{}@example.com'] },
    async verify(_ctx, field, value, res) {
      if (field.name !== 'email') throw new Error(`unexpected 2xx for ${field.name}`);
      expect(res.json<{ email: string }>().email).toBe(value.toLowerCase());
    },
  },
  [`POST ${API}/users/{id}/password/reset`]: {
    tables: ALL_TABLES,
    url: (ctx) => `${API}/users/${ctx.victimId}/password/reset`,
    headers: admin,
    body: () => ({ newPassword: 'a reset password' }),
    async verify(ctx, field, value) {
      expect(field.name).toBe('newPassword');
      await canLogIn(ctx, 'victim1', value);
    },
  },
  [`POST ${API}/users/password/change`]: {
    tables: ALL_TABLES,
    headers: (ctx) => ({ authorization: `Bearer ${ctx.changerToken}` }),
    body: (ctx) => ({ currentPassword: ctx.changerPassword, newPassword: `changed password ${ctx.n++}` }),
    onAccepted(ctx, sent) {
      ctx.changerPassword = sent.newPassword as string;
    },
    async verify(ctx, field, value) {
      expect(field.name).toBe('newPassword');
      await canLogIn(ctx, 'changer1', value);
    },
  },
  [`POST ${API}/auth/tokens`]: {
    tables: ALL_TABLES,
    headers: admin,
    body: (ctx) => ({ name: `token ${ctx.n++}`, expiresInDays: 30 }),
    async verify(ctx, field, value, res) {
      expect(field.name).toBe('name');
      expect(res.json<{ name: string }>().name).toBe(value);
      const list = await ctx.t.app.inject({ method: 'GET', url: `${API}/auth/tokens`, headers: admin(ctx) });
      expect(list.json<{ tokens: { name: string }[] }>().tokens.map((tk) => tk.name)).toContain(value);
    },
  },
  [`PUT ${API}/settings`]: {
    tables: ALL_TABLES,
    headers: admin,
    body: () => structuredClone(GROUP_VALUES),
    async verify(ctx, field, value, res) {
      const [group, key] = field.path as [SettingsGroup, string];
      if (SECRET_SETTINGS.has(field.name)) {
        expect(await ctx.t.services.settings.get(group, key)).toBe(value);
        expect(res.body).not.toContain(JSON.stringify(value).slice(1, -1));
      } else {
        expect(res.json<Record<string, Record<string, unknown>>>()[group]?.[key]).toBe(value);
        const again = await ctx.t.app.inject({ method: 'GET', url: `${API}/settings`, headers: ctx.t.auth('viewer') });
        expect(again.json<Record<string, Record<string, unknown>>>()[group]?.[key]).toBe(value);
      }
    },
  },
  [`PUT ${API}/settings/paths`]: {
    tables: ALL_TABLES,
    headers: admin,
    body: () => ({ passivbotDir: '/opt/passivbot', pythonPath: 'python3', passivbotKind: 'v7', dataDir: '', logDir: '' }),
    accepts: { passivbotDir: HOSTILE_PATHS, pythonPath: HOSTILE_PATHS, dataDir: HOSTILE_PATHS, logDir: HOSTILE_PATHS },
    async verify(ctx, field, value, res) {
      expect(res.json<Record<string, unknown>>()[field.name]).toBe(value);
      const again = await ctx.t.app.inject({ method: 'GET', url: `${API}/settings/paths`, headers: ctx.t.auth('viewer') });
      expect(again.json<Record<string, unknown>>()[field.name]).toBe(value);
    },
  },
  [`POST ${API}/environments`]: {
    tables: ENV_TABLES,
    headers: admin,
    body: (ctx) => ({ name: `hostile-${ctx.n++}`, ...environmentBody(), hostKey: { fingerprint: SOME_FINGERPRINT } }),
    verify: verifyEnvironment,
  },
  [`PUT ${API}/environments/{id}`]: {
    tables: ENV_TABLES,
    url: (ctx) => `${API}/environments/${ctx.env.victim}`,
    headers: admin,
    body: () => ({ name: 'hostile-victim', ...environmentBody() }),
    verify: verifyEnvironment,
  },
  [`POST ${API}/vps/servers`]: {
    tables: ENV_TABLES,
    headers: admin,
    body: (ctx) => ({ name: `hostile-vps-${ctx.n++}`, ...environmentBody(), hostKey: { fingerprint: SOME_FINGERPRINT } }),
    verify: verifyEnvironment,
  },
  [`PUT ${API}/vps/servers/{id}`]: {
    tables: ENV_TABLES,
    url: (ctx) => `${API}/vps/servers/${ctx.env.victim}`,
    headers: admin,
    body: () => ({ name: 'hostile-victim', ...environmentBody() }),
    verify: verifyEnvironment,
  },
  [`POST ${API}/accounts`]: {
    tables: ACCOUNT_TABLES,
    headers: admin,
    body: (ctx) => ({ name: `hostile-account-${ctx.n++}`, exchange: 'bitget', key: 'bg-key', secret: 'bg-secret', passphrase: 'bg-passphrase' }),
    verify: verifyAccount,
  },
  [`PUT ${API}/accounts/{id}`]: {
    tables: ACCOUNT_TABLES,
    url: (ctx) => `${API}/accounts/${ctx.accountVictim}`,
    headers: admin,
    body: () => ({ name: 'hostile-account-victim', exchange: 'hyperliquid', wallet_address: '0xwallet', private_key: '0xprivate', is_vault: true }),
    verify: verifyAccount,
  },
  [`POST ${API}/instances`]: {
    tables: INSTANCE_TABLES,
    headers: (ctx) => ctx.t.auth('operator'),
    body: (ctx) => ({ name: `hostile-bot-${ctx.n++}`, environmentId: 'local', account: 'hostile-bybit', config: { live: { leverage: 10 } }, runtime: 'v7' }),
  },
  [`PUT ${API}/instances/{id}`]: {
    tables: INSTANCE_TABLES,
    url: (ctx) => `${API}/instances/${ctx.instanceVictim}`,
    headers: (ctx) => ctx.t.auth('operator'),
    // A config that differs every time, so each accepted update is a new version carrying its note.
    body: (ctx) => ({ name: 'hostile-bot-victim', environmentId: 'local', account: 'hostile-bybit', config: { live: { leverage: 10 }, bot: { long: { n_positions: ctx.n++ } } }, runtime: 'v7', note: 'a note' }),
    async verify(ctx, field, value) {
      expect(field.name).toBe('note');
      const versions = await ctx.t.app.inject({ method: 'GET', url: `${API}/instances/${ctx.instanceVictim}/config/versions`, headers: ctx.t.auth('viewer') });
      expect(versions.json<{ versions: { note: string | null }[] }>().versions[0]?.note).toBe(value);
    },
  },
  [`POST ${API}/instances/bulk`]: {
    tables: INSTANCE_TABLES,
    headers: (ctx) => ctx.t.auth('operator'),
    body: (ctx) => ({ action: 'stop', ids: [ctx.instanceVictim] }),
  },
  [`POST ${API}/backtest/run`]: {
    tables: JOB_TABLES,
    headers: (ctx) => ctx.t.auth('operator'),
    body: (ctx) => ({ config: JOB_CONFIG, environmentId: 'local', name: `hostile backtest ${ctx.n++}`, priority: 1, requeueOnInterrupt: false, overrides: BACKTEST_OVERRIDES }),
    accepts: { name: JOB_NAMES },
    verify: verifyJob,
  },
  [`POST ${API}/optimize/run`]: {
    tables: JOB_TABLES,
    headers: (ctx) => ctx.t.auth('operator'),
    body: (ctx) => ({ config: JOB_CONFIG, environmentId: 'local', name: `hostile optimize ${ctx.n++}`, priority: -1, requeueOnInterrupt: true, overrides: optimizeOverrides(ctx) }),
    accepts: { name: JOB_NAMES },
    // optimize.limits: a list of limits, the older {name: number} object or a flags string; nothing else.
    refuses: { 'overrides.limits': [12345, true, null, [{ value: 1 }], [{ metric: 'adg', value: 'high' }], { penalize_if_greater_than_x: 'x' }] },
    verify: verifyJob,
  },
  [`POST ${API}/optimize/results/{id}/backtest`]: {
    tables: JOB_TABLES,
    url: (ctx) => `${API}/optimize/results/${ctx.optimizationJob}/backtest`,
    headers: (ctx) => ctx.t.auth('operator'),
    body: (ctx) => ({ entry: PARETO_ENTRY, environmentId: 'local', name: `hostile entry ${ctx.n++}`, priority: 1, requeueOnInterrupt: false, overrides: BACKTEST_OVERRIDES }),
    accepts: { name: JOB_NAMES },
    verify: verifyJob,
  },
  [`POST ${API}/backtest/results/{id}/instance`]: {
    tables: INSTANCE_TABLES,
    url: (ctx) => `${API}/backtest/results/${ctx.seedJob}/instance`,
    headers: (ctx) => ctx.t.auth('operator'),
    body: (ctx) => ({ name: `hostile-from-backtest-${ctx.n++}`, environmentId: 'local', account: 'hostile-bybit', runtime: 'v7' }),
  },
  [`POST ${API}/optimize/results/{id}/instance`]: {
    tables: INSTANCE_TABLES,
    url: (ctx) => `${API}/optimize/results/${ctx.optimizationJob}/instance`,
    headers: (ctx) => ctx.t.auth('operator'),
    body: (ctx) => ({ name: `hostile-from-entry-${ctx.n++}`, environmentId: 'local', account: 'hostile-bybit', runtime: 'v7', entry: PARETO_ENTRY }),
  },
  [`POST ${API}/jobs/{id}/priority`]: {
    tables: JOB_TABLES,
    url: (ctx) => `${API}/jobs/${ctx.jobVictim}/priority`,
    headers: (ctx) => ctx.t.auth('operator'),
    body: (ctx) => ({ priority: (ctx.n++ % 200) - 100 }),
  },
  [`POST ${API}/environments/{id}/restart`]: {
    tables: ENV_TABLES,
    url: (ctx) => `${API}/environments/${ctx.env.restart}/restart`,
    headers: (ctx) => ctx.t.auth('operator'),
    body: () => ({ force: true }),
  },
  [`POST ${API}/environments/{id}/upgrade`]: {
    tables: ENV_TABLES,
    url: (ctx) => `${API}/environments/${ctx.env.upgrade}/upgrade`,
    headers: (ctx) => ctx.t.auth('operator'),
    body: () => ({ version: '1.2.3' }),
  },
  [`POST ${API}/environments/{id}/host-key/accept`]: {
    tables: ENV_TABLES,
    url: (ctx) => `${API}/environments/${ctx.env.hostKey}/host-key/accept`,
    headers: admin,
    body: (ctx) => ({ fingerprint: ctx.env.presented }),
  },
};

/** Body routes whose fields are all non-text: nothing for the string attacks to aim at. */
const WITHOUT_TEXT_FIELDS = [`POST ${API}/environments/{id}/restart`, `POST ${API}/jobs/{id}/priority`];

// ---------------------------------------------------------------------------------------------

function setAt(body: Record<string, unknown>, path: string[], value: unknown): Record<string, unknown> {
  const copy = structuredClone(body);
  let node = copy;
  for (const key of path.slice(0, -1)) {
    if (typeof node[key] !== 'object' || node[key] === null) node[key] = {};
    node = node[key] as Record<string, unknown>;
  }
  node[path.at(-1) as string] = value;
  return copy;
}

function deleteAt(body: Record<string, unknown>, path: string[]): Record<string, unknown> {
  const copy = structuredClone(body);
  let node = copy;
  for (const key of path.slice(0, -1)) node = node[key] as Record<string, unknown>;
  delete node[path.at(-1) as string];
  return copy;
}

function wrongTypes(field: Field): unknown[] {
  const values: unknown[] =
    field.kind === 'string' || field.kind === 'enum'
      ? [12345, true, ['x'], { x: 'y' }]
      : field.kind === 'record'
        ? ['x', 12345, true, ['x']]
        : field.kind === 'array'
        ? ['x', 12345, true, { x: 'y' }]
        : field.kind === 'boolean'
        ? ['true', 1, 'yes', [true]]
        : field.kind === 'unknown'
        ? []
        : ['5', '1e2', true, [5], { n: 5 }];
  if (!field.nullable && field.kind !== 'unknown') values.push(null);
  if (field.kind === 'integer') values.push(1.5);
  return values;
}

interface ErrorBody {
  error: { code: string; message: string; requestId: string; details?: { in?: string; fields?: { field: string; message: string }[] } };
}

/** Hostile text the server may legitimately echo ("unknown topic(s): x' UNION ...") is not a leak. */
const ECHOABLE = Object.values(HOSTILE).flatMap((v) => [v, JSON.stringify(v).slice(1, -1)]);
const scrub = (text: string) => ECHOABLE.reduce((acc, v) => acc.split(v).join(''), text);

/** The invariants every response must hold, whatever was sent. */
function checkResponse(res: LightMyRequestResponse, what: string): void {
  expect(res.statusCode, `${what} -> ${res.statusCode} ${res.body.slice(0, 300)}`).toBeLessThan(500);
  expect(res.body, what).not.toMatch(STACK);
  if (res.statusCode < 400) return;
  expect(res.headers['content-type'], what).toMatch(/^application\/json/);
  const body = res.json<ErrorBody>();
  expect(Object.keys(body), what).toEqual(['error']);
  expect(KNOWN_CODES, `${what}: ${res.body.slice(0, 300)}`).toContain(body.error.code);
  expect(body.error.message, what).toEqual(expect.any(String));
  expect(body.error.requestId, what).toBe(res.headers['x-request-id']);
  expect(Object.keys(body.error).filter((k) => !['code', 'message', 'requestId', 'details'].includes(k)), what).toEqual([]);
  expect(scrub(res.body), `${what} leaks: ${res.body.slice(0, 300)}`).not.toMatch(LEAK);
  for (const issue of body.error.details?.fields ?? []) expect(issue, what).toEqual({ field: expect.any(String), message: expect.any(String) });
}

function expectValidation(res: LightMyRequestResponse, what: string, field?: string): void {
  checkResponse(res, what);
  expect(res.statusCode, `${what}: ${res.body.slice(0, 300)}`).toBe(400);
  const { error } = res.json<ErrorBody>();
  expect(error.code, what).toBe('VALIDATION_ERROR');
  if (field !== undefined) {
    expect(error.details?.fields?.map((f) => f.field), `${what}: ${res.body.slice(0, 300)}`).toContain(field);
    expect(error.message, what).toContain(field);
  }
}

describe('hostile input: coverage', () => {
  it('every JSON-body route from the OpenAPI document has a case, and only those', () => {
    expect(bodyRoutes.map((r) => r.key).sort()).toEqual(Object.keys(CASES).sort());
    expect(bodyRoutes.length).toBeGreaterThanOrEqual(8);
  });
  it('finds the query strings and path parameters to attack', () => {
    expect(queryOps.map((o) => o.path)).toEqual(expect.arrayContaining([`${API}/logs`, `${API}/users`]));
    expect(paramRules.length).toBeGreaterThanOrEqual(5);
  });
});

describe.each(testDatabases)('hostile input on $name', (database) => {
  const ctx = { n: 1 } as Ctx;
  let t: TestApp;
  let resultDir: string | undefined;
  let ip = 0;
  /** A fresh client address per request, so the login throttle never blocks the checks themselves. */
  const remoteAddress = () => `10.${(++ip >> 16) & 255}.${(ip >> 8) & 255}.${ip & 255}`;

  beforeAll(async () => {
    t = await createTestApp(database);
    ctx.t = t;
    ctx.victimId = (await t.services.users.create({ username: 'victim1', password: PASSWORD, role: 'viewer' }, SYSTEM_ACTOR)).id;
    await t.services.users.create({ username: 'changer1', password: PASSWORD, role: 'admin' }, SYSTEM_ACTOR);
    ctx.changerToken = await login(t.app, 'changer1');
    ctx.changerPassword = PASSWORD;
    // Environments for the environment routes; commands go to a closed port and fail at once.
    const envs = t.services.environments;
    const unreachable = { host: '127.0.0.1', port: await closedPort() };
    const base = environmentBody() as Parameters<typeof envs.create>[0];
    const victim = await envs.create({ ...base, name: 'hostile-victim' }, SYSTEM_ACTOR);
    const restart = await envs.create({ ...base, name: 'hostile-restart', target: unreachable }, SYSTEM_ACTOR);
    const upgrade = await envs.create({ ...base, name: 'hostile-upgrade', target: unreachable, upgradeConfig: { enabled: true, type: 'ssh', command: 'echo {VERSION}' } }, SYSTEM_ACTOR);
    const hostKey = await envs.create({ ...base, name: 'hostile-host-key' }, SYSTEM_ACTOR);
    // What the SSH pool reports when a host presents a key other than the trusted one.
    const presented = generateKey().fingerprint;
    await envs.onHostKey({ id: hostKey.id, kind: 'mismatch', fingerprint: presented, expected: SOME_FINGERPRINT });
    ctx.env = { victim: victim.id, restart: restart.id, upgrade: upgrade.id, hostKey: hostKey.id, presented };
    const account = await t.services.accounts.create({ name: 'hostile-account-victim', exchange: 'hyperliquid', wallet_address: '0xwallet', private_key: '0xprivate' }, SYSTEM_ACTOR);
    ctx.accountVictim = account.id;
    await t.services.accounts.create({ name: 'hostile-bybit', exchange: 'bybit', key: 'k', secret: 's' }, SYSTEM_ACTOR);
    const bot = await t.services.instances.create({ name: 'hostile-bot-victim', environmentId: 'local', account: 'hostile-bybit', config: { live: { leverage: 10 } } }, SYSTEM_ACTOR);
    ctx.instanceVictim = bot.id;
    // Jobs: no dispatching here, so accepted runs stay queued and the jobs table changes only by the
    // requests themselves (a job failing in the background would race the no-write checks).
    await t.services.jobQueue.stop();
    ctx.jobVictim = (await t.services.jobs.run('backtest', { config: JOB_CONFIG, name: 'hostile-job-victim' }, SYSTEM_ACTOR)).id;
    // A finished backtest and optimization to start from: written as the executor would leave them.
    const at = new Date().toISOString();
    const finishedJob = { environment_id: 'local', status: 'completed', priority: 0, slots: 1, progress: JSON.stringify({ fraction: 1, stage: 'complete', etaSeconds: 0 }), requeue: 0, attempts: 1, runner: 'server', requested_by: null, created_at: at, started_at: at, finished_at: at };
    const params = JSON.stringify({ config: JOB_CONFIG, overrides: {}, effective: JOB_CONFIG });
    ctx.seedJob = 'hostile-seed-backtest';
    ctx.optimizationJob = 'hostile-optimization';
    resultDir = await mkdtemp(join(tmpdir(), 'pbfleet-hostile-'));
    await mkdir(join(resultDir, 'pareto'));
    await writeFile(join(resultDir, 'pareto', `${PARETO_ENTRY}.json`), JSON.stringify({ ...JOB_CONFIG, metrics: { objectives: { w_0: 1 } } }));
    await t.database.db
      .insertInto('jobs')
      .values([
        { ...finishedJob, id: ctx.seedJob, type: 'backtest', name: 'hostile seed', params, result: JSON.stringify({ config: JOB_CONFIG, metrics: {} }), result_dir: null },
        { ...finishedJob, id: ctx.optimizationJob, type: 'optimize', name: 'hostile optimization', params, result: JSON.stringify({ front: [], frontSize: 1 }), result_dir: resultDir },
      ])
      .execute();
  });
  afterAll(async () => {
    await t?.close();
    if (resultDir) await rm(resultDir, { recursive: true, force: true });
  });

  async function snapshot(tables: readonly Table[]): Promise<string> {
    const db = t.database.db;
    const rows = await Promise.all(tables.map((table) => db.selectFrom(table).selectAll().execute()));
    // The health checker and the system-info collector write these in the background (the local
    // environment is checked every minute): they are not what a refused request could have written.
    const stable = (table: Table, row: Record<string, unknown>) => {
      if (table !== 'environments') return row;
      const { status: _status, health: _health, system_info: _systemInfo, ...rest } = row;
      return rest;
    };
    // Row order is not guaranteed; sort each table's rows by their JSON.
    return JSON.stringify(rows.map((r, i) => r.map((row) => JSON.stringify(stable(tables[i]!, row as Record<string, unknown>))).sort()));
  }

  /** Sends one request; checks the invariants; a refused request must leave `tables` unchanged. */
  async function send(options: InjectOptions, what: string, tables: readonly Table[] = ALL_TABLES): Promise<LightMyRequestResponse> {
    const before = tables.length ? await snapshot(tables) : '';
    const res = await t.app.inject({ remoteAddress: remoteAddress(), ...options });
    checkResponse(res, what);
    if (res.statusCode >= 400 && tables.length) expect(await snapshot(tables), `${what} wrote to ${tables.join('/')} despite ${res.statusCode}`).toBe(before);
    return res;
  }

  const routeOf = (route: BodyRoute) => {
    const c = CASES[route.key] as Case;
    return {
      c,
      url: c.url ? c.url(ctx) : route.path.replace(/\{[^}]+\}/g, PLAUSIBLE_ID),
      json: (payload: string, extra: Record<string, string> = {}): InjectOptions => ({
        method: route.method,
        url: c.url ? c.url(ctx) : route.path,
        headers: { ...c.headers(ctx), 'content-type': 'application/json', ...extra },
        payload,
      }),
    };
  };

  it.each(bodyRoutes)('$key: its example body is accepted (so each mutation below is what fails)', async (route) => {
    const { c, json } = routeOf(route);
    expect(walk(route.schema).fields.length).toBeGreaterThan(0);
    const sent = c.body(ctx);
    const res = await send(json(JSON.stringify(sent)), `${route.key} example`, c.tables);
    expect(res.statusCode, res.body.slice(0, 300)).toBeLessThan(300);
    c.onAccepted?.(ctx, sent);
  });

  /** Routes whose body only carries optional options; no body at all is allowed there. */
  const OPTIONS_ONLY_ROUTES = new Set(['POST /api/v1/environments/{id}/restart', 'POST /api/v1/environments/{id}/host-key/accept']);

  it.each(bodyRoutes)('$key: malformed, empty and non-object JSON are 400 and write nothing', async (route) => {
    const { c, json } = routeOf(route);
    const malformed = ['{bad', '[', '{', '{"a":1,}', '[1,2,]', '{"a":1', "{'a':1}", '{"a":NaN}', '{"a":undefined}', '{"a":1}{"b":2}', '{"a":1} x', '\u0000', '{"a":"\\x"}', '{"a":"\u0001"}'];
    for (const payload of malformed) expectValidation(await send(json(payload), `${route.key} ${JSON.stringify(payload)}`, c.tables), `${route.key} ${JSON.stringify(payload)}`);
    // An empty body is no body, whatever the content type says: "body: must be object" where one is needed.
    const empty = await send(json(''), `${route.key} empty`, c.tables);
    if (OPTIONS_ONLY_ROUTES.has(route.key)) expect(empty.statusCode, `${route.key} empty`).not.toBe(400);
    else expectValidation(empty, `${route.key} empty`, 'body');
    for (const payload of ['null', '[]', '[{}]', '42', '"text"', 'true', JSON.stringify([c.body(ctx)])]) {
      const res = await send(json(payload), `${route.key} ${payload}`, c.tables);
      expectValidation(res, `${route.key} ${payload}`, 'body');
      // The whole body is named once: `body: must be object`, not `body.body: ...`.
      expect(res.json<ErrorBody>().error.message, `${route.key} ${payload}`).toBe('body: must be object');
    }
    const bare = await send({ method: route.method, url: json('').url, headers: c.headers(ctx) }, `${route.key} no body`, c.tables);
    if (OPTIONS_ONLY_ROUTES.has(route.key)) {
      // A body of options only: sending none (curl -X POST) means "no options".
      expect(bare.statusCode, `${route.key} no body`).not.toBe(400);
      return;
    }
    expectValidation(bare, `${route.key} no body`, 'body');
    expect(bare.json<ErrorBody>().error.message).toBe('body: must be object');
  });

  it.each(bodyRoutes)('$key: a body that is not JSON is 415 UNSUPPORTED_MEDIA_TYPE and writes nothing', async (route) => {
    const { c, json } = routeOf(route);
    const valid = JSON.stringify(c.body(ctx));
    const types = ['text/plain', 'text/plain; charset=utf-8', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', 'application/xml', 'application/octet-stream', 'text/html'];
    for (const type of types) {
      // Even a valid JSON document: the route reads JSON, and only says so when asked in JSON.
      const res = await send(json(valid, { 'content-type': type }), `${route.key} as ${type}`, c.tables);
      expect(res.statusCode, `${type}: ${res.body}`).toBe(415);
      expect(res.json<ErrorBody>().error).toMatchObject({ code: 'UNSUPPORTED_MEDIA_TYPE', message: 'unsupported content type; send application/json' });
    }
  });

  it.each(bodyRoutes)('$key: a body over server.bodyLimit is 413 PAYLOAD_TOO_LARGE and writes nothing', async (route) => {
    const { c, json } = routeOf(route);
    const limit = t.config.server.bodyLimit;
    expect(limit).toBe(1_048_576);
    const over = JSON.stringify({ ...c.body(ctx), pad: 'x'.repeat(limit) });
    const res = await send(json(over), `${route.key} oversized`, c.tables);
    expect(res.statusCode).toBe(413);
    expect(res.json<ErrorBody>().error.code).toBe('PAYLOAD_TOO_LARGE');
    // Just under the limit, the same body is parsed and refused for the unknown field instead.
    const under = JSON.stringify({ ...c.body(ctx), pad: 'x'.repeat(limit - 4096) });
    expectValidation(await send(json(under), `${route.key} large`, c.tables), `${route.key} large`, 'pad');
  });

  it.each(bodyRoutes)('$key: __proto__ and constructor.prototype payloads are refused and pollute nothing', async (route) => {
    const { c, json } = routeOf(route);
    const base = JSON.stringify(c.body(ctx)).slice(1);
    const { objects } = walk(route.schema);
    const payloads = [
      '{"__proto__":{"polluted":true}}',
      `{"__proto__":{"polluted":true,"role":"admin"},${base}`,
      `{"constructor":{"prototype":{"polluted":true}},${base}`,
      '{"a":{"b":{"__proto__":{"polluted":true}}}}',
      ...objects.filter((o) => o.length > 0).map((o) => `{"${o.join('":{"')}":{"__proto__":{"polluted":true}}${'}'.repeat(o.length)}`),
    ];
    for (const payload of payloads) {
      expectValidation(await send(json(payload), `${route.key} ${payload.slice(0, 60)}`, c.tables), `${route.key} ${payload.slice(0, 60)}`);
    }
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(Object.prototype.hasOwnProperty.call(Object.prototype, 'polluted')).toBe(false);
  });

  it.each(bodyRoutes)('$key: wrong types, unknown and missing fields are 400 naming the field, writing nothing', async (route) => {
    const { c, json } = routeOf(route);
    const { fields, objects, required } = walk(route.schema);
    for (const field of fields) {
      for (const value of wrongTypes(field)) {
        const what = `${route.key} ${field.name}=${JSON.stringify(value)}`;
        expectValidation(await send(json(JSON.stringify(setAt(c.body(ctx), field.path, value))), what, c.tables), what, field.name);
      }
    }
    for (const object of objects) {
      for (const extra of ['zzUnknown', 'isAdmin', 'password_hash']) {
        const path = [...object, extra];
        const what = `${route.key} unknown ${path.join('.')}`;
        expectValidation(await send(json(JSON.stringify(setAt(c.body(ctx), path, 'x'))), what, c.tables), what, path.join('.'));
      }
    }
    for (const path of required) {
      const what = `${route.key} without ${path.join('.')}`;
      expectValidation(await send(json(JSON.stringify(deleteAt(c.body(ctx), path))), what, c.tables), what, path.join('.'));
    }
    for (const [name, values] of Object.entries(c.refuses ?? {})) {
      const field = fields.find((f) => f.name === name);
      expect(field, `${route.key}: refuses names an unknown field ${name}`).toBeDefined();
      for (const value of values) {
        const what = `${route.key} ${name}=${JSON.stringify(value)}`;
        const res = await send(json(JSON.stringify(setAt(c.body(ctx), (field as Field).path, value))), what, c.tables);
        expectValidation(res, what);
        // The field itself, or the part of it that is wrong (overrides.limits[0].metric).
        const named = res.json<ErrorBody>().error.details?.fields?.map((f) => f.field) ?? [];
        expect(named.some((f) => f === name || f.startsWith(`${name}.`) || f.startsWith(`${name}[`)), `${what}: ${res.body.slice(0, 300)}`).toBe(true);
      }
    }
  });

  it.each(bodyRoutes)('$key: SQL, shell, unicode, NUL and huge strings in every string field: refused cleanly or stored verbatim', async (route) => {
    const { c, json } = routeOf(route);
    const fields = walk(route.schema).fields.filter((f) => f.kind === 'string' || f.kind === 'enum');
    expect(fields.length > 0, `${route.key} has no text fields; list it in WITHOUT_TEXT_FIELDS if that is right`).toBe(!WITHOUT_TEXT_FIELDS.includes(route.key));
    for (const field of fields) {
      const values = [...Object.values(HOSTILE), ...(c.accepts?.[field.name] ?? [])];
      for (const value of values) {
        const sent = setAt(c.body(ctx), field.path, value);
        const what = `${route.key} ${field.name}=${JSON.stringify(value).slice(0, 60)}`;
        const res = await send(json(JSON.stringify(sent)), what, c.tables);
        if (res.statusCode < 300) {
          c.onAccepted?.(ctx, sent);
          if (!c.verify) throw new Error(`${what}: accepted (${res.statusCode}) but the case cannot verify a round trip`);
          await c.verify(ctx, field, value, res, sent);
        } else if (res.json<ErrorBody>().error.code === 'VALIDATION_ERROR') {
          const named = res.json<ErrorBody>().error.details?.fields?.map((f) => f.field);
          expect(named, `${what}: ${res.body.slice(0, 300)}`).toContain(field.name);
        }
      }
      for (const value of c.accepts?.[field.name] ?? []) {
        // These must be accepted: hostile-looking but legitimate.
        const sent = setAt(c.body(ctx), field.path, value.replace(/@/, `${ctx.n++}@`));
        const res = await send(json(JSON.stringify(sent)), `${route.key} ${field.name} accepts ${value}`, c.tables);
        expect(res.statusCode, `${field.name}=${value}: ${res.body.slice(0, 300)}`).toBeLessThan(300);
        c.onAccepted?.(ctx, sent);
      }
    }
    // Every table is still there and readable.
    await expect(snapshot(ALL_TABLES)).resolves.toEqual(expect.any(String));
    await expect(t.database.db.selectFrom('audit_logs').select('id').limit(1).execute()).resolves.toEqual(expect.any(Array));
  });

  /** Free-form JSON fields (any value, any keys) by dotted path, and those of them without a depth bound. */
  const freeForm = (schema: JsonSchema & { 'x-maxDepth'?: number; additionalProperties?: unknown; items?: unknown }, prefix: string[] = []): { bounded: string[][]; unbounded: string[] } => {
    const out = { bounded: [] as string[][], unbounded: [] as string[] };
    for (const [key, prop] of Object.entries(schema.properties ?? {}) as [string, JsonSchema & { 'x-maxDepth'?: number; additionalProperties?: unknown; items?: unknown }][]) {
      const path = [...prefix, key];
      const anyJson = (s: unknown) => typeof s === 'object' && s !== null && Object.keys(s).filter((k) => k !== 'description').length === 0;
      // The AJV keyword maxDepth is published as x-maxDepth (src/http/openapi.ts).
      if (prop['x-maxDepth'] !== undefined) out.bounded.push(path);
      else if (prop.properties) {
        const inner = freeForm(prop, path);
        out.bounded.push(...inner.bounded);
        out.unbounded.push(...inner.unbounded);
      } else if (anyJson(prop) || anyJson(prop.additionalProperties) || anyJson(prop.items)) out.unbounded.push(path.join('.'));
    }
    return out;
  };
  const deepRoutes = bodyRoutes.filter((r) => freeForm(r.schema).bounded.length > 0);

  it('every free-form JSON field of a body has a depth bound', () => {
    expect(bodyRoutes.flatMap((r) => freeForm(r.schema).unbounded.map((f) => `${r.key} ${f}`))).toEqual([]);
    expect(deepRoutes.map((r) => r.key)).toEqual(expect.arrayContaining([`POST ${API}/instances`, `POST ${API}/backtest/run`, `POST ${API}/environments`]));
  });

  it.each(deepRoutes)('$key: a free-form field nested 5,000 levels deep is 400 naming it, writes nothing, and the server stays up', async (route) => {
    const { c, json } = routeOf(route);
    const nested = `${'{"a":'.repeat(5000)}1${'}'.repeat(5000)}`;
    for (const path of freeForm(route.schema).bounded) {
      const name = path.join('.');
      const isArray = (path.reduce<JsonSchema | undefined>((s, k) => s?.properties?.[k], route.schema) as JsonSchema).type === 'array';
      const payload = JSON.stringify(setAt(c.body(ctx), path, '__deep__')).replace('"__deep__"', isArray ? `[${nested}]` : nested);
      const what = `${route.key} ${name} 5000 deep`;
      const res = await send(json(payload), what, c.tables);
      expectValidation(res, what, name);
      expect(res.json<ErrorBody>().error.message, what).toContain(`body.${name}: nested deeper than 64 levels`);
    }
    const alive = await t.app.inject({ method: 'GET', url: `${API}/openapi.json` });
    expect(alive.statusCode).toBe(200);
  });

  it('a Passivbot config nested 64 levels deep is accepted; 65 is 400 naming config', async () => {
    const chain = (levels: number) => `${'{"n":'.repeat(levels)}1${'}'.repeat(levels)}`;
    const body = (levels: number) => `{"name":"deep-config-${levels}","environmentId":"local","account":"hostile-bybit","config":{"live":{"leverage":10},"notes":${chain(levels - 1)}}}`;
    const options = (payload: string): InjectOptions => ({ method: 'POST', url: `${API}/instances`, headers: { ...admin(ctx), 'content-type': 'application/json' }, payload });
    const ok = await send(options(body(64)), 'config 64 deep', INSTANCE_TABLES);
    expect(ok.statusCode, ok.body.slice(0, 300)).toBe(201);
    const refused = await send(options(body(65)), 'config 65 deep', INSTANCE_TABLES);
    expectValidation(refused, 'config 65 deep', 'config');
    expect(refused.json<ErrorBody>().error.message).toBe('body.config: nested deeper than 64 levels');
  });

  it('query strings: bad numbers, dates and hostile text are 400 or 200, never 500', async () => {
    const headers = t.auth('admin');
    // Reads: the invariants still hold, but there is nothing to diff.
    const get = (url: string) => send({ method: 'GET', url, headers }, `GET ${url.slice(0, 120)}`, []);
    expectValidation(await get(`${API}/logs?limit=abc`), 'limit=abc', 'limit');
    expectValidation(await get(`${API}/logs?limit=100000`), 'limit=100000', 'limit');
    expectValidation(await get(`${API}/logs?limit=-1`), 'limit=-1', 'limit');
    expectValidation(await get(`${API}/logs?page=0`), 'page=0', 'page');
    expectValidation(await get(`${API}/logs?from=not-a-date`), 'from=not-a-date', 'from');
    expectValidation(await get(`${API}/logs?to=2026-02-30T00:00:00Z`), 'to=Feb 30', 'to');
    // A leap second passes the date-time format but no Date can hold it.
    expectValidation(await get(`${API}/logs?from=2016-12-31T23:59:60Z`), 'leap second', 'from');
    expectValidation(await get(`${API}/logs/count?to=2016-12-31T23:59:60Z`), 'leap second', 'to');
    expectValidation(await get(`${API}/logs?q=${encodeURIComponent('a\u0000b')}`), 'q with NUL', 'q');
    expectValidation(await get(`${API}/users?q=%00`), 'users q with NUL', 'q');
    expectValidation(await get(`${API}/logs?evil=1`), 'unknown query field', 'evil');
    expectValidation(await get(`${API}/logs?q=a&q=b`), 'repeated q', 'q');

    // SQL and LIKE metacharacters are matched literally: the counts equal a plain substring search.
    const messages = (await t.database.db.selectFrom('audit_logs').select('message').execute()).map((r) => r.message.toLowerCase());
    const users = (await t.database.db.selectFrom('users').select(['username', 'email']).execute()).map((u) => [u.username, u.email ?? ''].join('\n').toLowerCase());
    for (const q of ["' OR 1=1 --", '"; DROP TABLE users; --', '%', '_', '\\', "'", '%%', 'admin%', "admin' --"]) {
      const logs = await get(`${API}/logs/count?q=${encodeURIComponent(q)}`);
      expect(logs.statusCode, logs.body).toBe(200);
      expect(logs.json<{ count: number }>().count, `logs q=${q}`).toBe(messages.filter((m) => m.includes(q.toLowerCase())).length);
      const list = await get(`${API}/users?limit=500&q=${encodeURIComponent(q)}`);
      expect(list.statusCode, list.body).toBe(200);
      expect(list.json<{ pagination: { total: number } }>().pagination.total, `users q=${q}`).toBe(users.filter((u) => u.split('\n').some((s) => s.includes(q.toLowerCase()))).length);
    }
    expect((await t.database.db.selectFrom('users').select('id').execute()).length).toBeGreaterThanOrEqual(5);

    // And every query parameter of every GET route, fed everything.
    const values = [...Object.values(HOSTILE), 'abc', '-1', '0', '1.5', '1e3', '100000', '99999999999999999999', 'true', 'null', '', 'not-a-date', '2016-12-31T23:59:60Z', '[]', '{}'];
    for (const { path, params } of queryOps) {
      for (const param of params) {
        for (const value of values) {
          await get(`${path}?${param.name}=${encodeURIComponent(value)}`);
        }
      }
      await get(`${path}?__proto__[polluted]=1&constructor[prototype][polluted]=1`);
    }
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  }, 120_000); // over a thousand requests: seconds alone, far longer on a loaded CI machine

  it('path parameters: traversal, NUL, bad encodings and very long ids are 4xx and write nothing', async () => {
    const ids = [
      '..%2F..%2Fetc%2Fpasswd',
      '..',
      '%2e%2e%2f%2e%2e',
      '%00',
      'abc%00def',
      'a%2Fb',
      "'%20OR%201%3D1%20--",
      '%24(rm%20-rf%20%2F)',
      '%60id%60',
      '%F0%9F%94%A5',
      '%ff',
      '%',
      'a'.repeat(65),
      'a'.repeat(201),
      'a'.repeat(5000),
    ];
    for (const rule of paramRules) {
      const bodyRoute = bodyRoutes.find((r) => r.key === `${rule.method} ${rule.url.replace(/:([A-Za-z0-9_]+)/g, '{$1}')}`);
      const body = bodyRoute ? (CASES[bodyRoute.key] as Case).body(ctx) : undefined;
      for (const id of ids) {
        const url = rule.url.replace(/:[A-Za-z0-9_]+/g, id);
        const res = await send(
          { method: rule.method, url, headers: t.auth('admin'), ...(body && { payload: body }) },
          `${rule.method} ${url.slice(0, 100)}`,
        );
        // Dot segments are resolved before the request is routed (`/environments/../logs` is `/logs`):
        // that asks for another resource, which may well exist. The invariants above still held.
        if (new URL(url, 'http://x').pathname !== url) continue;
        expect(res.statusCode, `${rule.method} ${url.slice(0, 100)}: ${res.body.slice(0, 200)}`).toBeGreaterThanOrEqual(400);
        expect(res.statusCode).toBeLessThan(500);
      }
    }
  });

  it('hostile headers: a request id is echoed only when safe; odd Authorization values are 401', async () => {
    const res = await send({ method: 'GET', url: `${API}/users/nope`, headers: { ...t.auth('admin'), 'x-request-id': "'; DROP TABLE users; --" } }, 'hostile x-request-id');
    expect(res.statusCode).toBe(404);
    expect(res.json<ErrorBody>().error.requestId).toMatch(/^[0-9a-f-]{36}$/);
    const safe = await send({ method: 'GET', url: `${API}/users/nope`, headers: { ...t.auth('admin'), 'x-request-id': 'trace-123' } }, 'safe x-request-id');
    expect(safe.json<ErrorBody>().error.requestId).toBe('trace-123');
    for (const authorization of ["Bearer ' OR 1=1 --", "Bearer pbf_'OR'1'='1", `Bearer ${'a'.repeat(8000)}`, 'Bearer pbf_%00', 'Bearer $(id)', 'Bearer 🔥']) {
      const r = await send({ method: 'GET', url: `${API}/auth/me`, headers: { authorization } }, `authorization ${authorization.slice(0, 30)}`);
      expect(r.statusCode).toBe(401);
    }
  });
});
