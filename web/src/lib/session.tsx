/**
 * The signed-in user. The guarded layout route loads `me` before any page renders, so pages
 * read it synchronously and hide the controls the role cannot use.
 */
import { queryOptions, useSuspenseQuery } from '@tanstack/react-query';
import { api, unwrap } from './api/client';

export type Role = 'viewer' | 'operator' | 'admin';

export interface SessionUser {
  id: string;
  username: string;
  role: Role;
}

const RANK: Record<Role, number> = { viewer: 0, operator: 1, admin: 2 };

export const hasRole = (role: Role, needed: Role): boolean => RANK[role] >= RANK[needed];

export const meQuery = queryOptions({
  queryKey: ['me'],
  queryFn: async (): Promise<SessionUser> => {
    const me = await unwrap(api.GET('/api/v1/auth/me'));
    return { id: me.user.id, username: me.user.username, role: me.role };
  },
  staleTime: 60_000,
  retry: false,
});

export function useSession(): { user: SessionUser; can: (role: 'operator' | 'admin') => boolean } {
  const { data: user } = useSuspenseQuery(meQuery);
  return { user, can: (role) => hasRole(user.role, role) };
}
