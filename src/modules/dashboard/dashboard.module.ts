import { API_PREFIX, type Api, type Core } from '../core.js';
import type { EnvironmentsService } from '../environments/environments.service.js';
import { topics } from '../hub/topics.js';
import type { BotHost } from '../instances/hosts/bot-host.js';
import type { RuntimeShape } from '../instances/hosts/bot-layout.fns.js';
import type { SshPool } from '../ssh/ssh-pool.js';
import { DashboardIngest, type IngestBot, type IngestTiming } from './dashboard.ingest.js';
import { localFiles, remoteFiles, type HostFiles } from './dashboard.reader.js';
import { createDashboardRepo } from './dashboard.repo.js';
import { dashboardRoutes } from './dashboard.routes.js';
import { createDashboardService } from './dashboard.service.js';

export interface DashboardModuleDeps extends Pick<Core, 'config' | 'db' | 'clock' | 'log' | 'hub' | 'lifecycle'> {
  environments: Pick<EnvironmentsService, 'getRecord' | 'sshTarget' | 'observe'>;
  sshPool: SshPool;
  /** The bots' hosts (instances module): where a bot's working directory is. */
  hostFor(environmentId: string): Promise<BotHost>;
  timing?: Partial<IngestTiming> & { roundMs?: number };
}

/** Balance samples older than this many days are thinned to one an hour. */
export const SAMPLE_DETAIL_DAYS = 30;

const DEFAULT_TIMING: IngestTiming & { roundMs: number } = {
  roundMs: 1000,
  hostIntervalMs: 1000,
  maxBytesPerRound: 8 * 1024 * 1024,
  sampleIntervalMs: 60_000,
  staleAfterMs: 90_000,
};

/**
 * The dashboard: balance, PnL and positions of every account and bot, from the files the bots
 * already write on their hosts (Passivbot's monitor snapshots and fill-events cache), read in
 * one batched stat and one read per host per round. Publishes on the `dashboard` hub topic at
 * most once per round (1 s), only when something changed.
 */
export function createDashboardModule(deps: DashboardModuleDeps) {
  const { config, db, clock, log, hub, lifecycle, environments } = deps;
  const timing = { ...DEFAULT_TIMING, ...deps.timing };
  const repo = createDashboardRepo(db);

  const files = new Map<string, HostFiles>();
  environments.observe({ changed: (record) => void files.delete(record.id), removed: (id) => void files.delete(id) });
  async function filesFor(environmentId: string): Promise<HostFiles> {
    let reader = files.get(environmentId);
    if (!reader) {
      const record = await environments.getRecord(environmentId);
      reader =
        record.kind === 'local'
          ? localFiles()
          : remoteFiles({
              pool: deps.sshPool,
              target: () => environments.sshTarget(record),
              python: () => record.runtime.pythonPath || 'python3',
              timeoutMs: config.ssh.commandTimeoutMs,
              maxOutputBytes: timing.maxBytesPerRound * 2 + 1024 * 1024,
            });
      files.set(environmentId, reader);
    }
    return reader;
  }

  const ingest = new DashboardIngest({
    db,
    repo,
    clock,
    log,
    filesFor,
    cwdOf: async (bot: IngestBot) => (await (await deps.hostFor(bot.environmentId)).layout(bot.id, bot.runtime as RuntimeShape)).cwd,
    timing,
  });
  const service = createDashboardService({ repo, ingest, clock });

  let lastPublished = { stats: '', positions: '' };
  async function round(): Promise<void> {
    await ingest.round();
    if (!ingest.takeChanged()) return;
    const [stats, positions] = await Promise.all([service.stats(), service.positions()]);
    const next = { stats: JSON.stringify(stats), positions: JSON.stringify(positions) };
    if (next.stats !== lastPublished.stats) hub.publish(topics.dashboard, 'dashboard_stats', stats);
    if (next.positions !== lastPublished.positions) hub.publish(topics.dashboard, 'dashboard_positions', positions);
    lastPublished = next;
  }
  lifecycle.every('dashboard-files', timing.roundMs, round);
  // Minute samples for the last SAMPLE_DETAIL_DAYS, the last of each hour before that.
  lifecycle.every('dashboard-thin-samples', 10 * 60_000, async () => {
    const removed = await repo.thinSamples(clock.now().getTime() - SAMPLE_DETAIL_DAYS * 86_400_000);
    if (removed > 0) log.debug({ removed }, 'dashboard: old balance samples thinned to one an hour');
  });

  return {
    service,
    ingest,
    routes: async (api: Api) => {
      await api.register(dashboardRoutes, { prefix: API_PREFIX, dashboard: service });
    },
  };
}
