import { describe, expect, it } from 'vitest';
import { botsSearch, nextSort, sortBots, type SortableBot } from '../web/src/pages/bots/sort.js';

const bot = (name: string, over: Partial<SortableBot> = {}, summary: Partial<SortableBot['summary']> = {}): SortableBot => ({
  id: `id-${name}`,
  name,
  status: 'stopped',
  environmentId: 'local',
  account: 'bybit_01',
  exchange: 'bybit',
  startedAt: null,
  restartCount: 0,
  ...over,
  summary: { balance: null, realizedPnl: null, ...summary },
});
const envs: Record<string, string> = { e1: 'vps-berlin', e2: 'alpha-host', local: 'local' };
const envName = (id: string) => envs[id] ?? id;
const names = (bots: SortableBot[]) => bots.map((b) => b.name);

describe('bots table sorting', () => {
  const fleet = [
    bot('eth-short', { status: 'running', environmentId: 'e1', account: 'okx_2', exchange: 'okx', startedAt: '2026-01-01T10:00:00Z', restartCount: 3 }, { balance: 1500, realizedPnl: -12.5 }),
    bot('btc-long', { status: 'crashed', environmentId: 'e2', account: 'bybit_01', restartCount: 7 }, { balance: 250, realizedPnl: 40 }),
    bot('sol-grid', { status: 'running', environmentId: 'local', account: 'binance_1', exchange: 'binance', startedAt: '2026-01-01T08:00:00Z' }, { balance: 9000, realizedPnl: 0 }),
    bot('bot-10', { status: 'stopped', environmentId: 'e1', account: 'okx_2', exchange: 'okx', startedAt: '2025-12-01T00:00:00Z' }),
    bot('bot-9', { status: 'error', environmentId: 'e2', account: 'bybit_01', restartCount: 1 }),
  ];

  it('sorts by name by default, digits as numbers (bot-9 before bot-10)', () => {
    expect(names(sortBots(fleet, {}, envName))).toEqual(['bot-9', 'bot-10', 'btc-long', 'eth-short', 'sol-grid']);
    expect(names(sortBots(fleet, { dir: 'desc' }, envName))).toEqual(['sol-grid', 'eth-short', 'btc-long', 'bot-10', 'bot-9']);
  });

  it('sorts numbers as numbers, and bots without a value last in both directions', () => {
    expect(names(sortBots(fleet, { sort: 'balance' }, envName))).toEqual(['btc-long', 'eth-short', 'sol-grid', 'bot-9', 'bot-10']);
    expect(names(sortBots(fleet, { sort: 'balance', dir: 'desc' }, envName))).toEqual(['sol-grid', 'eth-short', 'btc-long', 'bot-9', 'bot-10']);
    expect(names(sortBots(fleet, { sort: 'pnl', dir: 'desc' }, envName))).toEqual(['btc-long', 'sol-grid', 'eth-short', 'bot-9', 'bot-10']);
    expect(names(sortBots(fleet, { sort: 'crashes', dir: 'desc' }, envName))).toEqual(['btc-long', 'eth-short', 'bot-9', 'bot-10', 'sol-grid']);
  });

  it('uptime counts only running bots, longest first when descending; a stopped bot with an old start has none', () => {
    expect(names(sortBots(fleet, { sort: 'uptime', dir: 'desc' }, envName))).toEqual(['sol-grid', 'eth-short', 'bot-9', 'bot-10', 'btc-long']);
    expect(names(sortBots(fleet, { sort: 'uptime' }, envName))).toEqual(['eth-short', 'sol-grid', 'bot-9', 'bot-10', 'btc-long']);
  });

  it('sorts environments by their names (not ids), accounts by name then exchange, status running first', () => {
    expect(names(sortBots(fleet, { sort: 'environment' }, envName))).toEqual(['bot-9', 'btc-long', 'sol-grid', 'bot-10', 'eth-short']);
    expect(names(sortBots(fleet, { sort: 'account' }, envName))).toEqual(['sol-grid', 'bot-9', 'btc-long', 'bot-10', 'eth-short']);
    expect(names(sortBots(fleet, { sort: 'status' }, envName))).toEqual(['eth-short', 'sol-grid', 'bot-10', 'btc-long', 'bot-9']);
  });

  it('returns a new array and leaves the query data as it was', () => {
    const before = names(fleet);
    const sorted = sortBots(fleet, { sort: 'balance' }, envName);
    expect(sorted).not.toBe(fleet);
    expect(names(fleet)).toEqual(before);
  });

  it('keeps the URL short and ignores what it does not know', () => {
    expect(botsSearch({})).toEqual({});
    expect(botsSearch({ sort: 'balance', dir: 'desc' })).toEqual({ sort: 'balance', dir: 'desc' });
    expect(botsSearch({ sort: 'name', dir: 'asc' })).toEqual({});
    expect(botsSearch({ sort: 'password', dir: 'sideways' })).toEqual({});
    expect(botsSearch({ sort: ['balance'], dir: 1 })).toEqual({});
  });

  it('a click on the sorted column flips it; another column starts ascending', () => {
    expect(nextSort({}, 'name')).toEqual({ dir: 'desc' });
    expect(nextSort({ dir: 'desc' }, 'name')).toEqual({});
    expect(nextSort({}, 'balance')).toEqual({ sort: 'balance' });
    expect(nextSort({ sort: 'balance' }, 'balance')).toEqual({ sort: 'balance', dir: 'desc' });
    expect(nextSort({ sort: 'balance', dir: 'desc' }, 'crashes')).toEqual({ sort: 'crashes' });
  });
});
