import { describe, expect, it } from 'vitest';
import { applyToSummary, createLineClassifier, emptySummary, levelAtLeast, parseLogLine } from './log-lines.js';
import type { LiveSummary, LogLine } from './log-lines.js';

// Messages exactly as CONTRACT.md §1 gives them, behind the documented prefix.
const CONTRACT = {
  order: '[order] posting|cancel COIN | buy long 0.01@100.5 entry_grid_normal_long ...',
  fill: '[fill] <ts> BTC long close_grid_long -0.001 @ 100500.00, pnl=+5.5 USDT id=...',
  pos: '[pos] ...',
  balance: '[balance] raw a -> b | ... equity: e ...',
  health:
    '[health] uptime=... | loop=1.2s | positions=2 long, 0 short | balance=1000.00 USDT | orders=+3/-1 | fills=2 (pnl=+1.23) | errors=0/10 | ws_reconnects=0 | rate_limits=0 | rss=...MB',
};

// Lines as Passivbot v7.9+ prints them (the health pair is verbatim from a v7.11 log).
const REAL = {
  health:
    '2026-05-23T08:14:54Z INFO     [hyperliquid] [health] uptime=14.0h30.0m | loop=7.1s | positions=5 long, 0 short | balance=1180.00 USDC (snap 1186.87) | orders=+597/-584 | fills=0 | errors=27/10 | ws_reconnects=7 | rate_limits=203 | rss=352MB',
  healthAfterRestart:
    '2026-05-23T08:27:58Z INFO     [hyperliquid] [health] uptime=1.0m16.0s | loop=21.1s | positions=5 long, 0 short | balance=1180.41 USDC (snap 1180.43) | orders=+0/-2 | fills=0 | errors=0/10 | ws_reconnects=0 | rate_limits=0 | rss=352MB',
  balance: '2026-01-23T19:59:30Z INFO     [bybit] [balance] raw 1000.000000 -> 1005.500000 | snap 1000.000000 -> 1000.000000 | equity: 1010.2000 source: REST',
  balanceOld: '2026-01-23T19:59:30 INFO     [bybit] [balance] 0.0 -> 550.0 equity: 432.7682 source: REST',
  fill: '2026-01-23T20:01:00Z INFO     [bybit] [fill] 2026-01-23T20:00:58 BTC long close_grid_long -0.001 @ 100500.00, pnl=+5.5 USDT id=1234567890ab',
  entryFill: '2026-01-23T20:02:00Z INFO     [bybit] [fill] 2026-01-23T20:01:59 ETH long entry_grid_normal_long +0.05 @ 3000.00 id=abc',
  batchFill: '2026-01-23T20:03:00Z INFO     [bybit] [fill] 25 fills, pnl=-1.25 USDT',
  order: '2026-01-23T20:00:23 INFO     [bybit] [order] cancel XMR | buy long 0.07@493.51 entry_grid_normal_long [replace reason=price Δp=0.079%]',
  mode: '2026-01-23T21:23:42 INFO     [bybit] [mode] changed long.ETH/USDT:USDT: normal -> graceful_stop',
  boot: '2026-01-23T19:59:00 INFO     [boot] loading markets',
  ready: '2026-01-23T19:59:40 INFO     [bybit] [boot] READY - trading 12 coins',
  error: '2026-01-23T20:00:50 ERROR    [hyperliquid] error with run_execution_loop orchestrator compute_ideal_orders failed: MissingEma { symbol_idx: 5 }',
  restarting: '2026-05-23T08:25:41Z INFO     [hyperliquid] restarting bot...',
  warning: '2026-01-23T21:30:06 WARNING  [bybit] event=ccxt_fetch_ohlcv_failed error_type=RateLimitExceeded error=bybit {"retCode":10006}',
};

const TRACEBACK = [
  'Traceback (most recent call last):',
  '  File "/root/passivbot/src/passivbot.py", line 1263, in run_execution_loop',
  '    await self.execute_to_exchange()',
  '    ^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^',
  'ccxt.base.errors.NetworkError: bybit GET https://api.bybit.com/v5/market/time',
];

const line = (message: string, ts = '2026-01-23T19:59:44', level = 'INFO    ') => `${ts} ${level} ${message}`;

describe('parseLogLine', () => {
  it('reads timestamp, level and tag from the documented prefix', () => {
    expect(parseLogLine(line(`[bybit] ${CONTRACT.health}`))).toEqual({
      text: line(`[bybit] ${CONTRACT.health}`),
      ts: '2026-01-23T19:59:44',
      level: 'INFO',
      tag: 'health',
      error: false,
      continued: false,
    });
    expect(parseLogLine(REAL.health)).toMatchObject({ ts: '2026-05-23T08:14:54Z', level: 'INFO', tag: 'health', error: false });
  });

  it.each([
    ['order', CONTRACT.order],
    ['fill', CONTRACT.fill],
    ['pos', CONTRACT.pos],
    ['balance', CONTRACT.balance],
    ['health', CONTRACT.health],
  ])('tags the contract %s line, with and without the exchange prefix', (tag, message) => {
    expect(parseLogLine(line(`[bybit] ${message}`))).toMatchObject({ tag, error: false });
    expect(parseLogLine(line(message, '2026-01-23T19:59:44Z'))).toMatchObject({ tag, error: false, ts: '2026-01-23T19:59:44Z' });
  });

  it('tags real lines, including tags it does not know', () => {
    expect(parseLogLine(REAL.order).tag).toBe('order');
    expect(parseLogLine(REAL.mode).tag).toBe('mode');
    expect(parseLogLine(REAL.boot).tag).toBe('boot');
    expect(parseLogLine(REAL.ready).tag).toBe('boot');
    expect(parseLogLine(line('[bybit] [ws] reconnecting')).tag).toBe('ws');
    expect(parseLogLine(line('[bybit] plain message')).tag).toBeNull();
    expect(parseLogLine(line('[lighter] [health] uptime=1s')).tag).toBe('health');
  });

  it.each([
    ['TRACE', 'TRACE   '],
    ['DEBUG', 'DEBUG   '],
    ['INFO', 'INFO    '],
    ['WARNING', 'WARNING '],
    ['ERROR', 'ERROR   '],
    ['CRITICAL', 'CRITICAL'],
  ])('reads level %s', (level, padded) => {
    const parsed = parseLogLine(line('[boot] x', '2026-01-01T00:00:00', padded));
    expect(parsed).toMatchObject({ level, tag: 'boot', error: level === 'ERROR' || level === 'CRITICAL' });
  });

  it('marks error lines', () => {
    expect(parseLogLine(REAL.error)).toMatchObject({ level: 'ERROR', error: true });
    expect(parseLogLine(REAL.restarting)).toMatchObject({ level: 'INFO', error: true });
    expect(parseLogLine(REAL.warning)).toMatchObject({ level: 'WARNING', error: true });
    expect(parseLogLine(line('[bybit] passivbot error: something broke'))).toMatchObject({ error: true });
    expect(parseLogLine(line('[bybit] Error fetching positions'))).toMatchObject({ error: true });
    expect(parseLogLine('Traceback (most recent call last):')).toMatchObject({ ts: null, level: null, tag: 'traceback', error: true, continued: false });
    expect(parseLogLine('  File "/root/passivbot/src/passivbot.py", line 1263, in run')).toMatchObject({ tag: 'traceback', error: true, continued: true });
    // "errors=27/10" in the health line is a counter, not an error.
    expect(parseLogLine(REAL.health).error).toBe(false);
    expect(parseLogLine(REAL.fill).error).toBe(false);
    expect(parseLogLine(line('[bybit] terror is not a word we log')).error).toBe(true); // substring match: cheap, documented
    expect(parseLogLine(line('[bybit] all good')).error).toBe(false);
  });

  it('copes with lines that do not follow the format', () => {
    expect(parseLogLine('')).toEqual({ text: '', ts: null, level: null, tag: null, error: false, continued: false });
    expect(parseLogLine('  0% | binance fetching candles 0/25')).toMatchObject({ ts: null, level: null, tag: null, error: false });
    expect(parseLogLine('2026-01-23T19:59:44')).toMatchObject({ ts: '2026-01-23T19:59:44', level: null });
    expect(parseLogLine('2026-01-23 19:59:44 INFO x')).toMatchObject({ ts: null, level: null });
    expect(parseLogLine('2026-01-23T19:59:44 NOTICE   [boot] x')).toMatchObject({ level: null, tag: null });
    expect(parseLogLine('2026-01-23T19:59:44 INFOX [boot] x').level).toBeNull();
    expect(parseLogLine(line('[' + 'x'.repeat(100))).tag).toBeNull();
    const huge = line(`[bybit] ${'a'.repeat(1_000_000)}`);
    expect(parseLogLine(huge)).toMatchObject({ level: 'INFO', error: false });
  });
});

describe('createLineClassifier', () => {
  const classify = (lines: string[]) => {
    const next = createLineClassifier();
    return lines.map(next);
  };

  it('keeps a traceback together with the error line that introduced it', () => {
    const out = classify([REAL.error, ...TRACEBACK, REAL.order]);
    expect(out.map((l) => [l.error, l.continued])).toEqual([
      [true, false],
      [true, true],
      [true, true],
      [true, true],
      [true, true],
      [true, true],
      [false, false],
    ]);
    expect(out.slice(1, 6).every((l) => l.tag === 'traceback')).toBe(true);
  });

  it('counts a traceback on its own as one error, and chained tracebacks once', () => {
    const chained = [
      REAL.order,
      ...TRACEBACK,
      '',
      'During handling of the above exception, another exception occurred:',
      '',
      ...TRACEBACK,
      '',
      REAL.order,
    ];
    const out = classify(chained);
    expect(out.filter((l) => l.error && !l.continued)).toHaveLength(1);
    expect(out[1]).toMatchObject({ error: true, continued: false });
    expect(out.at(-2)).toMatchObject({ text: '', error: false });
    expect(out.at(-1)).toMatchObject({ tag: 'order', error: false });
  });

  it('ends a traceback at the next timestamped line even without its closing line', () => {
    const out = classify([TRACEBACK[0]!, TRACEBACK[1]!, REAL.order, '  indented print output']);
    expect(out.map((l) => l.error)).toEqual([true, true, false, false]);
  });

  it('counts separate tracebacks separately', () => {
    const out = classify([...TRACEBACK, '', ...TRACEBACK]);
    expect(out.filter((l) => l.error && !l.continued)).toHaveLength(2);
  });
});

describe('applyToSummary', () => {
  const fold = (lines: string[], receivedAt: string | null = null): LiveSummary => {
    const classify = createLineClassifier();
    return lines.reduce((summary, text) => applyToSummary(summary, classify(text), receivedAt), emptySummary());
  };

  it('reads the contract health line', () => {
    expect(fold([line(`[bybit] ${CONTRACT.health}`)])).toMatchObject({
      balance: 1000,
      currency: 'USDT',
      positionsLong: 2,
      positionsShort: 0,
      loopSeconds: 1.2,
      healthFills: 2,
      healthPnl: 1.23,
      recentErrors: 0,
      wsReconnects: 0,
      rateLimits: 0,
      rssMb: null,
      uptime: '...',
      lastHealthAt: '2026-01-23T19:59:44',
      errors: 0,
      fills: 0,
    });
  });

  it('reads real health lines; the later one wins', () => {
    const summary = fold([REAL.health]);
    expect(summary).toMatchObject({ balance: 1180, currency: 'USDC', positionsLong: 5, recentErrors: 27, wsReconnects: 7, rateLimits: 203, rssMb: 352, uptime: '14.0h30.0m', healthFills: 0, healthPnl: 0 });
    expect(fold([REAL.health, REAL.healthAfterRestart])).toMatchObject({ balance: 1180.41, uptime: '1.0m16.0s', loopSeconds: 21.1, lastHealthAt: '2026-05-23T08:27:58Z' });
    expect(fold([line('[bybit] [health] uptime=5s | loop=n/a | positions=0 long, 0 short | balance=100.00 USDT | orders=+0/-0 | fills=0 | errors=0/10 | ws_reconnects=0 | rate_limits=0')])).toMatchObject({ loopSeconds: null, rssMb: null });
  });

  it('ignores [health] lines that are not the summary', () => {
    expect(fold([line('[health] unable to collect process RSS; omitting memory summary suffix', undefined, 'DEBUG   ')]).lastHealthAt).toBeNull();
  });

  it('uses the receive time for a health line without timestamp', () => {
    expect(fold([CONTRACT.health], '2026-02-01T00:00:00.000Z').lastHealthAt).toBe('2026-02-01T00:00:00.000Z');
    expect(fold([CONTRACT.health]).lastHealthAt).toBeNull();
  });

  it('sums fills and their pnl, single and batched', () => {
    const summary = fold([REAL.fill, REAL.entryFill, REAL.batchFill, line(`[bybit] ${CONTRACT.fill}`)]);
    expect(summary.fills).toBe(28);
    expect(summary.realizedPnl).toBe(9.75);
    expect(summary.lastFillAt).toBe('2026-01-23T19:59:44');
    expect(fold([line('[bybit] [fill] x long close_grid_long -1 @ 1.00, pnl=+0.1 USDT'), line('[bybit] [fill] x long close_grid_long -1 @ 1.00, pnl=+0.2 USDT')]).realizedPnl).toBe(0.3);
  });

  it('reads balance and equity from [balance] lines', () => {
    expect(fold([REAL.balance])).toMatchObject({ balance: 1005.5, equity: 1010.2 });
    expect(fold([REAL.balanceOld])).toMatchObject({ balance: 550, equity: 432.7682 });
    expect(fold([line(`[bybit] ${CONTRACT.balance}`)])).toMatchObject({ balance: null, equity: null });
    expect(fold([REAL.health, REAL.balance])).toMatchObject({ balance: 1005.5, currency: 'USDC' });
  });

  it('tracks readiness', () => {
    expect(fold([REAL.boot]).ready).toBe(false);
    expect(fold([REAL.boot, REAL.ready]).ready).toBe(true);
    expect(fold([REAL.ready, REAL.restarting]).ready).toBe(false);
    expect(fold([REAL.ready, REAL.restarting, REAL.ready]).ready).toBe(true);
  });

  it('counts errors, a traceback once, and keeps the last one readable', () => {
    const summary = fold([REAL.error, ...TRACEBACK, REAL.order]);
    expect(summary.errors).toBe(1);
    expect(summary.lastError).toBe(`${REAL.error} | ${TRACEBACK[4]}`);
    const bare = fold([...TRACEBACK]);
    expect(bare).toMatchObject({ errors: 1, lastError: TRACEBACK[4] });
    expect(fold([REAL.restarting, REAL.warning])).toMatchObject({ errors: 2, lastError: REAL.warning });
    expect(fold([line(`[bybit] error ${'x'.repeat(1000)}`)]).lastError).toHaveLength(300);
  });

  it('returns the summary it was given', () => {
    const summary = emptySummary();
    const parsed: LogLine = parseLogLine(REAL.fill);
    expect(applyToSummary(summary, parsed)).toBe(summary);
  });
});

describe('levelAtLeast', () => {
  it('orders levels and lets lines without a level through', () => {
    expect(levelAtLeast('ERROR', 'WARNING')).toBe(true);
    expect(levelAtLeast('WARNING', 'WARNING')).toBe(true);
    expect(levelAtLeast('INFO', 'WARNING')).toBe(false);
    expect(levelAtLeast('TRACE', 'DEBUG')).toBe(false);
    expect(levelAtLeast('CRITICAL', 'ERROR')).toBe(true);
    expect(levelAtLeast(null, 'CRITICAL')).toBe(true);
  });
});

