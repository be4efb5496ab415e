import Type, { type TSchema } from 'typebox';
import { CONTROL_CHARS, NO_CONTROL_CHARS } from '../../http/schemas.js';

export interface SettingDef {
  schema: TSchema;
  default: unknown;
  /** Write-only: stored encrypted, reads only say whether it is set. */
  secret?: boolean;
  description: string;
}

/** An absolute path, or (for interpreters) a bare command name looked up on PATH. */
const AbsolutePath = Type.String({ maxLength: 1024, pattern: `^/[^${CONTROL_CHARS}]*$` });

/**
 * Every setting pbfleet knows, by group. Adding one here adds it to the API, its schema and
 * its validation; unknown keys are refused.
 */
export const SETTINGS = {
  general: {
    siteName: { schema: Type.String({ minLength: 1, maxLength: 100, pattern: NO_CONTROL_CHARS }), default: 'pbfleet', description: 'Name shown in the UI' },
    timezone: { schema: Type.String({ minLength: 1, maxLength: 64 }), default: 'UTC', description: 'IANA time zone for dates in the UI' },
  },
  market: {
    coinmarketcapApiKey: { schema: Type.String({ minLength: 1, maxLength: 200, pattern: NO_CONTROL_CHARS }), default: null, secret: true, description: 'CoinMarketCap API key' },
    refreshMinutes: { schema: Type.Integer({ minimum: 5, maximum: 1440 }), default: 60, description: 'How often market data is refreshed' },
    topCoins: { schema: Type.Integer({ minimum: 10, maximum: 5000 }), default: 200, description: 'How many coins by market cap to track' },
  },
  notifications: {
    telegramBotToken: { schema: Type.String({ minLength: 1, maxLength: 200, pattern: NO_CONTROL_CHARS }), default: null, secret: true, description: 'Telegram bot token for alerts' },
    telegramChatId: { schema: Type.String({ maxLength: 64, pattern: '^-?[0-9]*$' }), default: '', description: 'Telegram chat id for alerts' },
  },
  instances: {
    maxCrashesPerHour: { schema: Type.Integer({ minimum: 1, maximum: 100 }), default: 5, description: 'Crashes within an hour before a bot is put in error' },
    stopTimeoutSeconds: { schema: Type.Integer({ minimum: 1, maximum: 600 }), default: 30, description: 'Grace time after SIGINT before SIGKILL' },
    logMaxMegabytes: { schema: Type.Integer({ minimum: 1, maximum: 10_000 }), default: 50, description: 'Size at which a bot log is rotated' },
    logGenerations: { schema: Type.Integer({ minimum: 1, maximum: 50 }), default: 3, description: 'Rotated bot logs kept' },
  },
  paths: {
    passivbotDir: { schema: Type.Union([AbsolutePath, Type.Literal('')]), default: '', description: 'Passivbot checkout on this host (empty: not configured)' },
    pythonPath: {
      schema: Type.String({ minLength: 1, maxLength: 1024, pattern: `^(/[^${CONTROL_CHARS}]*|[A-Za-z0-9._-]+)$` }),
      default: 'python3',
      description: 'Python (or venv) interpreter: an absolute path or a command on PATH',
    },
    passivbotKind: { schema: Type.Enum(['v7', 'cli']), default: 'v7', description: 'v7 scripts (src/main.py) or the passivbot CLI (v7.9+, v8)' },
    dataDir: { schema: Type.Union([AbsolutePath, Type.Literal('')]), default: '', description: "Where bots' working files go (empty: <dataDir>/bots)" },
    logDir: { schema: Type.Union([AbsolutePath, Type.Literal('')]), default: '', description: 'Where bot and job logs go (empty: <dataDir>/logs)' },
  },
} satisfies Record<string, Record<string, SettingDef>>;

export type SettingsGroup = keyof typeof SETTINGS;
/** Groups served by GET/PUT /settings; `paths` has its own route. */
export const GENERAL_GROUPS = ['general', 'market', 'notifications', 'instances'] as const satisfies readonly SettingsGroup[];

export const settingKey = (group: string, key: string) => `${group}.${key}`;

/** The read shape: secrets appear as `<key>Set: boolean`. */
export function readSchema(group: SettingsGroup) {
  const props: Record<string, TSchema> = {};
  for (const [key, def] of Object.entries(SETTINGS[group]) as [string, SettingDef][]) {
    if (def.secret) props[`${key}Set`] = Type.Boolean({ description: `Whether ${def.description} is set (the value is write-only)` });
    else props[key] = { ...def.schema, description: def.description };
  }
  return Type.Object(props, { additionalProperties: false });
}

/** The write shape: every key optional; a secret may be null to clear it. */
export function writeSchema(group: SettingsGroup) {
  const props: Record<string, TSchema> = {};
  for (const [key, def] of Object.entries(SETTINGS[group]) as [string, SettingDef][]) {
    props[key] = Type.Optional(def.secret ? Type.Union([def.schema, Type.Null()], { description: `${def.description}; null clears it` }) : { ...def.schema, description: def.description });
  }
  return Type.Object(props, { additionalProperties: false });
}
