import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runStandin, type StandinRun } from '../../../../test/fixtures/results/standin-results.js';
import { defaultGoal, listResultDirs, objectiveSpecs, parseOptimizeDirName, rankParetoEntries, readParetoFront, type ParetoEntry } from './pareto.js';

const temps: string[] = [];
afterAll(() => temps.forEach((dir) => rmSync(dir, { recursive: true, force: true })));
function paretoDirWith(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'pbfleet-pareto-'));
  temps.push(dir);
  mkdirSync(join(dir, 'pareto'));
  for (const [name, content] of Object.entries(files)) writeFileSync(join(dir, 'pareto', name), content);
  return dir;
}

const entry = (id: string, objectives: Record<string, number>, extra: Partial<ParetoEntry> = {}): ParetoEntry => ({
  id,
  objectives,
  stats: {},
  constraintViolation: 0,
  config: {},
  rank: 0,
  ...extra,
});

describe('readParetoFront on a stand-in optimize run', () => {
  let run: StandinRun;
  beforeAll(async () => {
    run = await runStandin('optimize', {
      standin: { n_pareto: 7 },
      config: { optimize: { iters: 60, population_size: 10, scoring: ['adg_usd', 'drawdown_worst_usd'] } },
    });
  });
  afterAll(() => run?.cleanup());

  it('reads every pareto file: objectives, stats, violation, the config without metrics', async () => {
    const front = await readParetoFront(run.resultDir);
    const files = readdirSync(join(run.resultDir, 'pareto')).map((name) => name.replace(/\.json$/, ''));
    expect(front.map((e) => e.id).sort()).toEqual(files.sort());
    expect(front.map((e) => e.rank)).toEqual([1, 2, 3, 4, 5, 6, 7]);
    for (const e of front) {
      expect(Object.keys(e.objectives)).toEqual(['w_0', 'w_1']);
      expect(e.objectives.w_0).toBeCloseTo(-e.stats.adg_usd!.mean!, 12);
      expect(e.objectives.w_1).toBeCloseTo(e.stats.drawdown_worst_usd!.mean!, 12);
      expect(e.stats.loss_profit_ratio).toMatchObject({ mean: expect.any(Number) as unknown, std: expect.any(Number) as unknown });
      expect(e.constraintViolation).toEqual(expect.any(Number));
      expect(e.config).toHaveProperty('bot.long');
      expect(e.config).not.toHaveProperty('metrics');
    }
    const violations = front.map((e) => e.constraintViolation!);
    expect(violations).toEqual([...violations].sort((a, b) => a - b));
  });

  it('ranks by another scoring on request (stats means, goals from Passivbot defaults)', async () => {
    const front = await readParetoFront(run.resultDir, [{ metric: 'loss_profit_ratio', goal: 'min' }]);
    const best = front.filter((e) => e.constraintViolation === front[0]!.constraintViolation);
    const ratios = best.map((e) => e.stats.loss_profit_ratio!.mean!);
    expect(ratios).toEqual([...ratios].sort((a, b) => a - b));
  });

  it('lists optimize_results dirs and parses their names', async () => {
    const root = join(run.checkout.dir, 'optimize_results');
    const names = await listResultDirs(root);
    expect(names).toHaveLength(1);
    expect(join(root, names[0]!)).toBe(run.resultDir);
    expect(parseOptimizeDirName(names[0]!)).toMatchObject({ exchange: 'binance', days: 91, coins: 'BTC-ETH-SOL', id: expect.stringMatching(/^[0-9a-f]{8}$/) as unknown });
    expect(await listResultDirs(join(root, 'missing'))).toEqual([]);
  });
});

describe('ranking', () => {
  it('smaller constraint violation first, then the distance to the ideal point', () => {
    const ranked = rankParetoEntries(
      [
        entry('balanced', { w_0: -0.8, w_1: 0.3 }),
        entry('best-adg', { w_0: -1.0, w_1: 0.9 }),
        entry('best-dd', { w_0: -0.1, w_1: 0.1 }),
        entry('violator', { w_0: -2.0, w_1: 0.0 }, { constraintViolation: 0.5 }),
      ],
      ['adg_usd', 'drawdown_worst_usd'],
    );
    expect(ranked.map((e) => [e.id, e.rank])).toEqual([
      ['balanced', 1],
      ['best-adg', 2],
      ['best-dd', 3],
      ['violator', 4],
    ]);
  });

  it('uses stats means signed by goal for a scoring other than the run’s, worst for a missing metric', () => {
    const stats = (sharpe: number | null) => ({ sharpe_ratio_usd: { mean: sharpe, min: null, max: null, std: null } });
    const ranked = rankParetoEntries(
      [entry('low', {}, { stats: stats(0.5) }), entry('none', {}, { stats: {} }), entry('high', {}, { stats: stats(2.0) })],
      ['sharpe_ratio_usd'],
      ['adg_usd'],
    );
    expect(ranked.map((e) => e.id)).toEqual(['high', 'low', 'none']);
  });

  it('without any scoring, ranks on all w_i; ties fall back to objectives then id', () => {
    const ranked = rankParetoEntries([entry('b', { w_0: 1, w_1: 1 }), entry('a', { w_0: 1, w_1: 1 }), entry('c', { w_0: 0, w_1: 0 })], []);
    expect(ranked.map((e) => e.id)).toEqual(['c', 'a', 'b']);
  });

  it('reads scoring as names or {metric, goal}, with Passivbot’s default goals', () => {
    expect(objectiveSpecs(['adg_usd', { metric: 'loss_profit_ratio' }, { metric: 'x', goal: 'MAX' }, 42, { goal: 'min' }, ''])).toEqual([
      { metric: 'adg_usd', goal: 'max' },
      { metric: 'loss_profit_ratio', goal: 'min' },
      { metric: 'x', goal: 'max' },
    ]);
    for (const metric of ['adg', 'adg_pnl', 'mdg_w_usd', 'gain_usd', 'sharpe_ratio_btc', 'omega_ratio', 'calmar_ratio_w', 'volume_pct_per_day_avg']) expect(defaultGoal(metric)).toBe('max');
    for (const metric of ['drawdown_worst_usd', 'loss_profit_ratio', 'positions_held_per_day', 'expected_shortfall_1pct_usd', 'unknown_metric']) expect(defaultGoal(metric)).toBe('min');
  });
});

describe('pareto edge cases', () => {
  const good = (w0: number) => JSON.stringify({ optimize: { scoring: ['adg_usd'] }, metrics: { objectives: { w_0: w0 }, stats: { adg_usd: { mean: -w0, min: 0, max: 1, std: 0 } }, constraint_violation: 0 } });

  it('skips files that are not JSON objects; NaN/Infinity become null', async () => {
    const dir = paretoDirWith({
      'aaa.json': good(-0.5),
      'bbb.json': '{"metrics": {"objectives": {"w_0": NaN}, "stats": {"adg_usd": {"mean": Infinity}}, "constraint_violation": -Infinity}, "optimize": {"scoring": ["adg_usd"]}}',
      'broken.json': '{"metrics":',
      'list.json': '[]',
      'notes.txt': 'ignored',
      'ccc.json.tmp123': good(-9),
    });
    const front = await readParetoFront(dir);
    expect(front.map((e) => e.id)).toEqual(['aaa', 'bbb']);
    expect(front[1]).toMatchObject({ objectives: {}, stats: { adg_usd: { mean: null } }, constraintViolation: null });
  });

  it('accepts the pareto dir itself; a dir without one is a missing-file error; an empty front is []', async () => {
    const dir = paretoDirWith({ 'aaa.json': good(-0.5) });
    expect((await readParetoFront(join(dir, 'pareto'))).map((e) => e.id)).toEqual(['aaa']);
    await expect(readParetoFront(join(dir, 'nowhere'))).rejects.toMatchObject({ code: 'NOT_FOUND', message: 'result file pareto/ is missing' });
    expect(await readParetoFront(paretoDirWith({}))).toEqual([]);
  });

  it('parses optimize dir names, rejecting others', () => {
    expect(parseOptimizeDirName('2024-05-01T12_00_00_combined_365days_25coins_0a1b2c3d')).toEqual({
      startedAt: '2024-05-01T12:00:00.000Z',
      exchange: 'combined',
      days: 365,
      coins: '25coins',
      id: '0a1b2c3d',
    });
    expect(parseOptimizeDirName('2024-05-01T12_00_00_combined_365days_25coins')).toBeNull();
    expect(parseOptimizeDirName('notes')).toBeNull();
  });
});
