import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { finiteOrNull, isRecord, readJsonObject, ResultFileError, resultFileError } from './result-files.js';

/**
 * An optimize run dir (CONTRACT.md §3): `optimize_results/<ts>_<exchange|combined>_<N>days_<coins>_<uuid8>/`
 * with `pareto/<hash>.json` (a full config plus `metrics: {stats, objectives: {w_i}, constraint_violation}`)
 * and all_results.bin (not read here: the pareto files are the stable way in).
 *
 * Ranking, as Passivbot's own pareto store picks its best: objectives are minimised (w_i is the
 * scoring metric, negated when its goal is "max"); entries with a smaller constraint violation come
 * first; then the distance to the ideal point (the best value of every objective among the least
 * violating entries) with each objective min-max normalised over those entries; ties by the
 * objectives in scoring order, then id. A missing objective counts as the worst (normalised 1).
 */

export interface MetricStats {
  mean: number | null;
  min: number | null;
  max: number | null;
  std: number | null;
}

export interface ParetoEntry {
  /** The file name without .json (Passivbot's hash of the parameters). */
  id: string;
  objectives: Record<string, number>;
  stats: Record<string, MetricStats>;
  constraintViolation: number | null;
  /** The candidate's full config (the file without `metrics`). */
  config: Record<string, unknown>;
  /** 1 = best. */
  rank: number;
}

export interface ObjectiveSpec {
  metric: string;
  goal: 'min' | 'max';
}

/** Metric families Passivbot maximises (its DEFAULT_OBJECTIVE_GOALS); everything else is minimised. */
const MAXIMISED = /^(adg|mdg|gain|sharpe_ratio|sortino_ratio|omega_ratio|calmar_ratio|sterling_ratio|volume_pct_per_day_avg|entry_initial_balance_pct)(_|$)/;

export function defaultGoal(metric: string): 'min' | 'max' {
  return MAXIMISED.test(metric) ? 'max' : 'min';
}

/** optimize.scoring as specs: names (goal from Passivbot's defaults) or `{metric, goal?}`; junk skipped. */
export function objectiveSpecs(scoring: readonly unknown[]): ObjectiveSpec[] {
  const specs: ObjectiveSpec[] = [];
  for (const item of scoring) {
    const metric = typeof item === 'string' ? item.trim() : isRecord(item) && typeof item.metric === 'string' ? item.metric.trim() : '';
    if (!metric) continue;
    const goal = isRecord(item) && typeof item.goal === 'string' ? item.goal.trim().toLowerCase() : '';
    specs.push({ metric, goal: goal === 'max' || goal === 'min' ? goal : defaultGoal(metric) });
  }
  return specs;
}

function parseEntry(id: string, content: Record<string, unknown>): ParetoEntry {
  const { metrics, ...config } = content;
  const block = isRecord(metrics) ? metrics : {};
  const objectives: Record<string, number> = {};
  if (isRecord(block.objectives)) {
    for (const [key, value] of Object.entries(block.objectives)) {
      const n = finiteOrNull(value);
      if (n !== null) objectives[key] = n;
    }
  }
  const stats: Record<string, MetricStats> = {};
  if (isRecord(block.stats)) {
    for (const [metric, value] of Object.entries(block.stats)) {
      stats[metric] = isRecord(value)
        ? { mean: finiteOrNull(value.mean), min: finiteOrNull(value.min), max: finiteOrNull(value.max), std: finiteOrNull(value.std) }
        : { mean: finiteOrNull(value), min: null, max: null, std: null };
    }
  }
  return { id, objectives, stats, constraintViolation: finiteOrNull(block.constraint_violation), config, rank: 0 };
}

const sameSpecs = (a: readonly ObjectiveSpec[], b: readonly ObjectiveSpec[]): boolean =>
  a.length === b.length && a.every((spec, i) => spec.metric === b[i]?.metric && spec.goal === b[i].goal);

/** The minimised objective vectors: the w_i for the run's own scoring, else stats means signed by goal. */
function objectiveVectors(entries: readonly ParetoEntry[], specs: readonly ObjectiveSpec[], runSpecs: readonly ObjectiveSpec[]): (number | null)[][] {
  const useW = specs.length === 0 || sameSpecs(specs, runSpecs);
  if (specs.length === 0) {
    const keys = [...new Set(entries.flatMap((entry) => Object.keys(entry.objectives)))].sort((a, b) => a.localeCompare(b, 'en', { numeric: true }));
    return entries.map((entry) => keys.map((key) => entry.objectives[key] ?? null));
  }
  return entries.map((entry) =>
    specs.map((spec, i) => {
      const w = useW ? entry.objectives[`w_${i}`] : undefined;
      if (w !== undefined) return w;
      const mean = entry.stats[spec.metric]?.mean ?? null;
      return mean === null ? null : spec.goal === 'max' ? -mean : mean;
    }),
  );
}

/** Ranks entries in place (see the file comment) and returns them best first. */
export function rankParetoEntries(entries: ParetoEntry[], scoring: readonly unknown[], runScoring: readonly unknown[] = scoring): ParetoEntry[] {
  const vectors = objectiveVectors(entries, objectiveSpecs(scoring), objectiveSpecs(runScoring));
  const width = vectors[0]?.length ?? 0;
  // The ideal point and the ranges come from the least-violating entries, the ones ranked first:
  // an infeasible outlier must not stretch the scale they are compared on.
  const leastViolation = Math.min(...entries.map((e) => e.constraintViolation ?? 0));
  const reference = vectors.filter((_, i) => (entries[i]!.constraintViolation ?? 0) === leastViolation);
  const lows: number[] = [];
  const highs: number[] = [];
  for (let k = 0; k < width; k++) {
    const values = reference.map((v) => v[k]).filter((v): v is number => v !== null && v !== undefined);
    lows.push(values.length ? Math.min(...values) : 0);
    highs.push(values.length ? Math.max(...values) : 0);
  }
  // Better than the ideal (an infeasible entry can be) is no distance: clamped at 0.
  const scale = (x: number | null, k: number): number => {
    if (x === null) return 1;
    const span = highs[k]! - lows[k]!;
    return span > 0 ? Math.max(0, (x - lows[k]!) / span) : x > lows[k]! ? 1 : 0;
  };
  const normalised = vectors.map((v) => v.map(scale));
  const scored = entries.map((entry, i) => ({
    entry,
    violation: entry.constraintViolation ?? 0,
    distance: Math.hypot(...normalised[i]!),
    vector: vectors[i]!.map((x) => x ?? Number.POSITIVE_INFINITY),
  }));
  scored.sort((a, b) => {
    if (a.violation !== b.violation) return a.violation - b.violation;
    if (a.distance !== b.distance) return a.distance - b.distance;
    for (let k = 0; k < a.vector.length; k++) if (a.vector[k] !== b.vector[k]) return a.vector[k]! < b.vector[k]! ? -1 : 1;
    return a.entry.id < b.entry.id ? -1 : a.entry.id > b.entry.id ? 1 : 0;
  });
  return scored.map(({ entry }, i) => Object.assign(entry, { rank: i + 1 }));
}

const MAX_PARETO_FILE_BYTES = 4 << 20;
const READ_CONCURRENCY = 16;

/** The pareto/ dir of a run dir (or `dir` itself when it holds the .json files). */
async function paretoDir(dir: string): Promise<string> {
  const nested = join(dir, 'pareto');
  const isDir = (path: string) => stat(path).then((info) => info.isDirectory(), () => false);
  if (await isDir(nested)) return nested;
  if (await isDir(dir)) {
    const names = await readdir(dir);
    if (names.some((name) => name.endsWith('.json'))) return dir;
  }
  throw new ResultFileError('pareto/', 'missing', 'no such directory');
}

/**
 * Reads and ranks the pareto front. `scoring` defaults to the run's optimize.scoring (from the
 * entries' configs). Files the optimizer removes while this reads (the front changes as it runs)
 * and files that are not a JSON object are skipped.
 */
export async function readParetoFront(dir: string, scoring?: readonly unknown[]): Promise<ParetoEntry[]> {
  const pareto = await paretoDir(dir);
  let names: string[];
  try {
    names = (await readdir(pareto)).filter((name) => name.endsWith('.json')).sort();
  } catch (error) {
    throw resultFileError(pareto, error);
  }
  const entries: ParetoEntry[] = [];
  for (let i = 0; i < names.length; i += READ_CONCURRENCY) {
    const batch = names.slice(i, i + READ_CONCURRENCY);
    const read = await Promise.all(
      batch.map((name) =>
        readJsonObject(join(pareto, name), MAX_PARETO_FILE_BYTES).then(
          (content) => parseEntry(name.slice(0, -'.json'.length), content),
          (error: unknown) => {
            if (error instanceof ResultFileError) return null;
            throw error;
          },
        ),
      ),
    );
    for (const entry of read) if (entry) entries.push(entry);
  }
  const runScoring = runScoringOf(entries);
  return rankParetoEntries(entries, scoring ?? runScoring, runScoring);
}

function runScoringOf(entries: readonly ParetoEntry[]): readonly unknown[] {
  for (const entry of entries) {
    const optimize = entry.config.optimize;
    if (isRecord(optimize) && Array.isArray(optimize.scoring)) return optimize.scoring as unknown[];
  }
  return [];
}

/** Directory names directly under `root` (e.g. optimize_results/), sorted; [] when root is missing. Diff before/after a run to find its dir. */
export async function listResultDirs(root: string): Promise<string[]> {
  try {
    const entries = await readdir(root, { withFileTypes: true });
    return entries.filter((entry) => entry.isDirectory()).map((entry) => entry.name).sort();
  } catch (error) {
    const wrapped = resultFileError(root, error);
    if (wrapped.problem === 'missing') return [];
    throw wrapped;
  }
}

export interface OptimizeDirName {
  startedAt: string;
  /** An exchange, or "combined". */
  exchange: string;
  days: number;
  /** `BTC-ETH-SOL` or `25coins`, as in the name. */
  coins: string;
  id: string;
}

/** Parses `<YYYY-MM-DDTHH_MM_SS>_<exchange|combined>_<N>days_<coins>_<uuid8>`; null for other names. */
export function parseOptimizeDirName(name: string): OptimizeDirName | null {
  const match = /^(\d{4}-\d{2}-\d{2})T(\d{2})_(\d{2})_(\d{2})_([^_]+)_(\d+)days_(.+)_([0-9a-f]{8})$/.exec(name);
  if (!match) return null;
  const startedAt = new Date(`${match[1]}T${match[2]}:${match[3]}:${match[4]}Z`);
  if (Number.isNaN(startedAt.getTime())) return null;
  return { startedAt: startedAt.toISOString(), exchange: match[5]!, days: Number(match[6]), coins: match[7]!, id: match[8]! };
}
