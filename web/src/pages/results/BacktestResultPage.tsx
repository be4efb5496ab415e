/**
 * A finished backtest: every metric of analysis.json in words, the equity curve (downsampled on
 * the server, every peak and trough kept), PnL per coin and the fills paged from the server, with
 * a CSV export and "compare with" other finished backtests.
 */
import { Alert, Anchor, Button, Group, Modal, MultiSelect, Paper, SimpleGrid, Stack, Table, Text, Title } from '@mantine/core';
import { Link, useNavigate, useParams } from '@tanstack/react-router';
import { useState } from 'react';
import { StatusBadge } from '../../components/StatusBadge';
import { useBacktestResult, useCoinPnl, useFinishedBacktests, type BacktestResult, type CoinPnl } from './api';
import { EquityPanel } from './EquityPanel';
import { FillsTable } from './FillsTable';
import { describeMetric, formatMetric, money, orderedMetrics } from './metrics';

const HEADLINE = ['adg', 'gain', 'drawdown_worst', 'sharpe_ratio', 'loss_profit_ratio', 'position_held_hours_max'] as const;

function Headline({ result }: { result: BacktestResult }) {
  return (
    <SimpleGrid cols={{ base: 2, sm: 3, lg: 6 }} spacing="sm">
      {HEADLINE.map((name) => {
        const info = describeMetric(name);
        return (
          <Paper key={name} withBorder p="sm">
            <Text size="xs" c="dimmed" fw={600}>
              {info.label}
            </Text>
            <Text fw={700} size="lg" data-metric={name}>
              {formatMetric(result.typed[name], info.unit)}
            </Text>
          </Paper>
        );
      })}
    </SimpleGrid>
  );
}

export function MetricsTable({ metrics }: { metrics: BacktestResult['metrics'] }) {
  const rows = orderedMetrics(Object.keys(metrics));
  return (
    <Table striped withTableBorder fz="sm" data-testid="metrics-table">
        <Table.Thead>
          <Table.Tr>
            <Table.Th>Metric</Table.Th>
            <Table.Th>Value</Table.Th>
            <Table.Th>Key</Table.Th>
          </Table.Tr>
        </Table.Thead>
        <Table.Tbody>
          {rows.map((m) => (
            <Table.Tr key={m.key}>
              <Table.Td title={m.help}>
                {m.label}
                {m.qualifier}
              </Table.Td>
              <Table.Td ff="monospace" fw={m.known ? 600 : 400}>
                {formatMetric(metrics[m.key], m.known ? m.unit : 'ratio')}
              </Table.Td>
              <Table.Td ff="monospace" c="dimmed" fz="xs" style={{ wordBreak: 'break-all' }}>
                {m.key}
              </Table.Td>
            </Table.Tr>
          ))}
        </Table.Tbody>
    </Table>
  );
}

function CoinTable({ coins }: { coins: CoinPnl[] }) {
  const top = Math.max(...coins.map((c) => Math.abs(c.pnl)), 1e-12);
  return (
    <Table withTableBorder fz="sm" data-testid="coin-pnl">
        <Table.Thead>
          <Table.Tr>
            <Table.Th>Coin</Table.Th>
            <Table.Th>Fills</Table.Th>
            <Table.Th>PnL</Table.Th>
            <Table.Th>Fees</Table.Th>
            <Table.Th w="35%">Share</Table.Th>
          </Table.Tr>
        </Table.Thead>
        <Table.Tbody>
          {coins.map((c) => (
            <Table.Tr key={c.coin}>
              <Table.Td fw={600}>{c.coin}</Table.Td>
              <Table.Td>{c.fills.toLocaleString('en-US')}</Table.Td>
              <Table.Td ff="monospace" fw={600} c={c.pnl < 0 ? 'red.9' : undefined}>
                {c.pnl >= 0 ? '+' : ''}
                {money(c.pnl)}
              </Table.Td>
              <Table.Td ff="monospace">{money(c.fees)}</Table.Td>
              <Table.Td>
                <div aria-hidden style={{ height: 10, width: `${(Math.abs(c.pnl) / top) * 100}%`, background: c.pnl < 0 ? 'var(--mantine-color-red-6)' : 'var(--mantine-color-green-6)', borderRadius: 2 }} />
              </Table.Td>
            </Table.Tr>
          ))}
        </Table.Tbody>
    </Table>
  );
}

function CompareWith({ id }: { id: string }) {
  const [open, setOpen] = useState(false);
  const [picked, setPicked] = useState<string[]>([]);
  const backtests = useFinishedBacktests(open);
  const navigate = useNavigate();
  const options = (backtests.data ?? []).filter((j) => j.id !== id).map((j) => ({ value: j.id, label: `${j.name} (${(j.finishedAt ?? j.createdAt).slice(0, 16).replace('T', ' ')})` }));
  return (
    <>
      <Button variant="default" onClick={() => setOpen(true)}>
        Compare with…
      </Button>
      <Modal opened={open} onClose={() => setOpen(false)} title="Compare with other backtests" closeButtonProps={{ 'aria-label': 'Close' }}>
        <Stack>
          <MultiSelect label="Finished backtests" placeholder={backtests.isPending ? 'Loading…' : 'Pick one or more'} data={options} value={picked} onChange={setPicked} searchable maxValues={7} nothingFoundMessage="No other finished backtest" />
          <Group justify="flex-end">
            <Button disabled={picked.length === 0} onClick={() => void navigate({ to: '/results/compare', search: { ids: [id, ...picked].join(',') } })}>
              Compare {picked.length + 1} backtests
            </Button>
          </Group>
        </Stack>
      </Modal>
    </>
  );
}

export default function BacktestResultPage() {
  const { id } = useParams({ from: '/app/results/backtest/$id' });
  const result = useBacktestResult(id);
  const coins = useCoinPnl(id, result.isSuccess && result.data.fillsCount > 0);
  if (result.error) {
    return (
      <Stack>
        <Title order={1}>Backtest result</Title>
        <Alert color="red" title="No result to show">
          {result.error.message}{' '}
          <Anchor renderRoot={(props) => <Link {...props} to="/jobs/$id" params={{ id }} />} c="inherit" fw={700} underline="always">
            Open the job
          </Anchor>
        </Alert>
      </Stack>
    );
  }
  const data = result.data;
  if (!data) return <Text c="dimmed">Loading…</Text>;
  return (
    <Stack gap="md">
      <Group justify="space-between" wrap="wrap">
        <Stack gap={2}>
          <Title order={1}>{data.job.name}</Title>
          <Group gap="xs">
            <StatusBadge status={data.job.status} size="sm" />
            <Text size="sm" c="dimmed">
              Backtest on {data.job.environmentId}, finished {data.job.finishedAt?.slice(0, 16).replace('T', ' ') ?? '—'} ·{' '}
              <Anchor renderRoot={(props) => <Link {...props} to="/jobs/$id" params={{ id }} />} size="sm" underline="always">
                job and log
              </Anchor>
            </Text>
          </Group>
        </Stack>
        <CompareWith id={id} />
      </Group>
      <Headline result={data} />
      <Title order={2} size="h3">
        Equity
      </Title>
      <EquityPanel points={data.equity.points as never} sourceRows={data.equity.sourceRows} />
      <SimpleGrid cols={{ base: 1, lg: 2 }} spacing="md">
        <Stack gap="xs">
          <Title order={2} size="h3">
            Metrics
          </Title>
          <MetricsTable metrics={data.metrics} />
        </Stack>
        <Stack gap="xs">
          <Title order={2} size="h3">
            PnL per coin
          </Title>
          {data.fillsCount === 0 ? <Text c="dimmed">No fills.</Text> : coins.data ? <CoinTable coins={coins.data} /> : <Text c="dimmed">{coins.error ? `Could not sum the fills: ${coins.error.message}` : 'Summing the fills…'}</Text>}
        </Stack>
      </SimpleGrid>
      <Title order={2} size="h3">
        Fills
      </Title>
      <FillsTable id={id} total={data.fillsCount} coins={coins.data} />
    </Stack>
  );
}
