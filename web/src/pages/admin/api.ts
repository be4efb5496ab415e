import { keepPreviousData, useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { api, unwrap } from '../../lib/api/client';
import type { components, paths } from '../../lib/api/schema';

type Json<T> = T extends { content: { 'application/json': infer B } } ? B : never;
type Body<T> = T extends { requestBody?: { content: { 'application/json': infer B } } } ? B : never;

export type User = components['schemas']['User'];
export type Role = User['role'];
export const ROLES: readonly Role[] = ['viewer', 'operator', 'admin'];
export type UserFilter = NonNullable<paths['/api/v1/users']['get']['parameters']['query']>;
export type CreateUser = Body<paths['/api/v1/users']['post']>;
export type UpdateUser = Body<paths['/api/v1/users/{id}']['put']>;
export type Settings = Json<paths['/api/v1/settings']['get']['responses'][200]>;
export type PathSettings = Json<paths['/api/v1/settings/paths']['get']['responses'][200]>;
export type SettingsPatch = Body<paths['/api/v1/settings']['put']>;
export type PathsPatch = Body<paths['/api/v1/settings/paths']['put']>;

export const keys = {
  users: ['users'] as const,
  userList: (filter: UserFilter) => ['users', filter] as const,
  settings: ['settings'] as const,
  general: ['settings', 'general'] as const,
  paths: ['settings', 'paths'] as const,
};

export function useUsers(filter: UserFilter, enabled: boolean) {
  return useQuery({
    queryKey: keys.userList(filter),
    enabled,
    queryFn: () => unwrap(api.GET('/api/v1/users', { params: { query: filter } })),
    placeholderData: keepPreviousData,
  });
}

/** Every mutation of users refreshes the list (other admins' changes arrive through the audit topic). */
function useUsersMutation<A, R>(fn: (args: A) => Promise<R>) {
  const client = useQueryClient();
  return useMutation({ mutationFn: fn, onSettled: () => void client.invalidateQueries({ queryKey: keys.users }) });
}

export const useCreateUser = () => useUsersMutation((body: CreateUser) => unwrap(api.POST('/api/v1/users', { body })));
export const useUpdateUser = () =>
  useUsersMutation(({ id, body }: { id: string; body: UpdateUser }) => unwrap(api.PUT('/api/v1/users/{id}', { params: { path: { id } }, body })));
export const useDeleteUser = () => useUsersMutation((id: string) => unwrap(api.DELETE('/api/v1/users/{id}', { params: { path: { id } } })));
export const useResetPassword = () =>
  useUsersMutation(({ id, newPassword }: { id: string; newPassword?: string }) =>
    unwrap(api.POST('/api/v1/users/{id}/password/reset', { params: { path: { id } }, body: newPassword ? { newPassword } : {} })),
  );

export function useSettings() {
  return useQuery({ queryKey: keys.general, queryFn: () => unwrap(api.GET('/api/v1/settings')) });
}

export function usePathSettings() {
  return useQuery({ queryKey: keys.paths, queryFn: () => unwrap(api.GET('/api/v1/settings/paths')) });
}

export function useSaveSettings() {
  const client = useQueryClient();
  return useMutation({
    mutationFn: (body: SettingsPatch) => unwrap(api.PUT('/api/v1/settings', { body })),
    onSuccess: (data) => client.setQueryData(keys.general, data),
  });
}

export function useSavePaths() {
  const client = useQueryClient();
  return useMutation({
    mutationFn: (body: PathsPatch) => unwrap(api.PUT('/api/v1/settings/paths', { body })),
    onSuccess: (data) => client.setQueryData(keys.paths, data),
  });
}
