/**
 * An optimization's pareto front: a scatter of any two metrics (a third as colour), hover for an
 * entry's key parameters, a sortable table of the entries; per entry "backtest this entry",
 * "create a bot" (operators) and "copy config" (everyone).
 */
import { Alert, Anchor, Button, Group, Modal, Paper, SimpleGrid, Select, Stack, Table, Text, Title, UnstyledButton } from '@mantine/core';
import { Link, useNavigate, useParams } from '@tanstack/react-router';
import { useCallback, useMemo, useState } from 'react';
import { notifyDone, notifyError } from '../../components/notifyError';
import { StatusBadge } from '../../components/StatusBadge';
import { useSession } from '../../lib/session';
import { useBacktestEntry, useOptimizeResult, type ParetoEntry } from './api';
import { Scatter, heat } from './charts';
import { EntryBotForm } from './EntryBotForm';
import { describeMetric, formatMetric } from './metrics';

type Config = Record<string, unknown>;
const isRecord = (v: unknown): v is Config => typeof v === 'object' && v !== null && !Array.isArray(v);

/** The run's scoring metrics (names or `{metric}`), from an entry's config. */
function scoringOf(front: ParetoEntry[]): string[] {
  const scoring = isRecord(front[0]?.config.optimize) ? (front[0].config.optimize).scoring : undefined;
  if (!Array.isArray(scoring)) return [];
  return scoring.map((s) => (typeof s === 'string' ? s : isRecord(s) && typeof s.metric === 'string' ? s.metric : '')).filter(Boolean);
}

const mean = (entry: ParetoEntry, metric: string) => entry.stats[metric]?.mean ?? null;

/** The parameters the optimizer varied (optimize.bounds with low < high), with this entry's values. */
export function keyParameters(entry: ParetoEntry, max = 12): { name: string; value: unknown }[] {
  const bounds = isRecord(entry.config.optimize) && isRecord((entry.config.optimize).bounds) ? ((entry.config.optimize).bounds) : {};
  const bot = isRecord(entry.config.bot) ? entry.config.bot : {};
  const out: { name: string; value: unknown }[] = [];
  for (const [key, range] of Object.entries(bounds)) {
    if (!Array.isArray(range) || !(Number(range[0]) < Number(range[1]))) continue;
    const match = /^(long|short)_(.+)$/.exec(key);
    const side = match && isRecord(bot[match[1]!]) ? (bot[match[1]!] as Config) : null;
    if (!side || !(match![2]! in side)) continue;
    out.push({ name: `${match![1]}.${match![2]}`, value: side[match![2]!] });
  }
  const first = (n: string) => (/n_positions|total_wallet_exposure_limit/.test(n) ? 0 : 1);
  return out.sort((a, b) => first(a.name) - first(b.name) || a.name.localeCompare(b.name)).slice(0, max);
}

const short = (v: unknown) => (typeof v === 'number' ? Number(v.toPrecision(5)).toString() : JSON.stringify(v));

function EntryCard({ entry, x, y, c }: { entry: ParetoEntry; x: string; y: string; c: string | null }) {
  return (
    <Paper withBorder p="sm" data-testid="hovered-entry">
      <Text fw={700} size="sm">
        #{entry.rank} · {entry.id}
      </Text>
      <Text size="xs" c="dimmed">
        {[x, y, ...(c ? [c] : [])].map((m) => `${describeMetric(m).label}: ${formatMetric(mean(entry, m), describeMetric(m).unit)}`).join(' · ')}
      </Text>
      <SimpleGrid cols={{ base: 1, sm: 2 }} spacing={2} mt={4}>
        {keyParameters(entry).map((p) => (
          <Text key={p.name} size="xs" ff="monospace">
            {p.name} = {short(p.value)}
          </Text>
        ))}
      </SimpleGrid>
    </Paper>
  );
}

function EntryActions({ optimizationId, entry, onBot }: { optimizationId: string; entry: ParetoEntry; onBot: (entry: ParetoEntry) => void }) {
  const { can } = useSession();
  const backtest = useBacktestEntry(optimizationId);
  const [queued, setQueued] = useState<string | null>(null);
  const copy = async () => {
    try {
      await navigator.clipboard.writeText(JSON.stringify(entry.config, null, 2));
      notifyDone(`Config of entry #${entry.rank} copied`);
    } catch (error) {
      notifyError('Could not copy the config', error);
    }
  };
  return (
    <Group gap={6} wrap="nowrap">
      {can('operator') &&
        (queued ? (
          <Anchor renderRoot={(props) => <Link {...props} to="/jobs/$id" params={{ id: queued }} />} size="xs">
            Backtest queued: open
          </Anchor>
        ) : (
          <Button
            size="compact-xs"
            variant="light"
            loading={backtest.isPending}
            onClick={() =>
              backtest.mutate(entry.id, {
                onSuccess: (job) => {
                  setQueued(job.id);
                  notifyDone(`Backtest of entry #${entry.rank} queued`);
                },
                onError: (error) => notifyError('Could not queue the backtest', error),
              })
            }
          >
            Backtest
          </Button>
        ))}
      {can('operator') && (
        <Button size="compact-xs" variant="light" onClick={() => onBot(entry)}>
          Create bot
        </Button>
      )}
      <Button size="compact-xs" variant="default" onClick={() => void copy()} aria-label={`Copy config of entry ${entry.rank}`}>
        Copy config
      </Button>
    </Group>
  );
}

export default function OptimizeResultPage() {
  const { id } = useParams({ from: '/app/results/optimize/$id' });
  const result = useOptimizeResult(id);
  const navigate = useNavigate();
  const front = useMemo(() => result.data?.front ?? [], [result.data]);
  const metrics = useMemo(() => [...new Set(front.flatMap((e) => Object.keys(e.stats)))].sort(), [front]);
  const scoring = useMemo(() => scoringOf(front).filter((m) => metrics.includes(m)), [front, metrics]);
  const [xPick, setX] = useState<string | null>(null);
  const [yPick, setY] = useState<string | null>(null);
  const [cPick, setC] = useState<string | null | undefined>(undefined);
  const x = xPick ?? scoring[0] ?? metrics[0] ?? '';
  const y = yPick ?? scoring[1] ?? metrics[1] ?? x;
  const c = cPick === undefined ? (scoring[2] ?? null) : cPick;
  const [hovered, setHovered] = useState<number | null>(null);
  const [selected, setSelected] = useState<number | null>(null);
  const [sort, setSort] = useState<{ key: string; desc: boolean }>({ key: 'rank', desc: false });
  const [botEntry, setBotEntry] = useState<ParetoEntry | null>(null);

  const plotted = useMemo(() => front.filter((e) => mean(e, x) !== null && mean(e, y) !== null), [front, x, y]);
  const points = useMemo(() => plotted.map((e) => ({ x: mean(e, x)!, y: mean(e, y)!, c: c ? mean(e, c) : null })), [plotted, x, y, c]);
  const columns = useMemo(() => [...new Set([...scoring, x, y, ...(c ? [c] : [])])].filter(Boolean), [scoring, x, y, c]);
  const rows = useMemo(() => {
    const value = (e: ParetoEntry) => (sort.key === 'rank' ? e.rank : sort.key === 'violation' ? (e.constraintViolation ?? 0) : (mean(e, sort.key) ?? Number.NaN));
    return [...front].sort((a, b) => {
      const va = value(a);
      const vb = value(b);
      if (Number.isNaN(va) || Number.isNaN(vb)) return Number.isNaN(va) ? 1 : -1;
      return sort.desc ? vb - va : va - vb;
    });
  }, [front, sort]);
  const onHover = useCallback((i: number | null) => setHovered(i), []);
  const onPick = useCallback((i: number) => setSelected(i), []);
  const shown = plotted[hovered ?? selected ?? -1] ?? null;
  const cRange = useMemo(() => {
    const cs = c ? front.map((e) => mean(e, c)).filter((v): v is number => v !== null) : [];
    return cs.length ? { min: Math.min(...cs), max: Math.max(...cs) } : null;
  }, [front, c]);

  if (result.error) {
    return (
      <Stack>
        <Title order={1}>Optimization result</Title>
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
  const options = metrics.map((m) => ({ value: m, label: `${describeMetric(m).label}${describeMetric(m).qualifier}` }));
  const header = (key: string, label: string) => (
    <Table.Th key={key} aria-sort={sort.key === key ? (sort.desc ? 'descending' : 'ascending') : undefined}>
      <UnstyledButton fz="xs" fw={700} onClick={() => setSort((s) => ({ key, desc: s.key === key ? !s.desc : false }))}>
        {label}
        {sort.key === key ? (sort.desc ? ' ▼' : ' ▲') : ''}
      </UnstyledButton>
    </Table.Th>
  );

  return (
    <Stack gap="md">
      <Stack gap={2}>
        <Title order={1}>{data.job.name}</Title>
        <Group gap="xs">
          <StatusBadge status={data.job.status} size="sm" />
          <Text size="sm" c="dimmed">
            Optimization on {data.job.environmentId}: {data.frontSize} pareto entr{data.frontSize === 1 ? 'y' : 'ies'}, best first ·{' '}
            <Anchor renderRoot={(props) => <Link {...props} to="/jobs/$id" params={{ id }} />} size="sm" underline="always">
              job and log
            </Anchor>
          </Text>
        </Group>
      </Stack>
      {front.length === 0 ? (
        <Text c="dimmed">The pareto front is empty.</Text>
      ) : (
        <>
          <Group align="flex-end" wrap="wrap">
            <Select label="X axis" data={options} value={x} onChange={(v) => v && setX(v)} allowDeselect={false} searchable w={240} />
            <Select label="Y axis" data={options} value={y} onChange={(v) => v && setY(v)} allowDeselect={false} searchable w={240} />
            <Select label="Colour" data={options} value={c} onChange={(v) => setC(v)} clearable placeholder="None" searchable w={240} />
            {cRange && c && (
              <Group gap={4} aria-label={`Colour: ${describeMetric(c).label} from ${formatMetric(cRange.min, describeMetric(c).unit)} (blue) to ${formatMetric(cRange.max, describeMetric(c).unit)} (red)`}>
                <Text size="xs">{formatMetric(cRange.min, describeMetric(c).unit)}</Text>
                <div aria-hidden style={{ width: 80, height: 10, background: `linear-gradient(to right, ${heat(0)}, ${heat(0.5)}, ${heat(1)})` }} />
                <Text size="xs">{formatMetric(cRange.max, describeMetric(c).unit)}</Text>
              </Group>
            )}
          </Group>
          <Paper withBorder p="sm">
            <Scatter points={points} xLabel={describeMetric(x).label} yLabel={describeMetric(y).label} title={`Pareto front: ${points.length} entries, ${x} against ${y}`} onHover={onHover} onPick={onPick} selected={selected} />
            {points.length < front.length && (
              <Text size="xs" c="dimmed">
                {front.length - points.length} entr{front.length - points.length === 1 ? 'y has' : 'ies have'} no value for these metrics.
              </Text>
            )}
          </Paper>
          {shown ? <EntryCard entry={shown} x={x} y={y} c={c} /> : <Text size="sm" c="dimmed">Hover a point for its key parameters; click to keep it.</Text>}
          <Title order={2} size="h3">
            Entries
          </Title>
          <Table.ScrollContainer minWidth={700}>
            <Table striped highlightOnHover withTableBorder fz="sm" data-testid="pareto-table">
              <Table.Thead>
                <Table.Tr>
                  {header('rank', 'Rank')}
                  {columns.map((m) => header(m, describeMetric(m).label + describeMetric(m).qualifier))}
                  {header('violation', 'Constraint violation')}
                  <Table.Th>Actions</Table.Th>
                </Table.Tr>
              </Table.Thead>
              <Table.Tbody>
                {rows.map((e) => (
                  <Table.Tr key={e.id} data-entry={e.id} bg={plotted[selected ?? -1]?.id === e.id ? 'var(--mantine-color-blue-light)' : undefined}>
                    <Table.Td>
                      <Text span fw={700} size="sm">
                        #{e.rank}
                      </Text>
                    </Table.Td>
                    {columns.map((m) => (
                      <Table.Td key={m} ff="monospace">
                        {formatMetric(mean(e, m), describeMetric(m).unit)}
                      </Table.Td>
                    ))}
                    <Table.Td ff="monospace">{e.constraintViolation ?? '—'}</Table.Td>
                    <Table.Td>
                      <EntryActions optimizationId={id} entry={e} onBot={setBotEntry} />
                    </Table.Td>
                  </Table.Tr>
                ))}
              </Table.Tbody>
            </Table>
          </Table.ScrollContainer>
        </>
      )}
      <Modal opened={botEntry !== null} onClose={() => setBotEntry(null)} title="Create a bot from this entry" size="lg" closeButtonProps={{ 'aria-label': 'Close' }}>
        {botEntry && (
          <EntryBotForm
            optimizationId={id}
            entry={botEntry}
            onCancel={() => setBotEntry(null)}
            onDone={(bot) => {
              setBotEntry(null);
              notifyDone(`Bot ${bot.name} created (stopped)`);
              void navigate({ to: '/bots/$id', params: { id: bot.id } });
            }}
          />
        )}
      </Modal>
    </Stack>
  );
}
