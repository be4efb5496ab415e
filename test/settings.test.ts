import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from './helpers/app.js';
import { testDatabases } from './helpers/databases.js';

const DEFAULTS = {
  general: { siteName: 'pbfleet', timezone: 'UTC' },
  market: { coinmarketcapApiKeySet: false, refreshMinutes: 60, topCoins: 200 },
  notifications: { telegramBotTokenSet: false, telegramChatId: '' },
  instances: { maxCrashesPerHour: 5, stopTimeoutSeconds: 30, logMaxMegabytes: 50, logGenerations: 3 },
};

const PATH_DEFAULTS = { passivbotDir: '', pythonPath: 'python3', passivbotKind: 'v7', dataDir: '', logDir: '' };

const CMC_KEY = 'cmc-4f1d2e7a-super-secret-key';
const TG_TOKEN = '123456:telegram-bot-secret-token';

interface LogView {
  action: string | null;
  username: string | null;
  message: string;
  details: Record<string, unknown> | null;
}

describe.each(testDatabases)('settings on $name', (database) => {
  let t: TestApp;
  beforeEach(async () => {
    t = await createTestApp(database);
  });
  afterEach(async () => {
    await t.close();
  });

  const request = (method: 'GET' | 'PUT', url: string, payload?: unknown, role: 'admin' | 'operator' | 'viewer' = 'admin') =>
    t.app.inject({ method, url: `/api/v1${url}`, headers: t.auth(role), ...(payload !== undefined && { payload: payload as object }) });
  const rows = () => t.database.db.selectFrom('settings').selectAll().orderBy('key').execute();
  const settingsLogs = async () => {
    const res = await request('GET', '/logs?action=settings_update&limit=500');
    expect(res.statusCode).toBe(200);
    return { entries: res.json<{ logs: LogView[] }>().logs, body: res.body };
  };
  const expectFieldError = (res: Awaited<ReturnType<typeof request>>, field: string) => {
    expect(res.statusCode, res.body).toBe(400);
    expect(res.json().error.code).toBe('VALIDATION_ERROR');
    expect(res.json<{ error: { details: { fields: { field: string }[] } } }>().error.details.fields.map((f) => f.field)).toContain(field);
  };

  describe('GET /settings', () => {
    it('shows every group with its defaults to any signed-in user, secrets only as flags', async () => {
      for (const role of ['viewer', 'operator', 'admin'] as const) {
        const res = await request('GET', '/settings', undefined, role);
        expect(res.statusCode, role).toBe(200);
        expect(res.json()).toEqual(DEFAULTS);
      }
      expect((await t.app.inject({ method: 'GET', url: '/api/v1/settings' })).statusCode).toBe(401);
      expect(await rows()).toEqual([]);
    });
  });

  describe('PUT /settings', () => {
    it('is admin only and changes nothing for others', async () => {
      for (const role of ['operator', 'viewer'] as const) {
        const res = await request('PUT', '/settings', { general: { siteName: 'hijacked' } }, role);
        expect(res.statusCode, role).toBe(403);
        expect(res.json().error.code).toBe('FORBIDDEN');
      }
      expect((await t.app.inject({ method: 'PUT', url: '/api/v1/settings', payload: { general: { siteName: 'x' } } })).statusCode).toBe(401);
      expect((await request('GET', '/settings')).json()).toEqual(DEFAULTS);
      expect(await rows()).toEqual([]);
    });

    it('changes only the keys given and returns the whole view', async () => {
      const res = await request('PUT', '/settings', { general: { timezone: 'Europe/Berlin' }, instances: { logGenerations: 7 } });
      expect(res.statusCode).toBe(200);
      const expected = { ...DEFAULTS, general: { ...DEFAULTS.general, timezone: 'Europe/Berlin' }, instances: { ...DEFAULTS.instances, logGenerations: 7 } };
      expect(res.json()).toEqual(expected);

      const again = await request('PUT', '/settings', { general: { siteName: 'Desk fleet' }, market: { topCoins: 500 } });
      const next = { ...expected, general: { siteName: 'Desk fleet', timezone: 'Europe/Berlin' }, market: { ...DEFAULTS.market, topCoins: 500 } };
      expect(again.json()).toEqual(next);
      expect((await request('GET', '/settings', undefined, 'viewer')).json()).toEqual(next);
      expect(await t.services.settings.get('general', 'siteName')).toBe('Desk fleet');

      // Only what was set is stored; the rest keeps following the defaults.
      expect((await rows()).map((r) => r.key)).toEqual(['general.siteName', 'general.timezone', 'instances.logGenerations', 'market.topCoins']);
      expect((await rows()).every((r) => r.updated_by === 'admin1')).toBe(true);
    });

    it('stores a secret encrypted, never returns it, and hands it to the server; null clears it', async () => {
      const res = await request('PUT', '/settings', { market: { coinmarketcapApiKey: CMC_KEY }, notifications: { telegramBotToken: TG_TOKEN, telegramChatId: '-100123' } });
      expect(res.statusCode).toBe(200);
      expect(res.json().market).toEqual({ ...DEFAULTS.market, coinmarketcapApiKeySet: true });
      expect(res.json().notifications).toEqual({ telegramBotTokenSet: true, telegramChatId: '-100123' });
      expect(res.json().market).not.toHaveProperty('coinmarketcapApiKey');
      for (const body of [res.body, (await request('GET', '/settings', undefined, 'viewer')).body]) {
        expect(body).not.toContain(CMC_KEY);
        expect(body).not.toContain(TG_TOKEN);
      }

      const stored = await rows();
      const cmcRow = stored.find((r) => r.key === 'market.coinmarketcapApiKey');
      expect(cmcRow).toBeDefined();
      expect(JSON.stringify(stored)).not.toContain(CMC_KEY);
      expect(JSON.stringify(stored)).not.toContain(TG_TOKEN);
      expect(JSON.stringify(stored)).not.toContain('super-secret');
      expect(JSON.parse(cmcRow!.value)).toEqual({ sealed: expect.stringMatching(/^v1\./) });

      expect(await t.services.settings.get('market', 'coinmarketcapApiKey')).toBe(CMC_KEY);
      expect(await t.services.settings.get('notifications', 'telegramBotToken')).toBe(TG_TOKEN);

      // Replacing it keeps it secret too.
      await request('PUT', '/settings', { market: { coinmarketcapApiKey: 'second-key-value' } });
      expect(await t.services.settings.get('market', 'coinmarketcapApiKey')).toBe('second-key-value');
      expect(JSON.stringify(await rows())).not.toContain('second-key-value');

      // Other writes leave it alone.
      await request('PUT', '/settings', { market: { refreshMinutes: 15 } });
      expect(await t.services.settings.get('market', 'coinmarketcapApiKey')).toBe('second-key-value');

      const cleared = await request('PUT', '/settings', { market: { coinmarketcapApiKey: null } });
      expect(cleared.statusCode).toBe(200);
      expect(cleared.json().market).toEqual({ coinmarketcapApiKeySet: false, refreshMinutes: 15, topCoins: 200 });
      expect(cleared.json().notifications.telegramBotTokenSet).toBe(true);
      expect(await t.services.settings.get('market', 'coinmarketcapApiKey')).toBeNull();
      expect((await rows()).some((r) => r.key === 'market.coinmarketcapApiKey')).toBe(false);

      // Clearing what is not set is harmless.
      expect((await request('PUT', '/settings', { market: { coinmarketcapApiKey: null } })).statusCode).toBe(200);
    });

    it('refuses a secret read back as a value or flag written as one', async () => {
      expectFieldError(await request('PUT', '/settings', { market: { coinmarketcapApiKeySet: true } }), 'market.coinmarketcapApiKeySet');
      expectFieldError(await request('PUT', '/settings', { market: { coinmarketcapApiKey: '' } }), 'market.coinmarketcapApiKey');
      expectFieldError(await request('PUT', '/settings', { notifications: { telegramBotToken: 'line\nbreak' } }), 'notifications.telegramBotToken');
      expect(await rows()).toEqual([]);
    });

    it('refuses invalid values with 400 naming the field', async () => {
      const cases: [unknown, string][] = [
        [{ general: { timezone: 'Mars/Base' } }, 'general.timezone'],
        [{ general: { timezone: '' } }, 'general.timezone'],
        [{ general: { siteName: '' } }, 'general.siteName'],
        [{ general: { siteName: 'two\nlines' } }, 'general.siteName'],
        [{ general: { siteName: 'rub\u007fout' } }, 'general.siteName'],
        [{ general: { siteName: 'next\u0085line' } }, 'general.siteName'],
        [{ market: { coinmarketcapApiKey: 'key\u009b31m' } }, 'market.coinmarketcapApiKey'],
        [{ market: { refreshMinutes: 1 } }, 'market.refreshMinutes'],
        [{ market: { refreshMinutes: 1441 } }, 'market.refreshMinutes'],
        [{ market: { refreshMinutes: 7.5 } }, 'market.refreshMinutes'],
        [{ market: { refreshMinutes: '60' } }, 'market.refreshMinutes'],
        [{ market: { topCoins: null } }, 'market.topCoins'],
        [{ notifications: { telegramChatId: 'not-a-number' } }, 'notifications.telegramChatId'],
        [{ instances: { stopTimeoutSeconds: 0 } }, 'instances.stopTimeoutSeconds'],
        [{ market: { unknownKey: 1 } }, 'market.unknownKey'],
        [{ weather: { sunny: true } }, 'weather'],
        [{ paths: { pythonPath: '/usr/bin/python3' } }, 'paths'],
        [{ general: 'UTC' }, 'general'],
      ];
      for (const [body, field] of cases) {
        const res = await request('PUT', '/settings', body);
        expectFieldError(res, field);
        expect(res.json().error.message, JSON.stringify(body)).toContain(field);
      }
      for (const raw of ['{}', '[]', '"text"', 'null', '{"general":', '']) {
        const res = await t.app.inject({ method: 'PUT', url: '/api/v1/settings', headers: { ...t.auth('admin'), 'content-type': 'application/json' }, payload: raw });
        expect(res.statusCode, raw).toBe(400);
        expect(res.json().error.code).toBe('VALIDATION_ERROR');
        expect(res.json().error.message, raw).not.toContain('body.body');
      }
      const empty = await request('PUT', '/settings', {});
      expect(empty.json().error.message).toBe('body: must NOT have fewer than 1 properties');
      const notJson = await t.app.inject({ method: 'PUT', url: '/api/v1/settings', headers: { ...t.auth('admin'), 'content-type': 'application/x-www-form-urlencoded' }, payload: 'general.siteName=x' });
      expect(notJson.statusCode).toBe(415);
      expect(await rows()).toEqual([]);
      expect((await request('GET', '/settings')).json()).toEqual(DEFAULTS);
    });

    it('is all-or-nothing: one bad key rejects the good ones with it', async () => {
      for (const body of [
        { general: { siteName: 'Should not stick', timezone: 'Mars/Base' } },
        { general: { timezone: 'Mars/Base' }, market: { coinmarketcapApiKey: CMC_KEY, topCoins: 300 } },
        { market: { coinmarketcapApiKey: CMC_KEY, refreshMinutes: 1 } },
        { instances: { logGenerations: 9 }, market: { bogus: true } },
      ]) {
        const res = await request('PUT', '/settings', body);
        expect(res.statusCode, JSON.stringify(body)).toBe(400);
      }
      expect(await rows()).toEqual([]);
      expect((await request('GET', '/settings')).json()).toEqual(DEFAULTS);
      expect(await t.services.settings.get('market', 'coinmarketcapApiKey')).toBeNull();
      expect((await settingsLogs()).entries).toEqual([]);
    });

    it('audits each write by the admin, never with a secret in it', async () => {
      await request('PUT', '/settings', { general: { siteName: 'Audited' }, market: { coinmarketcapApiKey: CMC_KEY } });
      await request('PUT', '/settings', { notifications: { telegramBotToken: TG_TOKEN } });
      await request('PUT', '/settings', { market: { coinmarketcapApiKey: null } });
      await request('PUT', '/settings', { general: { timezone: 'Mars/Base' } });

      const { entries, body } = await settingsLogs();
      expect(entries).toHaveLength(3);
      expect(body).not.toContain(CMC_KEY);
      expect(body).not.toContain(TG_TOKEN);
      expect(entries.every((e) => e.username === 'admin1')).toBe(true);
      const [cleared, telegram, first] = entries;
      expect(first?.message).toContain('general.siteName');
      expect(first?.message).toContain('market.coinmarketcapApiKey');
      // Write-only settings are recorded as set or cleared: what changed, never the value.
      expect(first?.details).toEqual({ changed: { 'general.siteName': 'Audited' }, writeOnly: [{ setting: 'market.coinmarketcapApiKey', change: 'set' }] });
      expect(telegram?.message).toContain('notifications.telegramBotToken');
      expect(telegram?.details).toEqual({ changed: {}, writeOnly: [{ setting: 'notifications.telegramBotToken', change: 'set' }] });
      expect(cleared?.message).toContain('market.coinmarketcapApiKey');
      expect(cleared?.details).toEqual({ changed: {}, writeOnly: [{ setting: 'market.coinmarketcapApiKey', change: 'cleared' }] });
      expect(body).not.toContain('[redacted]');
    });
  });

  describe('/settings/paths', () => {
    it('reads the defaults, to any signed-in user; not part of /settings', async () => {
      const res = await request('GET', '/settings/paths', undefined, 'viewer');
      expect(res.statusCode).toBe(200);
      expect(res.json()).toEqual(PATH_DEFAULTS);
      expect((await request('GET', '/settings')).json()).not.toHaveProperty('paths');
      expect((await t.app.inject({ method: 'GET', url: '/api/v1/settings/paths' })).statusCode).toBe(401);
    });

    it('changes only the given paths (admin only)', async () => {
      expect((await request('PUT', '/settings/paths', { passivbotDir: '/opt/passivbot' }, 'operator')).statusCode).toBe(403);

      const res = await request('PUT', '/settings/paths', { passivbotDir: '/opt/passivbot', passivbotKind: 'cli' });
      expect(res.statusCode).toBe(200);
      expect(res.json()).toEqual({ ...PATH_DEFAULTS, passivbotDir: '/opt/passivbot', passivbotKind: 'cli' });

      const next = await request('PUT', '/settings/paths', { pythonPath: '/opt/passivbot/venv/bin/python', logDir: '/var/log/pbfleet', dataDir: '/srv/pb data' });
      const expected = { passivbotDir: '/opt/passivbot', pythonPath: '/opt/passivbot/venv/bin/python', passivbotKind: 'cli', dataDir: '/srv/pb data', logDir: '/var/log/pbfleet' };
      expect(next.json()).toEqual(expected);
      expect((await request('GET', '/settings/paths', undefined, 'viewer')).json()).toEqual(expected);
      expect(await t.services.settings.get('paths', 'pythonPath')).toBe('/opt/passivbot/venv/bin/python');

      // A bare command name for the interpreter and an empty dir (back to "not configured") are fine.
      const reset = await request('PUT', '/settings/paths', { pythonPath: 'python3.12', passivbotDir: '' });
      expect(reset.json()).toMatchObject({ pythonPath: 'python3.12', passivbotDir: '' });

      const logs = await settingsLogs();
      expect(logs.entries).toHaveLength(3);
      expect(logs.entries[2]?.message).toContain('paths.passivbotDir');
      // "passivbot" is not a password: the audit log keeps the paths.
      expect(logs.entries[2]?.details).toEqual({ changed: { 'paths.passivbotDir': '/opt/passivbot', 'paths.passivbotKind': 'cli' }, writeOnly: [] });
      expect(logs.entries[0]?.details).toEqual({ changed: { 'paths.pythonPath': 'python3.12', 'paths.passivbotDir': '' }, writeOnly: [] });
    });

    it('refuses relative paths, control characters and unknown keys, all or nothing', async () => {
      const cases: [Record<string, unknown>, string][] = [
        [{ passivbotDir: 'opt/passivbot' }, 'passivbotDir'],
        [{ passivbotDir: './passivbot' }, 'passivbotDir'],
        [{ passivbotDir: '~/passivbot' }, 'passivbotDir'],
        [{ dataDir: 'data' }, 'dataDir'],
        [{ logDir: '../logs' }, 'logDir'],
        [{ logDir: '/var/log/\npbfleet' }, 'logDir'],
        [{ dataDir: '/srv/\u0000data' }, 'dataDir'],
        [{ passivbotDir: '/opt/pass\tivbot' }, 'passivbotDir'],
        [{ passivbotDir: '/opt/passivbot\u007f' }, 'passivbotDir'],
        [{ dataDir: '/srv/\u0085data' }, 'dataDir'],
        [{ logDir: '/var/log/\u009bpbfleet' }, 'logDir'],
        [{ pythonPath: '/usr/bin/python3\u009f' }, 'pythonPath'],
        [{ pythonPath: 'venv/bin/python' }, 'pythonPath'],
        [{ pythonPath: 'python3; rm -rf /' }, 'pythonPath'],
        [{ pythonPath: '' }, 'pythonPath'],
        [{ pythonPath: '/usr/bin/python3\r' }, 'pythonPath'],
        [{ passivbotKind: 'v8' }, 'passivbotKind'],
        [{ passivbotDir: '/opt/' + 'x'.repeat(1100) }, 'passivbotDir'],
        [{ botsDir: '/srv/bots' }, 'botsDir'],
        [{ passivbotDir: '/opt/passivbot', dataDir: 'relative' }, 'dataDir'],
      ];
      for (const [body, field] of cases) {
        expectFieldError(await request('PUT', '/settings/paths', body), field);
      }
      expect((await request('PUT', '/settings/paths', {})).statusCode).toBe(400);
      expect((await request('GET', '/settings/paths')).json()).toEqual(PATH_DEFAULTS);
      expect(await rows()).toEqual([]);
    });
  });
});
