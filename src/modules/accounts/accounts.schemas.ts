import Type, { type TSchema } from 'typebox';
import { NO_CONTROL_CHARS, PageQuery, Pagination, Timestamp } from '../../http/schemas.js';
import { EXCHANGES, SECRET_FIELDS } from './accounts.types.js';

const Nullable = <T extends TSchema>(schema: T) => Type.Union([schema, Type.Null()]);

export const AccountName = Type.String({
  minLength: 1,
  maxLength: 64,
  // A letter or digit first: `_comment_*` keys live beside users in api-keys.json, and a leading `-` would read as a flag.
  pattern: '^[A-Za-z0-9][A-Za-z0-9._-]*$',
  description: 'the Passivbot user (its key in api-keys.json): letters, digits, . _ -; `referrals` and `tradfi` are reserved',
});
const ExchangeName = Type.Enum([...EXCHANGES]);
const SecretValue = Type.String({ minLength: 1, maxLength: 4096, pattern: NO_CONTROL_CHARS, description: 'write-only' });
const IsVault = Type.Boolean({ description: 'hyperliquid only: the wallet is a vault (default false)' });

export const CreateAccountBody = Type.Object(
  {
    name: AccountName,
    exchange: ExchangeName,
    key: Type.Optional(SecretValue),
    secret: Type.Optional(SecretValue),
    passphrase: Type.Optional(SecretValue),
    wallet_address: Type.Optional(SecretValue),
    private_key: Type.Optional(SecretValue),
    is_vault: Type.Optional(IsVault),
  },
  {
    additionalProperties: false,
    description: 'key + secret (binance, bybit, gateio, defx, bitunix, weex), plus passphrase (bitget, okx, kucoin), or wallet_address + private_key (hyperliquid, paradex)',
  },
);

export const UpdateAccountBody = Type.Object(
  {
    name: Type.Optional(AccountName),
    exchange: Type.Optional(ExchangeName),
    key: Type.Optional(Nullable(SecretValue)),
    secret: Type.Optional(Nullable(SecretValue)),
    passphrase: Type.Optional(Nullable(SecretValue)),
    wallet_address: Type.Optional(Nullable(SecretValue)),
    private_key: Type.Optional(Nullable(SecretValue)),
    is_vault: Type.Optional(IsVault),
  },
  {
    additionalProperties: false,
    minProperties: 1,
    description: 'Secret fields omitted are kept, null clears them; the result must still suit the exchange. name and exchange change only while no instance uses the account',
  },
);

/** The response: which secret fields are set, never a value. */
export const AccountSchema = Type.Object(
  {
    id: Type.String(),
    name: Type.String(),
    exchange: ExchangeName,
    isVault: Type.Boolean(),
    fields: Type.Object({ key: Type.Boolean(), secret: Type.Boolean(), passphrase: Type.Boolean(), wallet_address: Type.Boolean(), private_key: Type.Boolean() }),
    usedBy: Type.Integer({ description: 'bot instances using the account' }),
    createdAt: Timestamp,
    updatedAt: Timestamp,
  },
  { $id: 'Account' },
);

export const AccountListQuery = Type.Object(
  {
    ...PageQuery,
    exchange: Type.Optional(ExchangeName),
    q: Type.Optional(Type.String({ minLength: 1, maxLength: 200, pattern: NO_CONTROL_CHARS, description: 'part of the name' })),
  },
  { additionalProperties: false },
);

export const AccountList = Type.Object({ accounts: Type.Array(AccountSchema), pagination: Pagination });

/** What each exchange needs: the form shows exactly these fields (the server refuses the others). */
export const ExchangeList = Type.Object(
  {
    exchanges: Type.Array(
      Type.Object({
        exchange: ExchangeName,
        fields: Type.Array(Type.Enum([...SECRET_FIELDS]), { description: 'the secret fields this exchange needs, all required; the others are refused' }),
        vaultFlag: Type.Boolean({ description: 'whether `is_vault` applies (hyperliquid)' }),
      }),
    ),
  },
  { $id: 'ExchangeList' },
);
