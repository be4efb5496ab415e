import { readdir } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { DEFAULT_MAX_POINTS, readEquityCurve, type EquityPoint } from './equity.js';
import { fillsIndex } from './fills.js';
import { readJsonObject, ResultFileError, resultFileError } from './result-files.js';

/**
 * A backtest output dir (CONTRACT.md §2): analysis.json, config.json, fills.csv and
 * balance_and_equity.csv.gz (.csv before v7.5), plus plots. analysis.json and fills.csv and the
 * equity file are required; config.json may be absent (null).
 */

export type { EquityPoint } from './equity.js';

/**
 * The metrics a UI shows, one name each whatever the version: v7.5+ writes `adg_usd` (and
 * `adg_btc`, `adg_w_usd`), v7.4 wrote `adg`, `adg_w`. Each is the `_usd` key, else the bare one.
 */
export const TYPED_METRICS = [
  'adg', 'adg_w', 'mdg', 'mdg_w', 'gain', 'drawdown_worst', 'drawdown_worst_mean_1pct', 'sharpe_ratio',
  'sharpe_ratio_w', 'sortino_ratio', 'sortino_ratio_w', 'omega_ratio', 'omega_ratio_w', 'calmar_ratio',
  'calmar_ratio_w', 'sterling_ratio', 'expected_shortfall_1pct', 'equity_balance_diff_neg_max', 'adg_pnl',
  'mdg_pnl', 'loss_profit_ratio', 'positions_held_per_day', 'position_held_hours_max', 'position_held_hours_mean',
  'position_held_hours_median', 'position_unchanged_hours_max', 'peak_recovery_hours_pnl',
  'peak_recovery_hours_equity', 'total_wallet_exposure_max', 'total_wallet_exposure_mean', 'volume_pct_per_day_avg',
] as const;

export type TypedMetricName = (typeof TYPED_METRICS)[number];
export type TypedMetrics = Record<TypedMetricName, number | null>;

export interface BacktestSummary {
  /** Every key of analysis.json: numbers (finite), strings, null (NaN/inf/null); other values as JSON text. */
  metrics: Record<string, number | string | null>;
  typed: TypedMetrics;
  /** v7.4 layout: unsuffixed metrics, plain balance_and_equity.csv with balance/equity columns. */
  legacyFormat: boolean;
  fillsCount: number;
  fillColumns: string[];
  /** fills.csv rows skipped as malformed. */
  fillsMalformed: number;
  equity: { points: EquityPoint[]; sourceRows: number; malformedRows: number; columns: string[] };
  config: Record<string, unknown> | null;
  /** Files of the dir, relative (plots under fills_plots/ included), sorted. */
  files: string[];
}

export function typedMetrics(metrics: Readonly<Record<string, unknown>>): TypedMetrics {
  const typed = {} as TypedMetrics;
  for (const name of TYPED_METRICS) {
    const value = metrics[`${name}_usd`] ?? metrics[name];
    typed[name] = typeof value === 'number' && Number.isFinite(value) ? value : null;
  }
  return typed;
}

function flatMetrics(analysis: Record<string, unknown>): Record<string, number | string | null> {
  const metrics: Record<string, number | string | null> = {};
  for (const [key, value] of Object.entries(analysis)) {
    if (typeof value === 'number') metrics[key] = Number.isFinite(value) ? value : null;
    else if (typeof value === 'string' || value === null) metrics[key] = value;
    else metrics[key] = JSON.stringify(value) ?? null;
  }
  return metrics;
}

function settledValue<T>(result: PromiseSettledResult<T>): T {
  if (result.status === 'rejected') throw result.reason;
  return result.value;
}

const MAX_LISTED_FILES = 2000;

async function listFiles(dir: string): Promise<string[]> {
  let entries;
  try {
    entries = await readdir(dir, { recursive: true, withFileTypes: true });
  } catch (error) {
    throw resultFileError(dir, error);
  }
  return entries
    .filter((entry) => entry.isFile())
    .map((entry) => relative(dir, join(entry.parentPath, entry.name)))
    .sort()
    .slice(0, MAX_LISTED_FILES);
}

/**
 * Reads a backtest output dir. fills.csv and the equity file are streamed (the fills pass also
 * builds and caches the page index readFillsPage uses); the equity curve is downsampled to at most
 * `maxPoints` (default 2000) by per-bucket min/max of equity.
 */
export async function readBacktestResult(dir: string, options: { maxPoints?: number } = {}): Promise<BacktestSummary> {
  const files = await listFiles(dir);
  const [analysisRead, configRead, fillsRead, equityRead] = await Promise.allSettled([
    readJsonObject(join(dir, 'analysis.json')),
    readJsonObject(join(dir, 'config.json')).catch((error: unknown) => {
      if (error instanceof ResultFileError && error.problem === 'missing') return null;
      throw error;
    }),
    fillsIndex(dir),
    readEquityCurve(dir, options.maxPoints ?? DEFAULT_MAX_POINTS),
  ]);
  // Unwrapped in file order: the error is the first problem in that order, whichever read failed first.
  const analysis = settledValue(analysisRead);
  const config = settledValue(configRead);
  const fills = settledValue(fillsRead);
  const equity = settledValue(equityRead);
  const metrics = flatMetrics(analysis);
  const legacyFormat = equity.file === 'balance_and_equity.csv' || (!('adg_usd' in metrics) && 'adg' in metrics);
  return {
    metrics,
    typed: typedMetrics(metrics),
    legacyFormat,
    fillsCount: fills.count,
    fillColumns: fills.columns,
    fillsMalformed: fills.malformed,
    equity: { points: equity.points, sourceRows: equity.sourceRows, malformedRows: equity.malformedRows, columns: equity.columns },
    config,
    files,
  };
}

/** `YYYY-MM-DDTHH_MM_SS`: the UTC start time naming a backtest result dir. */
const RESULT_STAMP = /^\d{4}-\d{2}-\d{2}T\d{2}_\d{2}_\d{2}$/;

/** The UTC start time of a result dir name (`2024-01-01T10_00_00...`), or null. */
export function resultDirTime(name: string): Date | null {
  const match = /^(\d{4}-\d{2}-\d{2})T(\d{2})_(\d{2})_(\d{2})/.exec(name);
  if (!match) return null;
  const date = new Date(`${match[1]}T${match[2]}:${match[3]}:${match[4]}Z`);
  return Number.isNaN(date.getTime()) ? null : date;
}

async function subdirs(dir: string): Promise<string[]> {
  try {
    const entries = await readdir(dir, { withFileTypes: true });
    return entries.filter((entry) => entry.isDirectory()).map((entry) => entry.name);
  } catch (error) {
    const missing = resultFileError(dir, error);
    if (missing.problem === 'missing') return [];
    throw missing;
  }
}

/**
 * The result dirs under a backtest base_dir, as `<exchange|combined>/<YYYY-MM-DDTHH_MM_SS>`
 * relative paths, oldest first (suite_runs/ is left out). [] when base_dir does not exist.
 */
export async function listBacktestResultDirs(baseDir: string): Promise<string[]> {
  const out: string[] = [];
  for (const label of await subdirs(baseDir)) {
    if (label === 'suite_runs') continue;
    for (const stamp of await subdirs(join(baseDir, label))) {
      if (RESULT_STAMP.test(stamp)) out.push(`${label}/${stamp}`);
    }
  }
  return out.sort((a, b) => stampOf(a).localeCompare(stampOf(b)) || a.localeCompare(b));
}

const stampOf = (relative: string): string => relative.slice(relative.indexOf('/') + 1);

/**
 * The newest result dir under a backtest base_dir (absolute path), or null. Passivbot does not
 * print it; with `since`, dirs named before that second are ignored, so a previous run's output is
 * never mistaken for this one's (giving each job its own base_dir is still the robust way).
 */
export async function findNewestResultDir(baseDir: string, options: { since?: Date } = {}): Promise<string | null> {
  const dirs = await listBacktestResultDirs(baseDir);
  const newest = dirs.at(-1);
  if (!newest) return null;
  if (options.since) {
    const started = resultDirTime(stampOf(newest));
    if (!started || started.getTime() < Math.floor(options.since.getTime() / 1000) * 1000) return null;
  }
  return join(baseDir, newest);
}
