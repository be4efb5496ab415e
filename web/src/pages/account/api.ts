import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { api, unwrap } from '../../lib/api/client';
import type { paths } from '../../lib/api/schema';

type Json<T> = T extends { content: { 'application/json': infer B } } ? B : never;

export type Session = Json<paths['/api/v1/auth/sessions']['get']['responses'][200]>['sessions'][number];
export type ApiToken = Json<paths['/api/v1/auth/tokens']['get']['responses'][200]>['tokens'][number];
export type ChangePassword = NonNullable<paths['/api/v1/users/password/change']['post']['requestBody']>['content']['application/json'];

export const keys = { sessions: ['auth', 'sessions'] as const, tokens: ['auth', 'tokens'] as const };

export const useSessions = () => useQuery({ queryKey: keys.sessions, queryFn: async () => (await unwrap(api.GET('/api/v1/auth/sessions'))).sessions });
export const useTokens = () => useQuery({ queryKey: keys.tokens, queryFn: async () => (await unwrap(api.GET('/api/v1/auth/tokens'))).tokens });

export function useRevokeSession() {
  const client = useQueryClient();
  return useMutation({
    mutationFn: (id: string) => unwrap(api.DELETE('/api/v1/auth/sessions/{id}', { params: { path: { id } } })),
    onSettled: () => void client.invalidateQueries({ queryKey: keys.sessions }),
  });
}

export function useCreateToken() {
  const client = useQueryClient();
  return useMutation({
    mutationFn: (body: { name: string; expiresInDays?: number }) => unwrap(api.POST('/api/v1/auth/tokens', { body })),
    onSettled: () => void client.invalidateQueries({ queryKey: keys.tokens }),
  });
}

export function useRevokeToken() {
  const client = useQueryClient();
  return useMutation({
    mutationFn: (id: string) => unwrap(api.DELETE('/api/v1/auth/tokens/{id}', { params: { path: { id } } })),
    onSettled: () => void client.invalidateQueries({ queryKey: keys.tokens }),
  });
}

/** A password change ends other sessions and (unless kept) the API tokens: both lists change. */
export function useChangePassword() {
  const client = useQueryClient();
  return useMutation({
    mutationFn: (body: ChangePassword) => unwrap(api.POST('/api/v1/users/password/change', { body })),
    onSettled: () => void client.invalidateQueries({ queryKey: ['auth'] }),
  });
}

const BROWSERS: readonly [RegExp, string][] = [
  [/Edg\/(\d+)/, 'Edge'],
  [/HeadlessChrome\/(\d+)/, 'Headless Chrome'],
  [/(?:Chrome|Chromium)\/(\d+)/, 'Chrome'],
  [/Firefox\/(\d+)/, 'Firefox'],
  [/Version\/(\d+).*Safari/, 'Safari'],
];
const SYSTEMS: readonly [RegExp, string][] = [
  [/Windows/, 'Windows'],
  [/Android/, 'Android'],
  [/iPhone|iPad/, 'iOS'],
  [/Mac OS X/, 'macOS'],
  [/Linux/, 'Linux'],
];

/** "Firefox 128 on Linux" from a user agent, or the raw text (shortened) when it is not recognised. */
export function describeAgent(ua: string | null): string {
  if (!ua) return 'unknown client';
  let browser: string | undefined;
  for (const [pattern, name] of BROWSERS) {
    const match = pattern.exec(ua);
    if (match) {
      browser = `${name} ${match[1] ?? ''}`.trim();
      break;
    }
  }
  if (!browser) return ua.length > 60 ? `${ua.slice(0, 60)}…` : ua;
  const system = SYSTEMS.find(([pattern]) => pattern.test(ua))?.[1];
  return system ? `${browser} on ${system}` : browser;
}
