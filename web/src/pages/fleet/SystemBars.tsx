import { Group, Stack, Text } from '@mantine/core';
import { UsageBar } from '../../components/UsageBar';
import type { SystemInfo } from './api';

/** Load as a share of the CPUs: a 1-minute load equal to the core count is 100 %. */
function CpuBar({ info, compact }: { info: SystemInfo; compact: boolean }) {
  const load = info.loadAverage.value;
  const cores = info.cpuCores.value;
  if (!load || !cores) return <Text size="xs" c="dimmed">CPU: {info.loadAverage.reason ?? 'not reported'}</Text>;
  return <UsageBar label="CPU" used={load.one} total={cores} compact={compact} format={(v) => v.toFixed(2)} />;
}

/** CPU, memory and disk meters from a host's system info; items the host could not report say why. */
export function SystemBars({ info, compact = false }: { info: SystemInfo | null; compact?: boolean }) {
  if (!info) return <Text size="xs" c="dimmed">no system info yet</Text>;
  const { memory, disk } = info;
  return (
    <Stack gap={4}>
      <CpuBar info={info} compact={compact} />
      {memory.value ? <UsageBar label="Memory" used={memory.value.usedBytes} total={memory.value.totalBytes} compact={compact} /> : <Text size="xs" c="dimmed">Memory: {memory.reason ?? 'not reported'}</Text>}
      {disk.value ? <UsageBar label="Disk" used={disk.value.usedBytes} total={disk.value.totalBytes} compact={compact} /> : <Text size="xs" c="dimmed">Disk: {disk.reason ?? 'not reported'}</Text>}
    </Stack>
  );
}

export function loadText(info: SystemInfo | null): string {
  const load = info?.loadAverage.value;
  return load ? `${load.one.toFixed(2)} / ${load.five.toFixed(2)} / ${load.fifteen.toFixed(2)}` : '–';
}

export function versionText(info: SystemInfo | null): string {
  const v = info?.passivbotVersion.value;
  if (!v) return '–';
  return [v.version ?? v.commit ?? '?', v.kind].join(' · ');
}

export function LoadCell({ info }: { info: SystemInfo | null }) {
  return (
    <Group gap={4} wrap="nowrap">
      <Text size="sm" ff="monospace">
        {loadText(info)}
      </Text>
    </Group>
  );
}
