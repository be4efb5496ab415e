import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { api, unwrap } from '../../lib/api/client';
import type { paths } from '../../lib/api/schema';

type Json<T> = T extends { content: { 'application/json': infer B } } ? B : never;

export type Environment = Json<paths['/api/v1/environments/{id}']['get']['responses'][200]>;
export type SystemInfo = NonNullable<Environment['systemInfo']>;
export type HealthState = Environment['status']['health'];
export type CreateEnvironment = NonNullable<paths['/api/v1/environments']['post']['requestBody']>['content']['application/json'];
export type UpdateEnvironment = NonNullable<paths['/api/v1/environments/{id}']['put']['requestBody']>['content']['application/json'];
export type Operation = Json<paths['/api/v1/operations/{id}']['get']['responses'][200]>;
export type HealthHistory = Json<paths['/api/v1/environments/{id}/health/history']['get']['responses'][200]>;
type InstanceList = Json<paths['/api/v1/instances']['get']['responses'][200]>;
export type Instance = InstanceList['instances'][number];

export const keys = {
  environments: ['environments'] as const,
  environment: (id: string) => ['environment', id] as const,
  history: (id: string) => ['environment', id, 'history'] as const,
  versions: (id: string) => ['environment', id, 'versions'] as const,
  operations: ['operations'] as const,
  operation: (id: string) => ['operations', id] as const,
  instances: ['instances'] as const,
};

export function useEnvironments() {
  return useQuery({
    queryKey: keys.environments,
    queryFn: async () => (await unwrap(api.GET('/api/v1/environments', { params: { query: { limit: 200, sort: 'name' } } }))).environments,
  });
}

export function useEnvironment(id: string) {
  return useQuery({ queryKey: keys.environment(id), queryFn: () => unwrap(api.GET('/api/v1/environments/{id}', { params: { path: { id } } })) });
}

export function useHealthHistory(id: string) {
  return useQuery({ queryKey: keys.history(id), queryFn: () => unwrap(api.GET('/api/v1/environments/{id}/health/history', { params: { path: { id } } })) });
}

/** Bot counts per environment (and per account): every instance, a page of 200 at a time. */
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

export function useOperations(environmentId: string) {
  return useQuery({
    queryKey: [...keys.operations, { environmentId }],
    queryFn: async () => (await unwrap(api.GET('/api/v1/operations', { params: { query: { environmentId, limit: 20 } } }))).operations,
  });
}

export function useOperation(id: string | null) {
  return useQuery({
    queryKey: keys.operation(id ?? ''),
    enabled: id !== null,
    queryFn: () => unwrap(api.GET('/api/v1/operations/{id}', { params: { path: { id: id ?? '' } } })),
  });
}

export function useVersions(id: string, enabled: boolean) {
  return useQuery({
    queryKey: keys.versions(id),
    enabled,
    retry: false,
    queryFn: () => unwrap(api.GET('/api/v1/environments/{id}/versions', { params: { path: { id } } })),
  });
}

/** Invalidates what a change to one environment touches. */
function useRefresh() {
  const client = useQueryClient();
  return (id?: string) => {
    void client.invalidateQueries({ queryKey: keys.environments });
    if (id) void client.invalidateQueries({ queryKey: keys.environment(id) });
  };
}

export function useSaveEnvironment(id: string | null) {
  const refresh = useRefresh();
  return useMutation({
    mutationFn: (body: CreateEnvironment | UpdateEnvironment): Promise<Environment> =>
      id === null
        ? unwrap(api.POST('/api/v1/environments', { body: body as CreateEnvironment }))
        : unwrap(api.PUT('/api/v1/environments/{id}', { params: { path: { id } }, body: body })),
    onSuccess: (env) => refresh(env.id),
  });
}

export function useDeleteEnvironment() {
  const refresh = useRefresh();
  return useMutation({
    mutationFn: ({ id, force }: { id: string; force: boolean }) => unwrap(api.DELETE('/api/v1/environments/{id}', { params: { path: { id }, query: { force } } })),
    onSuccess: () => refresh(),
  });
}

export function useAcceptHostKey(id: string) {
  const refresh = useRefresh();
  return useMutation({
    mutationFn: (fingerprint: string) => unwrap(api.POST('/api/v1/environments/{id}/host-key/accept', { params: { path: { id } }, body: { fingerprint } })),
    onSuccess: () => refresh(id),
  });
}

export type OperationKind = 'check_health' | 'restart' | 'upgrade' | 'deploy';

/** Starts an operation; resolves with its id (progress then comes over the hub). */
export function useStartOperation(id: string) {
  const client = useQueryClient();
  return useMutation({
    mutationFn: async ({ kind, version }: { kind: OperationKind; version?: string }) => {
      const path = { params: { path: { id } } };
      switch (kind) {
        case 'check_health':
          return unwrap(api.POST('/api/v1/environments/{id}/check-health', path));
        case 'restart':
          return unwrap(api.POST('/api/v1/environments/{id}/restart', { ...path, body: {} }));
        case 'upgrade':
          return unwrap(api.POST('/api/v1/environments/{id}/upgrade', { ...path, body: { version: version ?? '' } }));
        case 'deploy':
          return unwrap(api.POST('/api/v1/vps/deploy/{id}', path));
      }
    },
    onSuccess: () => void client.invalidateQueries({ queryKey: keys.operations }),
  });
}

export function useRefreshSystemInfo(id: string) {
  const refresh = useRefresh();
  return useMutation({
    mutationFn: () => unwrap(api.POST('/api/v1/environments/{id}/system-info', { params: { path: { id } } })),
    onSuccess: () => refresh(id),
  });
}
