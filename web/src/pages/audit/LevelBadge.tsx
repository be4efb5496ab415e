import { Badge } from '@mantine/core';

// Shade-6 fills with black text: AA contrast in both colour schemes.
const COLOR: Record<string, string> = { info: 'blue.3', success: 'teal.6', warning: 'yellow.6', error: 'red.6' };

export function LevelBadge({ level }: { level: string }) {
  return (
    <Badge size="sm" variant="filled" c="black" color={COLOR[level] ?? 'gray.4'} style={{ minWidth: 'max-content' }}>
      {level}
    </Badge>
  );
}
