import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { MAX_ISSUES, approvedCoins, detectConfigShape, diffConfigs, liveUser, onlyCoinListsChanged, validatePassivbotConfig } from './passivbot-config.js';

const load = (name: string) => JSON.parse(readFileSync(new URL(`../../../../test/fixtures/configs/${name}`, import.meta.url), 'utf8')) as Record<string, unknown>;
const template = load('template-v7.8.4.json');
const v8 = load('example-v8.json');

const issuePaths = (config: unknown) => validatePassivbotConfig(config).issues.map((issue) => issue.path);

interface Leaf {
  path: string;
  segments: (string | number)[];
  value: unknown;
}

/** Every scalar, empty object and empty list of a config, with its issue-style path. */
function leaves(value: unknown, path = '', segments: (string | number)[] = []): Leaf[] {
  if (Array.isArray(value) && value.length) return value.flatMap((item, i) => leaves(item, `${path}[${i}]`, [...segments, i]));
  if (value !== null && typeof value === 'object' && !Array.isArray(value) && Object.keys(value).length) {
    return Object.entries(value).flatMap(([key, item]) => leaves(item, path ? `${path}.${key}` : key, [...segments, key]));
  }
  return [{ path, segments, value }];
}

function withValue(config: Record<string, unknown>, segments: (string | number)[], value: unknown): Record<string, unknown> {
  const copy = structuredClone(config);
  let node = copy as Record<string | number, unknown>;
  for (const segment of segments.slice(0, -1)) node = node[segment] as Record<string | number, unknown>;
  node[segments.at(-1)!] = value;
  return copy;
}

/** Containers whose contents Passivbot owns (free-form overrides, pymoo tuning): not typed below them. */
const UNTYPED = [/^optimize\.pymoo\./, /^optimize\.fixed_runtime_overrides\./, /^backtest\.market_settings\./, /\.overrides\./];

describe('validatePassivbotConfig: the reference configs', () => {
  it('accepts the full v7 template and the v8 example, each with its shape', () => {
    expect(validatePassivbotConfig(template)).toEqual({ shape: 'v7', issues: [] });
    expect(validatePassivbotConfig(v8)).toEqual({ shape: 'v8', issues: [] });
  });

  // The schema is derived from the template's structure: a wrong type at any leaf is reported at that leaf.
  it.each([
    ['template-v7.8.4.json', template],
    ['example-v8.json', v8],
  ])('names the exact path of a wrong type at every leaf of %s', (_name, config) => {
    const typed = leaves(config).filter((leaf) => !UNTYPED.some((pattern) => pattern.test(leaf.path)));
    expect(typed.length).toBeGreaterThan(300);
    const missed = typed.filter((leaf) => {
      const wrong = typeof leaf.value === 'boolean' ? 'yes' : true;
      return !issuePaths(withValue(config, leaf.segments, wrong)).includes(leaf.path);
    });
    expect(missed.map((leaf) => leaf.path)).toEqual([]);
  });

  it('accepts partial configs (Passivbot fills defaults) and unknown keys', () => {
    expect(issuePaths({})).toEqual([]);
    expect(issuePaths({ live: { user: 'bybit_01' } })).toEqual([]);
    expect(issuePaths({ bot: { long: { n_positions: 3 } }, _standin: { crash_after: 5, anything: [1, 'x'] } })).toEqual([]);
    expect(issuePaths({ live: { some_future_flag: { nested: true } }, future_section: 1 })).toEqual([]);
    expect(issuePaths({ config_version: 'v8.2.0', bot: { long: { risk: { n_positions: 3 } } } })).toEqual([]);
    // The optimizer writes counts as floats when a bound has no step; Passivbot rounds them.
    expect(issuePaths({ bot: { long: { n_positions: 16.83 } } })).toEqual([]);
  });

  it('rejects anything but an object at the top', () => {
    for (const value of [null, undefined, [], 'config', 42, true]) {
      expect(validatePassivbotConfig(value)).toEqual({ shape: 'v7', issues: [{ path: '', message: 'must be a JSON object' }] });
    }
  });
});

describe('validatePassivbotConfig: shapes', () => {
  it('tells v8 by config_version, else by layout', () => {
    expect(detectConfigShape({ config_version: 8 })).toBe('v8');
    expect(detectConfigShape({ config_version: 'v8.2.0' })).toBe('v8');
    expect(detectConfigShape({ config_version: '9.0' })).toBe('v8');
    expect(detectConfigShape({ config_version: 'v7.9.1' })).toBe('v7');
    expect(detectConfigShape({ bot: { short: { strategy: {} } } })).toBe('v8');
    expect(detectConfigShape({ optimize: { bounds: { long: { risk: {} } } } })).toBe('v8');
    expect(detectConfigShape({ bot: { long: { n_positions: 3 } } })).toBe('v7');
  });

  it('checks the v8 nesting', () => {
    const config = {
      config_version: 'v8.2.0',
      bot: {
        long: {
          risk: { n_positions: 'x' },
          strategy: { trailing_martingale: { entry: { initial_qty_pct: -1 } } },
          hsl: { enabled: 'no', panic_close_order_type: 'stop' },
          forager: { score_weights: { volume: -1 } },
        },
      },
      optimize: { population_size: null, scoring: [{ goal: 'up', metric: 'adg' }, { goal: 'max' }], bounds: { long: { risk: { n_positions: [7, 3] } } } },
    };
    expect(issuePaths(config)).toEqual([
      'bot.long.risk.n_positions',
      'bot.long.strategy.trailing_martingale.entry.initial_qty_pct',
      'bot.long.hsl.enabled',
      'bot.long.hsl.panic_close_order_type',
      'bot.long.forager.score_weights.volume',
      'optimize.scoring[0].goal',
      'optimize.scoring[1].metric',
      'optimize.bounds.long.risk.n_positions',
    ]);
  });

  it('types a config_version it cannot read', () => {
    expect(issuePaths({ config_version: { major: 8 } })).toEqual(['config_version']);
    expect(issuePaths({ config_version: 'eight' })).toEqual(['config_version']);
  });
});

describe('validatePassivbotConfig: each wrong value names its path', () => {
  it.each([
    [{ live: { leverage: '10' } }, 'live.leverage', 'must be a number, not a string'],
    [{ live: { leverage: 0 } }, 'live.leverage', 'must be greater than 0'],
    [{ live: { leverage: 'NaN' } }, 'live.leverage', 'must be a number, not a string'],
    [{ live: { max_n_restarts_per_day: 1.5 } }, 'live.max_n_restarts_per_day', 'must be a whole number'],
    [{ live: { max_n_restarts_per_day: -1 } }, 'live.max_n_restarts_per_day', 'must be at least 0'],
    [{ live: { hedge_mode: 'true' } }, 'live.hedge_mode', 'must be true or false, not a string'],
    [{ live: { forced_mode_long: 'sideways' } }, 'live.forced_mode_long', expect.stringContaining('must be one of')],
    [{ live: { approved_coins: 5 } }, 'live.approved_coins', expect.stringContaining('must be a list of coins')],
    [{ live: { approved_coins: ['BTC', 'ETH', 'bad coin'] } }, 'live.approved_coins[2]', 'is not a coin name: "bad coin"'],
    [{ live: { approved_coins: ['BTC', ''] } }, 'live.approved_coins[1]', 'must not be empty'],
    [{ live: { approved_coins: { long: ['BTC', 5], short: [] } } }, 'live.approved_coins.long[1]', 'must be a coin name, not a number'],
    [{ live: { approved_coins: { long: ['BTC'] } } }, 'live.approved_coins.short', 'is required when the coins are split by side'],
    [{ live: { ignored_coins: { long: [], short: [], both: [] } } }, 'live.ignored_coins.both', expect.stringContaining('is not allowed here')],
    [{ live: { time_in_force: '' } }, 'live.time_in_force', 'must not be empty'],
    [{ live: { balance_override: -5 } }, 'live.balance_override', 'must be at least 0'],
    [{ bot: { long: { n_positions: -1 } } }, 'bot.long.n_positions', 'must be at least 0'],
    [{ bot: { long: { n_positions: -1 } } }, 'bot.long.n_positions', 'must be at least 0'],
    [{ bot: { long: { n_positions: 'Infinity' } } }, 'bot.long.n_positions', 'must be a number, not a string'],
    [{ bot: { short: { total_wallet_exposure_limit: -0.1 } } }, 'bot.short.total_wallet_exposure_limit', 'must be at least 0'],
    [{ bot: { long: { close_trailing_grid_ratio: 1.5 } } }, 'bot.long.close_trailing_grid_ratio', 'must be at most 1'],
    [{ bot: { long: { ema_span_0: 0 } } }, 'bot.long.ema_span_0', 'must be greater than 0'],
    [{ bot: { long: { filter_volume_drop_pct: 1.2 } } }, 'bot.long.filter_volume_drop_pct', 'must be at most 1'],
    [{ bot: { long: { some_future_param: 'x' } } }, 'bot.long.some_future_param', 'must be a number, not a string'],
    [{ bot: { long: [] } }, 'bot.long', 'must be an object, not a list'],
    [{ backtest: { start_date: '2021-13-01' } }, 'backtest.start_date', 'must be a date like 2024-01-31'],
    [{ backtest: { start_date: '2021-02-30' } }, 'backtest.start_date', 'must be a date like 2024-01-31'],
    [{ backtest: { end_date: 'yesterday' } }, 'backtest.end_date', 'must be a date like 2024-01-31 or "now"'],
    [{ backtest: { start_date: '2024-06-01', end_date: '2024-01-01' } }, 'backtest.end_date', 'must not be before backtest.start_date (2024-06-01)'],
    [{ backtest: { scenarios: [{ label: 'x', start_date: '2024-06-01', end_date: '2024-05-31T23:00' }] } }, 'backtest.scenarios[0].end_date', expect.stringContaining('must not be before')],
    [{ backtest: { exchanges: 'binance' } }, 'backtest.exchanges', 'must be a list, not a string'],
    [{ backtest: { exchanges: ['binance', 3] } }, 'backtest.exchanges[1]', 'must be a string, not a number'],
    [{ backtest: { starting_balance: 0 } }, 'backtest.starting_balance', 'must be greater than 0'],
    [{ backtest: { base_dir: ' ' } }, 'backtest.base_dir', 'must not be empty'],
    [{ backtest: { base_dir: 'a\nb' } }, 'backtest.base_dir', 'must not contain control characters'],
    [{ optimize: { iters: 0 } }, 'optimize.iters', 'must be at least 1'],
    [{ optimize: { n_cpus: 0 } }, 'optimize.n_cpus', 'must be at least 1'],
    [{ optimize: { population_size: 0 } }, 'optimize.population_size', 'must be at least 1'],
    [{ optimize: { population_size: null } }, 'optimize.population_size', 'must be an integer, not null'],
    [{ optimize: { crossover_probability: 1.5 } }, 'optimize.crossover_probability', 'must be at most 1'],
    [{ optimize: { scoring: 'adg' } }, 'optimize.scoring', 'must be a list, not a string'],
    [{ optimize: { scoring: ['adg', 1] } }, 'optimize.scoring[1]', expect.stringContaining('must be an object')],
    [{ optimize: { limits: 5 } }, 'optimize.limits', expect.stringContaining('must be a list of')],
    [{ optimize: { limits: [{ penalize_if: '>', value: 1 }] } }, 'optimize.limits[0].metric', 'is required'],
    [{ optimize: { limits: [{ metric: 'adg', value: 'high' }] } }, 'optimize.limits[0].value', 'must be a number, not a string'],
    [{ optimize: { limits: [{ metric: 'adg', penalize_if: 'outside_range', range: [1] }] } }, 'optimize.limits[0].range', 'must be [low, high]'],
    [{ optimize: { bounds: { long_n_positions: [20, 1] } } }, 'optimize.bounds.long_n_positions', 'low (20) must not be greater than high (1)'],
    [{ optimize: { bounds: { long_n_positions: [1] } } }, 'optimize.bounds.long_n_positions', expect.stringContaining('must be [low, high]')],
    [{ optimize: { bounds: { long_n_positions: [1, 'x'] } } }, 'optimize.bounds.long_n_positions[1]', 'must be a number, not a string'],
    [{ optimize: { bounds: { long_n_positions: [1, 2, -1] } } }, 'optimize.bounds.long_n_positions[2]', 'must be a step >= 0 or null'],
    [{ optimize: { bounds: { long_n_positions: 'auto' } } }, 'optimize.bounds.long_n_positions', expect.stringContaining('must be [low, high]')],
    [{ optimize: { bounds: [] } }, 'optimize.bounds', 'must be an object, not a list'],
    [{ logging: { level: 7 } }, 'logging.level', 'must be at most 3'],
    [{ coin_overrides: { XRP: { bot: { long: { entry_grid_spacing_pct: 'x' } } } } }, 'coin_overrides.XRP.bot.long.entry_grid_spacing_pct', 'must be a number, not a string'],
    [{ coin_overrides: { XRP: { live: { leverage: -1 } } } }, 'coin_overrides.XRP.live.leverage', 'must be greater than 0'],
    [{ coin_overrides: { XRP: { live: { forced_mode_short: 'x' } } } }, 'coin_overrides.XRP.live.forced_mode_short', expect.stringContaining('must be one of')],
    [{ coin_overrides: { XRP: { override_config_path: 5 } } }, 'coin_overrides.XRP.override_config_path', 'must be a string, not a number'],
    [{ coin_overrides: { XRP: 'gs' } }, 'coin_overrides.XRP', 'must be an object, not a string'],
  ])('%j -> %s', (config, path, message) => {
    expect(validatePassivbotConfig(config).issues).toEqual([{ path, message }]);
  });

  it.each(['', ' ', '../bybit', 'a/b', 'a\\b', 'a\nb', '.', '..', 'x'.repeat(65), ' bybit_01', 5, null])('rejects live.user %j', (user) => {
    expect(issuePaths({ live: { user } })).toEqual(['live.user']);
  });

  it.each(['bybit_01', 'binance-main', 'Hyperliquid Vault 2', 'é-user'])('accepts live.user %j', (user) => {
    expect(issuePaths({ live: { user } })).toEqual([]);
  });

  it.each(['', 'n', 'normal', 'm', 'manual', 'gs', 'graceful_stop', 'graceful-stop', 'GS', 't', 'tp', 'tp_only', 'tp-only', 'p', 'panic', 'Panic'])('accepts forced mode %j', (mode) => {
    expect(issuePaths({ live: { forced_mode_long: mode, forced_mode_short: mode } })).toEqual([]);
  });

  it('accepts every coin-list form Passivbot reads', () => {
    for (const coins of [[], ['BTC', 'ETH'], ['BTC/USDT:USDT', 'kPEPE', '1000SHIB'], ['BTC,ETH, SOL'], 'configs/approved_coins.json', 'BTC,ETH', '', { long: ['BTC'], short: 'configs/short.json' }, ['all']]) {
      expect(issuePaths({ live: { approved_coins: coins, ignored_coins: coins } })).toEqual([]);
    }
  });

  it('accepts every bounds form and equal dates', () => {
    const bounds = { a: [0, 1], b: [0, 1, 0.1], c: [0, 1, 0], d: [0, 1, null], e: 0.5, f: [-1, -0.4, 0.01], g: [2, 2] };
    expect(issuePaths({ optimize: { bounds } })).toEqual([]);
    expect(issuePaths({ backtest: { start_date: '2024-01-01', end_date: '2024-01-01' } })).toEqual([]);
    expect(issuePaths({ backtest: { start_date: '2024-01-01', end_date: 'now' } })).toEqual([]);
    expect(issuePaths({ optimize: { limits: { penalize_if_greater_than_drawdown_worst: 0.5 } } })).toEqual([]);
    expect(issuePaths({ optimize: { limits: '--penalize_if_greater_than_drawdown_worst 0.5' } })).toEqual([]);
  });

  it('reports every issue in one pass, up to the cap', () => {
    const config = { live: { leverage: 'x', user: '' }, bot: { long: { n_positions: -1 }, short: { ema_span_0: 'x' } }, optimize: { iters: 0 } };
    expect(issuePaths(config)).toEqual(['live.leverage', 'live.user', 'bot.long.n_positions', 'bot.short.ema_span_0', 'optimize.iters']);
    const many = Object.fromEntries(Array.from({ length: 500 }, (_, i) => [`param_${i}`, 'x']));
    expect(validatePassivbotConfig({ bot: { long: many } }).issues).toHaveLength(MAX_ISSUES);
  });
});

describe('validatePassivbotConfig: hostile input', () => {
  it('treats __proto__ and friends as plain keys and pollutes nothing', () => {
    const config = JSON.parse('{"__proto__": {"polluted": 1}, "constructor": {"prototype": {"polluted": 1}}, "live": {"__proto__": 5, "toString": 5, "user": "u"}, "coin_overrides": {"__proto__": {"live": {"leverage": "x"}}}}') as unknown;
    expect(issuePaths(config)).toEqual(['coin_overrides.__proto__.live.leverage']);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(liveUser(config as Record<string, unknown>)).toBe('u');
  });

  it('survives deep nesting, huge lists, odd numbers and long keys', () => {
    const deep = JSON.parse(`${'{"a":'.repeat(5000)}1${'}'.repeat(5000)}`) as unknown;
    expect(issuePaths({ bot: { long: deep }, optimize: { bounds: deep }, _standin: deep })).toEqual(['bot.long.a', 'optimize.bounds.a.a.a.a.a.a.a']);
    const huge = Array.from({ length: 200_000 }, (_, i) => `C${i}`);
    expect(validatePassivbotConfig({ live: { approved_coins: huge } }).issues).toEqual([{ path: 'live.approved_coins', message: 'must have at most 10000 items' }]);
    expect(validatePassivbotConfig(JSON.parse('{"live": {"leverage": 1e400}}')).issues).toEqual([{ path: 'live.leverage', message: 'must be a finite number' }]);
    const longKey = 'x.'.repeat(1000);
    expect(issuePaths({ coin_overrides: { [longKey]: { live: { leverage: 'x' } } } })).toEqual([`coin_overrides[${JSON.stringify(`${longKey.slice(0, 64)}…`)}].live.leverage`]);
  });

  it('never throws, even on objects that throw when read', () => {
    const boom = () => {
      throw new Error('boom');
    };
    const trap = Object.defineProperty({}, 'live', { enumerable: true, get: boom });
    expect(validatePassivbotConfig(trap).issues).toEqual([{ path: '', message: 'could not be read' }]);
    const proxy = new Proxy({}, { ownKeys: boom });
    expect(() => validatePassivbotConfig(proxy)).not.toThrow();
  });
});

describe('approvedCoins and liveUser', () => {
  it('unions, sorts and de-duplicates inline lists', () => {
    expect(approvedCoins({ live: { approved_coins: ['ETH', 'BTC', 'ETH'] } })).toEqual(['BTC', 'ETH']);
    expect(approvedCoins({ live: { approved_coins: { long: ['SOL', 'BTC'], short: ['BTC', 'DOGE'] } } })).toEqual(['BTC', 'DOGE', 'SOL']);
    expect(approvedCoins({ live: { approved_coins: 'ETH, BTC' } })).toEqual(['BTC', 'ETH']);
    expect(approvedCoins({ live: { approved_coins: ['BTC/USDT:USDT', 'ETH,XRP'] } })).toEqual(['BTC', 'ETH', 'XRP']);
    expect(approvedCoins(v8)).toHaveLength(41);
  });

  it('returns [] when the list lives in a file, is "all", or is missing', () => {
    expect(approvedCoins(template)).toEqual([]);
    expect(approvedCoins({ live: { approved_coins: ['configs/coins.json'] } })).toEqual([]);
    expect(approvedCoins({ live: { approved_coins: { long: ['BTC'], short: 'configs/short.txt' } } })).toEqual([]);
    expect(approvedCoins({ live: { approved_coins: ['all'] } })).toEqual([]);
    expect(approvedCoins({})).toEqual([]);
    expect(approvedCoins({ live: 'x' })).toEqual([]);
  });

  it('reads live.user', () => {
    expect(liveUser(template)).toBe('bybit_01');
    expect(liveUser(v8)).toBe('bybit_01');
    expect(liveUser({})).toBeNull();
    expect(liveUser({ live: { user: 5 } })).toBeNull();
    expect(liveUser({ live: { user: ' ' } })).toBeNull();
  });
});

describe('diffConfigs and onlyCoinListsChanged', () => {
  it('lists every changed leaf with its path', () => {
    const before = { live: { user: 'a', leverage: 10, approved_coins: ['BTC'] }, bot: { long: { n_positions: 3 } } };
    const after = { live: { user: 'b', leverage: 10, approved_coins: ['BTC', 'ETH'] }, bot: { long: {} }, optimize: { iters: 5, n_cpus: 2 }, 'a.b': 1 };
    expect(diffConfigs(before, after)).toEqual([
      { path: 'live.user', before: 'a', after: 'b' },
      { path: 'live.approved_coins', before: ['BTC'], after: ['BTC', 'ETH'] },
      { path: 'bot.long.n_positions', before: 3, after: undefined },
      { path: 'optimize.iters', before: undefined, after: 5 },
      { path: 'optimize.n_cpus', before: undefined, after: 2 },
      { path: '["a.b"]', before: undefined, after: 1 },
    ]);
    expect(diffConfigs(template, structuredClone(template))).toEqual([]);
    expect(diffConfigs({ coin_overrides: {} }, {})).toEqual([{ path: 'coin_overrides', before: {}, after: undefined }]);
    expect(diffConfigs({ live: { approved_coins: ['BTC'] } }, { live: { approved_coins: { long: ['BTC'], short: [] } } })).toEqual([
      { path: 'live.approved_coins', before: ['BTC'], after: { long: ['BTC'], short: [] } },
    ]);
    expect(diffConfigs(1, 2)).toEqual([{ path: '', before: 1, after: 2 }]);
  });

  it('copes with deep values', () => {
    const deep = (n: number) => JSON.parse(`${'{"a":'.repeat(n)}1${'}'.repeat(n)}`) as unknown;
    expect(diffConfigs({ x: deep(5000) }, { x: deep(5000) })).toHaveLength(1); // too deep to compare: reported as changed
    expect(diffConfigs({ x: deep(20) }, { x: deep(20) })).toEqual([]);
  });

  it('is true only when nothing but the coin lists changed', () => {
    const edit = (change: (config: Record<string, Record<string, unknown>>) => void) => {
      const copy = structuredClone(v8) as Record<string, Record<string, unknown>>;
      change(copy);
      return copy;
    };
    expect(onlyCoinListsChanged(v8, edit((c) => (c.live!.approved_coins = { long: ['BTC'], short: [] })))).toBe(true);
    expect(onlyCoinListsChanged(v8, edit((c) => (c.live!.ignored_coins = ['DOGE'])))).toBe(true);
    expect(onlyCoinListsChanged(template, edit((c) => (c.live!.approved_coins = 'configs/other.json')))).toBe(false); // v8 vs template
    expect(onlyCoinListsChanged(template, { ...template, live: { ...(template.live as object), approved_coins: ['BTC'] } })).toBe(true);
    expect(onlyCoinListsChanged(v8, edit((c) => (c.live!.user = 'other')))).toBe(false);
    expect(onlyCoinListsChanged(v8, edit((c) => (c._standin = { crash: true })))).toBe(false);
    expect(onlyCoinListsChanged(v8, structuredClone(v8))).toBe(true);
    expect(onlyCoinListsChanged({}, { live: { approved_coins: ['BTC'] } })).toBe(true);
    expect(onlyCoinListsChanged({}, { live: { approved_coins: ['BTC'], leverage: 5 } })).toBe(false);
  });
});
