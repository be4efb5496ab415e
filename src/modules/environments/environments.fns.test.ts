import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { commandIssues, extractVersions, healthCheckIssues, inspectPrivateKey, isValidHost, parseHostPort, upgradeIssues } from './environments.fns.js';

const check = { enabled: true, type: 'http' as const, interval: 30, timeout: 5, retries: 2, endpoint: 'https://vps1.example.com/health' };

describe('environment validation', () => {
  it.each(['vps1.example.com', 'localhost', '10.0.0.1', '::1', '2001:db8::1', 'a-b.c'])('accepts host %s', (host) => expect(isValidHost(host)).toBe(true));
  it.each(['999.1.1.1', '-bad.com', 'bad_host', 'a..b', '', 'x'.repeat(254), 'exa mple.com'])('rejects host %j', (host) => expect(isValidHost(host)).toBe(false));

  it('parses host:port', () => {
    expect(parseHostPort('vps1:22')).toEqual({ host: 'vps1', port: 22 });
    expect(parseHostPort('[::1]:8080')).toEqual({ host: '::1', port: 8080 });
    expect(parseHostPort('vps1:99999')).toBeUndefined();
    expect(parseHostPort('vps1')).toBeUndefined();
  });

  it('names each bad health-check field', () => {
    expect(healthCheckIssues(check, 'ssh')).toEqual([]);
    expect(healthCheckIssues({ ...check, endpoint: undefined }, 'ssh')).toEqual([{ field: 'healthCheck.endpoint', message: 'is required for http checks' }]);
    expect(healthCheckIssues({ ...check, endpoint: 'ftp://x' }, 'ssh')[0]?.field).toBe('healthCheck.endpoint');
    expect(healthCheckIssues({ ...check, timeout: 60 }, 'ssh')[0]?.field).toBe('healthCheck.timeout');
    expect(healthCheckIssues({ ...check, validation: { type: 'jsonRegex', value: '(unclosed' } }, 'ssh')[0]).toMatchObject({ field: 'healthCheck.validation.value' });
    expect(healthCheckIssues({ ...check, validation: { type: 'statusCode', value: 'ok' } }, 'ssh')[0]).toMatchObject({ field: 'healthCheck.validation.value' });
    expect(healthCheckIssues({ ...check, type: 'ssh', endpoint: undefined }, 'local')[0]).toMatchObject({ field: 'healthCheck.type' });
    expect(healthCheckIssues({ ...check, type: 'tcp', endpoint: 'nope' }, 'ssh')[0]).toMatchObject({ field: 'healthCheck.endpoint' });
  });

  it('requires the command or URL an enabled restart/upgrade needs', () => {
    expect(commandIssues({ type: 'ssh', restart: { enabled: true } })[0]?.field).toBe('commands.restart.command');
    expect(commandIssues({ type: 'http', restart: { enabled: true } })[0]?.field).toBe('commands.restart.url');
    expect(commandIssues({ type: 'ssh', restart: { enabled: false } })).toEqual([]);
    expect(upgradeIssues({ type: 'ssh', enabled: true, command: 'pb-upgrade' })[0]).toMatchObject({ field: 'upgradeConfig.command', message: expect.stringMatching(/VERSION/) });
    expect(upgradeIssues({ type: 'ssh', enabled: true, command: 'pb-upgrade {VERSION}' })).toEqual([]);
  });

  it('reads private keys, with and without passphrase, and names the field that is wrong', () => {
    const dir = mkdtempSync(join(tmpdir(), 'keys-'));
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', join(dir, 'plain')]);
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', 'secret phrase', '-f', join(dir, 'enc')]);
    const plain = readFileSync(join(dir, 'plain'), 'utf8');
    const enc = readFileSync(join(dir, 'enc'), 'utf8');
    const expected = execFileSync('ssh-keygen', ['-l', '-E', 'sha256', '-f', join(dir, 'plain.pub')]).toString().split(' ')[1];
    expect(inspectPrivateKey(plain, undefined)).toEqual({ fingerprint: expected });
    expect(inspectPrivateKey(enc, 'secret phrase')).toHaveProperty('fingerprint');
    expect(inspectPrivateKey(enc, undefined)).toMatchObject({ field: 'credentials.passphrase' });
    expect(inspectPrivateKey(enc, 'wrong')).toMatchObject({ field: 'credentials.passphrase' });
    expect(inspectPrivateKey(plain, 'unneeded')).toEqual({ field: 'credentials.passphrase', message: 'is not needed: the private key is not encrypted' });
    expect(inspectPrivateKey('not a key', undefined)).toMatchObject({ field: 'credentials.privateKey' });
    expect(inspectPrivateKey(readFileSync(join(dir, 'plain.pub'), 'utf8'), undefined)).toMatchObject({ field: 'credentials.privateKey' });
  });

  it('extracts version lists by path', () => {
    expect(extractVersions({ versions: ['7.8.4', '7.9.0'] }, 'versions')).toEqual(['7.8.4', '7.9.0']);
    expect(extractVersions({ data: { releases: [{ tag: 'v1' }, { tag: 'v2' }] } }, 'data.releases[*].tag')).toEqual(['v1', 'v2']);
    expect(extractVersions([{ name: 'a' }, { name: 'b' }], '$[*].name')).toEqual(['a', 'b']);
    expect(extractVersions(['x', 'y'], '')).toEqual(['x', 'y']);
    expect(extractVersions({ versions: ['1.0.0', '1.1.0'] }, undefined)).toEqual(['1.0.0', '1.1.0']);
    expect(extractVersions({ versions: 'nope' }, 'missing')).toEqual([]);
  });
});
