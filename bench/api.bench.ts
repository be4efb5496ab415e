/**
 * npm run bench:api — the API's speed against a bare node:http server sending the same bytes.
 * Seeds 10,000 audit entries and 50 users, starts the built server as its own process, and
 * drives authenticated GET /api/v1/logs?limit=100 and GET /api/v1/users for 10 s each.
 * Also prints start-to-ready time and idle RSS. Targets: >= 0.5x bare; RSS < 100 MB; ready < 1.5 s.
 * Then, with wrk (-t1 -c50), the audit list uncached (a `from=` that changes every request, so
 * the response cache never answers) and cached, beside the Gin and FastAPI peers of
 * ../shared/peers doing the same work in the same run. Target: pbfleet uncached >= Gin.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { hash } from '@node-rs/argon2';
import { loadConfig } from '../src/config/config.js';
import { migrateToLatest, openDatabase } from '../src/db/database.js';
import type { AuditLogsTable } from '../src/db/types.js';
import { newId } from '../src/lib/ids.js';
import { cpuSeconds, freePort, load, rssMb, start, startFlags, table, waitFor } from './lib.js';
import { hasWrk, startPeers, wrk, type WrkResult } from './peers.js';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const PASSWORD = 'bench password 1';
const root = new URL('..', import.meta.url).pathname;

async function seed(dataDir: string): Promise<void> {
  const config = loadConfig({ env: {}, cwd: dataDir, overrides: { dataDir } });
  const database = openDatabase(config.database.url);
  await migrateToLatest(database.db);
  const passwordHash = await hash(PASSWORD);
  const now = new Date().toISOString();
  await database.db
    .insertInto('users')
    .values(
      Array.from({ length: 50 }, (_, i) => ({
        id: newId(),
        username: i === 0 ? 'admin' : `user${String(i).padStart(2, '0')}`,
        email: `user${i}@example.com`,
        password_hash: passwordHash,
        role: i === 0 ? ('admin' as const) : (['operator', 'viewer'] as const)[i % 2] ?? 'viewer',
        active: 1,
        last_login: null,
        created_at: now,
        updated_at: now,
      })),
    )
    .execute();
  const types: AuditLogsTable['type'][] = ['auth', 'action', 'health_check', 'system', 'error'];
  const levels: AuditLogsTable['level'][] = ['info', 'success', 'warning', 'error'];
  const start = Date.now() - 10_000 * 60_000;
  for (let batch = 0; batch < 20; batch++) {
    await database.db
      .insertInto('audit_logs')
      .values(
        Array.from({ length: 500 }, (_, j) => {
          const i = batch * 500 + j;
          return {
            id: newId(),
            ts: new Date(start + i * 60_000).toISOString(),
            environment_id: `env-${i % 25}`,
            environment_name: `vps-${i % 25}`,
            user_id: null,
            username: `user${String(i % 50).padStart(2, '0')}`,
            type: types[i % types.length] ?? 'action',
            level: levels[i % levels.length] ?? 'info',
            action: ['instance_start', 'instance_stop', 'health_change', 'login'][i % 4] ?? null,
            message: `bench entry ${i}: bot ${i % 40} on vps-${i % 25} changed state`,
            details: JSON.stringify({ instanceId: `bot-${i % 40}`, attempt: i % 7 }),
            request_id: null,
            ip: '127.0.0.1',
          };
        }),
      )
      .execute();
  }
  await database.close();
}

async function main(): Promise<void> {
  execFileSync('npx', ['tsc', '-p', 'tsconfig.build.json'], { cwd: root, stdio: 'inherit' });
  const dataDir = mkdtempSync(join(tmpdir(), 'pbfleet-bench-'));
  await seed(dataDir);

  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const env = { PATH: process.env.PATH, PBFLEET_DATA_DIR: dataDir, PBFLEET_PORT: String(port), PBFLEET_HOST: '127.0.0.1', PBFLEET_LOG_LEVEL: 'warn' };
  const spawnedAt = performance.now();
  const server = start(process.execPath, [...startFlags(), join(root, 'dist/cli.js'), 'serve'], env);
  await waitFor(`${base}/api/v1/ready`, 60_000);
  const readyMs = Math.round(performance.now() - spawnedAt);
  await new Promise((r) => setTimeout(r, 1000));
  const idleRss = rssMb(server.pid as number);

  const loginRes = await fetch(`${base}/api/v1/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username: 'admin', password: PASSWORD }),
  });
  const { token } = (await loginRes.json()) as { token: string };
  const headers = { authorization: `Bearer ${token}` };
  const paths = ['/api/v1/logs?limit=100', '/api/v1/users'];

  const bodies: Record<string, string> = {};
  for (const path of paths) bodies[path] = await (await fetch(`${base}${path}`, { headers })).text();
  const bodiesFile = join(dataDir, 'bodies.json');
  writeFileSync(bodiesFile, JSON.stringify(bodies));
  const barePort = await freePort();
  const bare = start(process.execPath, ['--import', 'tsx', join(root, 'bench/bare-server.ts'), bodiesFile, String(barePort)], { PATH: process.env.PATH });
  await waitFor(`http://127.0.0.1:${barePort}${paths[1]}`);

  const rows: Record<string, string | number>[] = [];
  const peerRows: Record<string, string | number>[] = [];
  const peerNotes: string[] = [];
  try {
    for (const path of paths) {
      const api = await load(`pbfleet ${path}`, `${base}${path}`, headers, SECONDS);
      const loadedRss = rssMb(server.pid as number);
      const baseline = await load(`bare   ${path}`, `http://127.0.0.1:${barePort}${path}`, {}, SECONDS);
      for (const r of [api, baseline]) {
        rows.push({ target: r.label, 'req/s': r.rps, 'p50 ms': r.p50, 'p99 ms': r.p99, errors: r.errors + r.non2xx, 'bytes/resp': Buffer.byteLength(bodies[path] ?? '') });
      }
      rows.push({ target: `  ratio pbfleet/bare`, 'req/s': (api.rps / baseline.rps).toFixed(2), 'p50 ms': '', 'p99 ms': '', errors: '', 'bytes/resp': `RSS under load ${loadedRss} MB` });
    }
    bare.kill('SIGTERM');
    await comparePeers(`${base}/api/v1/logs?limit=100`, headers, server.pid as number, peerRows, peerNotes);
  } finally {
    server.kill('SIGTERM');
    bare.kill('SIGTERM');
  }

  console.log(`\nbench:api — ${SECONDS}s per target, 10 connections, 10,000 audit entries, 50 users, SQLite\n`);
  console.log(table(rows));
  console.log(`\nstart to ready: ${readyMs} ms (target < 1500)`);
  console.log(`idle RSS after ready: ${idleRss} MB (target < 100)`);
  console.log(`\naudit list beside the peers — wrk -t1 -c50 -d${SECONDS}s each, same run, 10,000 rows, bearer check, newest 100 + total\n`);
  if (peerRows.length) console.log(table(peerRows));
  for (const note of peerNotes) console.log(note);
  rmSync(dataDir, { recursive: true, force: true });
}

/**
 * pbfleet's audit list uncached and cached, then each available peer, all with wrk. Besides req/s,
 * the CPU time the server process spent per answer: on a busy machine a server with more threads
 * gets more of the CPU, so req/s alone compares the machine's load as much as the servers.
 */
async function comparePeers(url: string, headers: Record<string, string>, pid: number, rows: Record<string, string | number>[], notes: string[]): Promise<void> {
  if (!(await hasWrk())) {
    notes.push('skipped: wrk is not installed (apt-get install wrk)');
    return;
  }
  const peers = await startPeers();
  try {
    const measure = async (target: string, serverPid: number, run: () => Promise<WrkResult>) => {
      const cpuBefore = cpuSeconds(serverPid);
      const r = await run();
      const cpuUs = r.requests ? Math.round(((cpuSeconds(serverPid) - cpuBefore) * 1e6) / r.requests) : NaN;
      rows.push({ target, 'req/s': r.rps, 'p99 ms': r.p99Ms, 'CPU µs/req': cpuUs, 'errors/non-2xx': r.errors + r.non2xx, 'of which >2 s': r.timeouts });
      return { ...r, cpuUs };
    };
    const uncached = await measure('pbfleet uncached (from= changes every request)', pid, () => wrk(url, headers, SECONDS, { uncached: true }));
    await measure('pbfleet cached (same URL, 1 s response cache)', pid, () => wrk(url, headers, SECONDS));
    for (const peer of peers.running) {
      const result = await measure(`${peer.name} peer`, peer.pid, () => wrk(peer.url, peer.headers, SECONDS));
      const target = peer.name === 'gin' ? ' (target >= 1)' : '';
      notes.push(`pbfleet uncached vs ${peer.name}: ${(uncached.rps / Math.max(1, result.rps)).toFixed(2)}x the req/s; ${peer.name} spends ${(result.cpuUs / uncached.cpuUs).toFixed(2)}x pbfleet's CPU per answer${target}`);
    }
    notes.push(...peers.skipped);
  } finally {
    peers.stop();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
