import { Alert, Code, Drawer, Loader, Stack, Table, Text } from '@mantine/core';
import { describeError } from '../../components/notifyError';
import { useAuditEntry, type AuditEntry } from './api';
import { LevelBadge } from './LevelBadge';

function Row({ label, children }: { label: string; children: React.ReactNode }) {
  return (
    <Table.Tr>
      <Table.Th w={130} scope="row">
        {label}
      </Table.Th>
      <Table.Td style={{ wordBreak: 'break-word' }}>{children}</Table.Td>
    </Table.Tr>
  );
}

/** One entry in full: every field and its details as JSON. Loaded by id, so a link to it works. */
export function EntryDrawer({ id, known, onClose }: { id: string | undefined; known: AuditEntry | undefined; onClose: () => void }) {
  const fetched = useAuditEntry(id);
  const entry = fetched.data ?? known;
  return (
    <Drawer opened={id !== undefined} onClose={onClose} position="right" size="lg" title="Audit entry" closeButtonProps={{ 'aria-label': 'Close details' }}>
      {!entry && fetched.isPending && <Loader aria-label="Loading the entry" />}
      {!entry && fetched.isError && (
        <Alert color="red" title="Entry not found">
          {describeError(fetched.error)}
        </Alert>
      )}
      {entry && (
        <Stack gap="sm" data-testid="audit-entry">
          <Text fw={600}>{entry.message}</Text>
          <Table aria-label="Entry fields" verticalSpacing={4}>
            <Table.Tbody>
              <Row label="Time">{new Date(entry.timestamp).toLocaleString()}</Row>
              <Row label="Level">
                <LevelBadge level={entry.level} />
              </Row>
              <Row label="Type">{entry.type}</Row>
              <Row label="Action">{entry.action ?? '–'}</Row>
              <Row label="User">{entry.username ?? '–'}</Row>
              <Row label="Environment">{entry.environmentName ?? entry.environmentId ?? '–'}</Row>
              <Row label="IP address">{entry.ip ?? '–'}</Row>
              <Row label="Request id">{entry.requestId ? <Code>{entry.requestId}</Code> : '–'}</Row>
              <Row label="Entry id">
                <Code>{entry.id}</Code>
              </Row>
            </Table.Tbody>
          </Table>
          <Text fw={600} size="sm">
            Details
          </Text>
          {entry.details ? (
            <Code block data-testid="audit-details">
              {JSON.stringify(entry.details, null, 2)}
            </Code>
          ) : (
            <Text size="sm" c="dimmed">
              No details.
            </Text>
          )}
        </Stack>
      )}
    </Drawer>
  );
}
