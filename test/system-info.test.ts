import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { chownSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statfsSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import Value from 'typebox/value';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Runtime } from '../src/modules/environments/environments.types.js';
import { SystemInfoSchema, parseSystemInfo, systemInfoCommand } from '../src/modules/environments/system-info.fns.js';
import { collectSystemInfo } from '../src/modules/environments/system-info.js';
import { localRunner, sshRunner, type HostRunner } from '../src/modules/hosts/host-runner.js';
import { SshPool, type SshTarget } from '../src/modules/ssh/ssh-pool.js';
import { SshConnectError, ExecTimeoutError } from '../src/modules/ssh/ssh.errors.js';
import { freePort } from './helpers/process.js';
import { isRoot, sshdAvailable, startSshd, type TestSshd } from './helpers/sshd.js';

/**
 * A fake Passivbot install in a temp dir: v7 git checkouts (src/main.py, tagged v7.8.4) and a
 * venv whose `bin/python` and `bin/passivbot` are shell scripts that answer `--version` like
 * the real ones and otherwise idle, so they can also stand in for running bots.
 */
let root: string;
let venv: string;
let python: string;
const repos = { tagged: '', ahead: '', packed: '' };
const commits = { tagged: '', ahead: '', packed: '' };

const GIT_ENV = {
  ...process.env,
  GIT_CONFIG_GLOBAL: '/dev/null',
  GIT_CONFIG_NOSYSTEM: '1',
  GIT_AUTHOR_NAME: 'pbfleet',
  GIT_AUTHOR_EMAIL: 'pbfleet@example.com',
  GIT_COMMITTER_NAME: 'pbfleet',
  GIT_COMMITTER_EMAIL: 'pbfleet@example.com',
};
const git = (dir: string, ...args: string[]) => execFileSync('git', ['-C', dir, ...args], { env: GIT_ENV, encoding: 'utf8' }).trim();

function makeCheckout(dir: string, commitsAfterTag: number): string {
  mkdirSync(join(dir, 'src'), { recursive: true });
  writeFileSync(join(dir, 'src', 'main.py'), 'import time\ntime.sleep(60)\n');
  git(dir, 'init', '-q', '-b', 'master');
  git(dir, 'add', '.');
  git(dir, 'commit', '-q', '-m', 'v7.8.4');
  git(dir, 'tag', '-a', 'v7.8.4', '-m', 'v7.8.4');
  for (let i = 0; i < commitsAfterTag; i++) {
    writeFileSync(join(dir, 'README.md'), `change ${i}\n`);
    git(dir, 'add', '.');
    git(dir, 'commit', '-q', '-m', `change ${i}`);
  }
  return git(dir, 'rev-parse', '--short', 'HEAD');
}

function writeScript(path: string, body: string): void {
  writeFileSync(path, `#!/bin/sh\n${body}\n`, { mode: 0o755 });
}

beforeAll(() => {
  root = mkdtempSync(join(os.tmpdir(), 'pbfleet-sysinfo-'));
  for (const [name, after] of [['tagged', 0], ['ahead', 1], ['packed', 0]] as const) {
    repos[name] = join(root, name);
    commits[name] = makeCheckout(repos[name], after);
  }
  git(repos.packed, 'pack-refs', '--all');
  venv = join(root, 'venv');
  mkdirSync(join(venv, 'bin'), { recursive: true });
  python = join(venv, 'bin', 'python');
  writeScript(python, 'if [ "$1" = --version ]; then echo "Python 3.11.7"; exit 0; fi\nsleep 60');
  writeScript(join(venv, 'bin', 'passivbot'), 'if [ "$1" = --version ]; then echo "passivbot 8.1.0"; exit 0; fi\nsleep 60');
});
afterAll(() => {
  rmSync(root, { recursive: true, force: true });
});

const v7 = (extra: Partial<Runtime> = {}) => ({ passivbotDir: repos.tagged, pythonPath: python, kind: 'v7' as const, ...extra });
const osRelease = () => /^PRETTY_NAME=(?:"(.*)"|(.*))$/m.exec(readFileSync('/etc/os-release', 'utf8'));

/** The machine's own view, to check the collector against. */
function expectMatchesThisMachine(info: Awaited<ReturnType<typeof collectSystemInfo>>, dataPath: string): void {
  expect(Value.Check(SystemInfoSchema, info)).toBe(true);
  expect(info.kernel).toEqual({ value: os.release() });
  expect(info.arch).toEqual({ value: os.machine() });
  expect(info.cpuCores).toEqual({ value: os.cpus().length });
  expect(info.cpuModel.value).toBeTruthy();
  const release = osRelease();
  if (release) expect(info.os).toEqual({ value: release[1] ?? release[2] });
  expect(info.memory.value?.totalBytes).toBe(os.totalmem());
  expect(info.memory.value?.usedBytes).toBeGreaterThan(0);
  expect(info.memory.value?.usedBytes).toBeLessThan(os.totalmem());
  expect(info.swap.value?.usedBytes).toBeLessThanOrEqual(info.swap.value?.totalBytes ?? -1);
  expect(Math.abs((info.uptimeSeconds.value ?? 0) - os.uptime())).toBeLessThan(30);
  const load = info.loadAverage.value;
  expect(load).not.toBeNull();
  const [one = 0, five = 0, fifteen = 0] = os.loadavg();
  expect(Math.abs((load?.one ?? -99) - one)).toBeLessThan(3);
  expect(Math.abs((load?.five ?? -99) - five)).toBeLessThan(3);
  expect(Math.abs((load?.fifteen ?? -99) - fifteen)).toBeLessThan(3);
  const fs = statfsSync(dataPath);
  expect(info.disk.value).toMatchObject({ path: dataPath, totalBytes: fs.blocks * fs.bsize });
  expect(info.disk.value?.usedBytes).toBeGreaterThan(0);
  expect(info.processCount.value).toEqual(expect.any(Number));
  expect(Date.parse(info.collectedAt)).toBeGreaterThan(Date.now() - 60_000);
}

/** Starts stand-ins as their own process groups, so they can be stopped with every child. */
async function startProcesses(commands: [string, ...string[]][]): Promise<() => void> {
  const children: ChildProcess[] = [];
  for (const [file, ...args] of commands) {
    const child = spawn(file, args, { detached: true, stdio: 'ignore' });
    children.push(child);
    await once(child, 'spawn');
  }
  return () => {
    for (const child of children) if (child.pid !== undefined) process.kill(-child.pid, 'SIGKILL');
  };
}

function hostileCases(runner: () => HostRunner) {
  it('hostile paths reach the script as data, never as shell text', async () => {
    const pwned = `/tmp/pbfleet-pwned-${randomBytes(4).toString('hex')}`;
    const dataPath = `/tmp/x'; touch ${pwned} #`;
    const info = await collectSystemInfo(runner(), {
      dataPath,
      runtime: { passivbotDir: `$(touch ${pwned})`, pythonPath: `\`touch ${pwned}\`; ${python}`, kind: 'v7' },
    });
    expect(existsSync(pwned)).toBe(false);
    expect(info.disk.value?.path).toBe('/tmp');
    expect(info.disk.reason).toBe(`data path ${dataPath} does not exist; measured its nearest existing parent /tmp`);
    expect(info.passivbotVersion).toEqual({ value: null, reason: `passivbot dir $(touch ${pwned}) does not exist` });
    expect(info.pythonVersion).toEqual({ value: null, reason: `python \`touch ${pwned}\`; ${python} does not exist` });
    // Newlines cannot forge report lines either.
    const forged = await collectSystemInfo(runner(), { dataPath: '/tmp', runtime: v7({ passivbotDir: '/nope\nprocessCount=999\npassivbot.kind=cli' }) });
    expect(forged.processCount.value).not.toBe(999);
    expect(forged.passivbotVersion).toEqual({ value: null, reason: 'passivbot dir /nope processCount=999 passivbot.kind=cli does not exist' });
  });
}

describe('system info on this machine (localRunner)', () => {
  const runner = () => localRunner('local', 10_000);

  it('v7 checkout: reports what the machine reports, and the tag and commit', async () => {
    const info = await collectSystemInfo(runner(), { dataPath: root, runtime: v7() });
    expectMatchesThisMachine(info, root);
    expect(info.disk.reason).toBeUndefined();
    expect(info.pythonVersion).toEqual({ value: '3.11.7' });
    expect(info.passivbotVersion).toEqual({ value: { version: '7.8.4', commit: commits.tagged, kind: 'v7' } });
  });

  it('v7 checkout a commit past its tag', async () => {
    const info = await collectSystemInfo(runner(), { dataPath: root, runtime: v7({ passivbotDir: repos.ahead }) });
    expect(info.passivbotVersion.value).toEqual({ version: `7.8.4-1-g${commits.ahead}`, commit: commits.ahead, kind: 'v7' });
  });

  it('cli venv: the version `passivbot --version` prints, and the checkout commit', async () => {
    const info = await collectSystemInfo(runner(), { dataPath: root, runtime: { passivbotDir: repos.ahead, pythonPath: python, kind: 'cli' } });
    expect(info.passivbotVersion.value).toEqual({ version: '8.1.0', commit: commits.ahead, kind: 'cli' });
  });

  const realPython = (() => {
    try {
      return execFileSync('python3', ['--version'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    } catch {
      return undefined;
    }
  })();
  it.runIf(realPython)('a python found on PATH by name', async () => {
    const info = await collectSystemInfo(runner(), { dataPath: root, runtime: v7({ pythonPath: 'python3' }) });
    expect(info.pythonVersion.value).toBe(realPython?.trim().replace(/^Python /, ''));
  });

  it('missing data path, Passivbot dir and python: nulls with reasons, the rest still reported', async () => {
    const dataPath = join(root, 'not', 'yet', 'here');
    const info = await collectSystemInfo(runner(), { dataPath, runtime: v7({ passivbotDir: join(root, 'missing'), pythonPath: join(root, 'nope', 'python') }) });
    expect(info.disk.value?.path).toBe(root);
    expect(info.disk.reason).toBe(`data path ${dataPath} does not exist; measured its nearest existing parent ${root}`);
    expect(info.passivbotVersion).toEqual({ value: null, reason: `passivbot dir ${join(root, 'missing')} does not exist` });
    expect(info.pythonVersion).toEqual({ value: null, reason: `python ${join(root, 'nope', 'python')} does not exist` });
    expect(info.cpuCores.value).toBe(os.cpus().length);

    const cli = await collectSystemInfo(runner(), { dataPath: root, runtime: { passivbotDir: join(root, 'missing'), pythonPath: join(root, 'nope', 'python'), kind: 'cli' } });
    expect(cli.passivbotVersion).toEqual({
      value: null,
      reason: `no passivbot next to python ${join(root, 'nope', 'python')}; passivbot dir ${join(root, 'missing')} does not exist`,
    });

    const notPassivbot = await collectSystemInfo(runner(), { dataPath: root, runtime: v7({ passivbotDir: venv }) });
    expect(notPassivbot.passivbotVersion).toEqual({ value: null, reason: `passivbot dir ${venv} has no src/main.py` });
  });

  it('a host with almost no tools: what /proc gives is still reported, the rest says why not', async () => {
    const bin = join(root, 'only-sh');
    mkdirSync(bin, { recursive: true });
    if (!existsSync(join(bin, 'sh'))) symlinkSync('/bin/sh', join(bin, 'sh'));
    const result = await runner().exec(['env', `PATH=${bin}`, ...systemInfoCommand(root, v7({ passivbotDir: repos.packed }))]);
    const info = parseSystemInfo(result.stdout);
    expect(Value.Check(SystemInfoSchema, info)).toBe(true);
    expect(info.kernel).toEqual({ value: os.release() });
    expect(info.cpuCores).toEqual({ value: os.cpus().length });
    expect(info.memory.value?.totalBytes).toBe(os.totalmem());
    expect(info.arch).toEqual({ value: null, reason: 'uname is not installed' });
    expect(info.disk).toEqual({ value: null, reason: 'df is not installed' });
    expect(info.processCount).toEqual({ value: null, reason: 'tr is not installed' });
    expect(info.pythonVersion).toEqual({ value: '3.11.7' });
    // No git: the commit is read from .git itself (here from packed-refs).
    expect(existsSync(join(repos.packed, '.git', 'refs', 'heads', 'master'))).toBe(false);
    expect(info.passivbotVersion).toEqual({ value: { version: null, commit: commits.packed, kind: 'v7' } });
  });

  const busybox = ['/usr/bin/busybox', '/bin/busybox'].find((path) => existsSync(path));
  it.runIf(busybox)('busybox sh and applets only (an Alpine-like host)', async () => {
    const bin = join(root, 'busybox-bin');
    mkdirSync(bin, { recursive: true });
    for (const applet of ['sh', 'uname', 'nproc', 'df', 'tr', 'grep', 'timeout', 'sleep']) if (!existsSync(join(bin, applet))) symlinkSync(busybox!, join(bin, applet));
    const result = await runner().exec(['env', `PATH=${bin}`, ...systemInfoCommand(root, v7())]);
    const info = parseSystemInfo(result.stdout);
    expectMatchesThisMachine(info, root);
    expect(info.processCount.value).toEqual(expect.any(Number));
    expect(info.passivbotVersion).toEqual({ value: { version: null, commit: commits.tagged, kind: 'v7' } });
  });

  it.runIf(isRoot)('a checkout owned by another user, which git refuses to read', async () => {
    const dir = join(root, 'foreign');
    const commit = makeCheckout(dir, 0);
    execFileSync('chown', ['-R', 'nobody', dir]);
    let gitRefuses = false;
    try {
      execFileSync('git', ['-C', dir, 'rev-parse', 'HEAD'], { env: GIT_ENV, stdio: 'ignore' });
    } catch {
      gitRefuses = true;
    }
    const info = await collectSystemInfo(runner(), { dataPath: root, runtime: v7({ passivbotDir: dir }) });
    expect(info.passivbotVersion.value?.commit).toBe(commit);
    if (gitRefuses) expect(info.passivbotVersion.value?.version).toBeNull();
    chownSync(dir, process.getuid?.() ?? 0, process.getgid?.() ?? 0);
  });

  it('counts Passivbot processes, not wrappers, look-alikes or itself', async () => {
    const count = async () => (await collectSystemInfo(runner(), { dataPath: root, runtime: v7() })).processCount.value;
    const app = join(root, 'app');
    mkdirSync(app, { recursive: true });
    const bots: [string, ...string[]][] = [
      [python, '-u', join(repos.tagged, 'src', 'main.py'), 'config.json'],
      [join(venv, 'bin', 'passivbot'), 'live', join(root, 'config.json')],
      [python, '-X', 'utf8', join(repos.tagged, 'src', 'optimize.py'), 'config.json'],
    ];
    const lookAlikes: [string, ...string[]][] = [
      [python, join(app, 'main.py')],
      [join(venv, 'bin', 'passivbot'), 'download', 'config.json'],
      ['sh', '-c', `sleep 60; : ${repos.tagged}/src/main.py`],
      ['tail', '-f', join(repos.tagged, 'src', 'main.py')],
    ];
    // Other test files may start or stop bots meanwhile: retry until a quiet before/after pair.
    let seen: (number | null)[] = [];
    for (let attempt = 0; attempt < 10; attempt++) {
      const before = await count();
      const stop = await startProcesses([...bots, ...lookAlikes]);
      let during: number | null;
      try {
        during = await count();
      } finally {
        stop();
      }
      await new Promise((r) => setTimeout(r, 100));
      const after = await count();
      seen = [before, during, after];
      if (before === after && (during ?? 0) - (before ?? 0) === bots.length) break;
    }
    const [before, during] = seen;
    expect(before).toEqual(expect.any(Number));
    expect((during ?? 0) - (before ?? 0)).toBe(bots.length);
  });

  it('times out as a whole with the runner error', async () => {
    const slow = join(root, 'slow-python');
    writeScript(slow, 'sleep 2');
    await expect(collectSystemInfo(runner(), { dataPath: root, runtime: v7({ pythonPath: slow }) }, { timeoutMs: 300 })).rejects.toBeInstanceOf(ExecTimeoutError);
  });

  it('a host without sh answers with nulls, not an error', async () => {
    const bin = join(root, 'empty-bin');
    mkdirSync(bin, { recursive: true });
    const noSh: HostRunner = { ...runner(), exec: (command, options) => runner().exec(['env', `PATH=${bin}`, ...(command as string[])], options) };
    const info = await collectSystemInfo(noSh, { dataPath: root, runtime: v7() });
    expect(info.os.value).toBeNull();
    expect(info.os.reason).toMatch(/^the collector did not run \(exit 127\): .*sh/);
    expect(Value.Check(SystemInfoSchema, info)).toBe(true);
  });

  hostileCases(runner);
});

describe.runIf(sshdAvailable)('system info over SSH (real sshd on 127.0.0.1)', () => {
  let sshd: TestSshd;
  let pool: SshPool;
  const target = (extra: Partial<SshTarget> = {}): SshTarget => ({
    id: 'env-sysinfo',
    host: sshd.host,
    port: sshd.port,
    username: sshd.username,
    privateKey: sshd.privateKey,
    knownFingerprint: sshd.fingerprint,
    ...extra,
  });
  const runner = () => sshRunner(pool, target(), 10_000);

  beforeAll(async () => {
    sshd = await startSshd();
    pool = new SshPool({ maxBackoffMs: 200 });
  });
  afterAll(async () => {
    pool?.closeAll();
    await sshd?.close();
  });

  it('reports the same host as the local collector, in one command', async () => {
    const info = await collectSystemInfo(runner(), { dataPath: root, runtime: v7() });
    expectMatchesThisMachine(info, root);
    expect(info.passivbotVersion).toEqual({ value: { version: '7.8.4', commit: commits.tagged, kind: 'v7' } });
    const cli = await collectSystemInfo(runner(), { dataPath: root, runtime: { passivbotDir: repos.tagged, pythonPath: python, kind: 'cli' } });
    expect(cli.passivbotVersion.value).toEqual({ version: '8.1.0', commit: commits.tagged, kind: 'cli' });
    expect(pool.size).toBe(1);
  });

  it('missing dir and python over SSH', async () => {
    const info = await collectSystemInfo(runner(), { dataPath: '/nonexistent/pbfleet', runtime: v7({ passivbotDir: '/x', pythonPath: '/nope/python' }) });
    expect(info.disk.value?.path).toBe('/');
    expect(info.passivbotVersion).toEqual({ value: null, reason: 'passivbot dir /x does not exist' });
    expect(info.pythonVersion).toEqual({ value: null, reason: 'python /nope/python does not exist' });
  });

  hostileCases(runner);

  it('a collection that runs too long throws the runner timeout', async () => {
    const slow = join(root, 'slow-python-ssh');
    writeScript(slow, 'sleep 2');
    const started = Date.now();
    await expect(collectSystemInfo(runner(), { dataPath: root, runtime: v7({ pythonPath: slow }) }, { timeoutMs: 300 })).rejects.toBeInstanceOf(ExecTimeoutError);
    expect(Date.now() - started).toBeLessThan(1500);
  });

  it('an unreachable host throws the connection error', async () => {
    const port = await freePort();
    const error = await collectSystemInfo(sshRunner(pool, target({ id: 'env-gone', port }), 2_000), { dataPath: root, runtime: v7() }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SshConnectError);
  });
});
