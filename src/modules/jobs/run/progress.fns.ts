/**
 * Progress of a backtest or optimize run from its output lines (CONTRACT.md §2, §3). Runs on every
 * line a job prints, so a line is first screened with indexOf and only candidates meet a regex.
 *
 * `fraction` is the progress of the current `stage` (0..1), and null when the tool reports nothing
 * measurable for it. `etaSeconds` is the time left in that stage, when the tool says or it follows
 * from what it says. Stages:
 * - backtest: 'fetching candles' (fraction from the n/total counters, all exchanges together) ->
 *   'simulating' (Passivbot prints nothing while the Rust backtest runs, so fraction and ETA are
 *   null: an honest "unknown", not an invented number) -> 'writing results' (after `seconds
 *   elapsed for backtest`: fraction null again). A suite repeats simulating/writing per scenario.
 *   `Backtest failed: ...` -> 'failed'. The process exit, not a line, says a backtest is done.
 * - optimize: 'fetching candles' -> 'evaluating' (fraction = evaluations / iters) -> 'complete'.
 */

export interface JobProgress {
  fraction: number | null;
  stage: string;
  etaSeconds: number | null;
  detail?: Record<string, unknown>;
}

export type JobType = 'backtest' | 'optimize';

/** `<timestamp> <LEVEL> ` log prefix (UTC `...Z` or local); progress lines may also come bare. */
const LOG_PREFIX = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?Z?)\s+[A-Z]+\s+/;
const CANDLES = /^(\d{1,3})%\s*\|\s*([\w.:-]{1,40})\s+fetching candles\s+(done\s+)?(\d+)\/(\d+)(.*)$/;
const BACKTESTING = /^Backtesting (\S+?)(?: scenario (.+?))?\.\.\.$/;
const SIM_DONE = /seconds elapsed for backtest:\s*([\d.]+)/;
const POPULATION = /Evaluating initial population \((\d+) candidates\)/;
/** Progress lines are short; longer ones are skipped before any regex sees them. */
const MAX_LINE = 2000;
/** More candle series than any run has: what a garbled output could add beyond it is ignored. */
const MAX_EXCHANGES = 64;
const FIELD = /\b(evals|total|front|elapsed|eval)=(\d+(?:\.\d+)?)/g;

interface ExchangeCandles {
  done: number;
  total: number;
  etaSeconds: number | null;
  seconds: number | null;
}

const round = (seconds: number): number => Math.max(0, Math.round(seconds));

function fields(text: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const match of text.matchAll(FIELD)) out[match[1]!] = Number(match[2]);
  return out;
}

/**
 * Stateful: feed it each output line (stderr and stdout) of a backtest or optimize run; returns
 * the new progress when the line changed it, else null. `exchanges` (how many candle series to
 * expect) keeps the candle fraction from jumping back when the next exchange starts; `iters`
 * (optimize.iters) is needed for an optimize fraction and ETA.
 */
export function createProgressTracker(type: JobType, options: { iters?: number; exchanges?: number }): (line: string) => JobProgress | null {
  const iters = options.iters !== undefined && options.iters > 0 ? options.iters : null;
  const candles = new Map<string, ExchangeCandles>();
  let current: JobProgress = { fraction: null, stage: 'starting', etaSeconds: null };
  let lastKey = '';
  // backtest
  let runs = 0;
  let simulation: Record<string, unknown> = {};
  // optimize
  let evaluations = 0;
  let population: number | null = null;
  let generation: number | null = null;
  let front: number | null = null;
  let sawGenerations = false;
  /** Where the evaluations started (time, count), for an ETA from log timestamps when no elapsed= is printed. */
  let anchor: { at: number; evaluations: number } | null = null;

  const emit = (next: JobProgress): JobProgress | null => {
    const key = `${next.stage}|${next.fraction}|${next.etaSeconds}|${next.detail ? JSON.stringify(next.detail) : ''}`;
    if (key === lastKey) return null;
    lastKey = key;
    current = next;
    return next;
  };

  const candleProgress = (exchange: string): JobProgress => {
    const expected = Math.max(options.exchanges ?? 0, candles.size);
    let sum = 0;
    const finished: number[] = [];
    for (const c of candles.values()) {
      sum += c.total > 0 ? Math.min(1, c.done / c.total) : 1;
      if (c.seconds !== null) finished.push(c.seconds);
    }
    const active = candles.get(exchange)!;
    const activeFraction = active.total > 0 ? active.done / active.total : 1;
    // Time per exchange: measured on finished ones, else extrapolated from the active one.
    const perExchange = finished.length ? finished.reduce((a, b) => a + b, 0) / finished.length : active.etaSeconds !== null && activeFraction > 0 ? active.etaSeconds / (1 - Math.min(activeFraction, 0.999)) : null;
    const left = expected - candles.size;
    const activeEta = active.seconds !== null ? 0 : (active.etaSeconds ?? (finished.length && perExchange !== null ? perExchange * (1 - activeFraction) : null));
    const eta = activeEta === null || (left > 0 && perExchange === null) ? null : round(activeEta + left * (perExchange ?? 0));
    return {
      fraction: sum / expected,
      stage: 'fetching candles',
      etaSeconds: eta,
      detail: { exchange, done: active.done, total: active.total, exchanges: expected },
    };
  };

  const evaluationDetail = (): Record<string, unknown> => ({
    evaluations,
    ...(iters !== null && { iters }),
    ...(population !== null && { population }),
    ...(generation !== null && { generation }),
    ...(front !== null && { front }),
  });

  const evaluationProgress = (atSeconds: number | null, elapsed: number | null): JobProgress => {
    let eta: number | null = null;
    if (iters !== null && evaluations > 0 && elapsed !== null) eta = round((elapsed / evaluations) * (iters - evaluations));
    else if (sawGenerations) eta = current.etaSeconds; // a Pareto line between Gen lines: keep the Gen ETA
    else if (iters !== null && anchor && atSeconds !== null && evaluations > anchor.evaluations && atSeconds > anchor.at) {
      eta = round(((atSeconds - anchor.at) / (evaluations - anchor.evaluations)) * (iters - evaluations));
    }
    return { fraction: iters === null ? null : Math.min(1, evaluations / iters), stage: 'evaluating', etaSeconds: eta, detail: evaluationDetail() };
  };

  return (raw: string) => {
    if (raw.length > MAX_LINE) return null;
    let line = raw;
    const cr = line.lastIndexOf('\r', line.length - 2);
    if (cr !== -1) line = line.slice(cr + 1); // a terminal progress bar redrawn with \r: its last state
    line = line.trimEnd();
    let atSeconds: number | null = null;
    const prefix = line.charCodeAt(0) === 50 /* 2 */ || line.charCodeAt(0) === 49 /* 1 */ ? LOG_PREFIX.exec(line) : null;
    if (prefix) {
      line = line.slice(prefix[0].length);
      const ms = Date.parse(prefix[1]!);
      atSeconds = Number.isNaN(ms) ? null : ms / 1000;
    }
    line = line.trimStart();

    if (line.includes('fetching candles')) {
      const m = CANDLES.exec(line);
      if (!m) return null;
      const exchange = m[2]!;
      if (!candles.has(exchange) && candles.size >= MAX_EXCHANGES) return null;
      const rest = m[6] ?? '';
      const etaMatch = /\bETA\s+(\d+(?:\.\d+)?)s/.exec(rest);
      const inMatch = m[3] ? /\bin\s+(\d+(?:\.\d+)?)s/.exec(rest) : null;
      candles.set(exchange, {
        done: Number(m[4]),
        total: Number(m[5]),
        etaSeconds: m[3] ? 0 : etaMatch ? Number(etaMatch[1]) : null,
        seconds: m[3] ? (inMatch ? Number(inMatch[1]) : 0) : null,
      });
      return emit(candleProgress(exchange));
    }

    if (type === 'backtest') {
      if (line.startsWith('Backtesting ')) {
        const m = BACKTESTING.exec(line);
        if (!m) return null;
        runs++;
        simulation = { label: m[1], runs, ...(m[2] && { scenario: m[2] }) };
        return emit({ fraction: null, stage: 'simulating', etaSeconds: null, detail: simulation });
      }
      if (line.startsWith('seconds elapsed for backtest')) {
        const m = SIM_DONE.exec(line);
        return emit({ fraction: null, stage: 'writing results', etaSeconds: null, detail: { ...simulation, simulationSeconds: m ? Number(m[1]) : null } });
      }
      if (line.startsWith('Backtest failed:')) {
        return emit({ fraction: null, stage: 'failed', etaSeconds: null, detail: { error: line.slice('Backtest failed:'.length).trim().slice(0, 500) } });
      }
      return null;
    }

    if (line.startsWith('Evaluating initial population')) {
      const m = POPULATION.exec(line);
      if (m) population = Number(m[1]);
      anchor ??= atSeconds === null ? null : { at: atSeconds, evaluations };
      return emit(evaluationProgress(atSeconds, null));
    }
    if (line.startsWith('Gen ')) {
      const m = /^Gen (\d+) complete\b/.exec(line);
      if (!m) return null;
      const f = fields(line);
      sawGenerations = true;
      generation = Number(m[1]);
      if (f.total !== undefined) evaluations = Math.max(evaluations, f.total);
      if (f.front !== undefined) front = f.front;
      return emit(evaluationProgress(atSeconds, f.elapsed ?? null));
    }
    if (line.startsWith('Pareto update')) {
      const f = fields(line);
      if (f.front !== undefined) front = f.front;
      // With generations, `eval` is the index of a front member, not a count: only Gen lines count.
      if (!sawGenerations && f.eval !== undefined) evaluations = Math.max(evaluations, f.eval);
      anchor ??= atSeconds === null ? null : { at: atSeconds, evaluations };
      return emit(evaluationProgress(atSeconds, null));
    }
    if (line.startsWith('Optimization complete')) {
      return emit({ fraction: 1, stage: 'complete', etaSeconds: 0, detail: evaluationDetail() });
    }
    return null;
  };
}
