/**
 * The API peers of ../shared/peers (a Gin + SQLite and a FastAPI + uvicorn server doing the
 * same read work as GET /api/v1/logs?limit=100) and wrk, so bench:api can print pbfleet and
 * the peers from one run. A peer that is not built or not installed is skipped with a line
 * saying why; nothing here fails the bench.
 */
import { execFile, type ChildProcess } from 'node:child_process';
import { createHmac } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { freePort, start } from './lib.js';

const run = promisify(execFile);

/** Where the peers' sources live and where `bash ../shared/peers/build.sh` puts the Gin binary. */
const PEERS_DIR = process.env.PBFLEET_PEERS_DIR ?? new URL('../../shared/peers/', import.meta.url).pathname;
const GIN_BINARY = process.env.PBFLEET_GIN_PEER ?? '/tmp/peers/gin_peer';
const PYTHON = process.env.PBFLEET_PEER_PYTHON ?? '/usr/bin/python3';

export interface WrkResult {
  requests: number;
  rps: number;
  p99Ms: number;
  non2xx: number;
  /** Socket errors, of which `timeouts` are answers that took longer than wrk's 2 s. */
  errors: number;
  timeouts: number;
}

export async function hasWrk(): Promise<boolean> {
  try {
    await run('wrk', ['--version']);
    return true;
  } catch (error) {
    // wrk --version prints its banner and exits 1.
    return (error as { code?: unknown }).code === 1;
  }
}

/**
 * Lua for wrk: every request gets its own `from=` (a different fraction of a second in 2000,
 * before every entry), so no two URLs are equal and no response cache can answer.
 */
const UNCACHED_LUA = `
local n = 0
request = function()
  n = n + 1
  return wrk.format(nil, wrk.path .. "&from=2000-01-01T00:00:00." .. string.format("%09d", n) .. "Z")
end
`;

/** `wrk -t1 -c<connections> -d<seconds>s --latency`; `uncached` varies the URL every request. */
export async function wrk(url: string, headers: Record<string, string>, seconds: number, options: { connections?: number; uncached?: boolean } = {}): Promise<WrkResult> {
  const args = ['-t1', `-c${options.connections ?? 50}`, `-d${seconds}s`, '--latency'];
  for (const [name, value] of Object.entries(headers)) args.push('-H', `${name}: ${value}`);
  let dir: string | undefined;
  if (options.uncached) {
    dir = mkdtempSync(join(tmpdir(), 'pbfleet-wrk-'));
    writeFileSync(join(dir, 'uncached.lua'), UNCACHED_LUA);
    args.push('-s', join(dir, 'uncached.lua'));
  }
  try {
    const { stdout } = await run('wrk', [...args, url], { maxBuffer: 1 << 20 });
    const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(stdout)?.[1] ?? 0);
    const requests = Number(/(\d+) requests in/.exec(stdout)?.[1] ?? 0);
    const p99 = /^\s*99%\s+([\d.]+)(us|ms|s)\s*$/m.exec(stdout);
    const p99Ms = p99 ? Number(p99[1]) * ({ us: 0.001, ms: 1, s: 1000 }[p99[2] as 'us' | 'ms' | 's'] ?? 1) : NaN;
    const non2xx = Number(/Non-2xx or 3xx responses:\s+(\d+)/.exec(stdout)?.[1] ?? 0);
    const socketErrors = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(stdout);
    const errors = socketErrors ? socketErrors.slice(1).reduce((sum, v) => sum + Number(v), 0) : 0;
    const timeouts = Number(socketErrors?.[4] ?? 0);
    return { requests, rps: Math.round(rps), p99Ms: Math.round(p99Ms * 10) / 10, non2xx, errors, timeouts };
  } finally {
    if (dir) rmSync(dir, { recursive: true, force: true });
  }
}

/** The HS256 bearer token both peers check (their shared secret is "peer-secret"). */
function peerToken(): string {
  const b64 = (value: string | Buffer) => Buffer.from(value).toString('base64url');
  const body = `${b64(JSON.stringify({ alg: 'HS256', typ: 'JWT' }))}.${b64(JSON.stringify({ sub: 'u1', exp: Math.floor(Date.now() / 1000) + 3600 }))}`;
  return `${body}.${createHmac('sha256', 'peer-secret').update(body).digest('base64url')}`;
}

export interface Peer {
  name: string;
  /** The peer's equivalent of pbfleet's /api/v1/logs?limit=100. */
  url: string;
  headers: Record<string, string>;
  pid: number;
}

export interface Peers {
  running: Peer[];
  /** Why a peer is not in `running`, one line each. */
  skipped: string[];
  stop(): void;
}

async function pythonHasFastapi(): Promise<boolean> {
  try {
    await run(PYTHON, ['-c', 'import fastapi, uvicorn']);
    return true;
  } catch {
    return false;
  }
}

/** Starts the peers that are available, each on its own database of 10,000 rows it seeds itself. */
export async function startPeers(): Promise<Peers> {
  const dir = mkdtempSync(join(tmpdir(), 'pbfleet-peers-'));
  const children: ChildProcess[] = [];
  const running: Peer[] = [];
  const skipped: string[] = [];
  const headers = { authorization: `Bearer ${peerToken()}` };
  const stop = () => {
    for (const child of children) child.kill('SIGTERM');
    rmSync(dir, { recursive: true, force: true });
  };
  const candidates: { name: string; missing: () => Promise<string | undefined>; command: string; args: string[] }[] = [
    {
      name: 'gin',
      missing: async () => (existsSync(GIN_BINARY) ? undefined : `${GIN_BINARY} not built (run: bash ${join(PEERS_DIR, 'build.sh')})`),
      command: GIN_BINARY,
      args: [join(dir, 'gin.db')],
    },
    {
      name: 'fastapi',
      missing: async () => {
        if (!existsSync(join(PEERS_DIR, 'fastapi_peer.py'))) return `${join(PEERS_DIR, 'fastapi_peer.py')} not found`;
        return (await pythonHasFastapi()) ? undefined : `${PYTHON} cannot import fastapi and uvicorn (run: bash ${join(PEERS_DIR, 'build.sh')})`;
      },
      command: PYTHON,
      args: [join(PEERS_DIR, 'fastapi_peer.py'), join(dir, 'fastapi.db')],
    },
  ];
  try {
    for (const peer of candidates) {
      const missing = await peer.missing();
      if (missing) {
        skipped.push(`${peer.name} peer skipped: ${missing}`);
        continue;
      }
      const port = await freePort();
      const child = start(peer.command, peer.args, { PATH: process.env.PATH, PORT: String(port) });
      children.push(child);
      const url = `http://127.0.0.1:${port}/api/v1/logs?limit=100`;
      try {
        await waitForAuthorized(url, headers);
        running.push({ name: peer.name, url, headers, pid: child.pid as number });
      } catch (error) {
        skipped.push(`${peer.name} peer skipped: ${(error as Error).message}`);
      }
    }
  } catch (error) {
    stop();
    throw error;
  }
  return { running, skipped, stop };
}

/** Like waitFor, with the peer's token (the peers answer 401 without one). */
async function waitForAuthorized(url: string, headers: Record<string, string>, timeoutMs = 30_000): Promise<void> {
  const started = performance.now();
  for (;;) {
    try {
      const res = await fetch(url, { headers });
      if (res.ok) return;
    } catch {
      // not listening yet (the peer seeds its 10,000 rows first)
    }
    if (performance.now() - started > timeoutMs) throw new Error(`${url} not ready after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
