import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { WEB_OUT } from '../scripts/build-web.js';

/** The built UI (test/browser/global-setup.ts builds it when stale). */
const indexHtml = () => readFileSync(join(WEB_OUT, 'index.html'), 'utf8');

/** Every script the first load fetches: the entry and what index.html preloads (its static imports). */
function initialScripts(html: string): string[] {
  const entry = [...html.matchAll(/<script[^>]*type="module"[^>]*src="([^"]+)"/g)].map((m) => m[1] as string);
  const preloads = [...html.matchAll(/<link[^>]*rel="modulepreload"[^>]*href="([^"]+)"/g)].map((m) => m[1] as string);
  return [...new Set([...entry, ...preloads])];
}

describe('web UI bundle budget', () => {
  it('loads at most 300 KB of JavaScript gzipped before the first page, and the pages come later (route split)', () => {
    const html = indexHtml();
    expect(html).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/); // no inline script (CSP)
    const scripts = initialScripts(html);
    expect(scripts.length).toBeGreaterThan(0);
    const sizes = scripts.map((src) => ({ src, gzip: gzipSync(readFileSync(join(WEB_OUT, src))).length }));
    const total = sizes.reduce((sum, s) => sum + s.gzip, 0);
    expect(total, JSON.stringify(sizes)).toBeLessThanOrEqual(300 * 1024);
    for (const page of ['SignInPage', 'Shell', 'FleetPage', 'BotsPage', 'BotPage', 'AccountsPage', 'EnvironmentPage']) {
      expect(scripts.some((src) => src.includes(`/${page}-`)), `${page} is in the first load`).toBe(false);
    }
  });
});
