import type { FieldIssue } from '../../lib/errors.js';
import type { SecretBox } from '../../lib/secret-box.js';
import type {
  CommandDetails,
  CommandConfig,
  HealthCheckConfig,
  PlainHeaders,
  PublicCommandDetails,
  PublicHeaders,
  SealedValue,
  StoredCommandDetails,
  StoredHeaders,
  UpgradeConfig,
} from './environments.types.js';

/**
 * Header values of HTTP health checks and HTTP commands, and a command body marked secret,
 * are credentials (webhook tokens): sealed at rest and write-only, like SSH credentials.
 * The API shows header names only (`{ set: true }`).
 */

/** Where a secret lives in an environment's configuration. */
export type SecretPlace = 'healthCheck' | 'commands.restart' | 'upgradeConfig';

/** Binds a sealed value to its environment, place and header, so it cannot be moved elsewhere. */
export const headerAad = (environmentId: string, place: SecretPlace, name: string) => `environment:${environmentId}:${place}:header:${name}`;
export const bodyAad = (environmentId: string, place: SecretPlace) => `environment:${environmentId}:${place}:body`;

/** A header in a request: a value sets it, `null` removes it, `{}` / `{ set: true }` (or leaving it out) keeps it. */
export type HeaderInput = string | null | { set?: true | undefined };
export type HeadersInput = Record<string, HeaderInput> | null | undefined;

export interface CommandInput extends Omit<CommandDetails, 'headers' | 'body'> {
  headers?: HeadersInput;
  body?: Record<string, unknown> | null | undefined;
  bodySecret?: boolean | undefined;
}

/** The parts of an environment's configuration that hold secrets, as stored. */
export interface SecretConfig {
  healthCheck: HealthCheckConfig<StoredHeaders>;
  commands: CommandConfig<StoredCommandDetails> | null;
  upgradeConfig: UpgradeConfig<StoredCommandDetails> | null;
}

/** Origin of a URL (a template with {VERSION} too); a stored secret is sent only where it was meant to go. */
function originOf(url: string | undefined): string {
  if (!url) return '';
  try {
    return new URL(url.replaceAll('{VERSION}', 'v')).origin;
  } catch {
    return url;
  }
}

/**
 * Whether stored secrets may stay with a changed configuration: `same` origin keeps them,
 * `none` (no URL any more) drops them, `other` asks for them again.
 */
export type Destination = 'same' | 'other' | 'none';
export function destinationOf(currentUrl: string | undefined, nextUrl: string | undefined): Destination {
  if (!nextUrl) return 'none';
  return originOf(currentUrl) === originOf(nextUrl) ? 'same' : 'other';
}

export function publicHeaders(stored: StoredHeaders | undefined): PublicHeaders | undefined {
  return stored && Object.fromEntries(Object.keys(stored).map((name) => [name, { set: true as const }]));
}

export function publicCommand<T extends StoredCommandDetails>(stored: T): Omit<T, 'headers' | 'sealedBody'> & PublicCommandDetails {
  const { headers, sealedBody: _sealed, ...rest } = stored;
  return { ...rest, ...(headers && { headers: publicHeaders(headers) }) };
}

export function publicHealthCheck(stored: HealthCheckConfig<StoredHeaders>): HealthCheckConfig<PublicHeaders> {
  const { headers, ...rest } = stored;
  return { ...rest, ...(headers && { headers: publicHeaders(headers) }) };
}

/**
 * Applies `convert` to every secret of a stored configuration: key rotation re-seals them,
 * the start-up pass seals plain values left by an older version. Returns a new configuration.
 */
export function mapConfigSecrets(environmentId: string, config: SecretConfig, convert: (value: SealedValue | string, aad: string) => SealedValue): SecretConfig {
  const headers = (place: SecretPlace, stored: StoredHeaders | undefined) =>
    stored && Object.fromEntries(Object.entries(stored).map(([name, value]) => [name, convert(value, headerAad(environmentId, place, name))]));
  const command = <T extends StoredCommandDetails>(place: SecretPlace, stored: T): T => ({
    ...stored,
    ...(stored.headers && { headers: headers(place, stored.headers) }),
    ...(stored.sealedBody && { sealedBody: convert(stored.sealedBody, bodyAad(environmentId, place)) }),
  });
  return {
    healthCheck: { ...config.healthCheck, ...(config.healthCheck.headers && { headers: headers('healthCheck', config.healthCheck.headers) }) },
    commands: config.commands && { ...config.commands, restart: command('commands.restart', config.commands.restart) },
    upgradeConfig: config.upgradeConfig && command('upgradeConfig', config.upgradeConfig),
  };
}

/** True when some header value is still stored in clear (written before headers were sealed). */
export function hasPlainSecrets(config: SecretConfig): boolean {
  const plain = (headers: StoredHeaders | undefined) => Object.values(headers ?? {}).some((v) => typeof v === 'string');
  return plain(config.healthCheck.headers) || plain(config.commands?.restart.headers) || plain(config.upgradeConfig?.headers);
}

/** Seals and opens the secrets of one environment's configuration. */
export function configSecrets(box: SecretBox, environmentId: string) {
  const open = (value: SealedValue | string, aad: string) => (typeof value === 'string' ? value : box.open(value.sealed, aad));
  const seal = (plain: string, aad: string): SealedValue => ({ sealed: box.seal(plain, aad) });

  function openHeaders(place: SecretPlace, stored: StoredHeaders | undefined): PlainHeaders | undefined {
    return stored && Object.fromEntries(Object.entries(stored).map(([name, value]) => [name, open(value, headerAad(environmentId, place, name))]));
  }

  /**
   * Merges a request's headers with the stored ones: names left out are kept, `null` removes,
   * `headers: null` removes all. A value is kept only while the URL's origin stays the same:
   * otherwise an admin could send a token they cannot read to a server of their choosing.
   */
  function mergeHeaders(place: SecretPlace, field: string, current: StoredHeaders | undefined, input: HeadersInput, destination: Destination, issues: FieldIssue[]) {
    if (input === null) return { stored: undefined, plain: undefined };
    const stored: StoredHeaders = {};
    const plain: PlainHeaders = {};
    const keep = (name: string, value: SealedValue | string, explicit: boolean) => {
      if (destination !== 'same') {
        if (explicit || destination === 'other') issues.push({ field: `${field}.${name}`, message: 'give the value again: the URL points to another origin' });
        return;
      }
      stored[name] = typeof value === 'string' ? seal(value, headerAad(environmentId, place, name)) : value;
      plain[name] = open(value, headerAad(environmentId, place, name));
    };
    // Header names are case-insensitive: a name given in another case replaces the stored one.
    const given = new Set(Object.keys(input ?? {}).map((n) => n.toLowerCase()));
    for (const [name, value] of Object.entries(current ?? {})) if (!given.has(name.toLowerCase())) keep(name, value, false);
    for (const [name, value] of Object.entries(input ?? {})) {
      if (value === null) continue;
      if (typeof value === 'string') {
        stored[name] = seal(value, headerAad(environmentId, place, name));
        plain[name] = value;
        continue;
      }
      const existing = current?.[name];
      if (existing === undefined) issues.push({ field: `${field}.${name}`, message: 'has no stored value to keep; give the value' });
      else keep(name, existing, true);
    }
    return Object.keys(stored).length ? { stored, plain } : { stored: undefined, plain: undefined };
  }

  /** The body: given, `null` removed, left out kept (a secret one only for the same origin). */
  function mergeBody(place: SecretPlace, field: string, current: StoredCommandDetails | undefined, input: CommandInput, destination: Destination, issues: FieldIssue[]) {
    const secret = input.bodySecret ?? current?.bodySecret ?? false;
    let body: Record<string, unknown> | undefined;
    if (input.body === null) body = undefined;
    else if (input.body !== undefined) body = input.body;
    else if (current?.sealedBody) {
      if (!secret) issues.push({ field: `${field}.body`, message: 'give the body to make a secret body public' });
      else if (destination === 'other') issues.push({ field: `${field}.body`, message: 'give the secret body again: the URL points to another origin' });
      else if (destination === 'same') body = JSON.parse(open(current.sealedBody, bodyAad(environmentId, place))) as Record<string, unknown>;
    } else body = current?.body;
    if (body === undefined) return { stored: {}, plain: {} };
    if (!secret) return { stored: { body }, plain: { body } };
    return { stored: { bodySecret: true, sealedBody: seal(JSON.stringify(body), bodyAad(environmentId, place)) }, plain: { body } };
  }

  /** A command from a request merged with the stored one: what to store, and the same in clear (to validate). */
  function mergeCommand<T extends CommandInput>(place: SecretPlace, field: string, current: StoredCommandDetails | undefined, input: T, issues: FieldIssue[]) {
    const { headers: headersIn, body: _body, bodySecret: _secret, ...rest } = input;
    const destination = destinationOf(current?.url, input.url);
    const headers = mergeHeaders(place, `${field}.headers`, current?.headers, headersIn, destination, issues);
    const body = mergeBody(place, field, current, input, destination, issues);
    return {
      stored: { ...rest, ...(headers.stored && { headers: headers.stored }), ...body.stored } as Omit<T, keyof CommandInput> & StoredCommandDetails,
      plain: { ...rest, ...(headers.plain && { headers: headers.plain }), ...body.plain } as Omit<T, keyof CommandInput> & CommandDetails,
    };
  }

  function openCommand<T extends StoredCommandDetails>(place: SecretPlace, stored: T): Omit<T, 'headers' | 'sealedBody' | 'bodySecret'> & CommandDetails {
    const { headers, sealedBody, bodySecret: _secret, ...rest } = stored;
    return {
      ...rest,
      ...(headers && { headers: openHeaders(place, headers) }),
      ...(sealedBody && { body: JSON.parse(open(sealedBody, bodyAad(environmentId, place))) as Record<string, unknown> }),
    };
  }

  return {
    openHeaders,
    mergeHeaders,
    mergeCommand,
    openCommand,
    /** The health check as probes use it: header values in clear. */
    openHealthCheck(stored: HealthCheckConfig<StoredHeaders>): HealthCheckConfig {
      const { headers, ...rest } = stored;
      return { ...rest, ...(headers && { headers: openHeaders('healthCheck', headers) }) };
    },
  };
}
