import { Box, Group, Paper, Stack, Text, useComputedColorScheme } from '@mantine/core';
import { useElementSize } from '@mantine/hooks';
import { useEffect, useMemo, useRef } from 'react';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import type { HealthHistory } from './api';

interface SeriesSpec {
  label: string;
  color: string;
  unit: string;
  bars?: boolean;
}

/** One uPlot canvas over time; resized with its box, rebuilt when the data or theme changes. */
function TimeChart({ x, y, spec, yRange, title }: { x: number[]; y: (number | null)[]; spec: SeriesSpec; yRange?: [number, number]; title: string }) {
  const { ref: box, width } = useElementSize();
  const host = useRef<HTMLDivElement>(null);
  const dark = useComputedColorScheme('light') === 'dark';
  useEffect(() => {
    if (!host.current || width === 0) return;
    const axis = { stroke: dark ? '#c1c2c5' : '#495057', grid: { stroke: dark ? '#373a40' : '#e9ecef' }, ticks: { stroke: dark ? '#373a40' : '#dee2e6' } };
    const chart = new uPlot(
      {
        width,
        height: 180,
        legend: { show: false },
        cursor: { drag: { x: false, y: false } },
        scales: { x: { time: true }, y: yRange ? { range: yRange } : { auto: true } },
        axes: [axis, { ...axis, values: (_u, ticks) => ticks.map((t) => `${t}${spec.unit}`), size: 60 }],
        series: [
          {},
          {
            label: spec.label,
            stroke: spec.color,
            fill: `${spec.color}33`,
            width: 2,
            spanGaps: false,
            ...(spec.bars && { paths: uPlot.paths.bars?.({ size: [0.8, 40] }), points: { show: false } }),
          },
        ],
      },
      [x, y],
      host.current,
    );
    return () => chart.destroy();
  }, [x, y, spec, yRange, width, dark]);
  return (
    <Box ref={box} w="100%">
      <div ref={host} role="img" aria-label={title} />
    </Box>
  );
}

const LATENCY: SeriesSpec = { label: 'Latency', color: '#1c7ed6', unit: ' ms' };
const UPTIME: SeriesSpec = { label: 'Uptime', color: '#2f9e44', unit: '%', bars: true };
const PERCENT: [number, number] = [0, 100];

/** Latency of each check and hourly uptime, with the same figures in words. */
export function HealthChart({ history }: { history: HealthHistory }) {
  const { latencyX, latencyY, hourX, hourY, summary } = useMemo(() => {
    const ok = history.samples.filter((s) => s.health === 'healthy' || s.health === 'degraded').length;
    const uptime = history.samples.length ? (ok / history.samples.length) * 100 : null;
    const times = history.samples.map((s) => s.responseTime).filter((v): v is number => v !== null);
    const avg = times.length ? times.reduce((a, b) => a + b, 0) / times.length : null;
    return {
      latencyX: history.samples.map((s) => Date.parse(s.ts) / 1000),
      latencyY: history.samples.map((s) => s.responseTime),
      hourX: history.hourly.map((h) => Date.parse(h.hour) / 1000),
      hourY: history.hourly.map((h) => h.uptime),
      summary: `${history.samples.length} checks; uptime ${uptime === null ? 'n/a' : `${uptime.toFixed(1)}%`}; average latency ${avg === null ? 'n/a' : `${Math.round(avg)} ms`}`,
    };
  }, [history]);

  return (
    <Stack gap="sm">
      <Group gap="lg">
        <Text size="sm" data-testid="health-summary">
          Last 24 h: {summary}
          {history.samplesTruncated ? ' (newest 5,000 checks shown)' : ''}
        </Text>
      </Group>
      {history.samples.length === 0 ? (
        <Text size="sm" c="dimmed">
          No checks in the last 24 hours.
        </Text>
      ) : (
        <Paper withBorder p="xs">
          <Text size="xs" c="dimmed">
            Latency per check
          </Text>
          <TimeChart x={latencyX} y={latencyY} spec={LATENCY} title={`Latency per check: ${summary}`} />
        </Paper>
      )}
      {history.hourly.length > 0 && (
        <Paper withBorder p="xs">
          <Text size="xs" c="dimmed">
            Uptime per hour
          </Text>
          <TimeChart x={hourX} y={hourY} spec={UPTIME} yRange={PERCENT} title={`Uptime per hour over ${history.hourly.length} hours`} />
        </Paper>
      )}
    </Stack>
  );
}
