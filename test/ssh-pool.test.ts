import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { SshPool, type HostKeyEvent, type SshTarget } from '../src/modules/ssh/ssh-pool.js';
import { ExecError, ExecTimeoutError, HostKeyMismatchError, SshConnectError } from '../src/modules/ssh/ssh.errors.js';
import { PASSWORD_USER, ensurePasswordUser, isRoot, sshdAvailable, startSshd, type TestSshd } from './helpers/sshd.js';

describe.runIf(sshdAvailable)('SSH pool against a real sshd', () => {
  let sshd: TestSshd;
  let pool: SshPool;
  let events: HostKeyEvent[];
  const target = (extra: Partial<SshTarget> = {}): SshTarget => ({
    id: 'env-1',
    host: sshd.host,
    port: sshd.port,
    username: sshd.username,
    privateKey: sshd.privateKey,
    knownFingerprint: sshd.fingerprint,
    ...extra,
  });

  beforeAll(async () => {
    sshd = await startSshd();
  });
  afterAll(async () => {
    await sshd.close();
  });
  afterEach(() => {
    pool?.closeAll();
  });
  const newPool = (options: ConstructorParameters<typeof SshPool>[0] = {}) => {
    events = [];
    pool = new SshPool({ maxBackoffMs: 200, onHostKey: (e) => events.push(e), ...options });
    return pool;
  };

  it('runs commands over one shared connection', async () => {
    newPool();
    const first = await pool.exec(target(), ['sh', '-c', 'echo "$SSH_CONNECTION"']);
    const second = await pool.exec(target(), ['sh', '-c', 'echo "$SSH_CONNECTION"']);
    expect(first.exitCode).toBe(0);
    expect(first.stdout.trim()).not.toBe('');
    // Same client port: the same TCP connection carried both commands.
    expect(second.stdout).toBe(first.stdout);
    expect(pool.size).toBe(1);
  });

  it('passes hostile arguments through intact', async () => {
    newPool();
    const hostile = ["'; touch /tmp/pbfleet-pwned #", '$(id)', '`id`', 'a b\nc', '*', '--x', 'ü🚀'];
    const result = await pool.exec(target(), ['printf', '%s\\0', ...hostile]);
    expect(result.stdout.split('\0').slice(0, -1)).toEqual(hostile);
  });

  it('reports exit code and stderr; execChecked throws ExecError with them', async () => {
    newPool();
    const result = await pool.exec(target(), ['sh', '-c', 'echo out; echo oops >&2; exit 3']);
    expect(result).toMatchObject({ exitCode: 3, stdout: 'out\n', stderr: 'oops\n' });
    const error = await pool.execChecked(target(), ['sh', '-c', 'echo broken >&2; exit 7']).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ExecError);
    expect(error).toMatchObject({ exitCode: 7, stderr: 'broken', environmentId: 'env-1' });
    expect((error as ExecError).command).toContain('exit 7');
  });

  it('times out a command that runs too long, and the connection stays usable', async () => {
    newPool();
    await expect(pool.exec(target(), ['sleep', '5'], { timeoutMs: 300 })).rejects.toBeInstanceOf(ExecTimeoutError);
    await expect(pool.exec(target(), ['true'])).resolves.toMatchObject({ exitCode: 0 });
  });

  it('bounds concurrent channels per host', async () => {
    newPool({ maxChannelsPerHost: 3 });
    const dir = `/tmp/pbfleet-chan-${randomBytes(4).toString('hex')}`;
    await pool.exec(target(), ['mkdir', '-p', dir]);
    const script = (i: number) => ['sh', '-c', `touch ${dir}/${i}; ls ${dir} | wc -l; sleep 0.2; rm ${dir}/${i}`];
    const results = await Promise.all(Array.from({ length: 12 }, (_, i) => pool.exec(target(), script(i))));
    const maxSeen = Math.max(...results.map((r) => Number(r.stdout.trim())));
    expect(maxSeen).toBeLessThanOrEqual(3);
    expect(maxSeen).toBeGreaterThanOrEqual(2);
    await pool.exec(target(), ['rm', '-rf', dir]);
  });

  it('an encrypted key with its passphrase works; without it the error says so', async () => {
    newPool();
    await expect(pool.exec(target({ privateKey: sshd.encryptedKey, passphrase: sshd.passphrase }), ['true'])).resolves.toMatchObject({ exitCode: 0 });
    const error = await pool.exec(target({ id: 'env-2', privateKey: sshd.encryptedKey }), ['true']).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(Error);
    expect(String((error as Error).message)).toMatch(/passphrase|cannot be read/);
  });

  it('a wrong key fails with a clear authentication error', async () => {
    newPool();
    const other = await startSshd();
    try {
      const error = await pool.exec(target({ privateKey: other.privateKey }), ['true']).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(SshConnectError);
      expect((error as SshConnectError).reason).toMatch(/authentication failed/);
    } finally {
      await other.close();
    }
  });

  it.runIf(isRoot)('password authentication works', async () => {
    const password = 'pbfleet-test-password-1';
    ensurePasswordUser(password);
    newPool();
    const result = await pool.exec(target({ username: PASSWORD_USER, privateKey: undefined, password }), ['id', '-un']);
    expect(result.stdout.trim()).toBe(PASSWORD_USER);
    const bad = await pool.exec(target({ id: 'env-3', username: PASSWORD_USER, privateKey: undefined, password: 'wrong-password' }), ['true']).catch((e: unknown) => e);
    expect((bad as SshConnectError).reason).toMatch(/authentication failed/);
  });

  it('trusts on first use and reports the fingerprint', async () => {
    newPool();
    await pool.exec(target({ knownFingerprint: null }), ['true']);
    expect(events).toEqual([{ id: 'env-1', kind: 'first_seen', fingerprint: sshd.fingerprint }]);
  });

  it('refuses a changed host key and reports both fingerprints', async () => {
    newPool();
    const pinned = sshd.fingerprint;
    await pool.exec(target(), ['true']);
    await sshd.rotateHostKey();
    pool.closeAll();
    const error = await pool.exec(target({ knownFingerprint: pinned }), ['true']).catch((e: unknown) => e);
    expect(error, String((error as Error).message)).toBeInstanceOf(HostKeyMismatchError);
    expect(error).toMatchObject({ expected: pinned, actual: sshd.fingerprint });
    expect(events).toContainEqual({ id: 'env-1', kind: 'mismatch', fingerprint: sshd.fingerprint, expected: pinned });
    // Accepting the new key (a new known fingerprint) connects again.
    await expect(pool.exec(target({ knownFingerprint: sshd.fingerprint }), ['true'])).resolves.toMatchObject({ exitCode: 0 });
  });

  it('a host that goes away fails fast and is reached again when it is back', async () => {
    newPool();
    await pool.exec(target(), ['true']);
    await sshd.stop();
    try {
      const down = await pool.exec(target(), ['true']).catch((e: unknown) => e);
      expect(down).toBeInstanceOf(SshConnectError);
      expect((down as SshConnectError).reason).toMatch(/connection (refused|closed|reset|lost)/);
      // A dropped connection is retried at once; a refused attempt starts the backoff, during
      // which callers get the last failure immediately instead of a new attempt.
      const refused = await pool.exec(target(), ['true']).catch((e: unknown) => e);
      expect((refused as SshConnectError).reason).toMatch(/connection refused/);
      const again = await pool.exec(target(), ['true']).catch((e: unknown) => e);
      expect((again as SshConnectError).reason).toMatch(/connection refused \(next attempt in \d+s\)/);
    } finally {
      await sshd.start();
    }
    await new Promise((r) => setTimeout(r, 450));
    await expect(pool.exec(target(), ['true'])).resolves.toMatchObject({ exitCode: 0 });
  });

  it('a connection that goes silent times out a command instead of hanging on it', async () => {
    newPool({ keepaliveIntervalMs: 60_000 });
    await pool.exec(target(), ['true']);
    // Freeze the sshd processes serving connections (not the listener): the TCP connection
    // stays open, nothing answers, and the channel for the next command never opens.
    const listener = readFileSync(join(sshd.dir, 'sshd.pid'), 'utf8').trim();
    const childrenOf = (pid: string): string[] => {
      const children = spawnSync('pgrep', ['-P', pid], { encoding: 'utf8' }).stdout.split('\n').filter(Boolean);
      return children.flatMap((child) => [child, ...childrenOf(child)]);
    };
    const serving = childrenOf(listener);
    expect(serving.length).toBeGreaterThan(0);
    for (const pid of serving) process.kill(Number(pid), 'SIGSTOP');
    try {
      await expect(pool.exec(target(), ['true'], { timeoutMs: 500 })).rejects.toBeInstanceOf(ExecTimeoutError);
    } finally {
      for (const pid of serving) process.kill(Number(pid), 'SIGCONT');
    }
  });

  it('does not tear a connection down while a command runs on it', async () => {
    newPool();
    const running = pool.exec(target(), ['sh', '-c', 'sleep 0.3; echo finished']);
    await new Promise((r) => setTimeout(r, 100));
    pool.invalidate('env-1');
    await expect(running).resolves.toMatchObject({ stdout: 'finished\n', exitCode: 0 });
  });

  it('writes files atomically with their mode over SFTP and reads them back', async () => {
    newPool();
    const path = `/tmp/pbfleet-sftp-${randomBytes(4).toString('hex')}.json`;
    await pool.writeFileAtomic(target(), path, '{"a":1}', 0o600);
    await pool.writeFileAtomic(target(), path, '{"a":2}', 0o600);
    expect((await pool.readFile(target(), path)).toString()).toBe('{"a":2}');
    const mode = await pool.exec(target(), ['stat', '-c', '%a', path]);
    expect(mode.stdout.trim()).toBe('600');
    const leftovers = await pool.exec(target(), ['sh', '-c', `ls ${path}.pbfleet-* 2>/dev/null | wc -l`]);
    expect(leftovers.stdout.trim()).toBe('0');
    await pool.exec(target(), ['rm', '-f', path]);
  });

  it('streams a long-running command', async () => {
    newPool();
    const path = `/tmp/pbfleet-tail-${randomBytes(4).toString('hex')}.log`;
    await pool.exec(target(), ['sh', '-c', `echo first > ${path}`]);
    const tail = await pool.stream(target(), ['tail', '-n', '+1', '-F', path]);
    let seen = '';
    tail.stdout.on('data', (d: Buffer) => (seen += d.toString()));
    await pool.exec(target(), ['sh', '-c', `echo second >> ${path}`]);
    for (let i = 0; i < 50 && !seen.includes('second'); i++) await new Promise((r) => setTimeout(r, 50));
    expect(seen).toBe('first\nsecond\n');
    tail.close();
    await tail.done;
    await pool.exec(target(), ['rm', '-f', path]);
  });
});
