/** Exchanges Passivbot trades on (v7.8.4, plus the newer bitunix and weex). */
export const EXCHANGES = ['binance', 'bybit', 'bitget', 'okx', 'gateio', 'kucoin', 'hyperliquid', 'paradex', 'defx', 'bitunix', 'weex'] as const;
export type Exchange = (typeof EXCHANGES)[number];

/** The secret fields of an api-keys.json entry, in the order Passivbot's example file writes them. */
export const SECRET_FIELDS = ['key', 'secret', 'passphrase', 'wallet_address', 'private_key'] as const;
export type SecretField = (typeof SECRET_FIELDS)[number];

/** The plaintext secret fields of one account; only ever in memory. */
export type Credentials = Partial<Record<SecretField, string>>;

/** The public view of an account: which secret fields are set, never their values. */
export interface Account {
  id: string;
  /** The Passivbot user: the key in api-keys.json that `live.user` picks. */
  name: string;
  exchange: Exchange;
  isVault: boolean;
  fields: Record<SecretField, boolean>;
  /** How many bot instances run on this account. */
  usedBy: number;
  createdAt: string;
  updatedAt: string;
}

type KeySecretExchange = 'binance' | 'bybit' | 'gateio' | 'defx' | 'bitunix' | 'weex';
type PassphraseExchange = 'bitget' | 'okx' | 'kucoin';

/** One entry of Passivbot's api-keys.json, exactly as its example file shapes them. */
export type ApiKeyEntry =
  | { exchange: KeySecretExchange; key: string; secret: string }
  | { exchange: PassphraseExchange; key: string; secret: string; passphrase: string }
  | { exchange: 'hyperliquid'; wallet_address: string; private_key: string; is_vault: boolean }
  | { exchange: 'paradex'; wallet_address: string; private_key: string };

/** Told after an update or delete commits: api-keys.json files that hold the account are stale. */
export interface AccountChange {
  name: string;
  /** Set when the account was renamed. */
  previousName?: string;
  kind: 'updated' | 'deleted';
}
