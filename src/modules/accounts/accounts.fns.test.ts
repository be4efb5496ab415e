import { describe, expect, it } from 'vitest';
import { EXCHANGE_FIELDS, isReservedName, mergeCredentials, toApiKeyEntry } from './accounts.fns.js';
import { EXCHANGES, type Exchange } from './accounts.types.js';

const fresh = { credentials: {}, isVault: false, exchange: null };
const fields = (issues: { field: string }[]) => issues.map((i) => i.field);

describe('exchange account credentials', () => {
  it('every exchange Passivbot knows has its fields', () => {
    expect(Object.keys(EXCHANGE_FIELDS).sort()).toEqual([...EXCHANGES].sort());
    expect(EXCHANGE_FIELDS.okx).toEqual(['key', 'secret', 'passphrase']);
    expect(EXCHANGE_FIELDS.paradex).toEqual(['wallet_address', 'private_key']);
  });

  it('a new account needs every field of its exchange and nothing else', () => {
    expect(mergeCredentials('binance', fresh, { key: 'k', secret: 's' })).toEqual({ credentials: { key: 'k', secret: 's' }, isVault: false, issues: [], changes: ['key set', 'secret set'] });
    expect(fields(mergeCredentials('okx', fresh, { key: 'k', secret: 's' }).issues)).toEqual(['passphrase']);
    expect(mergeCredentials('okx', fresh, { key: 'k' }).issues).toEqual([
      { field: 'secret', message: 'is required for okx' },
      { field: 'passphrase', message: 'is required for okx' },
    ]);
    const unused = mergeCredentials('bybit', fresh, { key: 'k', secret: 's', private_key: 'p', is_vault: false });
    expect(unused.issues).toEqual([
      { field: 'private_key', message: 'is not used by bybit (it needs key, secret)' },
      { field: 'is_vault', message: 'is not used by bybit (hyperliquid only)' },
    ]);
    expect(mergeCredentials('hyperliquid', fresh, { wallet_address: 'w', private_key: 'p', is_vault: true })).toMatchObject({ isVault: true, issues: [] });
    expect(mergeCredentials('hyperliquid', fresh, { wallet_address: 'w', private_key: 'p' }).isVault).toBe(false);
  });

  it('refuses pasted whitespace around a secret', () => {
    expect(mergeCredentials('binance', fresh, { key: ' k', secret: 's\u00a0' }).issues).toEqual([
      { field: 'key', message: 'must not start or end with whitespace' },
      { field: 'secret', message: 'must not start or end with whitespace' },
    ]);
    expect(mergeCredentials('binance', fresh, { key: 'a b', secret: 's' }).issues).toEqual([]);
  });

  it('a patch keeps what it omits, replaces what it gives, clears what is null', () => {
    const current = { credentials: { key: 'k', secret: 's', passphrase: 'p' }, isVault: false, exchange: 'okx' as Exchange };
    expect(mergeCredentials('okx', current, { secret: 's2' })).toEqual({ credentials: { key: 'k', secret: 's2', passphrase: 'p' }, isVault: false, issues: [], changes: ['secret replaced'] });
    expect(mergeCredentials('okx', current, { passphrase: null }).issues).toEqual([{ field: 'passphrase', message: 'is required for okx' }]);
    // Moving to an exchange without passphrases drops it; null for it is no error.
    expect(mergeCredentials('binance', current, {})).toMatchObject({ credentials: { key: 'k', secret: 's' }, issues: [], changes: ['passphrase dropped (not used by binance)'] });
    expect(mergeCredentials('binance', current, { passphrase: null })).toMatchObject({ credentials: { key: 'k', secret: 's' }, issues: [], changes: ['passphrase cleared'] });
    expect(fields(mergeCredentials('hyperliquid', current, { wallet_address: 'w' }).issues)).toEqual(['private_key']);
  });

  it('is_vault follows hyperliquid: kept on updates, reset when the exchange changes', () => {
    const vault = { credentials: { wallet_address: 'w', private_key: 'p' }, isVault: true, exchange: 'hyperliquid' as Exchange };
    expect(mergeCredentials('hyperliquid', vault, { private_key: 'p2' })).toMatchObject({ isVault: true, changes: ['private_key replaced'] });
    expect(mergeCredentials('hyperliquid', vault, { is_vault: false })).toMatchObject({ isVault: false, changes: ['is_vault false'] });
    expect(mergeCredentials('paradex', vault, {})).toMatchObject({ isVault: false, issues: [], changes: ['is_vault false'] });
  });

  it('writes api-keys.json entries in the shapes of Passivbot example file', () => {
    expect(JSON.stringify(toApiKeyEntry('a', 'binance', { key: 'k', secret: 's' }, false))).toBe('{"exchange":"binance","key":"k","secret":"s"}');
    expect(JSON.stringify(toApiKeyEntry('a', 'kucoin', { passphrase: 'p', secret: 's', key: 'k' }, false))).toBe('{"exchange":"kucoin","key":"k","secret":"s","passphrase":"p"}');
    expect(JSON.stringify(toApiKeyEntry('a', 'hyperliquid', { private_key: 'p', wallet_address: 'w' }, true))).toBe(
      '{"exchange":"hyperliquid","wallet_address":"w","private_key":"p","is_vault":true}',
    );
    expect(JSON.stringify(toApiKeyEntry('a', 'paradex', { wallet_address: 'w', private_key: 'p' }, false))).toBe('{"exchange":"paradex","wallet_address":"w","private_key":"p"}');
    expect(() => toApiKeyEntry('broken', 'okx', { key: 'k', secret: 's' }, false)).toThrow('account broken has no passphrase, which okx needs');
  });

  it('reserves the api-keys.json keys that are not users', () => {
    expect(isReservedName('referrals')).toBe(true);
    expect(isReservedName('Referrals')).toBe(true);
    expect(isReservedName('tradfi')).toBe(true);
    expect(isReservedName('binance_01')).toBe(false);
  });
});
