import type { Db } from '../../db/database.js';
import type { Clock } from '../../lib/clock.js';
import { ValidationError } from '../../lib/errors.js';
import type { SecretBox } from '../../lib/secret-box.js';
import type { AuditService } from '../audit/audit.service.js';
import type { Actor } from '../auth/auth.types.js';
import { SETTINGS, settingKey, type SettingDef, type SettingsGroup } from './settings.registry.js';
import type { SettingsRepo } from './settings.repo.js';

export type SettingsPatch = Partial<Record<SettingsGroup, Record<string, unknown>>>;
type PublicView = Record<string, Record<string, unknown>>;

const TIME_ZONES = new Set(Intl.supportedValuesOf('timeZone'));

/** Checks a schema cannot express. */
function checkValue(group: string, key: string, value: unknown): void {
  if (group === 'general' && key === 'timezone' && value !== 'UTC' && !TIME_ZONES.has(String(value))) {
    throw ValidationError.field(`${group}.${key}`, 'must be an IANA time zone such as Europe/Berlin');
  }
}

export function createSettingsService(deps: { db: Db; settingsRepo: SettingsRepo; secretBox: SecretBox; audit: Pick<AuditService, 'record'>; clock: Clock }) {
  const { db, settingsRepo, secretBox, audit, clock } = deps;
  /**
   * The stored values, read once and again after each write: every job start reads the paths.
   * This service is the only writer while the server runs (key rotation is offline).
   */
  let cached: Promise<Map<string, string>> | null = null;
  const stored = (): Promise<Map<string, string>> => {
    cached ??= settingsRepo.all().catch((error: unknown) => {
      cached = null;
      throw error;
    });
    return cached;
  };

  function decode(key: string, def: SettingDef, raw: string | undefined): unknown {
    if (raw === undefined) return def.default;
    const parsed = JSON.parse(raw) as unknown;
    if (def.secret) return secretBox.open((parsed as { sealed: string }).sealed, key);
    return parsed;
  }

  async function view(groups: readonly SettingsGroup[]): Promise<PublicView> {
    const values = await stored();
    const out: PublicView = {};
    for (const group of groups) {
      const groupValues: Record<string, unknown> = {};
      for (const [key, def] of Object.entries(SETTINGS[group]) as [string, SettingDef][]) {
        const raw = values.get(settingKey(group, key));
        if (def.secret) groupValues[`${key}Set`] = raw !== undefined;
        else groupValues[key] = decode(settingKey(group, key), def, raw);
      }
      out[group] = groupValues;
    }
    return out;
  }

  return {
    view,

    /** Writes only the keys given, all or none; secrets are sealed, null clears them. */
    async update(patch: SettingsPatch, actor: Actor): Promise<void> {
      const writes: { key: string; value: string | null }[] = [];
      const changed: Record<string, unknown> = {};
      // Listed by name as a value, not as a key: the audit log redacts values under keys that
      // look secret, which would hide whether a secret was set or cleared.
      const writeOnly: { setting: string; change: 'set' | 'cleared' }[] = [];
      for (const [group, values] of Object.entries(patch) as [SettingsGroup, Record<string, unknown>][]) {
        for (const [key, value] of Object.entries(values)) {
          const def = (SETTINGS[group] as Record<string, SettingDef>)[key];
          if (!def) throw ValidationError.field(`${group}.${key}`, 'is not a known setting');
          const fullKey = settingKey(group, key);
          if (def.secret) {
            writes.push({ key: fullKey, value: value === null ? null : JSON.stringify({ sealed: secretBox.seal(value as string, fullKey) }) });
            writeOnly.push({ setting: fullKey, change: value === null ? 'cleared' : 'set' });
          } else {
            checkValue(group, key, value);
            writes.push({ key: fullKey, value: JSON.stringify(value) });
            changed[fullKey] = value;
          }
        }
      }
      if (writes.length === 0) return;
      const at = clock.now().toISOString();
      try {
        await db.transaction().execute(async (trx) => {
          for (const w of writes) {
            if (w.value === null) await settingsRepo.remove(w.key, trx);
            else await settingsRepo.put(w.key, w.value, at, actor.username, trx);
          }
        });
      } finally {
        cached = null;
      }
      // Secrets appear only as "set"/"cleared": values never reach the audit log.
      const names = [...Object.keys(changed), ...writeOnly.map((w) => w.setting)];
      await audit.record({ type: 'action', level: 'success', action: 'settings_update', message: `settings changed: ${names.join(', ')}`, details: { changed, writeOnly }, actor });
    },

    /** One value for other modules, secrets decrypted. */
    async get(group: SettingsGroup, key: string): Promise<unknown> {
      const def = (SETTINGS[group] as Record<string, SettingDef>)[key];
      if (!def) throw new Error(`unknown setting ${group}.${key}`);
      return decode(settingKey(group, key), def, (await stored()).get(settingKey(group, key)));
    },
  };
}

export type SettingsService = ReturnType<typeof createSettingsService>;
