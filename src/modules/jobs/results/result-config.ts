import { posix } from 'node:path';
import type { JobRecord } from '../jobs.types.js';
import { readParetoFront, type ParetoEntry } from './pareto.js';
import { isRecord } from './result-files.js';

type Config = Record<string, unknown>;

/** Passivbot's own default (its template's backtest.base_dir), relative to its checkout. */
export const DEFAULT_BACKTEST_BASE_DIR = 'backtests';

/** Completed, or cancelled after it found something (a cancelled optimization keeps its front). */
export const hasResults = (job: Pick<JobRecord, 'status' | 'result'>): boolean => job.status === 'completed' || (job.status === 'cancelled' && job.result !== null);

/** The config a backtest ran with: the one Passivbot wrote beside its results, else the one it was given. */
export function backtestConfig(job: Pick<JobRecord, 'result' | 'params'>): Config {
  return isRecord(job.result?.config) ? job.result.config : job.params.effective;
}

/** An optimization's pareto front, ranked by the run's scoring (as GET /optimize/results shows it). */
export async function rankedFront(job: Pick<JobRecord, 'resultDir' | 'params'>): Promise<ParetoEntry[]> {
  if (!job.resultDir) return [];
  const scoring = (job.params.effective.optimize as Config | undefined)?.scoring;
  return readParetoFront(job.resultDir, Array.isArray(scoring) ? scoring : undefined);
}

/**
 * A result's config without the paths pbfleet gave the job: its own backtest.base_dir (see
 * runConfig) means nothing to a bot or another job, so it goes back to Passivbot's default.
 */
export function withoutJobPaths(config: Config, job: Pick<JobRecord, 'workDir'>): Config {
  const backtest = config.backtest;
  if (!job.workDir || !isRecord(backtest) || typeof backtest.base_dir !== 'string') return config;
  const inJobDir = backtest.base_dir === job.workDir || backtest.base_dir.startsWith(`${posix.normalize(job.workDir)}/`);
  return inJobDir ? { ...config, backtest: { ...backtest, base_dir: DEFAULT_BACKTEST_BASE_DIR } } : config;
}
