/**
 * Issue 11 budget: the JavaScript a browser must fetch before the first page can render (the
 * entry script of dist/web/index.html, its modulepreload links and everything they import
 * statically) stays <= 300 KB gzipped, and the pages are separate chunks loaded on demand.
 * dist/web is built by the vitest globalSetup (test/browser/global-setup.ts) when stale.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { WEB_OUT } from '../scripts/build-web.js';

const BUDGET_GZIP_BYTES = 300 * 1024;
const ROUTE_PAGES = ['SignInPage', 'Shell', 'FleetPage', 'EnvironmentPage', 'BotsPage', 'BotPage', 'AccountsPage'];

/** `/assets/x.js` as written in index.html or a chunk -> `assets/x.js` under dist/web. */
const local = (href: string): string => href.replace(/^\.?\//, '');

/** The entry script and modulepreloads of index.html, plus their static imports, transitively. */
function initialScripts(): string[] {
  const html = readFileSync(join(WEB_OUT, 'index.html'), 'utf8');
  expect(html, 'index.html has no inline script (the CSP allows none)').not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/);
  const tags = [...html.matchAll(/<(script|link)\b[^>]*>/g)].map((m) => m[0]);
  const srcOf = (tag: string) => /\b(?:src|href)="([^"]+)"/.exec(tag)?.[1] ?? '';
  const roots = tags
    .filter((tag) => (tag.startsWith('<script') && /type="module"/.test(tag)) || (tag.startsWith('<link') && /rel="modulepreload"/.test(tag)))
    .map((tag) => local(srcOf(tag)));
  expect(roots.length, 'index.html has an entry module script').toBeGreaterThan(0);

  const seen = new Set<string>();
  const queue = [...roots];
  while (queue.length > 0) {
    const file = queue.shift() as string;
    if (seen.has(file)) continue;
    seen.add(file);
    const code = readFileSync(join(WEB_OUT, file), 'utf8');
    // Static imports only (`import{a}from"./x.js"`, `import"./x.js"`); `import("./x.js")` is a lazy route.
    for (const m of code.matchAll(/\bimport\s*(?:[\w$*{}\s,]+?\s*from\s*)?["']([^"']+\.js)["']/g)) {
      const spec = m[1] as string;
      queue.push(spec.startsWith('/') ? local(spec) : join(file, '..', spec));
    }
  }
  return [...seen];
}

describe('web UI: initial JavaScript budget', () => {
  it('loads at most 300 KB of gzipped JavaScript before the first page, and no page code', () => {
    const files = initialScripts();
    const sizes = files.map((file) => {
      const raw = readFileSync(join(WEB_OUT, file));
      return { file, raw: raw.length, gzip: gzipSync(raw, { level: 9 }).length };
    });
    const total = sizes.reduce((sum, s) => sum + s.gzip, 0);
    const kb = (n: number) => `${(n / 1024).toFixed(1)} KB`;
    console.log(
      [
        'initial JavaScript (entry + modulepreload + static imports):',
        ...sizes.map((s) => `  ${s.file}: ${kb(s.raw)} raw, ${kb(s.gzip)} gzip`),
        `  total: ${kb(sizes.reduce((sum, s) => sum + s.raw, 0))} raw, ${kb(total)} gzip (budget ${kb(BUDGET_GZIP_BYTES)})`,
      ].join('\n'),
    );
    expect(total, `initial JavaScript is ${kb(total)} gzipped`).toBeLessThanOrEqual(BUDGET_GZIP_BYTES);
    // React's production build, even when built under vitest (NODE_ENV=test).
    expect(files.filter((file) => readFileSync(join(WEB_OUT, file), 'utf8').includes('jsxDEV')), 'chunks with React development code').toEqual([]);

    // Route-split: each page is a chunk of its own, fetched when its route is visited.
    const assets = readdirSync(join(WEB_OUT, 'assets'));
    for (const page of ROUTE_PAGES) {
      const chunk = assets.find((name) => name.startsWith(`${page}-`) && name.endsWith('.js'));
      expect(chunk, `dist/web/assets has a ${page} chunk`).toBeDefined();
      expect(files, `${page} is not part of the initial JavaScript`).not.toContain(`assets/${chunk as string}`);
    }
  });
});
