import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { api, unwrap } from '../../lib/api/client';
import type { paths } from '../../lib/api/schema';

type Json<T> = T extends { content: { 'application/json': infer B } } ? B : never;

export type Account = Json<paths['/api/v1/accounts/{id}']['get']['responses'][200]>;
export type Exchange = Account['exchange'];
export type SecretField = keyof Account['fields'];
export type CreateAccount = NonNullable<paths['/api/v1/accounts']['post']['requestBody']>['content']['application/json'];
export type UpdateAccount = NonNullable<paths['/api/v1/accounts/{id}']['put']['requestBody']>['content']['application/json'];
type InstanceList = Json<paths['/api/v1/instances']['get']['responses'][200]>;
export type Instance = InstanceList['instances'][number];

export type ExchangeNeeds = Json<paths['/api/v1/accounts/exchanges']['get']['responses'][200]>['exchanges'][number];

export const FIELD_LABELS: Record<SecretField, string> = { key: 'API key', secret: 'API secret', passphrase: 'Passphrase', wallet_address: 'Wallet address', private_key: 'Private key' };

export const keys = { accounts: ['accounts'] as const, instances: ['instances'] as const, exchanges: ['account-exchanges'] as const };

/** The exchanges an account can be for and the secret fields each needs, as the server checks them. */
export function useExchanges() {
  return useQuery({
    queryKey: keys.exchanges,
    // The same for the server's lifetime.
    staleTime: Infinity,
    queryFn: async () => new Map((await unwrap(api.GET('/api/v1/accounts/exchanges'))).exchanges.map((e) => [e.exchange, e] as const)),
  });
}

export function useAccounts(enabled: boolean) {
  return useQuery({
    queryKey: keys.accounts,
    enabled,
    queryFn: async () => (await unwrap(api.GET('/api/v1/accounts', { params: { query: { limit: 200 } } }))).accounts,
  });
}

/** Every bot, to say which ones use each account. */
export function useInstances() {
  return useQuery({
    queryKey: keys.instances,
    queryFn: async () => {
      const all: Instance[] = [];
      for (let page = 1; ; page += 1) {
        const result = await unwrap(api.GET('/api/v1/instances', { params: { query: { page, limit: 200 } } }));
        all.push(...result.instances);
        if (page >= result.pagination.totalPages) return all;
      }
    },
  });
}

export function useSaveAccount(id: string | null) {
  const client = useQueryClient();
  return useMutation({
    mutationFn: (body: CreateAccount | UpdateAccount): Promise<Account> =>
      id === null
        ? unwrap(api.POST('/api/v1/accounts', { body: body as CreateAccount }))
        : unwrap(api.PUT('/api/v1/accounts/{id}', { params: { path: { id } }, body: body })),
    onSuccess: () => void client.invalidateQueries({ queryKey: keys.accounts }),
  });
}

export function useDeleteAccount() {
  const client = useQueryClient();
  return useMutation({
    mutationFn: (id: string) => unwrap(api.DELETE('/api/v1/accounts/{id}', { params: { path: { id } } })),
    onSuccess: () => void client.invalidateQueries({ queryKey: keys.accounts }),
  });
}
