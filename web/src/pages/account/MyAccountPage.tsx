import { Badge, Card, Group, Stack, Text, Title } from '@mantine/core';
import { useQueryClient } from '@tanstack/react-query';
import { useEffect, type ReactNode } from 'react';
import { useHub, useHubTopic } from '../../lib/hub';
import { useSession } from '../../lib/session';
import { PasswordForm } from './PasswordForm';
import { SessionsPanel } from './SessionsPanel';
import { TokensPanel } from './TokensPanel';
import classes from '../../components/readable.module.css';
import forms from './forms.module.css';

function Section({ id, title, children }: { id: string; title: string; children: ReactNode }) {
  return (
    <Card withBorder component="section" aria-labelledby={id}>
      <Stack gap="sm">
        <Title order={2} size="h4" id={id}>
          {title}
        </Title>
        {children}
      </Stack>
    </Card>
  );
}

const CREDENTIAL_ACTIONS = ['login', 'logout', 'session_revoke', 'api_token_create', 'api_token_revoke', 'password_change', 'password_reset'];

/**
 * Sign-ins, sign-outs and token changes of this user elsewhere refresh the lists. They arrive as
 * audit entries of type auth, which the hub sends to admins only; other roles see them on the
 * next visit or reconnect.
 */
function useCredentialRefresh(userId: string): void {
  const client = useQueryClient();
  const hub = useHub();
  useHubTopic(['audit'], (message) => {
    const entry = message.payload as { action?: unknown; userId?: unknown; details?: { userId?: unknown } | null } | null;
    const mine = entry?.userId === userId || entry?.details?.userId === userId;
    if (mine && typeof entry?.action === 'string' && CREDENTIAL_ACTIONS.includes(entry.action)) void client.invalidateQueries({ queryKey: ['auth'] });
  });
  useEffect(() => hub.onReconnect(() => void client.invalidateQueries({ queryKey: ['auth'] })), [hub, client]);
}

export default function MyAccountPage() {
  const { user } = useSession();
  useCredentialRefresh(user.id);
  return (
    <Stack gap="md" className={`${classes.readable} ${forms.forms}`}>
      <Group justify="space-between" align="flex-end">
        <Title order={1} size="h2">
          My account
        </Title>
        <Group gap="xs">
          <Text fw={600}>{user.username}</Text>
          <Badge variant="outline" color="gray.8">
            {user.role}
          </Badge>
        </Group>
      </Group>
      <Section id="account-password" title="Password">
        <PasswordForm />
      </Section>
      <Section id="account-sessions" title="My sessions">
        <SessionsPanel />
      </Section>
      <Section id="account-tokens" title="API tokens">
        <TokensPanel />
      </Section>
    </Stack>
  );
}
