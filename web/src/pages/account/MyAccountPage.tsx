import { Badge, Card, Group, Stack, Text, Title } from '@mantine/core';
import type { ReactNode } from 'react';
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

export default function MyAccountPage() {
  const { user } = useSession();
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
