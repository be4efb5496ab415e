/**
 * Two or more backtests side by side: their metrics in one table (the best value of each row
 * marked) and their equity curves overlaid, each divided by its first value so runs with
 * different starting balances compare.
 */
import { Alert, Anchor, Paper, Stack, Table, Text, Title } from '@mantine/core';
import { Link, useSearch } from '@tanstack/react-router';
import { useMemo } from 'react';
import uPlot from 'uplot';
import { useBacktestResults, type BacktestResult, type EquityPoint } from './api';
import { TimeChart, type LineSpec } from './charts';
import { bestIndex, formatMetric, orderedMetrics } from './metrics';

const COLOURS = ['#1c7ed6', '#e8590c', '#2f9e44', '#ae3ec9', '#f08c00', '#0c8599', '#e03131', '#5c7cfa'];
const MAX_COMPARED = 8;
const times = (v: number) => `×${Number(v.toPrecision(3))}`;

/** Each run's equity over its own first value, joined on one time axis. */
function normalisedCurves(results: BacktestResult[]): uPlot.AlignedData {
  const tables = results.map((r) => {
    const points = (r.equity.points as unknown as EquityPoint[]).filter((p) => p.equity !== null && Number.isFinite(Date.parse(p.t)));
    const first = points[0]?.equity ?? 1;
    const xs: number[] = [];
    const ys: number[] = [];
    for (const p of points) {
      const x = Date.parse(p.t) / 1000;
      if (xs.length && x <= xs[xs.length - 1]!) continue; // join needs strictly ascending x
      xs.push(x);
      ys.push(p.equity! / first);
    }
    return [xs, ys] as uPlot.AlignedData;
  });
  return uPlot.join(tables);
}

function CompareTable({ results }: { results: BacktestResult[] }) {
  const rows = orderedMetrics(results.flatMap((r) => Object.keys(r.metrics)));
  return (
    <Table.ScrollContainer minWidth={300 + results.length * 140}>
      <Table striped withTableBorder fz="sm" data-testid="compare-table">
        <Table.Thead>
          <Table.Tr>
            <Table.Th>Metric</Table.Th>
            {results.map((r, i) => (
              <Table.Th key={r.job.id} style={{ borderBottom: `3px solid ${COLOURS[i % COLOURS.length]}` }}>
                <Anchor renderRoot={(props) => <Link {...props} to="/results/backtest/$id" params={{ id: r.job.id }} />} size="sm" fw={700}>
                  {r.job.name}
                </Anchor>
              </Table.Th>
            ))}
          </Table.Tr>
        </Table.Thead>
        <Table.Tbody>
          {rows.map((m) => {
            const values = results.map((r) => r.metrics[m.key]);
            const best = bestIndex(values, m.known ? m.better : undefined);
            return (
              <Table.Tr key={m.key}>
                <Table.Td>
                  {m.label}
                  {m.qualifier}
                  {!m.known ? '' : <Text span c="dimmed" fz="xs" ff="monospace">{` ${m.key}`}</Text>}
                </Table.Td>
                {values.map((v, i) => (
                  <Table.Td key={results[i]!.job.id} ff="monospace" fw={i === best ? 700 : 400} bg={i === best ? 'var(--mantine-color-green-light)' : undefined} data-best={i === best || undefined}>
                    {formatMetric(v, m.known ? m.unit : 'ratio')}
                    {i === best ? ' ★' : ''}
                  </Table.Td>
                ))}
              </Table.Tr>
            );
          })}
        </Table.Tbody>
      </Table>
    </Table.ScrollContainer>
  );
}

export default function ComparePage() {
  const search = useSearch({ from: '/app/results/compare' });
  const ids = useMemo(() => [...new Set((search.ids ?? '').split(',').map((s) => s.trim()).filter(Boolean))].slice(0, MAX_COMPARED), [search.ids]);
  const { loaded, errors, done } = useBacktestResults(ids);
  const failed = errors.map((e, i) => (e ? `${ids[i]}: ${e.message}` : null)).filter((e): e is string => e !== null);
  const data = useMemo(() => (done ? normalisedCurves(loaded) : null), [done, loaded]);
  const lines: LineSpec[] = useMemo(() => loaded.map((r, i) => ({ label: r.job.name, color: COLOURS[i % COLOURS.length]! })), [loaded]);

  return (
    <Stack gap="md">
      <Title order={1}>Compare backtests</Title>
      {ids.length < 2 && (
        <Alert color="blue" title="Pick backtests to compare">
          Open a backtest result and use “Compare with…”, or list job ids in the address: <code>?ids=a,b</code>.
        </Alert>
      )}
      {failed.length > 0 && (
        <Alert color="red" title="Some backtests could not be loaded">
          {failed.join('; ')}
        </Alert>
      )}
      {!done ? (
        <Text c="dimmed">Loading…</Text>
      ) : (
        loaded.length > 0 && (
          <>
            <Title order={2} size="h3">
              Equity, relative to the start
            </Title>
            <Paper withBorder p="sm">
              {data && <TimeChart data={data} lines={lines} title={`Equity of ${loaded.length} backtests, each divided by its starting equity`} yFormat={times} testId="compare-chart" />}
            </Paper>
            <Title order={2} size="h3">
              Metrics
            </Title>
            <Text size="sm" c="dimmed">
              ★ marks the best value of a row where one direction is better.
            </Text>
            <CompareTable results={loaded} />
          </>
        )
      )}
    </Stack>
  );
}
