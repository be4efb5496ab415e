import { Alert, Badge, Loader, Stack, Table, Text, VisuallyHidden } from '@mantine/core';
import { ConfirmButton } from '../../components/ConfirmButton';
import { describeError, notifyDone, notifyError } from '../../components/notifyError';
import { describeAgent, useRevokeSession, useSessions, type Session } from './api';

const when = (iso: string) => new Date(iso).toLocaleString();

function Revoke({ session }: { session: Session }) {
  const revoke = useRevokeSession();
  const agent = describeAgent(session.userAgent);
  return (
    <ConfirmButton
      size="xs"
      variant="outline"
      aria-label={`Sign out ${agent} from ${session.ip ?? 'an unknown address'}`}
      title="Sign out this session?"
      message={`${agent}${session.ip ? ` at ${session.ip}` : ''}, signed in ${when(session.createdAt)}, is signed out at once.`}
      confirmLabel="Sign out"
      onConfirm={() =>
        revoke.mutateAsync(session.id, {
          onSuccess: () => notifyDone(`${agent} signed out`),
          onError: (error) => notifyError('Not signed out', error),
        })
      }
    >
      Sign out
    </ConfirmButton>
  );
}

export function SessionsPanel() {
  const sessions = useSessions();
  if (sessions.isPending) return <Loader aria-label="Loading sessions" />;
  if (sessions.isError)
    return (
      <Alert color="red" title="Sessions could not be loaded">
        {describeError(sessions.error)}
      </Alert>
    );
  return (
    <Stack gap="xs">
      <Text size="sm">Where you are signed in. Signing out a session ends it at once, in whatever browser or script holds it.</Text>
      <Table.ScrollContainer minWidth={640}>
        <Table striped aria-label="My sessions" verticalSpacing="xs">
          <Table.Thead>
            <Table.Tr>
              <Table.Th>Client</Table.Th>
              <Table.Th>IP address</Table.Th>
              <Table.Th>Signed in</Table.Th>
              <Table.Th>Expires</Table.Th>
              <Table.Th>
                <VisuallyHidden>Actions</VisuallyHidden>
              </Table.Th>
            </Table.Tr>
          </Table.Thead>
          <Table.Tbody>
            {sessions.data.map((session) => (
              <Table.Tr key={session.id} data-session={session.id} data-current={session.current || undefined}>
                <Table.Td>
                  <Text size="sm" title={session.userAgent ?? undefined}>
                    {describeAgent(session.userAgent)}
                    {session.current && (
                      <Badge size="xs" ml={6} variant="filled" c="black" color="teal.6">
                        this browser
                      </Badge>
                    )}
                  </Text>
                </Table.Td>
                <Table.Td>{session.ip ?? '–'}</Table.Td>
                <Table.Td>{when(session.createdAt)}</Table.Td>
                <Table.Td>{when(session.expiresAt)}</Table.Td>
                <Table.Td>{session.current ? <Text size="xs" c="dimmed">use Sign out in the header</Text> : <Revoke session={session} />}</Table.Td>
              </Table.Tr>
            ))}
          </Table.Tbody>
        </Table>
      </Table.ScrollContainer>
    </Stack>
  );
}
