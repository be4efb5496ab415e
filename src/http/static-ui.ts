import { stat } from 'node:fs/promises';
import { join, sep } from 'node:path';
import fastifyStatic from '@fastify/static';
import type { FastifyPluginAsync, FastifyRequest } from 'fastify';
import { AppError } from '../lib/errors.js';

/**
 * The web UI's Content Security Policy: scripts only from our own files (the build emits no
 * inline script), requests only to this server. Mantine injects style tags at run time, hence
 * 'unsafe-inline' for styles alone.
 */
export const UI_CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data: blob:",
  "font-src 'self' data:",
  "connect-src 'self'",
  "worker-src 'self' blob:",
  "frame-ancestors 'none'",
  "base-uri 'self'",
  "form-action 'self'",
  "object-src 'none'",
].join('; ');

/** Hashed file names change with their content: a browser may keep them for good. */
export const IMMUTABLE = 'public, max-age=31536000, immutable';
/** Everything else (index.html above all) is revalidated, so a new build is seen at once. */
export const REVALIDATE = 'no-cache';

/** Paths that keep their own routes and their JSON 404s. */
const NOT_UI = /^\/(api|docs|ws)(\/|$)/;

export interface StaticUiOptions {
  /** The built UI: index.html, assets/ and their .br/.gz siblings. */
  dir: string;
}

/**
 * Serves the built web UI at `/`. A path that is a file is that file (precompressed when the
 * browser accepts it); any other page a browser asks for is index.html, so client-side routes
 * survive a reload. Unknown API, /docs, /ws and /assets/ paths stay 404s.
 */
export const staticUi: FastifyPluginAsync<StaticUiOptions> = async (app, { dir }) => {
  const assets = join(dir, 'assets') + sep;
  await app.register(fastifyStatic, {
    root: dir,
    serve: false,
    preCompressed: true,
    cacheControl: false,
    setHeaders: (reply, path) => void reply.header('cache-control', path.startsWith(assets) ? IMMUTABLE : REVALIDATE),
  });

  app.get('/*', { schema: { hide: true } }, async (request, reply) => {
    const pathname = request.url.split('?', 1)[0] ?? '/';
    if (NOT_UI.test(pathname)) return reply.callNotFound();
    void reply.header('content-security-policy', UI_CSP);
    const file = await fileIn(dir, pathname);
    if (file) return reply.sendFile(file);
    // A broken asset link must show as a 404, not as a page.
    if (pathname.startsWith('/assets/') || (pathname !== '/' && !acceptsHtml(request))) return reply.callNotFound();
    if (!(await fileIn(dir, '/index.html'))) throw new AppError('NOT_FOUND', 'the web UI is not built: run npm run build:web (or point ui.dir at a built UI)');
    return reply.sendFile('/index.html');
  });
};

const acceptsHtml = (request: FastifyRequest) => (request.headers.accept ?? '').includes('text/html');

/** The URL path of a regular file under dir, or undefined; dotfiles and odd segments never match. */
async function fileIn(dir: string, pathname: string): Promise<string | undefined> {
  let segments: string[];
  try {
    segments = decodeURIComponent(pathname).split('/').slice(1);
  } catch {
    return undefined;
  }
  if (segments.some((s) => s === '' || s.startsWith('.') || /[\\\0]/.test(s))) return undefined;
  const info = await stat(join(dir, ...segments)).catch(() => undefined);
  return info?.isFile() ? `/${segments.map(encodeURIComponent).join('/')}` : undefined;
}
