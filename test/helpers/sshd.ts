import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect, createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll } from 'vitest';

export const SSHD = '/usr/sbin/sshd';
export const PASSWORD_USER = 'pbfleet-test';
export const isRoot = process.getuid?.() === 0;

if (!existsSync(SSHD)) {
  if (process.env.CI) throw new Error(`${SSHD} is missing: install openssh-server (.ci/run does)`);
  console.warn(`SSH suites skipped: ${SSHD} not found (apt-get install openssh-server)`);
}
export const sshdAvailable = existsSync(SSHD);

export interface TestSshd {
  host: '127.0.0.1';
  port: number;
  username: string;
  privateKey: string;
  /** An encrypted copy of the same key, and its passphrase. */
  encryptedKey: string;
  passphrase: string;
  /** The host key's fingerprint as OpenSSH prints it (SHA256:...). */
  fingerprint: string;
  dir: string;
  /** Stops sshd and starts it again on the same port with a new host key. */
  rotateHostKey(): Promise<void>;
  /** The host goes away: the port stops answering and every open connection drops. */
  stop(): Promise<void>;
  /** The host is back. */
  start(): Promise<void>;
  close(): Promise<void>;
}

function keygen(path: string, passphrase = ''): void {
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', passphrase, '-C', 'pbfleet-test', '-f', path]);
}

function fingerprintOf(publicKeyPath: string): string {
  return execFileSync('ssh-keygen', ['-l', '-E', 'sha256', '-f', publicKeyPath]).toString().split(' ')[1] ?? '';
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

async function waitForPort(port: number, child: ChildProcess, stderr: () => string): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`sshd exited with ${child.exitCode}: ${stderr()}`);
    const open = await new Promise<boolean>((resolve) => {
      const socket = connect(port, '127.0.0.1');
      socket.once('connect', () => (socket.destroy(), resolve(true)));
      socket.once('error', () => resolve(false));
    });
    if (open) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`sshd did not listen on ${port}: ${stderr()}`);
}

/**
 * Ensures a local user with a known password exists, for the password-auth case. Needs root;
 * the password is fixed per machine and the account has no other use.
 */
export function ensurePasswordUser(password: string): void {
  try {
    execFileSync('id', [PASSWORD_USER], { stdio: 'ignore' });
  } catch {
    execFileSync('useradd', ['--create-home', '--shell', '/bin/sh', PASSWORD_USER]);
  }
  execFileSync('chpasswd', { input: `${PASSWORD_USER}:${password}\n` });
}

/** A real OpenSSH sshd on 127.0.0.1 at a free port, with generated host and user keys. */
export async function startSshd(): Promise<TestSshd> {
  const dir = mkdtempSync(join(tmpdir(), 'pbfleet-sshd-'));
  const port = await freePort();
  const innerPort = await freePort();
  keygen(join(dir, 'host_key'));
  keygen(join(dir, 'user_key'));
  const passphrase = `pass-${randomBytes(6).toString('hex')}`;
  keygen(join(dir, 'user_key_enc'), passphrase);
  writeFileSync(join(dir, 'authorized_keys'), readFileSync(join(dir, 'user_key.pub'), 'utf8') + readFileSync(join(dir, 'user_key_enc.pub'), 'utf8'), { mode: 0o600 });
  writeFileSync(
    join(dir, 'sshd_config'),
    [
      `Port ${innerPort}`,
      'ListenAddress 127.0.0.1',
      `HostKey ${join(dir, 'host_key')}`,
      `PidFile ${join(dir, 'sshd.pid')}`,
      `AuthorizedKeysFile ${join(dir, 'authorized_keys')}`,
      'PubkeyAuthentication yes',
      'PasswordAuthentication yes',
      'KbdInteractiveAuthentication no',
      'PermitRootLogin yes',
      'UsePAM no',
      'StrictModes no',
      'MaxStartups 500:30:1000',
      'MaxSessions 100',
      'Subsystem sftp internal-sftp',
      'LogLevel ERROR',
      // Bash reads ~/.bashrc for every command sshd runs; a slow one (pyenv init takes 4 s on
      // these machines) would make each exec that slow. SHLVL=1 makes bash see it is nested.
      'SetEnv SHLVL=1',
    ].join('\n') + '\n',
  );
  if (isRoot) mkdirSync('/run/sshd', { recursive: true, mode: 0o755 });

  let child: ChildProcess | undefined;
  let stderr = '';
  const startSshdProcess = async () => {
    stderr = '';
    child = spawn(SSHD, ['-D', '-e', '-f', join(dir, 'sshd_config')], { stdio: ['ignore', 'ignore', 'pipe'] });
    child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
    await waitForPort(innerPort, child, () => stderr);
  };
  const stopSshdProcess = async () => {
    const running = child;
    if (!running || running.exitCode !== null) return;
    await new Promise<void>((resolve) => {
      running.once('exit', () => resolve());
      running.kill('SIGTERM');
    });
  };

  // Clients reach sshd through a TCP proxy, so "the host goes away" can drop every open
  // connection at once (killing sshd alone leaves established sessions running).
  const sockets = new Set<Socket>();
  let proxy: Server | undefined;
  const start = async () => {
    if (proxy) return;
    const server = createServer((client) => {
      const upstream = connect(innerPort, '127.0.0.1');
      sockets.add(client).add(upstream);
      const drop = () => {
        client.destroy();
        upstream.destroy();
        sockets.delete(client);
        sockets.delete(upstream);
      };
      client.on('error', drop).on('close', drop);
      upstream.on('error', drop).on('close', drop);
      client.pipe(upstream).pipe(client);
    });
    await new Promise<void>((resolve, reject) => server.once('error', reject).listen(port, '127.0.0.1', () => resolve()));
    proxy = server;
  };
  const stop = async () => {
    const server = proxy;
    proxy = undefined;
    for (const socket of sockets) socket.destroy();
    sockets.clear();
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  };
  await startSshdProcess();
  await start();

  const sshd: TestSshd = {
    host: '127.0.0.1',
    port,
    username: userInfo().username,
    privateKey: readFileSync(join(dir, 'user_key'), 'utf8'),
    encryptedKey: readFileSync(join(dir, 'user_key_enc'), 'utf8'),
    passphrase,
    fingerprint: fingerprintOf(join(dir, 'host_key.pub')),
    dir,
    start,
    stop,
    async rotateHostKey() {
      await stop();
      await stopSshdProcess();
      rmSync(join(dir, 'host_key'));
      rmSync(join(dir, 'host_key.pub'));
      keygen(join(dir, 'host_key'));
      sshd.fingerprint = fingerprintOf(join(dir, 'host_key.pub'));
      await startSshdProcess();
      await start();
    },
    async close() {
      await stop();
      await stopSshdProcess();
      rmSync(dir, { recursive: true, force: true });
    },
  };
  return sshd;
}

/**
 * Starts one sshd for the enclosing describe block and stops it after; the returned getter
 * gives the running instance inside tests.
 */
export function useSshd(): () => TestSshd {
  let sshd: TestSshd | undefined;
  beforeAll(async () => {
    sshd = await startSshd();
  });
  afterAll(async () => {
    await sshd?.close();
  });
  return () => {
    if (!sshd) throw new Error('sshd is not running: call useSshd() inside a describe block');
    return sshd;
  };
}
