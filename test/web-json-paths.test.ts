import { describe, expect, it } from 'vitest';
import { joinPath, locateJsonPath, parentPath } from '../web/src/components/json-paths.js';

/** The text a range covers. */
const at = (text: string, path: string) => {
  const range = locateJsonPath(text, path);
  return range && text.slice(range.from, range.to);
};

const config = {
  live: { leverage: 'ten', approved_coins: ['BTC', 'ETH'], user: 'bybit_01' },
  bot: { long: { n_positions: 3, 'entry.grid': 0.5 } },
  backtest: { scenarios: [{ end_date: 'now' }, { end_date: '2026-01-01', note: 'say "hi"\\n' }] },
};
const pretty = JSON.stringify(config, null, 2);

describe('JSON paths as the API names them', () => {
  it('joins keys the way the API writes paths', () => {
    expect(joinPath('', 'live')).toBe('live');
    expect(joinPath('live', 'leverage')).toBe('live.leverage');
    expect(joinPath('backtest.scenarios', 0)).toBe('backtest.scenarios[0]');
    expect(joinPath('bot.long', 'entry.grid')).toBe('bot.long["entry.grid"]');
    expect(joinPath('', 'a b')).toBe('["a b"]');
    // Long odd keys are cut at 64 characters, as the server cuts them.
    expect(joinPath('x', ' '.repeat(80))).toBe(`x["${' '.repeat(64)}…"]`);
    expect(joinPath('x', 'k'.repeat(80))).toBe(`x.${'k'.repeat(80)}`);
  });

  it('goes up one step at a time', () => {
    expect(parentPath('backtest.scenarios[1].end_date')).toBe('backtest.scenarios[1]');
    expect(parentPath('backtest.scenarios[1]')).toBe('backtest.scenarios');
    expect(parentPath('bot.long["entry.grid"]')).toBe('bot.long');
    expect(parentPath('live')).toBe('');
    expect(parentPath('')).toBe('');
  });
});

describe('where an API error is drawn in the JSON text', () => {
  it('finds the value at a path: strings with their quotes, numbers, array items, keys with dots', () => {
    expect(at(pretty, 'live.leverage')).toBe('"ten"');
    expect(at(pretty, 'bot.long.n_positions')).toBe('3');
    expect(at(pretty, 'live.approved_coins[1]')).toBe('"ETH"');
    expect(at(pretty, 'backtest.scenarios[1].end_date')).toBe('"2026-01-01"');
    expect(at(pretty, 'bot.long["entry.grid"]')).toBe('0.5');
    expect(at(pretty, 'backtest.scenarios[1].note')).toBe(JSON.stringify('say "hi"\\n'));
  });

  it('a multi-line object or array is marked at its key, not over the whole block', () => {
    expect(at(pretty, 'live')).toBe('"live"');
    expect(at(pretty, 'live.approved_coins')).toBe('"approved_coins"');
    // An array item has no key: its first character.
    expect(at(pretty, 'backtest.scenarios[0]')).toBe('{');
    // A one-line object is marked whole.
    const compact = '{"live": {"leverage": 10}}';
    expect(at(compact, 'live')).toBe('{"leverage": 10}');
  });

  it('a missing key is drawn at the closest parent that exists', () => {
    expect(at(pretty, 'live.wallet_exposure_limit')).toBe('"live"');
    expect(at(pretty, 'backtest.scenarios[5].end_date')).toBe('"scenarios"');
    expect(at(pretty, 'optimize.bounds')).toBe('{');
  });

  it('broken JSON: what was read before the break still places errors; nothing readable is null', () => {
    const broken = '{\n  "live": {\n    "leverage": 10,\n    "user": \n';
    expect(at(broken, 'live.leverage')).toBe('10');
    expect(at('{"live": {"leverage": 7, ', 'live.leverage')).toBe('7');
    expect(locateJsonPath('', 'live')).toBeNull();
    expect(locateJsonPath('{ oops', 'live')).toBeNull();
  });

  it('stops at a depth limit on hostile nesting without throwing', () => {
    const deep = `${'['.repeat(10_000)}${']'.repeat(10_000)}`;
    expect(() => locateJsonPath(deep, '[0][0][0]')).not.toThrow();
    expect(locateJsonPath(deep, '[0][0][0]')).not.toBeNull();
  });
});
