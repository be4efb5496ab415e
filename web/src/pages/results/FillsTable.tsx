import { Anchor, Group, Pagination, SegmentedControl, Select, Stack, Table, Text, UnstyledButton } from '@mantine/core';
import { useState } from 'react';
import { useFillsPage, type CoinPnl, type FillsQuery } from './api';

const LIMIT = 50;

function cell(column: string, value: unknown): string {
  if (value === null || value === undefined) return '';
  if (column === 'timestamp' && typeof value === 'number') return new Date(value).toISOString().slice(0, 19).replace('T', ' ');
  if (typeof value === 'number') return Number.isInteger(value) ? String(value) : Number(value.toPrecision(8)).toString();
  return typeof value === 'string' ? value : JSON.stringify(value);
}

/** The backtest's fills, a page at a time from the server: sort by any column, filter by coin and side. */
export function FillsTable({ id, total, coins }: { id: string; total: number; coins: CoinPnl[] | undefined }) {
  const [page, setPage] = useState(1);
  const [sort, setSort] = useState<{ column: string; order: 'asc' | 'desc' } | null>(null);
  const [coin, setCoin] = useState<string | null>(null);
  const [side, setSide] = useState<'all' | 'long' | 'short'>('all');
  const query: FillsQuery = { fills: page, limit: LIMIT, ...(sort && { sort: sort.column, order: sort.order }), ...(coin && { coin }), ...(side !== 'all' && { side }) };
  const fills = useFillsPage(id, query, total > 0);
  const data = fills.data;
  const pages = data ? Math.max(1, Math.ceil(data.total / LIMIT)) : 1;

  const toggleSort = (column: string) => {
    setSort((current) => (current?.column !== column ? { column, order: 'asc' } : current.order === 'asc' ? { column, order: 'desc' } : null));
    setPage(1);
  };

  return (
    <Stack gap="xs">
      <Group justify="space-between" wrap="wrap" align="flex-end">
        <Group gap="sm" align="flex-end" wrap="wrap">
          <Select
            label="Coin"
            placeholder="All coins"
            clearable
            searchable
            w={160}
            data={(coins ?? []).map((c) => c.coin)}
            value={coin}
            onChange={(value) => {
              setCoin(value);
              setPage(1);
            }}
          />
          <Stack gap={4}>
            <Text size="sm" fw={500} id="fills-side-label">
              Side
            </Text>
            <SegmentedControl
              aria-labelledby="fills-side-label"
              data={[
                { value: 'all', label: 'All' },
                { value: 'long', label: 'Long' },
                { value: 'short', label: 'Short' },
              ]}
              value={side}
              onChange={(value) => {
                setSide(value);
                setPage(1);
              }}
            />
          </Stack>
        </Group>
        <Anchor href={`/api/v1/backtest/results/${encodeURIComponent(id)}/fills/export?format=csv`} download data-testid="fills-export">
          Export all {total.toLocaleString('en-US')} fills as CSV
        </Anchor>
      </Group>
      {fills.error ? (
        <Text c="red.9">Could not load the fills: {fills.error.message}</Text>
      ) : !data ? (
        <Text c="dimmed">{total === 0 ? 'This backtest made no fills.' : 'Loading fills…'}</Text>
      ) : (
        <>
          <Text size="sm" c="dimmed" data-testid="fills-count" aria-live="polite">
            {data.total.toLocaleString('en-US')} fill(s){data.total !== total ? ` of ${total.toLocaleString('en-US')}` : ''}
            {sort ? `, by ${sort.column} ${sort.order === 'asc' ? 'ascending' : 'descending'}` : ''}
          </Text>
          <Table.ScrollContainer minWidth={900}>
            <Table striped highlightOnHover withTableBorder fz="xs" data-testid="fills-table" style={{ opacity: fills.isPlaceholderData ? 0.6 : 1 }}>
              <Table.Thead>
                <Table.Tr>
                  {data.columns.map((column) => (
                    <Table.Th key={column} aria-sort={sort?.column === column ? (sort.order === 'asc' ? 'ascending' : 'descending') : undefined}>
                      <UnstyledButton fz="xs" fw={700} onClick={() => toggleSort(column)} aria-label={`Sort by ${column}`}>
                        {column}
                        {sort?.column === column ? (sort.order === 'asc' ? ' ▲' : ' ▼') : ''}
                      </UnstyledButton>
                    </Table.Th>
                  ))}
                </Table.Tr>
              </Table.Thead>
              <Table.Tbody>
                {data.rows.map((row, i) => (
                  <Table.Tr key={`${page}-${i}`}>
                    {data.columns.map((column) => (
                      <Table.Td key={column} ff="monospace" style={{ whiteSpace: 'nowrap' }}>
                        {cell(column, row[column])}
                      </Table.Td>
                    ))}
                  </Table.Tr>
                ))}
              </Table.Tbody>
            </Table>
          </Table.ScrollContainer>
          {pages > 1 && <Pagination total={pages} value={page} onChange={setPage} size="sm" siblings={1} getControlProps={(control) => ({ 'aria-label': `${control} page` })} getItemProps={(p) => ({ 'aria-label': `Page ${p}` })} />}
        </>
      )}
    </Stack>
  );
}
