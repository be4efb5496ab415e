/**
 * Bots over the generated client: queries keyed as the contract says (`['instances']`,
 * `['instance', id]`), kept live by hub messages applied in place (no refetch per summary),
 * and the mutations the pages use.
 */
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useCallback } from 'react';
import { api, unwrap } from '../../lib/api/client';
import type { paths } from '../../lib/api/schema';
import { useHubTopic, useRefetchOnReconnect, type HubMessage } from '../../lib/hub';

type Json<T> = T extends { content: { 'application/json': infer B } } ? B : never;

export type Instance = Json<paths['/api/v1/instances/{id}']['get']['responses'][200]>;
export type InstanceStatus = Instance['status'];
export type LiveSummary = Instance['summary'];
export type CreateInstance = NonNullable<paths['/api/v1/instances']['post']['requestBody']>['content']['application/json'];
export type UpdateInstance = NonNullable<paths['/api/v1/instances/{id}']['put']['requestBody']>['content']['application/json'];
export type BulkAction = NonNullable<paths['/api/v1/instances/bulk']['post']['requestBody']>['content']['application/json']['action'];
export type BulkResult = Json<paths['/api/v1/instances/bulk']['post']['responses'][200]>;
export type VersionList = Json<paths['/api/v1/instances/{id}/config/versions']['get']['responses'][200]>;
export type VersionDetail = Json<paths['/api/v1/instances/{id}/config/versions/{version}']['get']['responses'][200]>;
type EnvironmentList = Json<paths['/api/v1/environments']['get']['responses'][200]>;
type AccountList = Json<paths['/api/v1/accounts']['get']['responses'][200]>;
export type EnvironmentOption = EnvironmentList['environments'][number];
export type AccountOption = AccountList['accounts'][number];

export const keys = {
  instances: ['instances'] as const,
  instance: (id: string) => ['instance', id] as const,
  versions: (id: string) => ['instance', id, 'versions'] as const,
  version: (id: string, version: number) => ['instance', id, 'version', version] as const,
  environmentOptions: ['environments', 'options'] as const,
  accountOptions: ['accounts', 'options'] as const,
};

/** Every bot, 200 a page. */
async function allInstances(): Promise<Instance[]> {
  const all: Instance[] = [];
  for (let page = 1; ; page += 1) {
    const result = await unwrap(api.GET('/api/v1/instances', { params: { query: { page, limit: 200 } } }));
    all.push(...result.instances);
    if (page >= result.pagination.totalPages) return all;
  }
}

/** A hub message of `instances` / `instance:<id>` applied to a bot as it was. */
export function applyInstanceMessage(current: Instance | undefined, message: HubMessage): Instance | undefined | null {
  const payload = message.payload as Partial<Instance> & { id: string };
  if (message.type === 'instance_deleted') return null;
  if (message.type === 'instance_summary') return current && { ...current, summary: payload.summary ?? current.summary, status: payload.status ?? current.status };
  if (typeof payload.name === 'string' && typeof payload.status === 'string') return payload as Instance;
  return current;
}

function applyToList(list: Instance[] | undefined, message: HubMessage): Instance[] | undefined {
  if (!list) return list;
  const id = (message.payload as { id?: unknown } | null)?.id;
  if (typeof id !== 'string') return list;
  const index = list.findIndex((i) => i.id === id);
  const next = applyInstanceMessage(list[index], message);
  if (next === null) return index < 0 ? list : list.filter((i) => i.id !== id);
  if (!next) return list;
  if (index < 0) return [...list, next];
  const copy = list.slice();
  copy[index] = next;
  return copy;
}

export function useInstances() {
  const queryClient = useQueryClient();
  const onMessage = useCallback((m: HubMessage) => queryClient.setQueryData<Instance[]>(keys.instances, (old) => applyToList(old, m)), [queryClient]);
  useHubTopic(['instances'], onMessage);
  useRefetchOnReconnect(queryClient, keys.instances);
  return useQuery({ queryKey: keys.instances, queryFn: allInstances });
}

export function useInstance(id: string) {
  const queryClient = useQueryClient();
  const onMessage = useCallback(
    (m: HubMessage) => {
      const next = applyInstanceMessage(queryClient.getQueryData<Instance>(keys.instance(id)), m);
      if (next) queryClient.setQueryData(keys.instance(id), next);
      else if (next === null) void queryClient.invalidateQueries({ queryKey: keys.instance(id) });
      if (m.type === 'instance_updated' || m.type === 'instance_created') void queryClient.invalidateQueries({ queryKey: keys.versions(id) });
    },
    [queryClient, id],
  );
  useHubTopic([`instance:${id}`], onMessage);
  useRefetchOnReconnect(queryClient, keys.instance(id));
  return useQuery({ queryKey: keys.instance(id), queryFn: () => unwrap(api.GET('/api/v1/instances/{id}', { params: { path: { id } } })) });
}

export function useVersions(id: string) {
  return useQuery({ queryKey: keys.versions(id), queryFn: () => unwrap(api.GET('/api/v1/instances/{id}/config/versions', { params: { path: { id } } })) });
}

export function useVersion(id: string, version: number | null, against?: number) {
  return useQuery({
    queryKey: [...keys.version(id, version ?? 0), against ?? null],
    enabled: version !== null,
    staleTime: Infinity,
    queryFn: () =>
      unwrap(api.GET('/api/v1/instances/{id}/config/versions/{version}', { params: { path: { id, version: version ?? 1 }, query: against ? { against } : {} } })),
  });
}

/** Environments and accounts for the form's pickers (names only matter here). */
export function useEnvironmentOptions() {
  return useQuery({
    queryKey: keys.environmentOptions,
    queryFn: async () => (await unwrap(api.GET('/api/v1/environments', { params: { query: { limit: 200 } } }))).environments,
  });
}

export function useAccountOptions() {
  return useQuery({
    queryKey: keys.accountOptions,
    queryFn: async () => (await unwrap(api.GET('/api/v1/accounts', { params: { query: { limit: 200 } } }))).accounts,
  });
}

function useSetInstance() {
  const queryClient = useQueryClient();
  return (instance: Instance) => {
    queryClient.setQueryData(keys.instance(instance.id), instance);
    queryClient.setQueryData<Instance[]>(keys.instances, (old) => applyToList(old, { type: 'instance_updated', topic: 'instances', payload: instance, ts: '' }));
  };
}

export function useCreateInstance() {
  const set = useSetInstance();
  return useMutation({
    mutationFn: (body: CreateInstance) => unwrap(api.POST('/api/v1/instances', { body })),
    onSuccess: set,
  });
}

export function useUpdateInstance(id: string) {
  const set = useSetInstance();
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: (body: UpdateInstance) => unwrap(api.PUT('/api/v1/instances/{id}', { params: { path: { id } }, body })),
    onSuccess: (instance) => {
      set(instance);
      void queryClient.invalidateQueries({ queryKey: keys.versions(id) });
    },
  });
}

export function useInstanceAction() {
  const set = useSetInstance();
  return useMutation({
    mutationFn: ({ id, action }: { id: string; action: BulkAction }) => {
      const path = { params: { path: { id } } };
      if (action === 'start') return unwrap(api.POST('/api/v1/instances/{id}/start', path));
      if (action === 'stop') return unwrap(api.POST('/api/v1/instances/{id}/stop', path));
      return unwrap(api.POST('/api/v1/instances/{id}/restart', path));
    },
    onSuccess: set,
  });
}

export function useBulkAction() {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: (body: { action: BulkAction; ids: string[] }) => unwrap(api.POST('/api/v1/instances/bulk', { body })),
    onSettled: () => void queryClient.invalidateQueries({ queryKey: keys.instances }),
  });
}

export function useStopAll() {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: () => unwrap(api.POST('/api/v1/instances/stop-all')),
    onSettled: () => void queryClient.invalidateQueries({ queryKey: keys.instances }),
  });
}

export function useRestoreVersion(id: string) {
  const set = useSetInstance();
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: (version: number) => unwrap(api.POST('/api/v1/instances/{id}/config/restore/{version}', { params: { path: { id, version } } })),
    onSuccess: (instance) => {
      set(instance);
      void queryClient.invalidateQueries({ queryKey: keys.versions(id) });
    },
  });
}

export function useDeleteInstance() {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: (id: string) => unwrap(api.DELETE('/api/v1/instances/{id}', { params: { path: { id } } })),
    onSettled: () => void queryClient.invalidateQueries({ queryKey: keys.instances }),
  });
}
