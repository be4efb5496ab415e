/**
 * npm run bench:health — the built server in its own process checks 2,000 environments over
 * HTTP every 10 s (local targets: most healthy, some slow, some failing) plus 100 environments
 * over SSH against a real sshd, for 60 s. Prints checks/s, check latency p50/p99, the server's
 * CPU % of one core and RSS, and how late checks started, beside the same server idle (no
 * environments) measured in the same run. Targets: <= 15% CPU, < 200 MB RSS, no check > 2 s late.
 *
 * SSH checks run at the product default interval (60 s): all 100 "hosts" share one test sshd,
 * which on a 2-core machine serves only a few sessions a second; real hosts each have their own.
 */
import { execFileSync, spawn } from 'node:child_process';
import { readFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import Database from 'better-sqlite3';
import { percentile } from '../src/modules/health/health.fns.js';
import { startSshd } from '../test/helpers/sshd.js';
import { freePort, rssMb, start, startFlags, table, waitFor } from './lib.js';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 60);
const HTTP_ENVS = Number(process.env.BENCH_HTTP_ENVS ?? 2000);
const SSH_ENVS = Number(process.env.BENCH_SSH_ENVS ?? 100);
const SSH_INTERVAL = Number(process.env.BENCH_SSH_INTERVAL ?? 60);
const root = new URL('..', import.meta.url).pathname;
const PASSWORD = 'bench password 1';

async function startTargets(): Promise<{ port: number; stop(): void }> {
  const child = spawn(process.execPath, ['--import', 'tsx', join(root, 'bench/targets-server.ts')], { stdio: ['ignore', 'pipe', 'inherit'] });
  const line = await new Promise<string>((resolve) => createInterface({ input: child.stdout }).once('line', resolve));
  return { port: Number(line), stop: () => child.kill('SIGTERM') };
}

/** CPU seconds (user + system) a process has used, from /proc. */
function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

async function measure(pid: number, seconds: number, during?: () => Promise<void>): Promise<{ cpuPercent: number; rssMb: number }> {
  const cpu0 = cpuSeconds(pid);
  const t0 = performance.now();
  const poll = during ? setInterval(() => void during(), 1000) : undefined;
  await new Promise((r) => setTimeout(r, seconds * 1000));
  clearInterval(poll);
  return { cpuPercent: ((cpuSeconds(pid) - cpu0) / ((performance.now() - t0) / 1000)) * 100, rssMb: rssMb(pid) };
}

async function main(): Promise<void> {
  execFileSync('npx', ['tsc', '-p', 'tsconfig.build.json'], { cwd: root, stdio: 'inherit' });
  const targets = await startTargets();
  const sshd = await startSshd();
  const dataDir = mkdtempSync(join(tmpdir(), 'pbfleet-bench-health-'));
  writeFileSync(join(dataDir, 'config.yaml'), 'network:\n  allowTargets: [127.0.0.0/8]\nlog:\n  level: warn\n');
  const port = await freePort();
  const base = `http://127.0.0.1:${port}/api/v1`;
  const server = start(process.execPath, [...startFlags(), join(root, 'dist/cli.js'), 'serve'], {
    PATH: process.env.PATH,
    PBFLEET_CONFIG: join(dataDir, 'config.yaml'),
    PBFLEET_DATA_DIR: dataDir,
    PBFLEET_PORT: String(port),
    PBFLEET_HOST: '127.0.0.1',
    PBFLEET_ADMIN_PASSWORD: PASSWORD,
  });
  const pid = server.pid as number;
  try {
    await waitFor(`${base}/ready`);
    const login = await fetch(`${base}/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: 'admin', password: PASSWORD }) });
    const { token } = (await login.json()) as { token: string };
    const headers = { authorization: `Bearer ${token}`, 'content-type': 'application/json' };

    await new Promise((r) => setTimeout(r, 2000));
    const idle = await measure(pid, 10);

    const targetBase = `http://127.0.0.1:${targets.port}`;
    const endpointFor = (i: number) => (i % 20 === 0 ? `${targetBase}/fail` : i % 20 === 10 ? `${targetBase}/slow?ms=${300 + (i % 7) * 200}` : `${targetBase}/ok`);
    const credentials = { type: 'key', username: sshd.username, privateKey: sshd.privateKey };
    const bodies = [
      ...Array.from({ length: HTTP_ENVS }, (_, i) => ({
        name: `http-${i}`,
        target: { host: '127.0.0.1', port: sshd.port },
        credentials,
        healthCheck: { enabled: true, type: 'http', endpoint: endpointFor(i), interval: 10, timeout: 5, retries: 2 },
      })),
      ...Array.from({ length: SSH_ENVS }, (_, i) => ({
        name: `ssh-${i}`,
        target: { host: '127.0.0.1', port: sshd.port },
        credentials,
        hostKey: { fingerprint: sshd.fingerprint },
        healthCheck: { enabled: true, type: 'ssh', interval: SSH_INTERVAL, timeout: 10, retries: 2 },
      })),
    ];
    const created = performance.now();
    for (let i = 0; i < bodies.length; i += 8) {
      await Promise.all(
        bodies.slice(i, i + 8).map(async (body) => {
          const res = await fetch(`${base}/environments`, { method: 'POST', headers, body: JSON.stringify(body) });
          if (res.status !== 201) throw new Error(`create ${body.name}: ${res.status} ${await res.text()}`);
        }),
      );
    }
    const createdMs = Math.round(performance.now() - created);

    // Let the jittered first round (and the SSH handshakes) pass, then measure a steady window.
    await new Promise((r) => setTimeout(r, Math.max(12, SSH_INTERVAL + 2) * 1000));
    const stats = async () => (await (await fetch(`${base}/health-checks/stats`, { headers })).json()) as { scheduler: { checksDone: number; latenessMs: { max: number } } };
    const before = (await stats()).scheduler.checksDone;
    const windowStart = new Date().toISOString();
    let maxLate = 0;
    const loaded = await measure(pid, SECONDS, async () => {
      maxLate = Math.max(maxLate, (await stats()).scheduler.latenessMs.max);
    });
    const after = await stats();
    const checks = after.scheduler.checksDone - before;

    const db = new Database(join(dataDir, 'pbfleet.db'), { readonly: true });
    const rows = db.prepare('select response_time_ms as ms, health from health_samples where ts >= ?').all(windowStart) as { ms: number | null; health: string }[];
    db.close();
    const all = rows.map((r) => r.ms ?? 0);
    const healthy = rows.filter((r) => r.health === 'healthy').map((r) => r.ms ?? 0);

    console.log(`\nbench:health — ${HTTP_ENVS} HTTP-checked (every 10 s) + ${SSH_ENVS} SSH-checked (every ${SSH_INTERVAL} s) environments, ${SECONDS}s window, SQLite`);
    console.log(`(created through the API in ${createdMs} ms; targets: 90% ok, 5% slow 300-1500 ms, 5% failing)\n`);
    console.log(
      table([
        { run: 'idle server (baseline)', 'checks/s': 0, 'p50 ms': '-', 'p99 ms': '-', 'CPU % of a core': idle.cpuPercent.toFixed(1), 'RSS MB': idle.rssMb.toFixed(0), 'max late ms': '-' },
        {
          run: `${HTTP_ENVS + SSH_ENVS} environments`,
          'checks/s': (checks / SECONDS).toFixed(1),
          'p50 ms': percentile(all, 50) ?? '-',
          'p99 ms': percentile(all, 99) ?? '-',
          'CPU % of a core': loaded.cpuPercent.toFixed(1),
          'RSS MB': loaded.rssMb.toFixed(0),
          'max late ms': Math.round(maxLate),
        },
      ]),
    );
    console.log(`\nhealthy checks only: p50 ${percentile(healthy, 50) ?? '-'} ms, p99 ${percentile(healthy, 99) ?? '-'} ms; samples in window: ${rows.length}`);
    console.log('targets: CPU <= 15% of one core, RSS < 200 MB, no check more than 2000 ms late');
  } finally {
    server.kill('SIGTERM');
    targets.stop();
    await sshd.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
