import { posix } from 'node:path';
import type { FieldIssue } from '../../lib/errors.js';
import type { Runtime } from '../environments/environments.types.js';
import { cliCommand, type ProcessLayout, type RuntimeShape } from '../instances/hosts/bot-layout.fns.js';
import { validatePassivbotConfig } from '../instances/config/passivbot-config.js';
import type { JobOverrides, JobType } from './jobs.types.js';

type Config = Record<string, unknown>;
const isObject = (value: unknown): value is Config => typeof value === 'object' && value !== null && !Array.isArray(value);
const section = (config: Config, key: string): Config => (isObject(config[key]) ? { ...(config[key]) } : {});

/** Where each override lands in the config, so validation issues can name the override. */
const OVERRIDE_PATHS: Record<Exclude<keyof JobOverrides, 'seed' | 'symbols'>, [string, string]> = {
  start_date: ['backtest', 'start_date'],
  end_date: ['backtest', 'end_date'],
  exchanges: ['backtest', 'exchanges'],
  starting_balance: ['backtest', 'starting_balance'],
  iters: ['optimize', 'iters'],
  n_cpus: ['optimize', 'n_cpus'],
  population_size: ['optimize', 'population_size'],
  bounds: ['optimize', 'bounds'],
  scoring: ['optimize', 'scoring'],
  limits: ['optimize', 'limits'],
};

/** The config a run uses: the given one with the overrides written into their sections. */
export function effectiveConfig(config: Config, overrides: JobOverrides): Config {
  const out: Config = { ...config, backtest: section(config, 'backtest'), optimize: section(config, 'optimize'), live: section(config, 'live') };
  for (const [key, [sec, leaf]] of Object.entries(OVERRIDE_PATHS)) {
    const value = overrides[key as keyof typeof OVERRIDE_PATHS];
    if (value !== undefined) (out[sec] as Config)[leaf] = value;
  }
  if (overrides.symbols) (out.live as Config).approved_coins = overrides.symbols;
  return out;
}

/** Issues of the effective config, named by the override that caused them when there is one. */
export function jobConfigIssues(config: Config, overrides: JobOverrides): FieldIssue[] {
  const { issues } = validatePassivbotConfig(effectiveConfig(config, overrides));
  return issues.map((issue) => {
    const override = Object.entries(OVERRIDE_PATHS).find(([key, [sec, leaf]]) => overrides[key as keyof typeof OVERRIDE_PATHS] !== undefined && (issue.path === `${sec}.${leaf}` || issue.path.startsWith(`${sec}.${leaf}.`) || issue.path.startsWith(`${sec}.${leaf}[`)));
    if (override) return { field: `overrides.${override[0]}${issue.path.slice(`${override[1][0]}.${override[1][1]}`.length)}`, message: issue.message };
    if (overrides.symbols && issue.path.startsWith('live.approved_coins')) return { field: 'overrides.symbols', message: issue.message };
    return { field: issue.path ? `config.${issue.path}` : 'config', message: issue.message };
  });
}

/** CPU slots a job takes: an optimization its `n_cpus`, a backtest one. */
export function slotsOf(type: JobType, effective: Config): number {
  if (type === 'backtest') return 1;
  const cpus = section(effective, 'optimize').n_cpus;
  return typeof cpus === 'number' && Number.isInteger(cpus) && cpus > 0 ? cpus : 1;
}

export interface JobLayout extends ProcessLayout {
  config: string;
  seed: string;
  /** Each job's own backtest.base_dir: its results are found without guessing. */
  backtests: string;
  /** Where v7 optimize writes, relative to the Passivbot dir (its working directory). */
  optimizeResults: string;
}

/** `workDir` absolute (the host resolves it). */
export function jobLayout(runtime: Pick<Runtime, 'passivbotDir' | 'pythonPath'>, shape: RuntimeShape, workDir: string, jobId: string, type: JobType, withSeed: boolean): JobLayout {
  const dir = posix.join(workDir, 'jobs', jobId);
  const cwd = runtime.passivbotDir || workDir;
  const config = posix.join(dir, 'config.json');
  const seed = posix.join(dir, 'seed.json');
  const tail = type === 'backtest' ? ['-dp'] : withSeed ? ['-t', seed] : [];
  const argv =
    shape === 'cli'
      ? [cliCommand(runtime.pythonPath), type, config, ...tail]
      : [runtime.pythonPath, '-u', posix.join(runtime.passivbotDir, 'src', `${type}.py`), config, ...tail];
  return { dir, cwd, config, seed, log: posix.join(dir, 'job.log'), argv, backtests: posix.join(dir, 'backtests'), optimizeResults: posix.join(cwd, 'optimize_results') };
}

/**
 * The config file a job runs with: its own results dir. A backtest job is one run: the scenario
 * suite (`suite_enabled`, on in Passivbot's template) writes `suite_runs/` instead, so it is off.
 */
export function runConfig(effective: Config, layout: JobLayout, type: JobType): Config {
  const backtest = { ...section(effective, 'backtest'), base_dir: layout.backtests };
  return { ...effective, backtest: type === 'backtest' ? { ...backtest, suite_enabled: false } : backtest };
}
