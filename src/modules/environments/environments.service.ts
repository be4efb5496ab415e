import type { Static } from 'typebox';
import { isUniqueViolation } from '../../db/errors.js';
import type { Clock } from '../../lib/clock.js';
import { AlreadyExistsError, ConflictError, NotFoundError, ValidationError, type FieldIssue } from '../../lib/errors.js';
import { newId } from '../../lib/ids.js';
import type { SecretBox } from '../../lib/secret-box.js';
import type { AuditService } from '../audit/audit.service.js';
import type { Actor } from '../auth/auth.types.js';
import type { Publisher } from '../hub/hub.js';
import { topics } from '../hub/topics.js';
import type { SettingsService } from '../settings/settings.service.js';
import type { HostKeyEvent, SshTarget } from '../ssh/ssh-pool.js';
import { initialStatus } from '../health/health.fns.js';
import type { SystemInfo } from './system-info.fns.js';
import { commandIssues, healthCheckIssues, inspectPrivateKey, isValidHost, upgradeIssues } from './environments.fns.js';
import { configSecrets, destinationOf, hasPlainSecrets, mapConfigSecrets, publicCommand, publicHealthCheck, type SecretConfig } from './config-secrets.js';
import type { EnvironmentListFilter, EnvironmentRecord, EnvironmentsRepo } from './environments.repo.js';
import type { CreateEnvironmentBody, UpdateEnvironmentBody } from './environments.schemas.js';
import {
  LOCAL_ENVIRONMENT_ID,
  type CommandConfig,
  type CommandDetails,
  type Environment,
  type HealthCheckConfig,
  type HealthStatus,
  type Runtime,
  type StoredCredentials,
  type UpgradeConfig,
} from './environments.types.js';

export type CreateEnvironmentInput = Static<typeof CreateEnvironmentBody>;
export type UpdateEnvironmentInput = Static<typeof UpdateEnvironmentBody>;

/** Told about every change, so the health scheduler and SSH pool follow at once. */
export interface EnvironmentObserver {
  /** `resetStatus`: health starts over (a new host key was accepted). */
  changed(record: EnvironmentRecord, options: { resetStatus: boolean }): void;
  removed(id: string): void;
}

const DEFAULT_SSH_CHECK: HealthCheckConfig = { enabled: true, type: 'ssh', interval: 60, timeout: 10, retries: 2 };
/** This machine is checked like a server: a probe process started here (see the check runner). */
const LOCAL_CHECK: HealthCheckConfig = { enabled: true, type: 'local', interval: 60, timeout: 10, retries: 1 };
/** What versions before local checks stored: no check, and a status that said healthy without looking. */
const isUncheckedLocal = (record: EnvironmentRecord) => record.healthCheck.type === 'none' && !record.healthCheck.enabled && record.status.message === 'this server';
const DEFAULT_RUNTIME: Runtime = { passivbotDir: 'passivbot', pythonPath: 'python3', kind: 'v7', workDir: 'pbfleet' };
const SECRET_FIELDS = ['privateKey', 'passphrase', 'password'] as const;


export interface EnvironmentsServiceDeps {
  repo: EnvironmentsRepo;
  secretBox: SecretBox;
  settings: Pick<SettingsService, 'view'>;
  audit: Pick<AuditService, 'record'>;
  publisher: Publisher;
  clock: Clock;
  dataDir: string;
  /** How many bot instances live on an environment (deleting one with bots needs force). */
  countInstances: (environmentId: string) => Promise<number>;
  /** Forced delete: its bots are stopped and deleted first. */
  deleteInstances: (environmentId: string, actor: Actor) => Promise<void>;
}

export function createEnvironmentsService(deps: EnvironmentsServiceDeps) {
  const { repo, secretBox, audit, publisher, clock } = deps;
  const observers: EnvironmentObserver[] = [];
  const now = () => clock.now().toISOString();
  const aad = (id: string, field: string) => `environment:${id}:${field}`;

  /** The local environment's runtime is whatever /settings/paths says right now. */
  async function localRuntime(): Promise<Runtime> {
    const paths = (await deps.settings.view(['paths'])).paths as Record<string, string>;
    return {
      passivbotDir: paths.passivbotDir ?? '',
      pythonPath: paths.pythonPath ?? 'python3',
      kind: paths.passivbotKind === 'cli' ? 'cli' : 'v7',
      workDir: paths.dataDir || `${deps.dataDir}/bots`,
    };
  }

  async function toPublic(record: EnvironmentRecord): Promise<Environment> {
    const c = record.credentials;
    return {
      ...record,
      healthCheck: publicHealthCheck(record.healthCheck),
      commands: record.commands && { ...record.commands, restart: publicCommand(record.commands.restart) },
      upgradeConfig: record.upgradeConfig && publicCommand(record.upgradeConfig),
      runtime: record.kind === 'local' ? await localRuntime() : record.runtime,
      credentials: c && {
        type: c.type,
        username: c.username,
        hasPrivateKey: Boolean(c.privateKey),
        hasPassphrase: Boolean(c.passphrase),
        hasPassword: Boolean(c.password),
        keyFingerprint: c.keyFingerprint ?? null,
      },
    };
  }

  async function mustFind(id: string): Promise<EnvironmentRecord> {
    const record = await repo.findById(id);
    if (!record) throw new NotFoundError('environment', id);
    return record;
  }

  function openSecret(record: EnvironmentRecord, field: (typeof SECRET_FIELDS)[number]): string | undefined {
    const sealed = record.credentials?.[field];
    return sealed ? secretBox.open(sealed, aad(record.id, field)) : undefined;
  }

  /** Merges a credentials patch: secrets omitted are kept, null clears them. Validates the result. */
  function buildCredentials(id: string, current: StoredCredentials | null, patch: CreateEnvironmentInput['credentials'] | UpdateEnvironmentInput['credentials'], issues: FieldIssue[]): StoredCredentials | null {
    if (!patch) return current;
    const next: StoredCredentials = { type: patch.type ?? current?.type ?? 'key', username: patch.username ?? current?.username ?? '' };
    const plain: Partial<Record<(typeof SECRET_FIELDS)[number], string>> = {};
    for (const field of SECRET_FIELDS) {
      const given = patch[field];
      if (given === null) continue;
      if (given !== undefined) {
        plain[field] = given;
        next[field] = secretBox.seal(given, aad(id, field));
      } else if (current?.[field]) {
        next[field] = current[field];
        plain[field] = secretBox.open(current[field], aad(id, field));
      }
    }
    if (!next.username) issues.push({ field: 'credentials.username', message: 'is required' });
    if (next.type === 'key') {
      if (!plain.privateKey) issues.push({ field: 'credentials.privateKey', message: 'is required for key authentication' });
      else {
        const inspected = inspectPrivateKey(plain.privateKey, plain.passphrase);
        if ('field' in inspected) issues.push(inspected);
        else next.keyFingerprint = inspected.fingerprint;
      }
    } else if (!plain.password) issues.push({ field: 'credentials.password', message: 'is required for password authentication' });
    return next;
  }

  /**
   * Merges the health check and commands of a request with the stored ones: header values and
   * secret bodies are sealed, and kept when left out. Returns what to store and the commands
   * in clear, to validate.
   */
  function buildSecretConfig(id: string, current: SecretConfig | null, input: Pick<UpdateEnvironmentInput, 'healthCheck' | 'commands' | 'upgradeConfig'>, issues: FieldIssue[]) {
    const secrets = configSecrets(secretBox, id);
    let healthCheck = current?.healthCheck ?? DEFAULT_SSH_CHECK;
    if (input.healthCheck) {
      const { headers, ...rest } = input.healthCheck;
      const before = current?.healthCheck.type === 'http' ? current.healthCheck.endpoint : undefined;
      const destination = rest.type === 'http' ? destinationOf(before, rest.endpoint) : 'none';
      const merged = secrets.mergeHeaders('healthCheck', 'healthCheck.headers', current?.healthCheck.headers, headers, destination, issues);
      healthCheck = { ...rest, ...(merged.stored && { headers: merged.stored }) };
    }
    let commands = current?.commands ?? null;
    let plainCommands: CommandConfig | null = commands && { ...commands, restart: secrets.openCommand('commands.restart', commands.restart) };
    if (input.commands !== undefined) {
      const merged = input.commands && secrets.mergeCommand('commands.restart', 'commands.restart', current?.commands?.restart, input.commands.restart, issues);
      commands = input.commands && merged && { type: input.commands.type, restart: merged.stored };
      plainCommands = input.commands && merged && { type: input.commands.type, restart: merged.plain };
    }
    let upgradeConfig = current?.upgradeConfig ?? null;
    let plainUpgrade: UpgradeConfig | null = upgradeConfig && secrets.openCommand('upgradeConfig', upgradeConfig);
    if (input.upgradeConfig !== undefined) {
      const merged = input.upgradeConfig && secrets.mergeCommand('upgradeConfig', 'upgradeConfig', current?.upgradeConfig ?? undefined, input.upgradeConfig, issues);
      upgradeConfig = merged ? merged.stored : null;
      plainUpgrade = merged ? merged.plain : null;
    }
    return { stored: { healthCheck, commands, upgradeConfig } satisfies SecretConfig, plain: { commands: plainCommands, upgradeConfig: plainUpgrade } };
  }

  function validate(record: EnvironmentRecord, plain: { commands: CommandConfig | null; upgradeConfig: UpgradeConfig | null }, issues: FieldIssue[]): void {
    if (record.target && !isValidHost(record.target.host)) issues.push({ field: 'target.host', message: 'must be a host name or IP address' });
    if (record.target?.domain && !isValidHost(record.target.domain)) issues.push({ field: 'target.domain', message: 'must be a host name' });
    issues.push(...healthCheckIssues(record.healthCheck, record.kind), ...commandIssues(plain.commands), ...upgradeIssues(plain.upgradeConfig));
    if (JSON.stringify(record.metadata).length > 16_384) issues.push({ field: 'metadata', message: 'must be at most 16 KB of JSON' });
    if (issues.length) throw new ValidationError(issues.map((i) => `${i.field}: ${i.message}`).join('; '), issues);
  }

  async function assertNameFree(name: string, exceptId?: string): Promise<void> {
    const other = await repo.findByName(name);
    if (other && other.id !== exceptId) throw new AlreadyExistsError('environment', 'name', name);
  }

  function notify(record: EnvironmentRecord | null, id: string, type: string, payload: unknown, resetStatus = false): void {
    if (record) observers.forEach((o) => o.changed(record, { resetStatus }));
    else observers.forEach((o) => o.removed(id));
    publisher.publish(topics.environments, type, payload);
    publisher.publish(topics.environment(id), type, payload);
  }

  const service = {
    observe(observer: EnvironmentObserver): void {
      observers.push(observer);
    },

    /** Creates the built-in `local` environment (this machine) if it is missing; gives an unchecked one its check. */
    async ensureLocal(): Promise<void> {
      const existing = await repo.findById(LOCAL_ENVIRONMENT_ID);
      if (existing && isUncheckedLocal(existing)) {
        await repo.setSecretConfig(LOCAL_ENVIRONMENT_ID, { healthCheck: LOCAL_CHECK, commands: existing.commands, upgradeConfig: existing.upgradeConfig });
        await repo.setStatus(LOCAL_ENVIRONMENT_ID, { ...initialStatus(), message: 'not checked yet' });
      }
      if (existing) return;
      const at = now();
      await repo
        .insert({
          id: LOCAL_ENVIRONMENT_ID,
          name: 'local',
          description: 'The machine pbfleet runs on',
          environmentURL: null,
          kind: 'local',
          target: null,
          credentials: null,
          hostKey: null,
          healthCheck: LOCAL_CHECK,
          status: { ...initialStatus(), message: 'not checked yet' },
          systemInfo: null,
          timestamps: { createdAt: at, updatedAt: at },
          commands: null,
          upgradeConfig: null,
          runtime: DEFAULT_RUNTIME,
          metadata: {},
        })
        .catch((error: unknown) => {
          if (!isUniqueViolation(error)) throw error;
        });
    },

    async list(filter: EnvironmentListFilter): Promise<{ environments: Environment[]; total: number }> {
      const result = await repo.list(filter);
      return { environments: await Promise.all(result.environments.map(toPublic)), total: result.total };
    },

    get: async (id: string) => toPublic(await mustFind(id)),
    /** The stored record, with the local environment's runtime resolved from settings. */
    async getRecord(id: string): Promise<EnvironmentRecord> {
      const record = await mustFind(id);
      return record.kind === 'local' ? { ...record, runtime: await localRuntime() } : record;
    },
    all: () => repo.all(),
    exists: (id: string) => repo.exists(id),

    async create(input: CreateEnvironmentInput, actor: Actor): Promise<Environment> {
      const id = newId();
      const issues: FieldIssue[] = [];
      const at = now();
      const secrets = buildSecretConfig(id, null, input, issues);
      const record: EnvironmentRecord = {
        id,
        name: input.name,
        description: input.description ?? '',
        environmentURL: input.environmentURL ?? null,
        kind: 'ssh',
        target: { host: input.target.host, port: input.target.port ?? 22, ...(input.target.domain && { domain: input.target.domain }) },
        credentials: buildCredentials(id, null, input.credentials, issues),
        hostKey: { fingerprint: input.hostKey?.fingerprint ?? null, pinned: Boolean(input.hostKey), trustedAt: input.hostKey ? at : null, mismatch: null },
        status: initialStatus(),
        systemInfo: null,
        timestamps: { createdAt: at, updatedAt: at },
        ...secrets.stored,
        runtime: { ...DEFAULT_RUNTIME, ...input.runtime },
        metadata: input.metadata ?? {},
      };
      validate(record, secrets.plain, issues);
      await assertNameFree(record.name);
      await repo.insert(record).catch((error: unknown) => {
        if (isUniqueViolation(error)) throw new AlreadyExistsError('environment', 'name', record.name);
        throw error;
      });
      const environment = await toPublic(record);
      await audit.record({
        type: 'action',
        level: 'success',
        action: 'environment_create',
        message: `environment ${record.name} created (${record.target?.host ?? ''}:${record.target?.port ?? ''})`,
        environmentId: id,
        environmentName: record.name,
        details: { host: record.target?.host, port: record.target?.port, username: record.credentials?.username, hostKeyPinned: record.hostKey?.pinned },
        actor,
      });
      notify(record, id, 'environment_created', environment);
      return environment;
    },

    async update(id: string, input: UpdateEnvironmentInput, actor: Actor): Promise<Environment> {
      const current = await mustFind(id);
      if (current.kind === 'local') {
        const refused = (['target', 'credentials', 'runtime', 'commands', 'upgradeConfig', 'name'] as const).find((f) => input[f] !== undefined);
        if (refused) {
          throw ValidationError.field(refused, refused === 'runtime' ? "the local environment's runtime is set in /settings/paths" : 'cannot be changed on the local environment');
        }
      }
      const issues: FieldIssue[] = [];
      const target = input.target ? { host: input.target.host, port: input.target.port ?? 22, ...(input.target.domain && { domain: input.target.domain }) } : current.target;
      const secrets = buildSecretConfig(id, current, input, issues);
      const record: EnvironmentRecord = {
        ...current,
        name: input.name ?? current.name,
        description: input.description ?? current.description,
        environmentURL: input.environmentURL === undefined ? current.environmentURL : input.environmentURL,
        target,
        credentials: buildCredentials(id, current.credentials, input.credentials, issues),
        ...secrets.stored,
        runtime: { ...current.runtime, ...input.runtime },
        metadata: input.metadata ?? current.metadata,
        timestamps: { ...current.timestamps, updatedAt: now() },
      };
      // A new address is a different host: its key is learned (or pinned) again.
      if (current.target && target && (target.host !== current.target.host || target.port !== current.target.port)) {
        record.hostKey = { fingerprint: null, pinned: false, trustedAt: null, mismatch: null };
      }
      validate(record, secrets.plain, issues);
      if (record.name !== current.name) await assertNameFree(record.name, id);
      await repo.replace(record).catch((error: unknown) => {
        if (isUniqueViolation(error)) throw new AlreadyExistsError('environment', 'name', record.name);
        throw error;
      });
      const changed = Object.keys(input).filter((k) => k !== 'credentials');
      const credentialChanges = input.credentials ? Object.keys(input.credentials).map((k) => (SECRET_FIELDS.includes(k as never) ? `${k === 'privateKey' ? 'key' : k} ${input.credentials?.[k as 'password'] === null ? 'cleared' : 'replaced'}` : k)) : [];
      const environment = await toPublic(record);
      await audit.record({
        type: 'action',
        level: 'success',
        action: 'environment_update',
        message: `environment ${record.name} updated: ${[...changed, ...credentialChanges.map((c) => `credentials ${c}`)].join(', ')}`,
        environmentId: id,
        environmentName: record.name,
        details: { fields: changed, credentialChanges },
        actor,
      });
      notify(record, id, 'environment_updated', environment);
      return environment;
    },

    async delete(id: string, force: boolean, actor: Actor): Promise<void> {
      if (id === LOCAL_ENVIRONMENT_ID) throw new ConflictError('the local environment cannot be deleted');
      const record = await mustFind(id);
      const instances = await deps.countInstances(id);
      if (instances > 0 && !force) throw new ConflictError(`environment ${record.name} has ${instances} bot instance(s); stop and remove them first, or use ?force=true`, { instances });
      if (instances > 0) await deps.deleteInstances(id, actor);
      await repo.delete(id);
      await audit.record({
        type: 'action',
        level: 'warning',
        action: 'environment_delete',
        message: `environment ${record.name} deleted${instances ? ` with ${instances} instance(s) (forced)` : ''}`,
        environmentId: id,
        environmentName: record.name,
        actor,
      });
      notify(null, id, 'environment_deleted', { id, name: record.name });
    },

    /** What the SSH pool needs to reach an environment; secrets opened only here. */
    sshTarget(record: EnvironmentRecord): SshTarget {
      if (record.kind !== 'ssh' || !record.target || !record.credentials) throw new ConflictError(`environment ${record.name} is not reached over SSH`);
      return {
        id: record.id,
        host: record.target.host,
        port: record.target.port,
        username: record.credentials.username,
        privateKey: openSecret(record, 'privateKey'),
        passphrase: openSecret(record, 'passphrase'),
        password: openSecret(record, 'password'),
        knownFingerprint: record.hostKey?.fingerprint ?? null,
      };
    },

    localRuntime,

    /** A command as it is run, header values and a secret body in clear; opened only here. */
    openCommand(record: EnvironmentRecord, which: 'restart' | 'upgrade'): CommandDetails | undefined {
      const secrets = configSecrets(secretBox, record.id);
      if (which === 'restart') return record.commands ? secrets.openCommand('commands.restart', record.commands.restart) : undefined;
      return record.upgradeConfig ? secrets.openCommand('upgradeConfig', record.upgradeConfig) : undefined;
    },

    /** The health check as the probes use it, header values in clear. */
    openHealthCheck: (record: EnvironmentRecord): HealthCheckConfig => configSecrets(secretBox, record.id).openHealthCheck(record.healthCheck),

    /** Seals header values stored in clear by an older version; run at start. Returns how many environments changed. */
    async sealPlainSecrets(): Promise<number> {
      let count = 0;
      for (const record of await repo.all()) {
        if (!hasPlainSecrets(record)) continue;
        const sealed = mapConfigSecrets(record.id, record, (value, aad) => (typeof value === 'string' ? { sealed: secretBox.seal(value, aad) } : value));
        await repo.setSecretConfig(record.id, sealed);
        count += 1;
      }
      return count;
    },

    /** Called by the SSH pool: learns a first key, or records a changed one and refuses it. */
    async onHostKey(event: HostKeyEvent): Promise<void> {
      const record = await repo.findById(event.id);
      if (!record) return;
      const at = now();
      if (event.kind === 'first_seen') {
        if (record.hostKey?.fingerprint) return;
        await repo.setHostKey(record.id, { fingerprint: event.fingerprint, pinned: false, trustedAt: at, mismatch: null }, at);
        await audit.record({ type: 'system', level: 'info', action: 'host_key_trusted', message: `${record.name}: host key ${event.fingerprint} trusted on first use`, environmentId: record.id, environmentName: record.name, details: { fingerprint: event.fingerprint } });
        notify({ ...record, hostKey: { fingerprint: event.fingerprint, pinned: false, trustedAt: at, mismatch: null } }, record.id, 'environment_updated', { id: record.id, hostKey: event.fingerprint });
        return;
      }
      if (record.hostKey?.mismatch?.fingerprint === event.fingerprint) return;
      const hostKey = { fingerprint: record.hostKey?.fingerprint ?? event.expected ?? null, pinned: record.hostKey?.pinned ?? false, trustedAt: record.hostKey?.trustedAt ?? null, mismatch: { fingerprint: event.fingerprint, seenAt: at } };
      await repo.setHostKey(record.id, hostKey, at);
      const status: HealthStatus = { ...record.status, health: 'host_key_mismatch', lastCheck: at, message: `host key changed to ${event.fingerprint}; connections refused until an admin accepts it` };
      await repo.setStatus(record.id, status);
      await audit.record({
        type: 'error',
        level: 'error',
        action: 'host_key_mismatch',
        message: `${record.name}: host key changed (trusted ${hostKey.fingerprint ?? 'none'}, presented ${event.fingerprint}); connections refused`,
        environmentId: record.id,
        environmentName: record.name,
        details: { expected: hostKey.fingerprint, presented: event.fingerprint },
      });
      notify({ ...record, hostKey, status }, record.id, 'environment_updated', { id: record.id, status });
    },

    async acceptHostKey(id: string, fingerprint: string | undefined, actor: Actor): Promise<Environment> {
      const record = await mustFind(id);
      const presented = record.hostKey?.mismatch?.fingerprint;
      if (!presented) throw new ConflictError(`environment ${record.name} has no changed host key to accept`);
      if (fingerprint && fingerprint !== presented) throw ValidationError.field('fingerprint', `does not match the key the host presented (${presented})`);
      const at = now();
      const hostKey = { fingerprint: presented, pinned: true, trustedAt: at, mismatch: null };
      await repo.setHostKey(id, hostKey, at);
      const status: HealthStatus = { ...record.status, health: 'unknown', message: 'new host key accepted; not checked yet' };
      await repo.setStatus(id, status);
      await audit.record({
        type: 'action',
        level: 'warning',
        action: 'host_key_accept',
        message: `${record.name}: new host key ${presented} accepted (was ${record.hostKey?.fingerprint ?? 'none'})`,
        environmentId: id,
        environmentName: record.name,
        details: { previous: record.hostKey?.fingerprint ?? null, accepted: presented },
        actor,
      });
      const updated = { ...record, hostKey, status };
      notify(updated, id, 'environment_updated', await toPublic(updated), true);
      return toPublic(updated);
    },

    async setSystemInfo(id: string, info: SystemInfo): Promise<void> {
      await repo.setSystemInfo(id, info);
      publisher.publish(topics.environment(id), 'system_info', { environmentId: id, systemInfo: info });
    },
  };
  return service;
}

export type EnvironmentsService = ReturnType<typeof createEnvironmentsService>;
