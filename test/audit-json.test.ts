import Fastify from 'fastify';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { DatabaseHandle } from '../src/db/database.js';
import { migrateToLatest } from '../src/db/database.js';
import { pagination } from '../src/http/schemas.js';
import { auditEntriesJson } from '../src/modules/audit/audit.fns.js';
import { createAuditRepo, type AuditRepo } from '../src/modules/audit/audit.repo.js';
import { AuditList } from '../src/modules/audit/audit.schemas.js';
import type { AuditEntry } from '../src/modules/audit/audit.types.js';
import { createTestApp, type TestApp } from './helpers/app.js';
import { testDatabases } from './helpers/databases.js';

/** What Fastify's serializer for the list route's response schema writes for `logs`. */
const serializer = Fastify();
let payload: unknown;
serializer.get('/', { schema: { response: { 200: AuditList } } }, async () => payload);
beforeAll(() => serializer.ready());
afterAll(() => serializer.close());
async function serialized(logs: AuditEntry[], page = 1, limit = 50, total = logs.length): Promise<string> {
  payload = { logs, pagination: pagination(page, limit, total) };
  return (await serializer.inject({ method: 'GET', url: '/' })).body;
}
const logsOf = (body: string) => body.slice('{"logs":'.length, body.lastIndexOf(',"pagination":'));

const ODD_STRINGS = [
  'quote " backslash \\ slash / </script>',
  'controls \u0001\b\t\n\u000b\f\r\u001f and DEL \u007f',
  'unicode é ✓ 日本 😀 line sep \u2028 para sep \u2029',
  'lone surrogate \ud800 and \udfff',
  '',
];

/**
 * The schema serializer writes a Record's keys through the pattern `^.*$`, which a key holding a
 * line break does not match, so it drops such a key (and its value) silently; the JSON text path
 * keeps it. Compared keys are kept to one line; the last test shows the difference.
 */
const keyOf = (s: string) => s.replace(/[\n\r\u2028\u2029]/g, ' ');

let n = 0;
function entry(overrides: Partial<AuditEntry>): AuditEntry {
  n += 1;
  return {
    id: `e${String(n).padStart(4, '0')}`,
    timestamp: new Date(Date.UTC(2026, 0, 1, 0, n)).toISOString(),
    environmentId: null,
    environmentName: null,
    userId: null,
    username: null,
    type: 'action',
    level: 'info',
    action: null,
    message: 'm',
    details: null,
    requestId: null,
    ip: null,
    ...overrides,
  };
}

const ENTRIES: AuditEntry[] = [
  entry({}),
  ...ODD_STRINGS.map((s, i) =>
    entry({
      message: s,
      username: s,
      environmentId: `env-${i}`,
      environmentName: s,
      userId: s,
      action: s,
      requestId: s,
      ip: s,
      type: (['auth', 'action', 'health_check', 'system', 'error'] as const)[i % 5],
      level: (['info', 'success', 'warning', 'error'] as const)[i % 4],
      details: { [keyOf(s)]: s, nested: { list: [1, -0.5, 1e21, 2e-7, true, null, s], empty: {} }, n: i },
    }),
  ),
  entry({ details: {} }),
  entry({ details: JSON.parse('{"__proto__":"x","constructor":"y","a\\"b":"\\\\"}') as Record<string, unknown> }),
];

describe('auditEntriesJson', () => {
  it('writes what the response schema serializer writes for the same entries', async () => {
    // PostgreSQL text cannot hold NUL; JSON text can.
    const entries = [...ENTRIES, entry({ message: 'nul \u0000', details: { nul: '\u0000' } })];
    const rows = entries.map((e) => ({
      id: e.id,
      ts: e.timestamp,
      environment_id: e.environmentId,
      environment_name: e.environmentName,
      user_id: e.userId,
      username: e.username,
      type: e.type,
      level: e.level,
      action: e.action,
      message: e.message,
      details: e.details ? JSON.stringify(e.details) : null,
      request_id: e.requestId,
      ip: e.ip,
    }));
    expect(auditEntriesJson(rows)).toBe(logsOf(await serialized(entries)));
    expect(auditEntriesJson([])).toBe('[]');
  });
});

describe.each(testDatabases)('audit list as JSON text on $name', (database) => {
  let handle: DatabaseHandle;
  let drop: () => Promise<void>;
  let repo: AuditRepo;
  beforeEach(async () => {
    const created = await database.create();
    handle = created.handle;
    drop = () => created.drop();
    await migrateToLatest(handle.db);
    repo = createAuditRepo(handle.db);
    for (const e of ENTRIES) await repo.insert(e);
  });
  afterEach(async () => {
    await handle.close();
    await drop();
  });

  it('is byte for byte what the schema serializer writes for the entries read as objects', async () => {
    const filters = [{}, { hiddenTypes: ['auth'] as const }, { type: 'system' as const }, { q: 'unicode' }, { from: ENTRIES[3]!.timestamp }, { level: 'warning' as const, type: 'auth' as const }];
    for (const filter of filters) {
      for (const [page, limit] of [
        [1, 50],
        [1, 3],
        [2, 3],
        [9, 3],
      ] as const) {
        const objects = await repo.list(filter, page, limit);
        expect(await repo.listJson(filter, page, limit)).toBe(logsOf(await serialized(objects)));
      }
    }
    // The stored strings come back as they went in (a lone surrogate as SQLite and PostgreSQL keep it).
    const all = JSON.parse(await repo.listJson({}, 1, 50)) as AuditEntry[];
    expect(all.map((e) => e.id)).toEqual(ENTRIES.map((e) => e.id).reverse());
    expect(all.find((e) => e.message.startsWith('controls'))?.details).toEqual(ENTRIES.find((e) => e.message.startsWith('controls'))?.details);
  });
});

describe.each(testDatabases)('GET /logs body on $name', (database) => {
  let t: TestApp;
  beforeEach(async () => {
    t = await createTestApp(database);
    await t.database.db.deleteFrom('audit_logs').execute();
    const repo = createAuditRepo(t.database.db);
    for (const e of ENTRIES) await repo.insert(e);
  });
  afterEach(async () => {
    await t.close();
  });

  it('is the schema serializer output, for an admin and for a viewer (no auth entries)', async () => {
    const repo = createAuditRepo(t.database.db);
    for (const [role, filter] of [
      ['admin', {}],
      ['viewer', { hiddenTypes: ['auth'] as const }],
    ] as const) {
      const res = await t.app.inject({ method: 'GET', url: '/api/v1/logs?limit=4&page=2', headers: t.auth(role) });
      expect(res.statusCode).toBe(200);
      expect(res.headers['content-type']).toMatch(/^application\/json/);
      const total = await repo.count(filter);
      expect(res.body).toBe(await serialized(await repo.list(filter, 2, 4), 2, 4, total));
    }
  });
});

describe.each(testDatabases)('details keys with line breaks on $name', (database) => {
  it('are kept, where the schema serializer dropped them', async () => {
    const created = await database.create();
    const { handle } = created;
    try {
      await migrateToLatest(handle.db);
      const repo = createAuditRepo(handle.db);
      const details = { 'two\nlines': 1, 'sep\u2028': 'x', plain: true };
      await repo.insert(entry({ details }));
      const [listed] = JSON.parse(await repo.listJson({}, 1, 50)) as AuditEntry[];
      expect(listed?.details).toEqual(details);
      expect(JSON.parse(logsOf(await serialized(await repo.list({}, 1, 50))))).toEqual([{ ...listed, details: { plain: true } }]);
    } finally {
      await handle.close();
      await created.drop();
    }
  });
});
