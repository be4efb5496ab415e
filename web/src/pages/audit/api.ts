import { keepPreviousData, useQuery } from '@tanstack/react-query';
import { api, unwrap } from '../../lib/api/client';
import type { components } from '../../lib/api/schema';
import type { AuditFilter } from './search';

export type AuditEntry = components['schemas']['AuditEntry'];
export const PAGE_SIZE = 50;

export const keys = {
  all: ['audit'] as const,
  list: (filter: AuditFilter, page: number) => ['audit', 'list', filter, page] as const,
  stats: (filter: AuditFilter) => ['audit', 'stats', filter] as const,
  entry: (id: string) => ['audit', 'entry', id] as const,
};

export function useAuditList(filter: AuditFilter, page: number) {
  return useQuery({
    queryKey: keys.list(filter, page),
    queryFn: () => unwrap(api.GET('/api/v1/logs', { params: { query: { ...filter, page, limit: PAGE_SIZE } } })),
    placeholderData: keepPreviousData,
  });
}

export function useAuditStats(filter: AuditFilter) {
  return useQuery({ queryKey: keys.stats(filter), queryFn: () => unwrap(api.GET('/api/v1/logs/stats', { params: { query: filter } })), placeholderData: keepPreviousData });
}

export function useAuditEntry(id: string | undefined) {
  return useQuery({ queryKey: keys.entry(id ?? ''), enabled: id !== undefined, queryFn: () => unwrap(api.GET('/api/v1/logs/{id}', { params: { path: { id: id ?? '' } } })) });
}

/** Environment and user names for the filters (users only for admins: the list is theirs). */
export function useEnvironmentOptions() {
  return useQuery({
    queryKey: ['environments', 'options'],
    queryFn: async () => (await unwrap(api.GET('/api/v1/environments', { params: { query: { limit: 200, sort: 'name' } } }))).environments.map((e) => ({ value: e.id, label: e.name })),
    staleTime: 60_000,
  });
}

export function useUserOptions(enabled: boolean) {
  return useQuery({
    queryKey: ['users', 'options'],
    enabled,
    queryFn: async () => (await unwrap(api.GET('/api/v1/users', { params: { query: { limit: 200 } } }))).users.map((u) => ({ value: u.id, label: u.username })),
    staleTime: 60_000,
  });
}
