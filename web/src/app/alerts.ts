/**
 * The alert tray: what went wrong while the user was looking elsewhere, from the hub.
 * An environment turning unhealthy (or its host key changing), a bot crashing or giving up
 * (`error`), an operation failing. Repeats of the same state are not new alerts.
 */
import { notifications } from '@mantine/notifications';
import { useQueryClient, type QueryClient } from '@tanstack/react-query';
import { useCallback, useRef, useState } from 'react';
import { useHubTopic } from '../lib/hub';
import { ALERT_TOPICS, alertOf, type ShellAlert } from './alerts.fns';

export type { ShellAlert };

const MAX_ALERTS = 50;
const obj = (v: unknown): Record<string, unknown> => (typeof v === 'object' && v !== null ? (v as Record<string, unknown>) : {});
const str = (v: unknown): string => (typeof v === 'string' ? v : '');

/** An environment's name from whatever the fleet pages cached, else its id. */
function environmentName(queryClient: QueryClient, id: string): string {
  for (const [, data] of queryClient.getQueriesData({ queryKey: ['environments'] })) {
    const list = obj(data).environments;
    if (Array.isArray(list)) {
      const found = list.map(obj).find((e) => e.id === id);
      if (found && str(found.name)) return str(found.name);
    }
  }
  const one = obj(queryClient.getQueryData(['environment', id]));
  return str(one.name) || str(obj(one.environment).name) || id;
}

export function useHubAlerts() {
  const queryClient = useQueryClient();
  const [alerts, setAlerts] = useState<ShellAlert[]>([]);
  const seen = useRef(new Map<string, string>());

  useHubTopic(ALERT_TOPICS, (m) => {
    const alert = alertOf(m, seen.current, (id) => environmentName(queryClient, id));
    if (!alert) return;
    setAlerts((list) => [alert, ...list.filter((a) => a.id !== alert.id)].slice(0, MAX_ALERTS));
    notifications.show({ color: 'red', title: alert.title, message: alert.message || 'See the alert tray.', autoClose: 8000 });
  });

  const dismiss = useCallback((id: string) => setAlerts((list) => list.filter((a) => a.id !== id)), []);
  const clear = useCallback(() => setAlerts([]), []);
  return { alerts, dismiss, clear };
}
