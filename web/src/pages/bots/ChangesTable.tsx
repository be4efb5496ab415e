/** A config diff as a table: path, value before, value after (the review before a save, and version history). */
import { Table, Text } from '@mantine/core';
import { showValue, type ConfigChange } from './config';

export function ChangesTable({ changes, beforeLabel, afterLabel }: { changes: ConfigChange[]; beforeLabel: string; afterLabel: string }) {
  if (changes.length === 0) return <Text c="dimmed">No differences.</Text>;
  return (
    <Table.ScrollContainer minWidth={420}>
      <Table striped withTableBorder fz="sm">
        <Table.Thead>
          <Table.Tr>
            <Table.Th>Path</Table.Th>
            <Table.Th>{beforeLabel}</Table.Th>
            <Table.Th>{afterLabel}</Table.Th>
          </Table.Tr>
        </Table.Thead>
        <Table.Tbody>
          {changes.map((c) => (
            <Table.Tr key={c.path}>
              <Table.Td ff="monospace">{c.path}</Table.Td>
              <Table.Td ff="monospace" c="red.9">
                {showValue(c.before)}
              </Table.Td>
              <Table.Td ff="monospace" fw={600}>
                {showValue(c.after)}
              </Table.Td>
            </Table.Tr>
          ))}
        </Table.Tbody>
      </Table>
    </Table.ScrollContainer>
  );
}
