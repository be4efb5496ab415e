import type { Static } from 'typebox';
import type { Db } from '../../db/database.js';
import { isUniqueViolation } from '../../db/errors.js';
import type { Clock } from '../../lib/clock.js';
import { AlreadyExistsError, ConflictError, NotFoundError, ValidationError } from '../../lib/errors.js';
import { newId } from '../../lib/ids.js';
import type { AuditService } from '../audit/audit.service.js';
import type { Actor } from '../auth/auth.types.js';
import type { EnvironmentsService } from '../environments/environments.service.js';
import type { Publisher } from '../hub/hub.js';
import { topics } from '../hub/topics.js';
import type { InstanceListFilter, InstancePatch, InstancesRepo } from './instances.repo.js';
import type { CreateInstanceBody, UpdateInstanceBody } from './instances.schemas.js';
import type { ConfigVersion, Instance, InstanceRecord } from './instances.types.js';
import type { LogStreams } from './logs/log-streams.js';
import { emptySummary } from './logs/log-lines.js';
import { approvedCoins, diffConfigs, onlyCoinListsChanged, validatePassivbotConfig, type ConfigChange } from './config/passivbot-config.js';
import type { Supervisor } from './supervisor/supervisor.js';

export type CreateInstanceInput = Static<typeof CreateInstanceBody>;
export type UpdateInstanceInput = Static<typeof UpdateInstanceBody>;

/** Writes of the supervisor and the service: persisted, then told to hub subscribers. */
export function createInstanceStore(deps: { repo: InstancesRepo; publisher: Publisher; clock: Clock }) {
  const { repo, publisher } = deps;
  const notify = (type: string, instance: Instance | { id: string }) => {
    publisher.publish(topics.instances, type, instance);
    publisher.publish(topics.instance(instance.id), type, instance);
  };
  return {
    notify,
    get: (id: string) => repo.get(id),
    async update(id: string, patch: InstancePatch): Promise<InstanceRecord | undefined> {
      const record = await repo.update(id, patch, deps.clock.now().toISOString());
      if (record) notify('instance_updated', toPublic(record));
      return record;
    },
    all: () => repo.all(),
    byEnvironment: (environmentId: string) => repo.byEnvironment(environmentId),
    accountsOnEnvironment: (environmentId: string) => repo.accountsOnEnvironment(environmentId),
  };
}

export type InstanceStoreImpl = ReturnType<typeof createInstanceStore>;

export interface InstancesServiceDeps {
  db: Db;
  repo: InstancesRepo;
  store: InstanceStoreImpl;
  supervisor: Pick<Supervisor, 'start' | 'stop' | 'restart' | 'forget' | 'applyCoinLists' | 'syncApiKeys' | 'isRunning'>;
  environments: Pick<EnvironmentsService, 'getRecord' | 'exists'>;
  accounts: { getByName(name: string): Promise<{ name: string; exchange: string }> };
  removeFiles(instance: InstanceRecord): Promise<void>;
  logs: Pick<LogStreams, 'close'>;
  audit: Pick<AuditService, 'record'>;
  clock: Clock;
}

/** Bulk and stop-all work on this many bots at once. */
const PARALLEL = 8;

export function toPublic(record: InstanceRecord): Instance {
  const { processStart: _start, crashTimes: _crashes, logOffset: _offset, ...instance } = record;
  return instance;
}

/** Runs `task` over `items`, `limit` at a time, keeping the input order in the results. */
export async function mapLimit<T, R>(items: readonly T[], limit: number, task: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    for (let i = next++; i < items.length; i = next++) results[i] = await task(items[i] as T);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}

export function createInstancesService(deps: InstancesServiceDeps) {
  const { repo, supervisor, audit, clock, store } = deps;
  const now = () => clock.now().toISOString();
  const notify = store.notify;
  const update = (id: string, patch: InstancePatch) => store.update(id, patch);

  async function mustFind(id: string): Promise<InstanceRecord> {
    const record = await repo.get(id);
    if (!record) throw new NotFoundError('instance', id);
    return record;
  }

  /** The config as stored: valid, with `live.user` set to the account it runs with. */
  function checkedConfig(config: Record<string, unknown>, account: string): Record<string, unknown> {
    const { issues } = validatePassivbotConfig(config);
    if (issues.length) {
      const fields = issues.map((i) => ({ field: i.path ? `config.${i.path}` : 'config', message: i.message }));
      throw new ValidationError(fields.map((f) => `${f.field}: ${f.message}`).join('; '), fields);
    }
    const live = typeof config.live === 'object' && config.live !== null && !Array.isArray(config.live) ? (config.live as Record<string, unknown>) : {};
    return { ...config, live: { ...live, user: account } };
  }

  async function account(name: string) {
    try {
      return await deps.accounts.getByName(name);
    } catch (error) {
      if (error instanceof NotFoundError) throw ValidationError.field('account', `no exchange account named ${name}`);
      throw error;
    }
  }

  async function environment(id: string) {
    if (!(await deps.environments.exists(id))) throw ValidationError.field('environmentId', `no environment ${id}`);
    return deps.environments.getRecord(id);
  }

  async function withAudit<T>(action: string, record: InstanceRecord, actor: Actor | null, message: string, details: Record<string, unknown> | undefined, task: () => Promise<T>): Promise<T> {
    const result = await task();
    await audit.record({ type: 'action', level: 'success', action, message, environmentId: record.environmentId, details: { instanceId: record.id, instance: record.name, ...details }, actor: actor ?? undefined });
    return result;
  }

  const service = {
    async list(filter: InstanceListFilter): Promise<{ instances: Instance[]; total: number }> {
      const { items, total } = await repo.list(filter);
      return { instances: items.map(toPublic), total };
    },

    async get(id: string): Promise<Instance> {
      return toPublic(await mustFind(id));
    },

    /** `origin`: the job result (and pareto entry) the config came from, for the audit trail. */
    async create(input: CreateInstanceInput, actor: Actor, origin?: { fromJob: string; fromEntry?: string }): Promise<Instance> {
      const env = await environment(input.environmentId);
      const acct = await account(input.account);
      const config = checkedConfig(input.config, acct.name);
      const at = now();
      const record: InstanceRecord = {
        id: newId(),
        name: input.name,
        environmentId: env.id,
        account: acct.name,
        exchange: acct.exchange,
        symbols: approvedCoins(config),
        config,
        runtime: input.runtime ?? env.runtime.kind,
        desiredState: 'stopped',
        status: 'stopped',
        pid: null,
        processStart: null,
        startedAt: null,
        restartCount: 0,
        lastExitCode: null,
        lastError: null,
        crashTimes: [],
        configVersion: 1,
        runningConfigVersion: null,
        restartNeeded: false,
        summary: emptySummary(),
        logOffset: 0,
        createdAt: at,
        updatedAt: at,
      };
      await deps.db
        .transaction()
        .execute((trx) => repo.insert(record, actor?.username ?? null, trx))
        .catch((error: unknown) => {
          if (isUniqueViolation(error)) throw new AlreadyExistsError('instance', 'name', record.name);
          throw error;
        });
      const instance = toPublic(record);
      await audit.record({
        type: 'action',
        level: 'success',
        action: 'instance_create',
        message: `bot ${record.name} created on ${env.name} (${record.exchange}, account ${record.account})${origin ? ` from job ${origin.fromJob}` : ''}`,
        environmentId: env.id,
        environmentName: env.name,
        details: { instanceId: record.id, instance: record.name, account: record.account, symbols: record.symbols, ...origin },
        actor,
      });
      notify('instance_created', instance);
      return instance;
    },

    async update(id: string, input: UpdateInstanceInput, actor: Actor): Promise<Instance> {
      const current = await mustFind(id);
      const running = supervisor.isRunning(id) || current.status === 'unknown';
      const moves = (['environmentId', 'account', 'runtime'] as const).find((f) => input[f] !== undefined && input[f] !== current[f]);
      if (moves && running) throw new ConflictError(`stop ${current.name} before changing its ${moves}`);
      const acct = input.account !== undefined ? await account(input.account) : { name: current.account, exchange: current.exchange };
      if (input.environmentId !== undefined) await environment(input.environmentId);
      const config = checkedConfig(input.config ?? current.config, acct.name);
      const changes = diffConfigs(current.config, config);
      const patch: InstancePatch = {
        ...(input.name !== undefined && { name: input.name }),
        ...(input.environmentId !== undefined && { environmentId: input.environmentId }),
        ...(input.runtime !== undefined && { runtime: input.runtime }),
        account: acct.name,
        exchange: acct.exchange,
      };
      if (changes.length) Object.assign(patch, { config, symbols: approvedCoins(config), configVersion: current.configVersion + 1 });
      // A coin-list change reaches a running bot through the files it re-reads: no restart. The
      // files are written first, so the new version is saved already running in the same write:
      // no reader (a GET, a hub event) ever sees it wanting a restart in between.
      const runningConfig = changes.length && current.runningConfigVersion !== null ? await repo.versionConfig(id, current.runningConfigVersion) : undefined;
      const appliedLive = runningConfig !== undefined && onlyCoinListsChanged(runningConfig, config) && (await supervisor.applyCoinLists({ ...current, config }));
      if (appliedLive) patch.runningConfigVersion = current.configVersion + 1;
      const at = now();
      const updated = await deps.db
        .transaction()
        .execute(async (trx) => {
          if (changes.length) await repo.addVersion(id, current.configVersion + 1, config, at, actor?.username ?? null, input.note ?? null, trx);
          return repo.update(id, patch, at, trx);
        })
        .catch(async (error: unknown) => {
          // Not saved: the running bot goes back to the coins of the config it runs.
          if (appliedLive) await supervisor.applyCoinLists({ ...current, config: runningConfig }).catch(() => undefined);
          if (isUniqueViolation(error)) throw new AlreadyExistsError('instance', 'name', input.name ?? current.name);
          throw error;
        });
      const record = updated ?? current;
      // api-keys.json holds exactly the accounts a host's bots use.
      if (record.environmentId !== current.environmentId) await syncKeysQuietly(current.environmentId, current);
      if (record.account !== current.account || record.environmentId !== current.environmentId) await syncKeysQuietly(record.environmentId);
      await audit.record({
        type: 'action',
        level: 'success',
        action: 'instance_update',
        message: `bot ${record.name} updated${changes.length ? ` (config v${record.configVersion}: ${changes.length} change(s))` : ''}`,
        environmentId: record.environmentId,
        details: { instanceId: id, instance: record.name, fields: Object.keys(input), configChanges: changes.slice(0, 50).map((c) => c.path) },
        actor,
      });
      const instance = toPublic(record);
      notify('instance_updated', instance);
      return instance;
    },

    /** Stops the bot (waiting for it), then deletes it and its files on the host. */
    async remove(id: string, actor: Actor): Promise<void> {
      const record = await mustFind(id);
      await repo.update(id, { desiredState: 'stopped' }, now());
      await supervisor.stop(id);
      if (supervisor.isRunning(id)) throw new ConflictError(`${record.name} did not stop; it was not deleted`);
      await supervisor.forget(id);
      deps.logs.close(id);
      await repo.remove(id);
      await deps.removeFiles(record).catch(() => undefined);
      await syncKeysQuietly(record.environmentId, record);
      await audit.record({ type: 'action', level: 'success', action: 'instance_delete', message: `bot ${record.name} deleted`, environmentId: record.environmentId, details: { instanceId: id, instance: record.name }, actor });
      notify('instance_deleted', { id });
    },

    /**
     * An environment is being deleted: its bots are stopped and deleted. A bot whose host
     * cannot be reached is deleted anyway (the audit says it may still run there).
     */
    async removeAllOn(environmentId: string, actor: Actor): Promise<void> {
      for (const record of await repo.byEnvironment(environmentId)) {
        try {
          await service.remove(record.id, actor);
        } catch (error) {
          await supervisor.forget(record.id);
          deps.logs.close(record.id);
          await repo.remove(record.id);
          await audit.record({
            type: 'action',
            level: 'warning',
            action: 'instance_delete',
            message: `bot ${record.name} deleted with its environment without being stopped (${error instanceof Error ? error.message : String(error)}); it may still run on the host`,
            environmentId,
            details: { instanceId: record.id, instance: record.name },
            actor,
          });
          notify('instance_deleted', { id: record.id });
        }
      }
    },

    async start(id: string, actor: Actor | null): Promise<Instance> {
      const record = await mustFind(id);
      return withAudit('instance_start', record, actor, `bot ${record.name} started`, undefined, async () => {
        // An explicit start is also how a bot in `error` gets another chance.
        await repo.update(id, { desiredState: 'running', ...(record.status === 'error' && { crashTimes: [], status: 'stopped' }) }, now());
        await supervisor.start(id);
        return toPublic(await mustFind(id));
      });
    },

    async stop(id: string, actor: Actor | null): Promise<Instance> {
      const record = await mustFind(id);
      return withAudit('instance_stop', record, actor, `bot ${record.name} stopped`, undefined, async () => {
        await update(id, { desiredState: 'stopped' });
        await supervisor.stop(id);
        return toPublic(await mustFind(id));
      });
    },

    async restart(id: string, actor: Actor | null): Promise<Instance> {
      const record = await mustFind(id);
      return withAudit('instance_restart', record, actor, `bot ${record.name} restarted`, { configVersion: record.configVersion }, async () => {
        await repo.update(id, { desiredState: 'running', ...(record.status === 'error' && { crashTimes: [] }) }, now());
        await supervisor.restart(id);
        return toPublic(await mustFind(id));
      });
    },

    async bulk(action: 'start' | 'stop' | 'restart', ids: readonly string[], actor: Actor) {
      const results = await mapLimit(ids, PARALLEL, async (id) => {
        try {
          const instance = await service[action](id, actor);
          return { id, ok: !['error', 'unknown'].includes(instance.status), status: instance.status, ...(instance.status === 'error' && instance.lastError ? { error: instance.lastError } : {}) };
        } catch (error) {
          return { id, ok: false, error: error instanceof Error ? error.message : String(error) };
        }
      });
      return { action, results };
    },

    /** Emergency stop of every bot on every environment. */
    async stopAll(actor: Actor) {
      const all = (await repo.all()).filter((i) => i.desiredState === 'running' || i.pid !== null || !['stopped', 'error'].includes(i.status));
      const results = await mapLimit(all, PARALLEL, async (instance) => {
        try {
          await repo.update(instance.id, { desiredState: 'stopped' }, now());
          await supervisor.stop(instance.id);
          return { instance, error: supervisor.isRunning(instance.id) ? 'did not stop' : null };
        } catch (error) {
          return { instance, error: error instanceof Error ? error.message : String(error) };
        }
      });
      const failed = results.filter((r) => r.error !== null).map((r) => ({ id: r.instance.id, name: r.instance.name, error: r.error as string }));
      await audit.record({
        type: 'action',
        level: failed.length ? 'warning' : 'success',
        action: 'instance_stop_all',
        message: `emergency stop: ${results.length - failed.length} bot(s) stopped${failed.length ? `, ${failed.length} failed` : ''}`,
        details: { stopped: results.length - failed.length, failed: failed.map((f) => f.name) },
        actor,
      });
      return { stopped: results.length - failed.length, failed };
    },

    async versions(id: string): Promise<{ currentVersion: number; runningVersion: number | null; versions: ConfigVersion[] }> {
      const record = await mustFind(id);
      return { currentVersion: record.configVersion, runningVersion: record.pid !== null ? record.runningConfigVersion : null, versions: await repo.versions(id) };
    },

    async version(id: string, version: number, against?: number): Promise<{ version: number; config: Record<string, unknown>; against: number; changes: ConfigChange[] }> {
      const record = await mustFind(id);
      const config = await repo.versionConfig(id, version);
      if (!config) throw new NotFoundError('config version', String(version));
      const base = against ?? record.configVersion;
      const other = base === record.configVersion ? record.config : await repo.versionConfig(id, base);
      if (!other) throw new NotFoundError('config version', String(base));
      return { version, config, against: base, changes: diffConfigs(other, config) };
    },

    async restore(id: string, version: number, actor: Actor): Promise<Instance> {
      const record = await mustFind(id);
      const config = await repo.versionConfig(id, version);
      if (!config) throw new NotFoundError('config version', String(version));
      if (record.configVersion === version) return toPublic(record);
      return service.update(id, { config, note: `restored from v${version}` }, actor);
    },
  };

  async function syncKeysQuietly(environmentId: string, removed?: InstanceRecord): Promise<void> {
    await supervisor.syncApiKeys(environmentId, removed).catch(() => undefined);
  }

  return service;
}

export type InstancesService = ReturnType<typeof createInstancesService>;
