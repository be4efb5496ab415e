/**
 * The uPlot charts of the result pages: a time chart (equity curves, zoom by drag, reset) and a
 * scatter with a colour scale (the pareto front). Each is rebuilt when its data, size or theme
 * changes; `data-points` and `data-drawn` on the host say what was drawn.
 */
import { Box, useComputedColorScheme } from '@mantine/core';
import { useElementSize } from '@mantine/hooks';
import { useEffect, useRef } from 'react';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';

export interface LineSpec {
  label: string;
  color: string;
  /** A second scale drawn on the right (drawdown); fills down from 0. */
  scale?: 'y' | 'dd';
  fill?: boolean;
  dash?: number[];
}

function axisColors(dark: boolean) {
  return { stroke: dark ? '#c1c2c5' : '#495057', grid: { stroke: dark ? '#373a40' : '#e9ecef' }, ticks: { stroke: dark ? '#373a40' : '#dee2e6' } };
}

const compact = (v: number) => (Math.abs(v) >= 1e6 ? `${(v / 1e6).toPrecision(3)}M` : Math.abs(v) >= 1e3 ? `${(v / 1e3).toPrecision(3)}k` : `${Number(v.toPrecision(4))}`);

export interface TimeChartProps {
  /** x in seconds, then one array per line. */
  data: uPlot.AlignedData;
  lines: LineSpec[];
  log?: boolean;
  height?: number;
  title: string;
  yFormat?: (v: number) => string;
  /** Called with a function that resets the zoom, or null when the chart is gone. */
  onReset?: (reset: (() => void) | null) => void;
  onZoom?: (zoomed: boolean) => void;
  testId?: string;
}

/** Lines over time: drag to zoom on x, double-click or reset() for the whole range. */
export function TimeChart({ data, lines, log = false, height = 320, title, yFormat = compact, onReset, onZoom, testId }: TimeChartProps) {
  // Only the width is used: the box's height is the chart's own, so following it would rebuild in a loop.
  const { ref: box, width } = useElementSize();
  const host = useRef<HTMLDivElement>(null);
  const dark = useComputedColorScheme('light') === 'dark';
  useEffect(() => {
    const el = host.current;
    if (!el || width === 0) return;
    const axis = axisColors(dark);
    const xs = data[0];
    const full = { min: xs[0] ?? 0, max: xs[xs.length - 1] ?? 1 };
    const hasDd = lines.some((l) => l.scale === 'dd');
    el.dataset.drawn = 'false';
    const chart = new uPlot(
      {
        width,
        height,
        legend: { show: true, live: true },
        cursor: { drag: { x: true, y: false, setScale: true } },
        scales: { x: { time: true }, y: log ? { distr: 3 } : { auto: true }, ...(hasDd && { dd: { auto: true, range: (_u, min) => [Math.min(min, -0.001) * 1.05, 0] } }) },
        axes: [
          axis,
          { ...axis, size: 64, values: (_u, ticks) => ticks.map(yFormat) },
          ...(hasDd ? [{ ...axis, scale: 'dd', side: 1 as const, size: 56, grid: { show: false }, values: (_u: uPlot, ticks: number[]) => ticks.map((t) => `${Math.round(t * 100)}%`) }] : []),
        ],
        series: [
          {},
          ...lines.map((line) => ({
            label: line.label,
            stroke: line.color,
            scale: line.scale ?? 'y',
            width: line.scale === 'dd' ? 1 : 1.5,
            ...(line.dash && { dash: line.dash }),
            ...(line.fill && { fill: `${line.color}40` }),
            points: { show: false },
          })),
        ],
        hooks: {
          draw: [() => (el.dataset.drawn = 'true')],
          setScale: [
            (u, key) => {
              if (key !== 'x') return;
              const min = u.scales.x?.min ?? full.min;
              const max = u.scales.x?.max ?? full.max;
              onZoom?.(min > full.min || max < full.max);
            },
          ],
        },
      },
      data,
      el,
    );
    onReset?.(() => chart.setScale('x', full));
    return () => {
      onReset?.(null);
      chart.destroy();
    };
  }, [data, lines, log, height, width, dark, yFormat, onReset, onZoom]);
  return (
    <Box ref={box} w="100%">
      <div ref={host} role="img" aria-label={title} data-testid={testId} data-points={data[0].length} />
    </Box>
  );
}

export interface ScatterPoint {
  x: number;
  y: number;
  /** The colour metric; null draws grey. */
  c: number | null;
}

export interface ScatterProps {
  points: ScatterPoint[];
  xLabel: string;
  yLabel: string;
  title: string;
  height?: number;
  /** The hovered point's index in `points`, or null. */
  onHover?: (index: number | null) => void;
  onPick?: (index: number) => void;
  selected?: number | null;
  format?: (v: number) => string;
}

/** Blue (low) to red (high) on a 0..1 fraction. */
export function heat(fraction: number): string {
  const f = Math.min(1, Math.max(0, fraction));
  return `hsl(${Math.round(220 - 220 * f)}, 75%, 45%)`;
}

/** Points in two dimensions, coloured by a third (drawn in a hook: uPlot has no per-point colours). */
export function Scatter({ points, xLabel, yLabel, title, height = 360, onHover, onPick, selected = null, format = compact }: ScatterProps) {
  const { ref: box, width } = useElementSize();
  const host = useRef<HTMLDivElement>(null);
  const dark = useComputedColorScheme('light') === 'dark';
  useEffect(() => {
    const el = host.current;
    if (!el || width === 0) return;
    const axis = axisColors(dark);
    // uPlot wants x ascending: draw order sorted, hover answers in the caller's indices.
    const order = points.map((_, i) => i).sort((a, b) => points[a]!.x - points[b]!.x);
    const xs = order.map((i) => points[i]!.x);
    const ys = order.map((i) => points[i]!.y);
    const cs = points.map((p) => p.c).filter((c): c is number => c !== null);
    const cMin = Math.min(...cs);
    const cMax = Math.max(...cs);
    const colour = (c: number | null) => (c === null ? '#868e96' : heat(cMax > cMin ? (c - cMin) / (cMax - cMin) : 0.5));
    let hovered: number | null = null;
    const nearest = (u: uPlot): number | null => {
      const { left, top } = u.cursor;
      if (left === undefined || top === undefined || left < 0) return null;
      let best: number | null = null;
      let bestDistance = 24 * 24;
      order.forEach((i, k) => {
        const dx = u.valToPos(xs[k]!, 'x') - left;
        const dy = u.valToPos(ys[k]!, 'y') - top;
        const d = dx * dx + dy * dy;
        if (d < bestDistance) {
          bestDistance = d;
          best = i;
        }
      });
      return best;
    };
    el.dataset.drawn = 'false';
    const chart = new uPlot(
      {
        width,
        height,
        legend: { show: false },
        cursor: { drag: { x: false, y: false }, points: { show: false } },
        scales: { x: { time: false, auto: true }, y: { auto: true } },
        axes: [
          { ...axis, label: xLabel, values: (_u, ticks) => ticks.map(format) },
          { ...axis, label: yLabel, size: 64, values: (_u, ticks) => ticks.map(format) },
        ],
        series: [{}, { label: yLabel, stroke: 'transparent', paths: () => null, points: { show: false } }],
        hooks: {
          draw: [
            (u) => {
              const ctx = u.ctx;
              const r = 5 * devicePixelRatio;
              order.forEach((i, k) => {
                const cx = u.valToPos(xs[k]!, 'x', true);
                const cy = u.valToPos(ys[k]!, 'y', true);
                ctx.beginPath();
                ctx.arc(cx, cy, i === selected || i === hovered ? r * 1.6 : r, 0, 2 * Math.PI);
                ctx.fillStyle = colour(points[i]!.c);
                ctx.fill();
                ctx.lineWidth = devicePixelRatio;
                ctx.strokeStyle = dark ? '#f8f9fa' : '#212529';
                ctx.stroke();
              });
              el.dataset.drawn = 'true';
            },
          ],
          setCursor: [
            (u) => {
              const next = nearest(u);
              if (next === hovered) return;
              hovered = next;
              onHover?.(next);
              u.redraw(false, false);
            },
          ],
        },
      },
      [xs, ys],
      el,
    );
    const click = () => {
      if (hovered !== null) onPick?.(hovered);
    };
    chart.over.addEventListener('click', click);
    return () => {
      chart.over.removeEventListener('click', click);
      chart.destroy();
    };
  }, [points, xLabel, yLabel, height, width, dark, onHover, onPick, selected, format]);
  return (
    <Box ref={box} w="100%">
      <div ref={host} role="img" aria-label={title} data-testid="pareto-scatter" data-points={points.length} />
    </Box>
  );
}
