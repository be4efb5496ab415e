import { Group, Progress, Text } from '@mantine/core';

export interface UsageBarProps {
  label: string;
  used: number;
  total: number;
  /** How to print used/total (bytes by default). */
  format?: (value: number) => string;
  /** Hide the numbers, keep the bar and the percentage (table cells). */
  compact?: boolean;
}

const UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];

export function formatBytes(bytes: number): string {
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < UNITS.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return `${value >= 100 || unit === 0 ? value.toFixed(0) : value.toFixed(1)} ${UNITS[unit] ?? 'B'}`;
}

const colorFor = (percent: number) => (percent >= 90 ? 'red' : percent >= 75 ? 'yellow' : 'teal');

/** A usage meter (memory, disk, CPU load) with its percentage as text and for assistive tech. */
export function UsageBar({ label, used, total, format = formatBytes, compact = false }: UsageBarProps) {
  const percent = total > 0 ? Math.min(100, Math.max(0, (used / total) * 100)) : 0;
  const rounded = Math.round(percent);
  return (
    <div style={{ minWidth: compact ? 90 : 160 }}>
      <Group justify="space-between" gap={4} wrap="nowrap">
        <Text size="xs" c="dimmed">
          {label}
        </Text>
        <Text size="xs" fw={500}>
          {rounded}%{compact ? '' : ` · ${format(used)} / ${format(total)}`}
        </Text>
      </Group>
      <Progress value={percent} color={colorFor(percent)} size="sm" aria-label={`${label} ${rounded}%`} title={`${format(used)} of ${format(total)}`} />
    </div>
  );
}
