import { Button, Group, Paper, Stack, Switch, Text } from '@mantine/core';
import { useCallback, useMemo, useState } from 'react';
import type uPlot from 'uplot';
import type { EquityPoint } from './api';
import { TimeChart, type LineSpec } from './charts';

const LINES: LineSpec[] = [
  { label: 'Balance', color: '#1c7ed6' },
  { label: 'Equity', color: '#2f9e44' },
  { label: 'Drawdown', color: '#e03131', scale: 'dd', fill: true },
];

/** x (seconds), balance, equity, drawdown of equity from its running peak (<= 0). */
export function equitySeries(points: readonly EquityPoint[]): uPlot.AlignedData {
  const xs: number[] = [];
  const balance: (number | null)[] = [];
  const equity: (number | null)[] = [];
  const drawdown: (number | null)[] = [];
  let peak = -Infinity;
  for (const p of points) {
    const t = Date.parse(p.t);
    if (!Number.isFinite(t)) continue;
    xs.push(t / 1000);
    balance.push(p.balance);
    equity.push(p.equity);
    if (p.equity !== null) peak = Math.max(peak, p.equity);
    drawdown.push(p.equity !== null && peak > 0 ? p.equity / peak - 1 : null);
  }
  return [xs, balance, equity, drawdown];
}

/** Balance and equity over the backtest with drawdown shaded; drag to zoom, log scale on demand. */
export function EquityPanel({ points, sourceRows }: { points: EquityPoint[]; sourceRows: number }) {
  const [log, setLog] = useState(false);
  const [zoomed, setZoomed] = useState(false);
  const [reset, setReset] = useState<(() => void) | null>(null);
  const data = useMemo(() => equitySeries(points), [points]);
  const onReset = useCallback((fn: (() => void) | null) => setReset(() => fn), []);
  // A log scale needs positive values everywhere.
  const canLog = useMemo(() => points.every((p) => (p.equity === null || p.equity > 0) && (p.balance === null || p.balance > 0)), [points]);
  const worst = useMemo(() => Math.min(0, ...(data[3] as (number | null)[]).map((v) => v ?? 0)), [data]);
  return (
    <Paper withBorder p="sm">
      <Stack gap="xs">
        <Group justify="space-between" wrap="wrap">
          <Text size="sm" c="dimmed">
            {points.length.toLocaleString('en-US')} points{sourceRows > points.length ? ` of ${sourceRows.toLocaleString('en-US')} rows (every peak and trough kept)` : ''}; worst drawdown {(worst * -100).toFixed(2)} %. Drag across
            the chart to zoom.
          </Text>
          <Group gap="sm">
            <Switch label="Log scale" checked={log && canLog} disabled={!canLog} onChange={(e) => setLog(e.currentTarget.checked)} />
            <Button size="xs" variant="default" disabled={!zoomed || !reset} onClick={() => reset?.()}>
              Reset zoom
            </Button>
          </Group>
        </Group>
        {points.length === 0 ? (
          <Text c="dimmed">The equity file has no rows.</Text>
        ) : (
          <TimeChart data={data} lines={LINES} log={log && canLog} title={`Balance and equity over ${points.length} points, worst drawdown ${(worst * -100).toFixed(2)} %`} onReset={onReset} onZoom={setZoomed} testId="equity-chart" />
        )}
      </Stack>
    </Paper>
  );
}
