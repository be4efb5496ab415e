/**
 * Saved config versions, newest first. Picking one shows what restoring it would change
 * (its diff against the current version, from the API); operators can restore it, which saves
 * it as a new version.
 */
import { Alert, Badge, Button, Group, Stack, Table, Text } from '@mantine/core';
import { useState } from 'react';
import { ConfirmButton } from '../../components/ConfirmButton';
import { notifyDone, notifyError } from '../../components/notifyError';
import { useRestoreVersion, useVersion, useVersions, type Instance } from './api';
import { ChangesTable } from './ChangesTable';

export function ConfigHistory({ instance, canRestore }: { instance: Instance; canRestore: boolean }) {
  const versions = useVersions(instance.id);
  const [picked, setPicked] = useState<number | null>(null);
  const detail = useVersion(instance.id, picked);
  const restore = useRestoreVersion(instance.id);
  const current = versions.data?.currentVersion ?? instance.configVersion;

  if (versions.error) return <Alert color="red">Versions could not be loaded: {versions.error.message}</Alert>;
  return (
    <Stack>
      <Table.ScrollContainer minWidth={360}>
        <Table highlightOnHover fz="sm">
          <Table.Thead>
            <Table.Tr>
              <Table.Th>Version</Table.Th>
              <Table.Th>Saved</Table.Th>
              <Table.Th visibleFrom="sm">By</Table.Th>
              <Table.Th visibleFrom="sm">Note</Table.Th>
              <Table.Th />
            </Table.Tr>
          </Table.Thead>
          <Table.Tbody>
            {(versions.data?.versions ?? []).map((v) => (
              <Table.Tr key={v.version} bg={picked === v.version ? 'var(--mantine-color-blue-light)' : undefined}>
                <Table.Td>
                  <Group gap={4} wrap="nowrap">
                    v{v.version}
                    {v.version === current && (
                      <Badge size="xs" variant="outline">
                        current
                      </Badge>
                    )}
                    {v.version === versions.data?.runningVersion && (
                      <Badge size="xs" color="dark" variant="outline">
                        running
                      </Badge>
                    )}
                  </Group>
                </Table.Td>
                <Table.Td>{new Date(v.createdAt).toLocaleString()}</Table.Td>
                <Table.Td visibleFrom="sm">{v.createdBy ?? '—'}</Table.Td>
                <Table.Td visibleFrom="sm">{v.note ?? ''}</Table.Td>
                <Table.Td>
                  {v.version !== current && (
                    <Button size="compact-xs" variant="default" onClick={() => setPicked(v.version)} aria-label={`Compare v${v.version} with the current version`}>
                      Compare
                    </Button>
                  )}
                </Table.Td>
              </Table.Tr>
            ))}
          </Table.Tbody>
        </Table>
      </Table.ScrollContainer>

      {picked !== null && (
        <Stack gap="xs">
          <Group justify="space-between" wrap="wrap">
            <Text fw={600}>
              Restoring v{picked} would change (current v{current} → v{picked}):
            </Text>
            {canRestore && (
              <ConfirmButton
                color="blue"
                size="xs"
                title={`Restore config v${picked}?`}
                message={`The config of v${picked} becomes the current config as a new version. A running bot needs a restart to use it (coin-list changes apply live).`}
                confirmLabel="Restore"
                onConfirm={async () => {
                  try {
                    const saved = await restore.mutateAsync(picked);
                    notifyDone(`Restored v${picked} as v${saved.configVersion}`);
                    setPicked(null);
                  } catch (error) {
                    notifyError('Restore failed', error);
                    throw error;
                  }
                }}
              >
                Restore v{picked}
              </ConfirmButton>
            )}
          </Group>
          {detail.isPending && <Text c="dimmed">Loading…</Text>}
          {detail.error && <Alert color="red">{detail.error.message}</Alert>}
          {detail.data && <ChangesTable changes={detail.data.changes.map((c) => ({ path: c.path, before: c.before, after: c.after }))} beforeLabel={`v${detail.data.against} (current)`} afterLabel={`v${picked}`} />}
        </Stack>
      )}
    </Stack>
  );
}
