import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import SwaggerParser from '@apidevtools/swagger-parser';
import Fastify from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registerOpenApi, toOpenApi30 } from '../src/http/openapi.js';
import { createTestApp, type TestApp } from './helpers/app.js';
import { testDatabases } from './helpers/databases.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const API = '/api/v1';

interface Operation {
  operationId?: string;
  tags?: string[];
  security?: Record<string, string[]>[];
  responses: Record<string, { content?: Record<string, { schema?: unknown }> }>;
}
interface Document {
  openapi: string;
  servers?: { url: string }[];
  tags?: { name: string; description?: string }[];
  info: { license?: { name: string } };
  paths: Record<string, Record<string, Operation>>;
}
interface LintReport {
  totals: { errors: number; warnings: number };
  problems: { ruleId: string; severity: string; message: string; location: { pointer: string }[] }[];
}

/** `redocly lint` (the recommended rules, redocly.yaml) on a document written to a temp file. */
function redoclyLint(doc: unknown): LintReport {
  const dir = mkdtempSync(join(tmpdir(), 'pbfleet-openapi-'));
  try {
    const file = join(dir, 'openapi.json');
    writeFileSync(file, JSON.stringify(doc));
    const run = spawnSync(join(ROOT, 'node_modules/.bin/redocly'), ['lint', file, '--format=json', '--max-problems=1000', `--config=${join(ROOT, 'redocly.yaml')}`], {
      cwd: ROOT,
      encoding: 'utf8',
      env: { ...process.env, REDOCLY_TELEMETRY: 'off', REDOCLY_SUPPRESS_UPDATE_NOTICE: 'true' },
      timeout: 120_000,
    });
    if (!run.stdout.trim()) throw new Error(`redocly lint printed nothing (exit ${String(run.status)}): ${run.stderr}`);
    return JSON.parse(run.stdout) as LintReport;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const database = testDatabases[0] as (typeof testDatabases)[number];

describe('the OpenAPI document', () => {
  let t: TestApp;
  let doc: Document;
  let operations: { path: string; method: string; op: Operation }[];
  const find = (method: string, path: string) => operations.find((o) => o.method === method && o.path === `${API}${path}`)?.op;

  beforeAll(async () => {
    t = await createTestApp(database);
    const res = await t.app.inject({ method: 'GET', url: `${API}/openapi.json` });
    expect(res.statusCode).toBe(200);
    doc = res.json<Document>();
    operations = Object.entries(doc.paths).flatMap(([path, methods]) => Object.entries(methods).map(([method, op]) => ({ path, method, op })));
  });
  afterAll(async () => {
    await t.close();
  });

  it('is valid OpenAPI 3.0 to swagger-parser', async () => {
    expect(doc.openapi).toBe('3.0.3');
    // validate() dereferences in place: give it a copy.
    await expect(SwaggerParser.validate(structuredClone(doc) as never)).resolves.toBeDefined();
  });

  it('passes redocly lint with the recommended rules: no errors, no warnings', () => {
    const report = redoclyLint(doc);
    const problems = report.problems.map((p) => `${p.severity} ${p.ruleId} ${p.location[0]?.pointer ?? ''}: ${p.message}`);
    expect(problems).toEqual([]);
    expect(report.totals).toMatchObject({ errors: 0, warnings: 0 });
  }, 120_000);

  it('names every operation with a unique operationId, and describes every tag, the license and the server', () => {
    expect(operations.length).toBeGreaterThanOrEqual(80);
    const ids = operations.map(({ op }) => op.operationId);
    for (const { method, path, op } of operations) expect(op.operationId, `${method} ${path}`).toMatch(/^[a-z][A-Za-z0-9]+$/);
    expect(new Set(ids).size).toBe(ids.length);
    expect(find('get', '/instances')?.operationId).toBe('listInstances');
    expect(find('post', '/backtest/run')?.operationId).toBe('runBacktest');

    const described = new Map((doc.tags ?? []).map((tag) => [tag.name, tag.description]));
    for (const tag of new Set(operations.flatMap(({ op }) => op.tags ?? []))) expect(described.get(tag), tag).toBeTruthy();
    expect(doc.info.license?.name).toBe('MIT');
    expect(doc.servers).toEqual([{ url: '/' }]);
  });

  it('declares security on every operation: none for the public ones, bearer for the rest', () => {
    const publicOps = new Set(t.routeRules.filter((r) => r.auth === 'public').map((r) => `${r.method.toLowerCase()} ${r.url}`));
    expect([...publicOps].sort()).toEqual([`get ${API}/health`, `get ${API}/openapi.json`, `get ${API}/ready`, `post ${API}/auth/login`]);
    for (const { method, path, op } of operations) {
      expect(op.security, `${method} ${path}`).toEqual(publicOps.has(`${method} ${path}`) ? [] : [{ bearer: [] }]);
    }
  });

  it('says what the streams and downloads really send', () => {
    const mediaTypes = (method: string, path: string) => Object.keys(find(method, path)?.responses['200']?.content ?? {});
    expect(mediaTypes('get', '/events')).toEqual(['text/event-stream']);
    expect(mediaTypes('get', '/instances/{id}/logs')).toEqual(['text/event-stream']);
    expect(mediaTypes('get', '/jobs/{id}/log')).toEqual(['text/event-stream']);
    expect(mediaTypes('get', '/instances/{id}/logs/download')).toEqual(['text/plain']);
    expect(mediaTypes('get', '/backtest/results/{id}/fills/export')).toEqual(['text/csv', 'application/x-ndjson']);
    expect(mediaTypes('get', '/openapi.json')).toEqual(['application/json']);
    // Errors stay JSON, in the one envelope.
    expect(find('get', '/events')?.responses['4XX']?.content?.['application/json']?.schema).toEqual({ $ref: '#/components/schemas/ErrorEnvelope' });
  });

  it('publishes the maxDepth bound of free-form JSON as x-maxDepth, and exclusive bounds in 3.0 form', () => {
    const text = JSON.stringify(doc);
    expect(text).not.toMatch(/"maxDepth"/);
    expect(text).toMatch(/"x-maxDepth":64/);
    expect(text).not.toMatch(/"exclusiveMinimum":\d/);
    expect(toOpenApi30({ type: 'number', exclusiveMinimum: 0, properties: { maxDepth: { type: 'integer', exclusiveMaximum: 9 } } })).toEqual({
      type: 'number',
      minimum: 0,
      exclusiveMinimum: true,
      properties: { maxDepth: { type: 'integer', maximum: 9, exclusiveMaximum: true } },
    });
  });

  it('refuses at startup a documented route without an operationId or with an undescribed tag', async () => {
    const app = Fastify();
    try {
      await registerOpenApi(app, '0.0.0');
      expect(() => app.get('/x', { schema: { tags: ['system'] } }, async () => ({}))).toThrow(/GET \/x has no schema.operationId/);
      expect(() => app.get('/y', { schema: { operationId: 'getY', tags: ['nonsense'] } }, async () => ({}))).toThrow(/tag nonsense/);
      // Hidden routes and routes without a schema are not in the document.
      expect(() => app.get('/z', { schema: { hide: true } }, async () => ({}))).not.toThrow();
    } finally {
      await app.close();
    }
  });
});

describe('request bodies', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp(database);
  });
  afterAll(async () => {
    await t.close();
  });

  const json = { 'content-type': 'application/json' };

  it('an empty body is no body, whatever the content type says', async () => {
    const created = await t.app.inject({ method: 'POST', url: `${API}/auth/tokens`, headers: t.auth('viewer'), payload: { name: 'empty-body' } });
    expect(created.statusCode, created.body).toBe(201);
    const revoke = await t.app.inject({ method: 'DELETE', url: `${API}/auth/tokens/${created.json<{ id: string }>().id}`, headers: { ...t.auth('viewer'), ...json } });
    expect(revoke.statusCode, revoke.body).toBe(200);

    // Not even a 400 before the 404 of a route that does not exist.
    const missing = await t.app.inject({ method: 'DELETE', url: `${API}/nope`, headers: { ...t.auth('viewer'), ...json } });
    expect(missing.statusCode).toBe(404);
    expect(missing.json().error.code).toBe('NOT_FOUND');

    for (const contentType of ['application/json', 'text/plain', 'application/x-www-form-urlencoded']) {
      const action = await t.app.inject({ method: 'POST', url: `${API}/instances/stop-all`, headers: { ...t.auth('operator'), 'content-type': contentType, 'content-length': '0' } });
      expect(action.statusCode, `${contentType}: ${action.body}`).toBe(200);
    }

    // A chunked body that turns out empty, too.
    const token = t.tokens.admin;
    const chunked = await t.app.inject({
      method: 'POST',
      url: `${API}/auth/logout`,
      headers: { authorization: `Bearer ${token}`, ...json, 'transfer-encoding': 'chunked' },
      payload: Readable.from([]),
    });
    expect(chunked.statusCode, chunked.body).toBe(200);

    const logout = await t.app.inject({ method: 'POST', url: `${API}/auth/logout`, headers: { ...t.auth('viewer'), ...json } });
    expect(logout.statusCode, logout.body).toBe(200);
    expect((await t.app.inject({ method: 'GET', url: `${API}/auth/me`, headers: t.auth('viewer') })).statusCode).toBe(401);
  });

  it('a route that needs a body and gets an empty one says so, naming the body', async () => {
    const res = await t.app.inject({ method: 'POST', url: `${API}/auth/tokens`, headers: { ...t.auth('operator'), ...json } });
    expect(res.statusCode).toBe(400);
    expect(res.json().error).toMatchObject({ code: 'VALIDATION_ERROR', message: expect.stringMatching(/body/) });
  });

  it('a body that is not JSON is 415 UNSUPPORTED_MEDIA_TYPE in the error envelope', async () => {
    for (const [contentType, payload] of [
      ['text/plain', 'name=x'],
      ['application/x-www-form-urlencoded', 'name=x'],
      ['application/xml', '<name>x</name>'],
    ] as const) {
      const res = await t.app.inject({ method: 'POST', url: `${API}/auth/tokens`, headers: { ...t.auth('operator'), 'content-type': contentType }, payload });
      expect(res.statusCode, contentType).toBe(415);
      expect(res.json()).toEqual({ error: { code: 'UNSUPPORTED_MEDIA_TYPE', message: expect.stringMatching(/application\/json/), requestId: res.headers['x-request-id'] } });
    }
    // Malformed JSON stays a 400.
    const bad = await t.app.inject({ method: 'POST', url: `${API}/auth/tokens`, headers: { ...t.auth('operator'), ...json }, payload: '{"name":' });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().error.code).toBe('VALIDATION_ERROR');
  });
});
