import { describe, expect, it } from 'vitest';
import { runStandin } from '../../../../test/fixtures/results/standin-results.js';
import { createProgressTracker, type JobProgress } from './progress.fns.js';

function feed(tracker: (line: string) => JobProgress | null, lines: string[]): (JobProgress | null)[] {
  return lines.map((line) => tracker(line));
}

const changes = (results: (JobProgress | null)[]): JobProgress[] => results.filter((p): p is JobProgress => p !== null);

describe('backtest progress', () => {
  it('candles from the counters, then simulating with no invented fraction, then writing results', () => {
    const track = createProgressTracker('backtest', { exchanges: 1 });
    const out = feed(track, [
      '2026-11-22T10:00:00Z INFO     loading config /x/cfg.json',
      '  0% | binance fetching candles 0/25',
      ' 40% | binance fetching candles 10/25 current=ETH ETA 30s',
      '100% | binance fetching candles done 25/25 in 41.2s',
      'Backtesting binance...',
      'seconds elapsed for backtest: 3.21',
    ]);
    expect(out[0]).toBeNull();
    expect(out[1]).toEqual({ fraction: 0, stage: 'fetching candles', etaSeconds: null, detail: { exchange: 'binance', done: 0, total: 25, exchanges: 1 } });
    expect(out[2]).toMatchObject({ fraction: 0.4, etaSeconds: 30 });
    expect(out[3]).toMatchObject({ fraction: 1, etaSeconds: 0 });
    expect(out[4]).toEqual({ fraction: null, stage: 'simulating', etaSeconds: null, detail: { label: 'binance', runs: 1 } });
    expect(out[5]).toEqual({ fraction: null, stage: 'writing results', etaSeconds: null, detail: { label: 'binance', runs: 1, simulationSeconds: 3.21 } });
  });

  it('combines several exchanges into one candle fraction and ETA', () => {
    const track = createProgressTracker('backtest', { exchanges: 2 });
    const out = changes(
      feed(track, [
        '  0% | binance fetching candles 0/10',
        ' 50% | binance fetching candles 5/10 current=SOL ETA 10s',
        '100% | binance fetching candles done 10/10 in 20.0s',
        '  0% | bybit fetching candles 0/10',
        ' 20% | bybit fetching candles 2/10 current=ETH ETA 16s',
        '100% | bybit fetching candles done 10/10 in 20.0s',
        'Backtesting combined...',
      ]),
    );
    expect(out.map((p) => p.fraction)).toEqual([0, 0.25, 0.5, 0.5, 0.6, 1, null]);
    // 10 s left of binance, plus bybit at binance's extrapolated 20 s
    expect(out[1]!.etaSeconds).toBe(30);
    expect(out[2]!.etaSeconds).toBe(20);
    expect(out[3]!.etaSeconds).toBe(20);
    expect(out[4]!.etaSeconds).toBe(16);
    expect(out[6]!.detail).toEqual({ label: 'combined', runs: 1 });
  });

  it('without the exchange count the fraction covers the exchanges seen so far', () => {
    const track = createProgressTracker('backtest', {});
    expect(track('100% | binance fetching candles done 3/3 in 1.0s')!.fraction).toBe(1);
    expect(track('  0% | bybit fetching candles 0/3')!.fraction).toBe(0.5);
  });

  it('suite scenarios, a failure, and lines that change nothing', () => {
    const track = createProgressTracker('backtest', { exchanges: 1 });
    expect(track('Backtesting binance scenario base...')).toMatchObject({ stage: 'simulating', detail: { label: 'binance', scenario: 'base', runs: 1 } });
    expect(track('seconds elapsed for backtest: 0.50')).toMatchObject({ stage: 'writing results' });
    expect(track('Backtesting binance scenario no shorts...')).toMatchObject({ detail: { scenario: 'no shorts', runs: 2 } });
    expect(track('some other line')).toBeNull();
    expect(track('Backtesting binance scenario no shorts...')).toMatchObject({ detail: { runs: 3 } });
    expect(track('Backtest failed: no candles for XYZ')).toEqual({ fraction: null, stage: 'failed', etaSeconds: null, detail: { error: 'no candles for XYZ' } });
    expect(track('Backtest failed: no candles for XYZ')).toBeNull();
  });

  it('handles a log prefix, CRLF and a progress bar redrawn with \\r', () => {
    const track = createProgressTracker('backtest', { exchanges: 1 });
    expect(track('2026-11-22T10:00:00 INFO     10% | okx fetching candles 1/10 current=BTC ETA 9s\r')).toMatchObject({ fraction: 0.1, etaSeconds: 9 });
    expect(track(' 20% | okx fetching candles 2/10 current=ETH ETA 8s\r 30% | okx fetching candles 3/10 current=SOL ETA 7s')).toMatchObject({ fraction: 0.3 });
    expect(track('garbage fetching candles here')).toBeNull();
  });

  it('ignores garbled and very long lines (no regex ever sees a long one)', () => {
    const track = createProgressTracker('backtest', { exchanges: 1 });
    expect(track(`${'1%|'.repeat(100_000)} fetching candles 1/2`)).toBeNull();
    expect(track(`${'1%|'.repeat(600)} fetching candles 1/2`)).toBeNull();
    expect(track(`Backtesting ${'x'.repeat(5000)}...`)).toBeNull();
    expect(track('  5% | okx fetching candles 1/20')).toMatchObject({ fraction: 0.05 });
  });
});

describe('optimize progress', () => {
  const log = (message: string, at = '10:00:00') => `2026-01-01T${at}Z INFO     ${message}`;

  it('Gen lines: fraction total/iters, ETA from elapsed, front in detail, then complete', () => {
    const track = createProgressTracker('optimize', { iters: 100 });
    expect(track(log('Evaluating initial population (20 candidates)...'))).toEqual({
      fraction: 0,
      stage: 'evaluating',
      etaSeconds: null,
      detail: { evaluations: 0, iters: 100, population: 20 },
    });
    expect(track(log('Pareto update | eval=17 | front=5 | added=5 | removed=0 | best=-0.001,0.2'))).toMatchObject({ fraction: 0.17, detail: { front: 5 } });
    expect(track(log('Gen 0 complete | evals=20 | total=20 | front=5 | best=-0.001,0.2 | elapsed=10.0s'))).toEqual({
      fraction: 0.2,
      stage: 'evaluating',
      etaSeconds: 40,
      detail: { evaluations: 20, iters: 100, population: 20, generation: 0, front: 5 },
    });
    // between Gen lines a Pareto eval= is a member's index, not a count: only the front changes
    expect(track(log('Pareto update | eval=33 | front=6 | added=1 | removed=0 | best=x'))).toMatchObject({ fraction: 0.2, etaSeconds: 40, detail: { front: 6 } });
    expect(track(log('Gen 1 complete | evals=20 | total=40 | front=6 | best=x | elapsed=30.0s'))).toMatchObject({ fraction: 0.4, etaSeconds: 45 });
    expect(track(log('Optimization complete.'))).toMatchObject({ fraction: 1, stage: 'complete', etaSeconds: 0, detail: { evaluations: 40, front: 6 } });
  });

  it('Pareto lines only (pymoo): fraction eval/iters, ETA from the log timestamps', () => {
    const track = createProgressTracker('optimize', { iters: 1000 });
    expect(track(log('Evaluating initial population (100 candidates)...', '10:00:00'))).toMatchObject({ fraction: 0 });
    expect(track(log('Pareto update | eval=100 | front=10', '10:00:50'))).toMatchObject({ fraction: 0.1, etaSeconds: 450, detail: { front: 10 } });
    expect(track(log('Pareto update | eval=400 | front=12', '10:03:20'))).toMatchObject({ fraction: 0.4, etaSeconds: 300 });
    expect(track(log('Pareto update | eval=300 | front=11', '10:03:30'))).toMatchObject({ fraction: 0.4, detail: { front: 11 } });
  });

  it('without iters: counts in detail, no fraction or ETA; bare lines work too', () => {
    const track = createProgressTracker('optimize', {});
    expect(track('Gen 3 complete | evals=10 | total=40 | front=6 | elapsed=2.0s')).toEqual({
      fraction: null,
      stage: 'evaluating',
      etaSeconds: null,
      detail: { evaluations: 40, generation: 3, front: 6 },
    });
    expect(track('Generation report')).toBeNull();
  });

  it('candle lines before the evaluation', () => {
    const track = createProgressTracker('optimize', { iters: 10, exchanges: 1 });
    expect(track(' 50% | binance fetching candles 1/2 current=ETH ETA 1s')).toMatchObject({ stage: 'fetching candles', fraction: 0.5 });
    expect(track('Backtesting binance...')).toBeNull();
    expect(track(log('Evaluating initial population (10 candidates)...'))).toMatchObject({ stage: 'evaluating', detail: { evaluations: 0, iters: 10, population: 10 } });
  });
});

describe('on the stand-in’s real output', () => {
  it('backtest and optimize runs end in writing results and complete', async () => {
    const [backtest, optimize] = await Promise.all([
      runStandin('backtest', { config: { backtest: { exchanges: ['binance', 'bybit'] } } }),
      runStandin('optimize', { config: { optimize: { iters: 30, population_size: 10 } } }),
    ]);
    try {
      const bt = changes(feed(createProgressTracker('backtest', { exchanges: 2 }), backtest.stderr.split('\n')));
      expect(bt.map((p) => p.stage)).toEqual([...Array<string>(8).fill('fetching candles'), 'simulating', 'writing results']);
      expect(bt[7]!.fraction).toBe(1);
      const opt = changes(feed(createProgressTracker('optimize', { iters: 30, exchanges: 2 }), optimize.stderr.split('\n')));
      const fractions = opt.filter((p) => p.stage === 'evaluating').map((p) => p.fraction!);
      expect(fractions).toEqual([...fractions].sort((a, b) => a - b));
      expect(opt.at(-1)).toMatchObject({ stage: 'complete', fraction: 1, detail: { evaluations: 30 } });
    } finally {
      backtest.cleanup();
      optimize.cleanup();
    }
  });
});
