import { describe, expect, it } from 'vitest';
import { redactDetails } from './audit.fns.js';

describe('redactDetails', () => {
  it('replaces values under secret-looking keys at any depth, keeps flags', () => {
    const out = redactDetails({
      username: 'ann',
      password: 'hunter2',
      nested: { apiKey: 'k', privateKey: '-----BEGIN', passphrase: 'p', list: [{ token: 't' }] },
      hasPassword: true,
    });
    expect(out).toEqual({
      username: 'ann',
      password: '[redacted]',
      nested: { apiKey: '[redacted]', privateKey: '[redacted]', passphrase: '[redacted]', list: [{ token: '[redacted]' }] },
      hasPassword: true,
    });
    expect(JSON.stringify(out)).not.toMatch(/hunter2|BEGIN/);
  });

  it('keeps Passivbot settings, which only look like passwords, and still redacts real ones', () => {
    const out = redactDetails({
      changed: { 'paths.passivbotDir': '/opt/passivbot', 'paths.passivbotKind': 'v7' },
      passivbotPassword: 'p1',
      userPass: 'p2',
      passwd: 'p3',
      PASSPHRASE: 'p4',
    });
    expect(out).toEqual({
      changed: { 'paths.passivbotDir': '/opt/passivbot', 'paths.passivbotKind': 'v7' },
      passivbotPassword: '[redacted]',
      userPass: '[redacted]',
      passwd: '[redacted]',
      PASSPHRASE: '[redacted]',
    });
  });

  it('bounds long strings and cycles', () => {
    const cyclic: Record<string, unknown> = { a: 'x'.repeat(5000) };
    cyclic.self = cyclic;
    const out = redactDetails(cyclic);
    expect((out.a as string).length).toBeLessThan(2100);
    expect(out.self).toBe('[truncated]');
  });
});
