import { readdir, readFile, stat } from 'node:fs/promises';
import { posix } from 'node:path';
import type { SshPool, SshTarget } from '../ssh/ssh-pool.js';
import { DAY_FILE } from './dashboard.fns.js';

export interface FileStat {
  path: string;
  size: number;
  mtimeMs: number;
}

/**
 * Reads the bots' files on one host in batches: one call lists and stats everything a round
 * looks at, one more reads the files that changed. Over SSH each is a single command on the
 * pooled connection, whatever the number of bots.
 */
export interface HostFiles {
  /** Day files (`YYYY-MM-DD.json`) in each dir, and each single file that exists. */
  scan(dirs: readonly string[], files: readonly string[]): Promise<FileStat[]>;
  /** Contents by path; a file gone meanwhile is absent. */
  read(paths: readonly string[]): Promise<Map<string, string>>;
}

export function localFiles(): HostFiles {
  const statOf = async (path: string): Promise<FileStat | null> => {
    const s = await stat(path).catch(() => null);
    return s?.isFile() ? { path, size: s.size, mtimeMs: Math.floor(s.mtimeMs) } : null;
  };
  return {
    async scan(dirs, files) {
      const names = await Promise.all(dirs.map(async (dir) => (await readdir(dir).catch(() => [] as string[])).filter((n) => DAY_FILE.test(n)).map((n) => posix.join(dir, n))));
      const stats = await Promise.all([...names.flat(), ...files].map(statOf));
      return stats.filter((s): s is FileStat => s !== null);
    },
    async read(paths) {
      const out = new Map<string, string>();
      await Promise.all(
        paths.map(async (path) => {
          const text = await readFile(path, 'utf8').catch(() => null);
          if (text !== null) out.set(path, text);
        }),
      );
      return out;
    },
  };
}

/** Lists and stats: stdin {"dirs": [...], "files": [...]}, stdout [[path, size, mtime ms], ...]. */
export const SCAN_PY = `import json, os, re, sys
req = json.load(sys.stdin)
day = re.compile(r"^\\d{4}-\\d{2}-\\d{2}\\.json$")
paths = []
for d in req["dirs"]:
    try:
        paths += [os.path.join(d, n) for n in os.listdir(d) if day.match(n)]
    except OSError:
        pass
paths += req["files"]
out = []
for p in paths:
    try:
        st = os.stat(p)
    except OSError:
        continue
    out.append([p, st.st_size, st.st_mtime_ns // 1000000])
sys.stdout.write(json.dumps(out))
`;

/** Reads files: stdin [path, ...], stdout {path: text} (UTF-8, invalid bytes replaced). */
export const READ_PY = `import json, sys
out = {}
for p in json.load(sys.stdin):
    try:
        with open(p, "rb") as f:
            out[p] = f.read().decode("utf-8", "replace")
    except OSError:
        pass
sys.stdout.write(json.dumps(out))
`;

export function remoteFiles(deps: { pool: Pick<SshPool, 'execChecked'>; target: () => SshTarget; python: () => string; timeoutMs: number; maxOutputBytes: number }): HostFiles {
  const run = async (script: string, input: unknown): Promise<unknown> => {
    const result = await deps.pool.execChecked(deps.target(), [deps.python(), '-c', script], { input: JSON.stringify(input), timeoutMs: deps.timeoutMs, maxOutputBytes: deps.maxOutputBytes });
    try {
      return JSON.parse(result.stdout) as unknown;
    } catch {
      throw new Error(`unexpected output from the host (${result.stdout.length} bytes, cut short?)`);
    }
  };
  return {
    async scan(dirs, files) {
      const rows = await run(SCAN_PY, { dirs, files });
      if (!Array.isArray(rows)) throw new Error('unexpected scan output from the host');
      return rows
        .filter((r): r is [string, number, number] => Array.isArray(r) && typeof r[0] === 'string' && typeof r[1] === 'number' && typeof r[2] === 'number')
        .map(([path, size, mtimeMs]) => ({ path, size, mtimeMs }));
    },
    async read(paths) {
      if (paths.length === 0) return new Map();
      const texts = (await run(READ_PY, paths)) as Record<string, unknown>;
      const out = new Map<string, string>();
      for (const [path, text] of Object.entries(texts ?? {})) if (typeof text === 'string') out.set(path, text);
      return out;
    },
  };
}
