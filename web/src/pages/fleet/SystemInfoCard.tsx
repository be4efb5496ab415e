import { SimpleGrid, Stack, Table, Text } from '@mantine/core';
import { formatBytes } from '../../components/UsageBar';
import type { SystemInfo } from './api';
import { ago, duration } from './format';
import { loadText, SystemBars, versionText } from './SystemBars';

type Item<T> = { value: T | null; reason?: string };

/** An item's value, or why the host could not report it. */
function show<T>(item: Item<T>, render: (value: T) => string): string {
  return item.value === null ? `unavailable${item.reason ? `: ${item.reason}` : ''}` : render(item.value);
}

/** What the host reported: OS, CPU, memory, disk, Python and Passivbot. */
export function SystemInfoCard({ info }: { info: SystemInfo | null }) {
  if (!info) return <Text c="dimmed">No system info collected yet.</Text>;
  const rows: [string, string][] = [
    ['OS', show(info.os, String)],
    ['Kernel', show(info.kernel, String)],
    ['Architecture', show(info.arch, String)],
    ['CPU', `${show(info.cpuModel, String)} · ${show(info.cpuCores, (n) => `${n} cores`)}`],
    ['Load (1/5/15)', loadText(info)],
    ['Swap', show(info.swap, (s) => `${formatBytes(s.usedBytes)} / ${formatBytes(s.totalBytes)}`)],
    ['Disk path', show(info.disk, (d) => d.path)],
    ['Uptime', show(info.uptimeSeconds, duration)],
    ['Python', show(info.pythonVersion, String)],
    ['Passivbot', info.passivbotVersion.value ? versionText(info) : show(info.passivbotVersion, String)],
    ['Passivbot processes', show(info.processCount, String)],
    ['Collected', ago(info.collectedAt)],
  ];
  return (
    <SimpleGrid cols={{ base: 1, md: 2 }} spacing="lg">
      <Stack gap="xs">
        <SystemBars info={info} />
      </Stack>
      <Table aria-label="System info" verticalSpacing={2} data-testid="system-info">
        <Table.Tbody>
          {rows.map(([label, value]) => (
            <Table.Tr key={label}>
              <Table.Th scope="row" w={170}>
                {label}
              </Table.Th>
              <Table.Td>{value}</Table.Td>
            </Table.Tr>
          ))}
        </Table.Tbody>
      </Table>
    </SimpleGrid>
  );
}
