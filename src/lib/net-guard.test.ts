import { describe, expect, it } from 'vitest';
import { createNetGuard } from './net-guard.js';

describe('net guard', () => {
  const strict = createNetGuard([]);
  const loopbackAllowed = createNetGuard(['127.0.0.0/8', '::1']);

  it.each(['169.254.169.254', '169.254.0.1', 'fe80::1', 'fd00:ec2::254', '0.0.0.0', '::ffff:169.254.169.254', '224.0.0.1'])(
    'always refuses %s, allow-list or not',
    (address) => {
      expect(() => strict.check(address)).toThrow(/never allowed/);
      expect(() => createNetGuard(['0.0.0.0/0', '::/0']).check(address)).toThrow(/never allowed/);
    },
  );

  it.each(['127.0.0.1', '10.1.2.3', '172.16.0.9', '192.168.1.1', '::1', 'fd12::1', '100.64.1.1', '::ffff:127.0.0.1'])(
    'refuses private/loopback %s unless allow-listed',
    (address) => {
      expect(() => strict.check(address)).toThrow(/allow it in network.allowTargets/);
    },
  );

  it('allows allow-listed ranges and public addresses', () => {
    expect(() => loopbackAllowed.check('127.0.0.1')).not.toThrow();
    expect(() => loopbackAllowed.check('::1')).not.toThrow();
    expect(() => loopbackAllowed.check('10.0.0.1')).toThrow();
    expect(() => strict.check('93.184.216.34')).not.toThrow();
    expect(() => strict.check('2606:2800:220:1::1')).not.toThrow();
  });

  it('checks what a name resolves to, not the name', async () => {
    const resolve = (guard: ReturnType<typeof createNetGuard>, host: string) =>
      new Promise<string>((ok, fail) => guard.lookup(host, {}, (err, address) => (err ? fail(err) : ok(String(address)))));
    await expect(resolve(strict, 'localhost')).rejects.toThrow(/loopback or private/);
    await expect(resolve(loopbackAllowed, 'localhost')).resolves.toMatch(/^(127\.|::1)/);
  });
});
