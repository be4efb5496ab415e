/**
 * optimize.bounds as a table: one row per parameter, low and high for the long and the short side
 * (`long_<param>` / `short_<param>`: [low, high] or [low, high, step]; a step is kept as it was).
 */
import { NumberInput, Table, Text } from '@mantine/core';
import { useMemo } from 'react';

export type Bounds = Record<string, number[]>;
const SIDES = ['long', 'short'] as const;

/** The bounds of a config, keeping only well-formed entries. */
export function boundsOf(config: Record<string, unknown> | null): Bounds {
  const raw = (config?.optimize as { bounds?: unknown } | undefined)?.bounds;
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return {};
  const out: Bounds = {};
  for (const [key, value] of Object.entries(raw)) {
    if (Array.isArray(value) && value.length >= 2 && value.every((v) => typeof v === 'number')) out[key] = value;
  }
  return out;
}

export function sameBounds(a: Bounds, b: Bounds): boolean {
  const keys = Object.keys(a);
  return keys.length === Object.keys(b).length && keys.every((k) => JSON.stringify(a[k]) === JSON.stringify(b[k]));
}

export function BoundsTable({ bounds, onChange, error }: { bounds: Bounds; onChange: (next: Bounds) => void; error?: string | undefined }) {
  const params = useMemo(() => {
    const names = new Set<string>();
    for (const key of Object.keys(bounds)) {
      const side = SIDES.find((s) => key.startsWith(`${s}_`));
      names.add(side ? key.slice(side.length + 1) : key);
    }
    return [...names].sort();
  }, [bounds]);

  if (params.length === 0) return <Text c="dimmed" size="sm">The config has no optimize.bounds.</Text>;

  const set = (key: string, index: 0 | 1, value: number | string) => {
    const current = bounds[key];
    if (!current || typeof value !== 'number') return;
    const next = current.slice();
    next[index] = value;
    onChange({ ...bounds, [key]: next });
  };

  const cell = (param: string, side: (typeof SIDES)[number], index: 0 | 1) => {
    const key = `${side}_${param}`;
    const value = bounds[key]?.[index];
    return (
      <Table.Td>
        {value === undefined ? (
          <Text c="dimmed" size="xs">
            —
          </Text>
        ) : (
          <NumberInput size="xs" w={110} hideControls value={value} onChange={(v) => set(key, index, v)} aria-label={`${key} ${index === 0 ? 'low' : 'high'}`} />
        )}
      </Table.Td>
    );
  };

  return (
    <div>
      <div style={{ maxHeight: 420, overflow: 'auto' }}>
        <Table fz="xs" verticalSpacing={4} stickyHeader withTableBorder miw={560}>
          <Table.Thead>
            <Table.Tr>
              <Table.Th>Parameter</Table.Th>
              <Table.Th>Long low</Table.Th>
              <Table.Th>Long high</Table.Th>
              <Table.Th>Short low</Table.Th>
              <Table.Th>Short high</Table.Th>
            </Table.Tr>
          </Table.Thead>
          <Table.Tbody>
            {params.map((param) => (
              <Table.Tr key={param}>
                <Table.Th scope="row" ff="monospace" fw={400}>
                  {param}
                </Table.Th>
                {cell(param, 'long', 0)}
                {cell(param, 'long', 1)}
                {cell(param, 'short', 0)}
                {cell(param, 'short', 1)}
              </Table.Tr>
            ))}
          </Table.Tbody>
        </Table>
      </div>
      {error && (
        <Text c="red.9" size="sm" role="alert">
          {error}
        </Text>
      )}
    </div>
  );
}
