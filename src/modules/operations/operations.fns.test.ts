import { describe, expect, it } from 'vitest';
import { createLineRedactor, createLiveBuffer, createOutputLog, redactSecrets } from './operations.fns.js';

const JWT = 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhZG1pbiJ9.c2lnbmF0dXJlLXNpZ25hdHVyZQ';
const PEM = ['-----BEGIN OPENSSH PRIVATE KEY-----', 'b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQ', 'AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA', '-----END OPENSSH PRIVATE KEY-----'].join('\n');

describe('redactSecrets', () => {
  it.each([
    ['an Authorization header', 'Authorization: Bearer s3cr3t-webhook-token', 's3cr3t-webhook-token'],
    ['a bare bearer token', 'curl -H "bearer abcdefgh12345678"', 'abcdefgh12345678'],
    ['basic auth', 'authorization: Basic dXNlcjpwYXNzd29yZA==', 'dXNlcjpwYXNzd29yZA=='],
    ['password=', 'connecting with password=hunter2hunter2 to db', 'hunter2hunter2'],
    ['a JSON api_key', '{"api_key": "AbC123-secret value", "ok": true}', 'AbC123-secret value'],
    ['a YAML secret', "client_secret: 'xyz-987-abc'", 'xyz-987-abc'],
    ['an env token', 'GITHUB_TOKEN=ghp_aaaaaaaaaaaaaaaaaaaa', 'ghp_aaaaaaaaaaaaaaaaaaaa'],
    ['an AWS key id', 'using AKIAIOSFODNN7EXAMPLE now', 'AKIAIOSFODNN7EXAMPLE'],
    ['a JWT', `session ${JWT} issued`, JWT],
    ['a pbfleet API token', 'token pbf_Q2hhbmdlTWVQbGVhc2UxMjM0NTY3ODkw', 'pbf_Q2hhbmdlTWVQbGVhc2UxMjM0NTY3ODkw'],
    ['credentials in a URL', 'fetching https://deploy:pa55word@repo.example.com/x', 'pa55word'],
    ['a PEM private key', `key:\n${PEM}\nend`, 'b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQ'],
    ['a PEM key cut off', PEM.slice(0, 80), 'b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQ'.slice(0, 30)],
  ])('hides %s', (_name, text, secret) => {
    const redacted = redactSecrets(text);
    expect(redacted).not.toContain(secret);
    expect(redacted).toContain('[redacted]');
  });

  it('leaves ordinary output alone', () => {
    const text = 'restarted passivbot in 2.3 s\nHTTP 200\n{"status":"ok","bots":3}\n';
    expect(redactSecrets(text)).toBe(text);
  });

  it('keeps the name of what it hid', () => {
    expect(redactSecrets('Authorization: Bearer abcdefgh12345678')).toBe('Authorization: Bearer [redacted]');
    expect(redactSecrets('password=hunter2hunter2')).toBe('password=[redacted]');
  });

  it('stays fast on long hostile input', () => {
    const hostile = `${'a'.repeat(200_000)}${'password'.repeat(5000)}${'-'.repeat(100_000)}`;
    const started = performance.now();
    redactSecrets(hostile);
    expect(performance.now() - started).toBeLessThan(5000);
  });
});

describe('createOutputLog', () => {
  it('keeps short output whole, one line per piece', () => {
    const log = createOutputLog({ head: 100, tail: 100 });
    log.append('HTTP 200');
    log.append('done\n');
    expect(log.text()).toBe('HTTP 200\ndone\n');
  });

  it('keeps the head and the tail of long output and says how much was left out', () => {
    const log = createOutputLog({ head: 10, tail: 20 });
    log.append('0123456789ABCDEFGHIJ');
    for (let i = 0; i < 100; i += 1) log.append(`line ${i}`);
    const text = log.text();
    expect(text.startsWith('0123456789\n…')).toBe(true);
    expect(text).toMatch(/… \d+ characters left out …/);
    expect(text.endsWith('line 98\nline 99\n')).toBe(true);
    expect(text.length).toBeLessThan(10 + 20 + 50);
  });

  it('redacts each piece before the cap can cut a secret in two', () => {
    const log = createOutputLog({ head: 5, tail: 30 });
    log.append(`Authorization: Bearer ${'x'.repeat(40)}`);
    expect(log.text()).not.toMatch(/x{5}/);
  });
});

describe('createLineRedactor', () => {
  const collect = (chunks: string[], maxLine?: number) => {
    const lines: string[] = [];
    const redactor = createLineRedactor((line) => lines.push(line), maxLine);
    for (const chunk of chunks) redactor.write(chunk);
    redactor.end();
    return lines;
  };

  it('redacts a secret cut in two by a chunk boundary, as whole lines', () => {
    const lines = collect(['ok\npass', 'word=hunter2hun', 'ter2 done\nlast']);
    expect(lines).toEqual(['ok\n', 'password=[redacted] done\n', 'last\n']);
  });

  it('leaves out a private key spanning lines and chunks, BEGIN to END', () => {
    const lines = collect([`before\n${PEM.slice(0, 50)}`, `${PEM.slice(50)}\nafter\n`]);
    expect(lines.join('')).not.toContain('b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQ');
    expect(lines.join('')).not.toContain('AAAAAAAAAAAAAAAA');
    expect(lines).toEqual(['before\n', '-----BEGIN PRIVATE KEY----- [redacted] -----END PRIVATE KEY-----\n', 'after\n']);
  });

  it('passes a very long line on in parts', () => {
    expect(collect(['x'.repeat(25)], 10)).toEqual(['x'.repeat(10) + '\n', 'x'.repeat(10) + '\n', 'x'.repeat(5) + '\n']);
  });
});

describe('createLiveBuffer', () => {
  it('sends what arrived since the last send, nothing when nothing did', () => {
    const buffer = createLiveBuffer(100);
    expect(buffer.take()).toBeUndefined();
    buffer.push('a\n');
    buffer.push('b\n');
    expect(buffer.take()).toBe('a\nb\n');
    expect(buffer.take()).toBeUndefined();
  });

  it('keeps the newest characters of a flood, saying how many were left out', () => {
    const buffer = createLiveBuffer(10);
    buffer.push('0123456789');
    buffer.push('abcde');
    expect(buffer.take()).toBe('… 5 characters left out …\n56789abcde');
  });
});
