import { describeSocketError } from '../../lib/net-errors.js';

/** A remote command ran and exited non-zero. Carries what an operator needs to act. */
export class ExecError extends Error {
  override name = 'ExecError';
  constructor(
    readonly environmentId: string,
    readonly command: string,
    readonly exitCode: number | null,
    readonly stderr: string,
    readonly signal?: string | null,
  ) {
    super(`command failed on ${environmentId} with ${exitCode === null ? `signal ${signal ?? 'unknown'}` : `exit code ${exitCode}`}: ${stderr || '(no error output)'}`);
  }
}

/** The connection could not be made or was lost; `reason` is short and safe to show. */
export class SshConnectError extends Error {
  override name = 'SshConnectError';
  constructor(
    readonly environmentId: string,
    readonly reason: string,
    options?: ErrorOptions,
  ) {
    super(`ssh to ${environmentId}: ${reason}`, options);
  }
}

/** The host presented a different key than the one trusted: refused until an admin accepts it. */
export class HostKeyMismatchError extends SshConnectError {
  override name = 'HostKeyMismatchError';
  constructor(
    environmentId: string,
    readonly expected: string,
    readonly actual: string,
  ) {
    super(environmentId, `host key changed (expected ${expected}, got ${actual}); an admin must accept the new key`);
  }
}

export class ExecTimeoutError extends Error {
  override name = 'ExecTimeoutError';
  constructor(
    readonly environmentId: string,
    readonly command: string,
    readonly timeoutMs: number,
  ) {
    super(`command on ${environmentId} did not finish within ${timeoutMs} ms`);
  }
}

/** Turns ssh2/socket errors into a short reason an operator understands. */
export function describeSshError(error: unknown): string {
  const err = error as NodeJS.ErrnoException & { level?: string };
  if (err.level === 'client-authentication') return 'authentication failed (check the username, key or password)';
  if (err.level === 'client-timeout' || /Timed out while waiting for handshake/i.test(err.message)) return 'timed out waiting for the SSH handshake';
  const known = describeSocketError(err.code);
  if (known) return known;
  if (/Encrypted private OpenSSH key detected, but no passphrase|bad passphrase|Cannot parse privateKey/i.test(err.message)) return 'the private key cannot be read (wrong or missing passphrase?)';
  if (/Keepalive timeout/i.test(err.message)) return 'connection lost (keepalive timeout)';
  if (/Not connected|No response from server|Channel open failure|socket hang up/i.test(err.message)) return 'connection lost';
  return 'connection failed';
}
