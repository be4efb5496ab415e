import { createHash } from 'node:crypto';
import { isIP } from 'node:net';
import type { ParsedKey } from 'ssh2';
import { loadSsh2 } from '../ssh/ssh-pool.js';
import type { FieldIssue } from '../../lib/errors.js';
import { patternError } from '../../lib/safe-regex.js';
import { isStatusSpec } from '../health/probes.js';
import type { CommandConfig, HealthCheckConfig, UpgradeConfig } from './environments.types.js';

const LABEL = /^[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/;

/** A DNS name (RFC 1123 labels) or an IP address; a dotted number that is not an IP is neither. */
export function isValidHost(host: string): boolean {
  if (isIP(host)) return true;
  if (host.length > 253 || /^[\d.]+$/.test(host)) return false;
  return host.split('.').every((label) => LABEL.test(label));
}

export function isHttpUrl(text: string): boolean {
  try {
    const url = new URL(text);
    return (url.protocol === 'http:' || url.protocol === 'https:') && isValidHost(url.hostname.replace(/^\[|\]$/g, ''));
  } catch {
    return false;
  }
}

/** `host:port` for tcp checks. */
export function parseHostPort(text: string): { host: string; port: number } | undefined {
  const match = /^\[?([^\]]+?)\]?:(\d{1,5})$/.exec(text);
  if (!match) return undefined;
  const port = Number(match[2]);
  const host = match[1] ?? '';
  return port >= 1 && port <= 65535 && isValidHost(host) ? { host, port } : undefined;
}

export function healthCheckIssues(check: HealthCheckConfig<unknown>, kind: 'local' | 'ssh'): FieldIssue[] {
  const issues: FieldIssue[] = [];
  const field = (name: string, message: string) => issues.push({ field: `healthCheck.${name}`, message });
  if (check.timeout > check.interval) field('timeout', 'must not be longer than the interval');
  if (check.type === 'http') {
    if (!check.endpoint) field('endpoint', 'is required for http checks');
    else if (!isHttpUrl(check.endpoint)) field('endpoint', 'must be an http(s) URL with a valid host');
  }
  if (check.type === 'tcp' && check.endpoint && !parseHostPort(check.endpoint)) field('endpoint', 'must be host:port for tcp checks');
  if (check.type === 'ssh' && kind === 'local') field('type', 'ssh checks need an SSH environment');
  if (check.type === 'local' && kind !== 'local') field('type', 'local checks are for the local environment (this machine)');
  if (check.validation) {
    if (check.type !== 'http') field('validation', 'applies to http checks only');
    else if (check.validation.type === 'statusCode') {
      if (!isStatusSpec(check.validation.value)) field('validation.value', 'must be status codes like 200, 200-299 or 200,204');
    } else {
      const error = patternError(check.validation.value);
      if (error) field('validation.value', error);
    }
  }
  return issues;
}

export function commandIssues(commands: CommandConfig | null | undefined): FieldIssue[] {
  if (!commands?.restart.enabled) return [];
  if (commands.type === 'ssh' && !commands.restart.command) return [{ field: 'commands.restart.command', message: 'is required for ssh restart commands' }];
  if (commands.type === 'http' && !commands.restart.url) return [{ field: 'commands.restart.url', message: 'is required for http restart calls' }];
  if (commands.type === 'http' && commands.restart.url && !isHttpUrl(commands.restart.url)) return [{ field: 'commands.restart.url', message: 'must be an http(s) URL' }];
  return [];
}

export function upgradeIssues(upgrade: UpgradeConfig | null | undefined): FieldIssue[] {
  if (!upgrade?.enabled) return [];
  const issues: FieldIssue[] = [];
  if (upgrade.type === 'ssh' && !upgrade.command) issues.push({ field: 'upgradeConfig.command', message: 'is required for ssh upgrades' });
  if (upgrade.type === 'http' && !upgrade.url) issues.push({ field: 'upgradeConfig.url', message: 'is required for http upgrades' });
  const text = upgrade.type === 'ssh' ? upgrade.command : `${upgrade.url ?? ''}${JSON.stringify(upgrade.body ?? {})}`;
  if (text && !text.includes('{VERSION}')) issues.push({ field: upgrade.type === 'ssh' ? 'upgradeConfig.command' : 'upgradeConfig.url', message: 'must contain the {VERSION} placeholder' });
  if (upgrade.versionListURL && !isHttpUrl(upgrade.versionListURL)) issues.push({ field: 'upgradeConfig.versionListURL', message: 'must be an http(s) URL' });
  return issues;
}

/** Checks a private key (and passphrase) can be used; returns its public key fingerprint. */
export function inspectPrivateKey(privateKey: string, passphrase: string | undefined): { fingerprint: string } | FieldIssue {
  const parsed = loadSsh2().utils.parseKey(privateKey, passphrase);
  if (parsed instanceof Error) {
    const needsPassphrase = /no passphrase|passphrase/i.test(parsed.message);
    return needsPassphrase
      ? { field: 'credentials.passphrase', message: passphrase ? 'does not decrypt the private key' : 'is required: the private key is encrypted' }
      : { field: 'credentials.privateKey', message: 'is not a private key in OpenSSH or PEM format' };
  }
  const key: ParsedKey | undefined = Array.isArray(parsed) ? (parsed as ParsedKey[])[0] : parsed;
  if (!key || key.isPrivateKey() === false) return { field: 'credentials.privateKey', message: 'is a public key; a private key is needed' };
  // A passphrase for a key that has none would be stored and shown as set, for nothing.
  if (passphrase && !(loadSsh2().utils.parseKey(privateKey) instanceof Error)) return { field: 'credentials.passphrase', message: 'is not needed: the private key is not encrypted' };
  const blob = key.getPublicSSH();
  return { fingerprint: `SHA256:${createHash('sha256').update(blob).digest('base64').replace(/=+$/, '')}` };
}

/** Extracts a list of version strings from a JSON document: `versions`, `data.releases[*].tag`, `[*].name`. */
export function extractVersions(document: unknown, path: string | undefined): string[] {
  let nodes: unknown[] = [document];
  // Without a path: a bare list, or the `versions` list of an object ({"versions": [...]}).
  const effective = path || (document !== null && typeof document === 'object' && !Array.isArray(document) ? 'versions' : '');
  const steps = effective.replace(/^\$\.?/, '').match(/[^.[\]]+|\[\*\]|\[\d+\]/g) ?? [];
  for (const step of steps) {
    const next: unknown[] = [];
    for (const node of nodes) {
      if (step === '[*]') {
        if (Array.isArray(node)) next.push(...(node as unknown[]));
      } else if (/^\[\d+\]$/.test(step)) {
        if (Array.isArray(node)) next.push((node as unknown[])[Number(step.slice(1, -1))]);
      } else if (node !== null && typeof node === 'object') next.push((node as Record<string, unknown>)[step]);
    }
    nodes = next;
  }
  const flat = nodes.length === 1 && Array.isArray(nodes[0]) ? (nodes[0] as unknown[]) : nodes;
  return flat.filter((v): v is string | number => typeof v === 'string' || typeof v === 'number').map(String);
}
