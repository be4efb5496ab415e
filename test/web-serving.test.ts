import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { brotliCompressSync, gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from './helpers/app.js';
import { testDatabases } from './helpers/databases.js';

const INDEX = '<!doctype html><html><head><script type="module" src="/assets/app-abc123.js"></script></head><body><div id="root"></div></body></html>';
const SCRIPT = 'console.log("pbfleet web ui");'.repeat(20);
const HTML = { accept: 'text/html,application/xhtml+xml,*/*;q=0.8' };

function builtUi(): string {
  const dir = mkdtempSync(join(tmpdir(), 'pbfleet-ui-'));
  mkdirSync(join(dir, 'assets'));
  writeFileSync(join(dir, 'index.html'), INDEX);
  writeFileSync(join(dir, 'assets/app-abc123.js'), SCRIPT);
  writeFileSync(join(dir, 'assets/app-abc123.js.br'), brotliCompressSync(SCRIPT));
  writeFileSync(join(dir, 'assets/app-abc123.js.gz'), gzipSync(SCRIPT));
  return dir;
}

describe('the web UI served by pbfleet', () => {
  let t: TestApp;
  let dir: string;
  beforeAll(async () => {
    dir = builtUi();
    t = await createTestApp(testDatabases[0] as (typeof testDatabases)[number], { overrides: { ui: { dir } } });
  });
  afterAll(async () => {
    await t.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('serves index.html at / and for a client route on reload, never cached without revalidation', async () => {
    for (const url of ['/', '/fleet/environments/42', '/index.html']) {
      const res = await t.app.inject({ method: 'GET', url, headers: HTML });
      expect(res.statusCode, url).toBe(200);
      expect(res.headers['content-type'], url).toMatch(/^text\/html/);
      expect(res.body, url).toBe(INDEX);
      expect(res.headers['cache-control'], url).toBe('no-cache');
    }
    const head = await t.app.inject({ method: 'HEAD', url: '/bots', headers: HTML });
    expect(head.statusCode).toBe(200);
  });

  it('caches hashed assets for a year and sends them precompressed as the browser accepts', async () => {
    const br = await t.app.inject({ method: 'GET', url: '/assets/app-abc123.js', headers: { 'accept-encoding': 'gzip, deflate, br' } });
    expect(br.statusCode).toBe(200);
    expect(br.headers['cache-control']).toBe('public, max-age=31536000, immutable');
    expect(br.headers['content-encoding']).toBe('br');
    expect(br.headers['content-type']).toMatch(/javascript/);
    expect(br.headers.vary).toMatch(/accept-encoding/i);
    const gz = await t.app.inject({ method: 'GET', url: '/assets/app-abc123.js', headers: { 'accept-encoding': 'gzip' } });
    expect(gz.headers['content-encoding']).toBe('gzip');
    const plain = await t.app.inject({ method: 'GET', url: '/assets/app-abc123.js' });
    expect(plain.headers['content-encoding']).toBeUndefined();
    expect(plain.body).toBe(SCRIPT);
  });

  it('sends the strict CSP on UI responses, without inline scripts', async () => {
    const res = await t.app.inject({ method: 'GET', url: '/', headers: HTML });
    const csp = String(res.headers['content-security-policy']);
    expect(csp).toContain("connect-src 'self'");
    expect(csp).toContain("frame-ancestors 'none'");
    const scriptSrc = csp.split(';').map((d) => d.trim()).find((d) => d.startsWith('script-src'));
    expect(scriptSrc).toBe("script-src 'self'");
    expect(csp).not.toMatch(/script-src[^;]*unsafe-inline/);
  });

  it('keeps the JSON 404 of unknown API, /docs and /ws paths and of missing assets', async () => {
    for (const url of ['/api/v1/nope', '/api/nope', '/docs/nope/x', '/ws/nope', '/assets/app-missing.js', '/assets/']) {
      const res = await t.app.inject({ method: 'GET', url, headers: HTML });
      expect(res.statusCode, url).toBe(404);
      expect(res.json(), url).toMatchObject({ error: { code: 'NOT_FOUND' } });
    }
    // Only a page request falls back to the app; an API client gets the 404.
    expect((await t.app.inject({ method: 'GET', url: '/some/page', headers: { accept: 'application/json' } })).statusCode).toBe(404);
    // Only GET/HEAD.
    expect((await t.app.inject({ method: 'POST', url: '/some/page', headers: HTML, payload: {} })).statusCode).toBe(404);
    // No way out of the folder, and no dotfiles.
    writeFileSync(join(dir, '.secret'), 'x');
    for (const url of ['/..%2f..%2fetc%2fpasswd', '/.secret', '/assets/..%2f.secret']) {
      const res = await t.app.inject({ method: 'GET', url });
      expect(res.body, url).not.toBe('x');
      expect(res.body, url).not.toMatch(/root:/);
    }
  });

  it('keeps the API and /docs where they are, /docs with its own CSP', async () => {
    const health = await t.app.inject({ method: 'GET', url: '/api/v1/openapi.json' });
    expect(health.statusCode).toBe(200);
    expect(JSON.stringify(health.json())).not.toContain('"/*"');
    const docs = await t.app.inject({ method: 'GET', url: '/docs/' });
    expect(docs.statusCode).toBe(200);
    expect(docs.headers['content-security-policy']).toMatch(/script-src/);
  });
});

describe('without a built UI', () => {
  it('starts and says at / that the UI is not built', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pbfleet-noui-'));
    const t = await createTestApp(testDatabases[0] as (typeof testDatabases)[number], { overrides: { ui: { dir } } });
    try {
      const res = await t.app.inject({ method: 'GET', url: '/', headers: HTML });
      expect(res.statusCode).toBe(404);
      expect(res.json().error.message).toMatch(/not built.*npm run build:web/);
    } finally {
      await t.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
