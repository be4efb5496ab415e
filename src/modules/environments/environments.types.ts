import type { SystemInfo } from './system-info.fns.js';

export const HEALTH_STATES = ['healthy', 'unhealthy', 'degraded', 'pending', 'unknown', 'host_key_mismatch'] as const;
export type HealthState = (typeof HEALTH_STATES)[number];
/** `local`: the probe command run on this machine (the local environment only). */
export const CHECK_TYPES = ['http', 'tcp', 'ssh', 'local', 'none'] as const;
export type CheckType = (typeof CHECK_TYPES)[number];
export const HTTP_METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE'] as const;
export type HttpMethod = (typeof HTTP_METHODS)[number];

/** A secret as stored: sealed with the master key. */
export interface SealedValue {
  sealed: string;
}
/**
 * Header values as stored: sealed. A plain string is a value written before headers were
 * sealed; the server seals those at start (and `secrets rotate-key` does too).
 */
export type StoredHeaders = Record<string, SealedValue | string>;
/** Header values as the API shows them: names only. */
export type PublicHeaders = Record<string, { set: true }>;
export type PlainHeaders = Record<string, string>;

/** `H`: how header values are held (plain when used, sealed when stored, names only when shown). */
export interface HealthCheckConfig<H = PlainHeaders> {
  enabled: boolean;
  type: CheckType;
  /** http: the URL; tcp: `host:port` (default: the target host and SSH port). */
  endpoint?: string | undefined;
  method?: HttpMethod | undefined;
  /** Seconds between checks (5 to 86400). */
  interval: number;
  /** Seconds before a check gives up. */
  timeout: number;
  /** Failures in a row tolerated (status `pending`) before `unhealthy`. */
  retries: number;
  validation?: { type: 'statusCode' | 'jsonRegex' | 'bodyRegex'; value: string } | undefined;
  headers?: H | undefined;
  /** ssh, local: the probe command run on the host; exit 0 is healthy. */
  command?: string | undefined;
  /** Seconds above which a successful check counts as `degraded`. */
  degradedAfter?: number | undefined;
}

export interface HealthStatus {
  health: HealthState;
  lastCheck: string | null;
  message: string;
  /** Milliseconds of the last check. */
  responseTime: number | null;
  lastHealthyAt: string | null;
  consecutiveFailures: number;
}

export interface Target {
  host: string;
  port: number;
  domain?: string | undefined;
}

/** Stored form: secret parts sealed with the master key, never returned. */
export interface StoredCredentials {
  type: 'key' | 'password';
  username: string;
  privateKey?: string | undefined;
  passphrase?: string | undefined;
  password?: string | undefined;
  keyFingerprint?: string | undefined;
}

export interface PublicCredentials {
  type: 'key' | 'password';
  username: string;
  hasPrivateKey: boolean;
  hasPassphrase: boolean;
  hasPassword: boolean;
  keyFingerprint: string | null;
}

export interface HostKey {
  /** The trusted host key fingerprint (SHA256:...), null until first contact. */
  fingerprint: string | null;
  /** Set at creation by an admin rather than learned on first use. */
  pinned: boolean;
  trustedAt: string | null;
  /** A different key the host presented; connections are refused until it is accepted. */
  mismatch: { fingerprint: string; seenAt: string } | null;
}

/** A command as it is run: every value in clear. */
export interface CommandDetails {
  enabled: boolean;
  command?: string | undefined;
  url?: string | undefined;
  method?: HttpMethod | undefined;
  headers?: PlainHeaders | undefined;
  body?: Record<string, unknown> | undefined;
}

/** As stored: header values sealed; a body marked secret sealed whole (as JSON) in `sealedBody`. */
export interface StoredCommandDetails extends Omit<CommandDetails, 'headers'> {
  headers?: StoredHeaders | undefined;
  bodySecret?: boolean | undefined;
  sealedBody?: SealedValue | undefined;
}

/** As shown: header names only; a secret body is not shown (`bodySecret: true`). */
export interface PublicCommandDetails extends Omit<CommandDetails, 'headers'> {
  headers?: PublicHeaders | undefined;
  bodySecret?: boolean | undefined;
}

export interface CommandConfig<D = CommandDetails> {
  type: 'ssh' | 'http';
  restart: D;
}

export type UpgradeConfig<D = CommandDetails> = D & UpgradeSource;

export interface UpgradeSource {
  type: 'ssh' | 'http';
  /** Where the list of versions is published (JSON). */
  versionListURL?: string | undefined;
  /** Path to the list inside that JSON: `versions`, `data.releases[*].tag`. */
  versionPath?: string | undefined;
}

export interface Runtime {
  passivbotDir: string;
  pythonPath: string;
  kind: 'v7' | 'cli';
  /** pbfleet's working dir on the host; relative paths are under the SSH user's home. */
  workDir: string;
}

export interface SystemInfoItem<T> {
  value: T | null;
  /** Why value is null. */
  reason?: string;
}

export interface Environment {
  id: string;
  name: string;
  description: string;
  environmentURL: string | null;
  kind: 'local' | 'ssh';
  target: Target | null;
  credentials: PublicCredentials | null;
  hostKey: HostKey | null;
  healthCheck: HealthCheckConfig<PublicHeaders>;
  status: HealthStatus;
  systemInfo: SystemInfo | null;
  timestamps: { createdAt: string; updatedAt: string };
  commands: CommandConfig<PublicCommandDetails> | null;
  upgradeConfig: UpgradeConfig<PublicCommandDetails> | null;
  runtime: Runtime;
  metadata: Record<string, unknown>;
}

export const LOCAL_ENVIRONMENT_ID = 'local';
