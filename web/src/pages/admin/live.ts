import { useQueryClient, type QueryKey } from '@tanstack/react-query';
import { useEffect } from 'react';
import { useHub, useHubTopic } from '../../lib/hub';

/**
 * Users and settings have no hub topic of their own, but every change of them is written to the
 * audit log, whose topic carries each new entry: those with one of `actions` refresh `queryKey`
 * (as does a reconnect, after which entries may have been missed).
 */
export function useAuditActionRefresh(actions: readonly string[], queryKey: QueryKey): void {
  const client = useQueryClient();
  const hub = useHub();
  useHubTopic(['audit'], (message) => {
    const action = (message.payload as { action?: unknown } | null)?.action;
    if (typeof action === 'string' && actions.includes(action)) void client.invalidateQueries({ queryKey });
  });
  const key = JSON.stringify(queryKey);
  useEffect(() => hub.onReconnect(() => void client.invalidateQueries({ queryKey: JSON.parse(key) as QueryKey })), [hub, client, key]);
}
