import { Badge, type MantineColor } from '@mantine/core';

/** Colours for environment health, operation and bot states; anything unknown is grey. */
const COLORS: Record<string, MantineColor> = {
  healthy: 'green',
  degraded: 'yellow',
  unhealthy: 'red',
  pending: 'blue',
  unknown: 'gray',
  host_key_mismatch: 'red',
  in_progress: 'blue',
  succeeded: 'green',
  failed: 'red',
  running: 'green',
  starting: 'blue',
  stopping: 'blue',
  stopped: 'gray',
  crashed: 'red',
  error: 'red',
};

const LABELS: Record<string, string> = { host_key_mismatch: 'host key mismatch', in_progress: 'in progress' };

export const statusLabel = (status: string): string => LABELS[status] ?? status.replaceAll('_', ' ');

/** A state as a coloured badge; the text carries the meaning, colour only repeats it. */
export function StatusBadge({ status, size = 'md' }: { status: string; size?: 'xs' | 'sm' | 'md' | 'lg' }) {
  const color = COLORS[status] ?? 'gray';
  // Shade 6 fills with black text stay above 5.9:1 for every colour here, in both themes.
  return (
    <Badge color={`${color}.6`} c="black" variant="filled" size={size} radius="sm" data-status={status}>
      {statusLabel(status)}
    </Badge>
  );
}
