/** What the Settings page shows of each setting, and how a save is worded. */

export type FieldKind = 'text' | 'number' | 'secret' | { options: readonly string[] };

export interface FieldDef {
  key: string;
  label: string;
  description: string;
  kind: FieldKind;
  min?: number;
  max?: number;
}

export interface SectionDef {
  /** The settings group (`paths` is saved through its own route). */
  group: 'paths' | 'instances' | 'general' | 'market' | 'notifications';
  title: string;
  description: string;
  fields: readonly FieldDef[];
}

export const SECTIONS: readonly SectionDef[] = [
  {
    group: 'paths',
    title: 'Passivbot paths',
    description: 'Where this host finds Passivbot and its Python, and where bots and jobs keep their files.',
    fields: [
      { key: 'passivbotDir', label: 'Passivbot directory', description: 'The Passivbot checkout on this host; empty: not configured', kind: 'text' },
      { key: 'pythonPath', label: 'Python interpreter', description: 'An absolute path (a venv’s python) or a command on PATH', kind: 'text' },
      { key: 'passivbotKind', label: 'Passivbot kind', description: 'v7 scripts (src/main.py) or the passivbot CLI (v7.9+, v8)', kind: { options: ['v7', 'cli'] } },
      { key: 'dataDir', label: 'Bots’ working directory', description: 'Empty: <dataDir>/bots', kind: 'text' },
      { key: 'logDir', label: 'Log directory', description: 'Bot and job logs; empty: <dataDir>/logs', kind: 'text' },
    ],
  },
  {
    group: 'instances',
    title: 'Instance policy',
    description: 'How bots are stopped, when a crashing bot is given up on, and how their logs rotate.',
    fields: [
      { key: 'stopTimeoutSeconds', label: 'Stop timeout (seconds)', description: 'Grace time after SIGINT before SIGKILL', kind: 'number', min: 1, max: 600 },
      { key: 'maxCrashesPerHour', label: 'Crash limit (per hour)', description: 'Crashes within an hour before a bot is put in error', kind: 'number', min: 1, max: 100 },
      { key: 'logMaxMegabytes', label: 'Log size (MB)', description: 'Size at which a bot log is rotated', kind: 'number', min: 1, max: 10_000 },
      { key: 'logGenerations', label: 'Log generations', description: 'Rotated bot logs kept', kind: 'number', min: 1, max: 50 },
    ],
  },
  {
    group: 'general',
    title: 'General',
    description: 'How this pbfleet presents itself.',
    fields: [
      { key: 'siteName', label: 'Site name', description: 'Name shown in the UI', kind: 'text' },
      { key: 'timezone', label: 'Time zone', description: 'IANA time zone for dates, such as Europe/Berlin', kind: 'text' },
    ],
  },
  {
    group: 'market',
    title: 'Market data',
    description: 'Coin market data from CoinMarketCap.',
    fields: [
      { key: 'coinmarketcapApiKey', label: 'CoinMarketCap API key', description: 'Write-only', kind: 'secret' },
      { key: 'refreshMinutes', label: 'Refresh every (minutes)', description: 'How often market data is refreshed', kind: 'number', min: 5, max: 1440 },
      { key: 'topCoins', label: 'Coins tracked', description: 'How many coins by market cap to track', kind: 'number', min: 10, max: 5000 },
    ],
  },
  {
    group: 'notifications',
    title: 'Notifications',
    description: 'Alerts sent through a Telegram bot.',
    fields: [
      { key: 'telegramBotToken', label: 'Telegram bot token', description: 'Write-only', kind: 'secret' },
      { key: 'telegramChatId', label: 'Telegram chat id', description: 'The chat alerts go to', kind: 'text' },
    ],
  },
];

/** A form's value of a field: secrets start empty (write-only) with "clear" off. */
export type FormValues = Record<string, string | number | boolean>;

export const clearKey = (key: string) => `${key}__clear`;

export function initialValues(section: SectionDef, view: Record<string, unknown>): FormValues {
  const values: FormValues = {};
  for (const field of section.fields) {
    if (field.kind === 'secret') {
      values[field.key] = '';
      values[clearKey(field.key)] = false;
    } else {
      const value = view[field.key];
      values[field.key] = typeof value === 'number' || typeof value === 'string' ? value : '';
    }
  }
  return values;
}

export interface Change {
  setting: string;
  /** `old -> new`, or for a secret only that it changed or was cleared. */
  text: string;
}

/** The keys that differ from the stored view, as a patch for the API and as words for the user. */
export function diffSection(section: SectionDef, view: Record<string, unknown>, values: FormValues): { patch: Record<string, unknown>; changes: Change[] } {
  const patch: Record<string, unknown> = {};
  const changes: Change[] = [];
  for (const field of section.fields) {
    const setting = `${section.group}.${field.key}`;
    if (field.kind === 'secret') {
      const typed = String(values[field.key] ?? '');
      if (values[clearKey(field.key)] === true) {
        if (view[`${field.key}Set`] === true) {
          patch[field.key] = null;
          changes.push({ setting, text: `${setting}: cleared` });
        }
      } else if (typed !== '') {
        patch[field.key] = typed;
        changes.push({ setting, text: `${setting}: changed` });
      }
      continue;
    }
    const before = view[field.key];
    const raw = values[field.key];
    const after = field.kind === 'number' && typeof raw === 'string' && raw.trim() !== '' && Number.isFinite(Number(raw)) ? Number(raw) : raw;
    if (after === before) continue;
    patch[field.key] = after;
    changes.push({ setting, text: `${setting}: ${show(before)} → ${show(after)}` });
  }
  return { patch, changes };
}

function show(value: unknown): string {
  if (value === '' || value === undefined || value === null) return '(empty)';
  return typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean' ? String(value) : JSON.stringify(value);
}
