/**
 * Builds the web UI into dist/web (vite build, web/vite.config.ts) and writes a .br and a .gz
 * next to every text asset, so the server sends precompressed files (src/http/static-ui.ts).
 * `npm run build:web`; part of `npm run build`, so `npm start` serves a fresh UI.
 */
import { readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { brotliCompressSync, constants, gzipSync } from 'node:zlib';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
export const WEB_DIR = join(ROOT, 'web');
export const WEB_OUT = join(ROOT, 'dist/web');
const COMPRESSIBLE = /\.(js|css|html|svg|json)$/;

function* files(dir: string): Generator<string> {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) yield* files(path);
    else if (entry.isFile()) yield path;
  }
}

/** Writes file.br and file.gz for every compressible file under dir; returns how many files. */
export function precompress(dir: string): number {
  let count = 0;
  for (const path of [...files(dir)]) {
    if (!COMPRESSIBLE.test(path)) continue;
    const data = readFileSync(path);
    writeFileSync(`${path}.br`, brotliCompressSync(data, { params: { [constants.BROTLI_PARAM_QUALITY]: 11, [constants.BROTLI_PARAM_SIZE_HINT]: data.length } }));
    writeFileSync(`${path}.gz`, gzipSync(data, { level: 9 }));
    count++;
  }
  return count;
}

/** Newest modification time (ms) of the UI's sources. */
export function newestSourceMtime(): number {
  let newest = 0;
  for (const dir of [join(WEB_DIR, 'src'), join(WEB_DIR, 'public')]) {
    try {
      for (const path of files(dir)) newest = Math.max(newest, statSync(path).mtimeMs);
    } catch {
      // a folder that does not exist has nothing newer
    }
  }
  for (const path of ['index.html', 'vite.config.ts', 'tsconfig.json']) newest = Math.max(newest, statSync(join(WEB_DIR, path)).mtimeMs);
  return newest;
}

/** Whether dist/web is missing or older than a source file. */
export function webBuildStale(): boolean {
  try {
    return statSync(join(WEB_OUT, 'index.html')).mtimeMs < newestSourceMtime();
  } catch {
    return true;
  }
}

export async function buildWeb(options: { quiet?: boolean } = {}): Promise<void> {
  const { build } = await import('vite');
  // Vite takes React's build from NODE_ENV when it is set: under vitest (NODE_ENV=test) it would
  // bundle React's development build (jsxDEV, ~60% more JavaScript). The UI always ships production.
  const nodeEnv = process.env.NODE_ENV;
  process.env.NODE_ENV = 'production';
  // Built beside dist/web and swapped in whole: a server (or another build) running meanwhile
  // never sees a half-written or emptied folder.
  const staging = `${WEB_OUT}.build-${process.pid}`;
  const old = `${WEB_OUT}.old-${process.pid}`;
  try {
    await build({ configFile: join(WEB_DIR, 'vite.config.ts'), mode: 'production', logLevel: options.quiet ? 'warn' : 'info', build: { outDir: staging, emptyOutDir: true } });
    const count = precompress(staging);
    try {
      renameSync(WEB_OUT, old);
    } catch {
      // first build: nothing to move away
    }
    renameSync(staging, WEB_OUT);
    if (!options.quiet) console.log(`${WEB_OUT}: ${count} files precompressed (.br, .gz)`);
  } finally {
    if (nodeEnv === undefined) delete process.env.NODE_ENV;
    else process.env.NODE_ENV = nodeEnv;
    rmSync(staging, { recursive: true, force: true });
    rmSync(old, { recursive: true, force: true });
  }
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  await buildWeb();
}
