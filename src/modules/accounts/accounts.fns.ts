import type { FieldIssue } from '../../lib/errors.js';
import { SECRET_FIELDS, type ApiKeyEntry, type Credentials, type Exchange, type SecretField } from './accounts.types.js';

/** The secret fields each exchange needs; all of them are required, the others refused. */
export const EXCHANGE_FIELDS: Readonly<Record<Exchange, readonly SecretField[]>> = {
  binance: ['key', 'secret'],
  bybit: ['key', 'secret'],
  gateio: ['key', 'secret'],
  defx: ['key', 'secret'],
  bitunix: ['key', 'secret'],
  weex: ['key', 'secret'],
  bitget: ['key', 'secret', 'passphrase'],
  okx: ['key', 'secret', 'passphrase'],
  kucoin: ['key', 'secret', 'passphrase'],
  hyperliquid: ['wallet_address', 'private_key'],
  paradex: ['wallet_address', 'private_key'],
};

/** Only hyperliquid entries carry `is_vault`. */
export const usesVaultFlag = (exchange: Exchange): boolean => exchange === 'hyperliquid';

/**
 * Keys of api-keys.json that are not users: `referrals` (exchange sign-up links) and `tradfi`
 * (the stock data provider). `_comment_*` keys are kept out by the name pattern.
 */
export const RESERVED_NAMES: ReadonlySet<string> = new Set(['referrals', 'tradfi']);

export const isReservedName = (name: string): boolean => RESERVED_NAMES.has(name.toLowerCase());

/** Associated data of an account's sealed credentials: a sealed blob only opens for its own row. */
export const credentialsAad = (id: string): string => `account:${id}:credentials`;

/** Secret values are pasted: surrounding whitespace is a copy mistake the exchange would reject later. */
export function secretValueIssue(field: SecretField, value: string): FieldIssue | undefined {
  return /^\s|\s$/.test(value) ? { field, message: 'must not start or end with whitespace' } : undefined;
}

/** A create body or an update patch: a value sets a field, null clears it, absent keeps it. */
export type CredentialsPatch = { [F in SecretField]?: string | null | undefined } & { is_vault?: boolean | undefined };

export interface MergedCredentials {
  credentials: Credentials;
  isVault: boolean;
  issues: FieldIssue[];
  /** What changed, for the audit log: field names and verbs, never values. */
  changes: string[];
}

/**
 * Applies a patch to an account's credentials for its (possibly new) exchange, and checks the
 * result: a field the exchange does not use is refused, a field it needs must be set. On an
 * exchange change the stored fields the new exchange does not use are dropped.
 */
export function mergeCredentials(
  exchange: Exchange,
  current: { credentials: Credentials; isVault: boolean; exchange: Exchange | null },
  patch: CredentialsPatch,
): MergedCredentials {
  const used = EXCHANGE_FIELDS[exchange];
  const credentials: Credentials = {};
  const issues: FieldIssue[] = [];
  const changes: string[] = [];
  for (const field of SECRET_FIELDS) {
    const given = patch[field];
    const stored = current.credentials[field];
    if (typeof given === 'string') {
      if (!used.includes(field)) {
        issues.push({ field, message: `is not used by ${exchange} (it needs ${used.join(', ')})` });
        continue;
      }
      const issue = secretValueIssue(field, given);
      if (issue) issues.push(issue);
      credentials[field] = given;
      changes.push(`${field} ${stored === undefined ? 'set' : 'replaced'}`);
    } else if (given === null) {
      if (stored !== undefined) changes.push(`${field} cleared`);
    } else if (stored !== undefined) {
      if (used.includes(field)) credentials[field] = stored;
      else changes.push(`${field} dropped (not used by ${exchange})`);
    }
    if (used.includes(field) && credentials[field] === undefined) issues.push({ field, message: `is required for ${exchange}` });
  }
  if (patch.is_vault !== undefined && !usesVaultFlag(exchange)) issues.push({ field: 'is_vault', message: `is not used by ${exchange} (hyperliquid only)` });
  const sameExchange = current.exchange === exchange;
  const isVault = usesVaultFlag(exchange) && (patch.is_vault ?? (sameExchange ? current.isVault : false));
  if (current.exchange !== null && isVault !== current.isVault) changes.push(`is_vault ${String(isVault)}`);
  return { credentials, isVault, issues, changes };
}

/** The api-keys.json entry of an account, field order as in Passivbot's example file. */
export function toApiKeyEntry(name: string, exchange: Exchange, credentials: Credentials, isVault: boolean): ApiKeyEntry {
  const need = (field: SecretField): string => {
    const value = credentials[field];
    // Every write checks the required fields, so this is a damaged row, not user input.
    if (value === undefined) throw new Error(`account ${name} has no ${field}, which ${exchange} needs`);
    return value;
  };
  switch (exchange) {
    case 'hyperliquid':
      return { exchange, wallet_address: need('wallet_address'), private_key: need('private_key'), is_vault: isVault };
    case 'paradex':
      return { exchange, wallet_address: need('wallet_address'), private_key: need('private_key') };
    case 'bitget':
    case 'okx':
    case 'kucoin':
      return { exchange, key: need('key'), secret: need('secret'), passphrase: need('passphrase') };
    default:
      return { exchange, key: need('key'), secret: need('secret') };
  }
}
