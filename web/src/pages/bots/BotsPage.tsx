/**
 * Every bot, live: status and the live summary arrive over the hub (no polling). Filters and
 * search are local; operators select bots to start / stop / restart them together, and can stop
 * everything after a confirmation. Columns sort by a click on their header; the sort is kept in
 * the URL (`?sort=balance&dir=desc`). Long lists are virtualised. The create form (CodeMirror)
 * loads when its dialog opens.
 */
import { Alert, Badge, Button, Checkbox, Group, Loader, Modal, Select, Stack, Table, Text, TextInput, Title, Tooltip, UnstyledButton, type TableThProps } from '@mantine/core';
import { useDisclosure } from '@mantine/hooks';
import { Link, useNavigate, useSearch } from '@tanstack/react-router';
import { useVirtualizer } from '@tanstack/react-virtual';
import { lazy, Suspense, useMemo, useRef, useState, type ReactNode } from 'react';
import { ConfirmButton } from '../../components/ConfirmButton';
import { notifyDone, notifyError } from '../../components/notifyError';
import { StatusBadge } from '../../components/StatusBadge';
import { useSession } from '../../lib/session';
import { useBulkAction, useEnvironmentOptions, useInstances, useStopAll, type BulkAction, type Instance } from './api';
import { money, positions, signedMoney, uptime } from './format';
import { nextSort, sortBots, type BotsSearch, type SortKey } from './sort';

/** The create form (CodeMirror and the config schema) loads when its dialog opens, not with the table. */
const BotForm = lazy(() => import('./BotForm').then((m) => ({ default: m.BotForm })));

const STATUSES = ['running', 'starting', 'stopping', 'stopped', 'crashed', 'error', 'unknown'];
/** Past this many rows only the visible ones are rendered. */
const VIRTUAL_FROM = 100;
const ROW_HEIGHT = 49;

function matches(instance: Instance, needle: string, environmentName: string): boolean {
  if (!needle) return true;
  return [instance.name, instance.account, instance.exchange, environmentName, ...instance.symbols].some((v) => v.toLowerCase().includes(needle));
}

/** A column header that sorts the table: a button, with the current order told by aria-sort. */
function SortTh({ column, search, onSort, children, ...th }: { column: SortKey; search: BotsSearch; onSort: (column: SortKey) => void; children: ReactNode } & TableThProps) {
  const active = (search.sort ?? 'name') === column;
  const descending = search.dir === 'desc';
  return (
    <Table.Th {...th} aria-sort={active ? (descending ? 'descending' : 'ascending') : 'none'} data-sort={column}>
      <UnstyledButton onClick={() => onSort(column)} fz="sm" fw={700} style={{ whiteSpace: 'nowrap' }}>
        {children}
        <Text span inherit c={active ? undefined : 'dimmed'} ml={4} aria-hidden="true">
          {active ? (descending ? '▼' : '▲') : '↕'}
        </Text>
      </UnstyledButton>
    </Table.Th>
  );
}

export default function BotsPage() {
  const { can } = useSession();
  const operator = can('operator');
  const navigate = useNavigate();
  const order = useSearch({ from: '/app/bots' });
  const onSort = (column: SortKey) => void navigate({ to: '/bots', search: nextSort(order, column), replace: true });
  const instances = useInstances();
  const environments = useEnvironmentOptions();
  const bulk = useBulkAction();
  const stopAll = useStopAll();
  const [search, setSearch] = useState('');
  const [status, setStatus] = useState<string | null>(null);
  const [environment, setEnvironment] = useState<string | null>(null);
  const [account, setAccount] = useState<string | null>(null);
  const [selected, setSelected] = useState<Set<string>>(new Set());
  const [creating, { open: openCreate, close: closeCreate }] = useDisclosure(false);
  const scroller = useRef<HTMLDivElement>(null);

  const envNames = useMemo(() => new Map((environments.data ?? []).map((e) => [e.id, e.name])), [environments.data]);
  const all = instances.data;
  const accounts = useMemo(() => [...new Set((all ?? []).map((i) => i.account))].sort(), [all]);
  const needle = search.trim().toLowerCase();
  const rows = useMemo(
    () =>
      sortBots(
        (all ?? [])
          .filter((i) => (!status || i.status === status) && (!environment || i.environmentId === environment) && (!account || i.account === account))
          .filter((i) => matches(i, needle, envNames.get(i.environmentId) ?? '')),
        order,
        (id) => envNames.get(id) ?? id,
      ),
    [all, status, environment, account, needle, envNames, order],
  );
  const sortProps = { search: order, onSort };
  const chosen = rows.filter((r) => selected.has(r.id));
  const now = Date.now();

  const virtual = rows.length > VIRTUAL_FROM;
  // eslint-disable-next-line react-hooks/incompatible-library -- read fresh on every render, never memoised
  const virtualizer = useVirtualizer({ count: rows.length, getScrollElement: () => scroller.current, estimateSize: () => ROW_HEIGHT, overscan: 10, enabled: virtual });
  const items = virtual ? virtualizer.getVirtualItems() : rows.map((_, index) => ({ index, start: index * ROW_HEIGHT, end: (index + 1) * ROW_HEIGHT }));
  const padTop = virtual ? (items[0]?.start ?? 0) : 0;
  const padBottom = virtual ? virtualizer.getTotalSize() - (items[items.length - 1]?.end ?? 0) : 0;

  const toggle = (id: string, on: boolean) =>
    setSelected((prev) => {
      const next = new Set(prev);
      if (on) next.add(id);
      else next.delete(id);
      return next;
    });
  const allChosen = rows.length > 0 && chosen.length === rows.length;

  const runBulk = async (action: BulkAction) => {
    try {
      const result = await bulk.mutateAsync({ action, ids: chosen.map((c) => c.id) });
      const failed = result.results.filter((r) => !r.ok);
      if (failed.length) notifyError(`${action}: ${failed.length} of ${result.results.length} failed`, new Error(failed.map((f) => `${f.id}: ${f.error ?? 'failed'}`).join('; ')));
      else notifyDone(`${action}: ${result.results.length} bot(s)`);
      setSelected(new Set());
    } catch (error) {
      notifyError(`Could not ${action} the selected bots`, error);
    }
  };

  return (
    <Stack gap="md">
      <Group justify="space-between" wrap="wrap">
        <Title order={1}>Bots</Title>
        {operator && (
          <Group gap="xs">
            <Button onClick={openCreate}>New bot</Button>
            <ConfirmButton
              variant="default"
              title="Stop every bot?"
              message="Every bot on every environment is stopped (gracefully, SIGINT first). This is recorded in the audit log."
              confirmLabel="Stop all bots"
              onConfirm={async () => {
                try {
                  const result = await stopAll.mutateAsync();
                  notifyDone(`Stopped ${result.stopped} bot(s)${result.failed.length ? `; ${result.failed.length} failed` : ''}`);
                } catch (error) {
                  notifyError('Stop all failed', error);
                  throw error;
                }
              }}
            >
              Stop all
            </ConfirmButton>
          </Group>
        )}
      </Group>

      <Group gap="xs" wrap="wrap" align="flex-end">
        <TextInput aria-label="Search bots" placeholder="Search name, account, coin…" value={search} onChange={(e) => setSearch(e.currentTarget.value)} w={{ base: '100%', sm: 260 }} />
        <Select aria-label="Status" placeholder="Any status" clearable data={STATUSES} value={status} onChange={setStatus} w={{ base: '100%', xs: 150 }} />
        <Select
          aria-label="Environment"
          placeholder="Any environment"
          clearable
          data={(environments.data ?? []).map((e) => ({ value: e.id, label: e.name }))}
          value={environment}
          onChange={setEnvironment}
          w={{ base: '100%', xs: 180 }}
        />
        <Select aria-label="Account" placeholder="Any account" clearable data={accounts} value={account} onChange={setAccount} w={{ base: '100%', xs: 170 }} />
      </Group>

      {operator && chosen.length > 0 && (
        <Group gap="xs" wrap="wrap" role="toolbar" aria-label="Selected bots">
          <Text size="sm">{chosen.length} selected</Text>
          {(['start', 'stop', 'restart'] as const).map((action) => (
            <Button key={action} size="xs" variant="default" loading={bulk.isPending && bulk.variables?.action === action} onClick={() => void runBulk(action)}>
              {action[0]?.toUpperCase()}
              {action.slice(1)}
            </Button>
          ))}
          <Button size="xs" variant="default" onClick={() => setSelected(new Set())}>
            Clear
          </Button>
        </Group>
      )}

      {instances.error && <Alert color="red">Bots could not be loaded: {instances.error.message}</Alert>}
      {all && all.length === 0 && <Text c="dimmed">No bots yet.{operator ? ' Create one with “New bot”.' : ''}</Text>}
      {all && all.length > 0 && rows.length === 0 && <Text c="dimmed">No bot matches these filters.</Text>}

      {rows.length > 0 && (
        <div ref={scroller} style={virtual ? { maxHeight: 'calc(100vh - 260px)', overflow: 'auto' } : undefined}>
          <Table.ScrollContainer minWidth={0}>
            <Table highlightOnHover verticalSpacing="xs" fz="sm" stickyHeader={virtual}>
              <Table.Thead>
                <Table.Tr>
                  {operator && (
                    <Table.Th w={36}>
                      <Checkbox
                        aria-label="Select all shown bots"
                        checked={allChosen}
                        indeterminate={chosen.length > 0 && !allChosen}
                        onChange={(e) => setSelected(e.currentTarget.checked ? new Set(rows.map((r) => r.id)) : new Set())}
                      />
                    </Table.Th>
                  )}
                  <SortTh column="name" {...sortProps}>
                    Bot
                  </SortTh>
                  <SortTh column="status" visibleFrom="sm" {...sortProps}>
                    Status
                  </SortTh>
                  <SortTh column="environment" visibleFrom="md" {...sortProps}>
                    Environment
                  </SortTh>
                  <SortTh column="account" visibleFrom="md" {...sortProps}>
                    Account
                  </SortTh>
                  <Table.Th visibleFrom="lg">Coins</Table.Th>
                  <SortTh column="balance" ta="right" {...sortProps}>
                    Balance
                  </SortTh>
                  <SortTh column="pnl" ta="right" visibleFrom="sm" {...sortProps}>
                    Realised PnL
                  </SortTh>
                  <Table.Th visibleFrom="lg">Positions</Table.Th>
                  <SortTh column="uptime" visibleFrom="md" {...sortProps}>
                    Uptime
                  </SortTh>
                  <SortTh column="crashes" ta="right" visibleFrom="md" {...sortProps}>
                    <Tooltip label="Automatic restarts after a crash">
                      <span>Crashes</span>
                    </Tooltip>
                  </SortTh>
                </Table.Tr>
              </Table.Thead>
              <Table.Tbody>
                {padTop > 0 && <tr style={{ height: padTop }} aria-hidden="true" />}
                {items.map(({ index }) => {
                  const bot = rows[index];
                  if (!bot) return null;
                  const s = bot.summary;
                  return (
                    <Table.Tr key={bot.id} data-bot={bot.name} style={{ height: ROW_HEIGHT }}>
                      {operator && (
                        <Table.Td>
                          <Checkbox aria-label={`Select ${bot.name}`} checked={selected.has(bot.id)} onChange={(e) => toggle(bot.id, e.currentTarget.checked)} />
                        </Table.Td>
                      )}
                      <Table.Td>
                        <Group gap={6} wrap="nowrap">
                          <Link to="/bots/$id" params={{ id: bot.id }} style={{ fontWeight: 600, color: 'var(--mantine-color-anchor)' }}>
                            {bot.name}
                          </Link>
                          <Text span hiddenFrom="sm">
                            <StatusBadge status={bot.status} size="xs" />
                          </Text>
                        </Group>
                        {bot.restartNeeded && (
                          <Badge size="xs" color="orange" variant="light" mt={2}>
                            restart needed
                          </Badge>
                        )}
                      </Table.Td>
                      <Table.Td visibleFrom="sm">
                        <StatusBadge status={bot.status} size="sm" />
                      </Table.Td>
                      <Table.Td visibleFrom="md">{envNames.get(bot.environmentId) ?? bot.environmentId}</Table.Td>
                      <Table.Td visibleFrom="md">
                        {bot.account}{' '}
                        <Text span c="dimmed" size="xs">
                          {bot.exchange}
                        </Text>
                      </Table.Td>
                      <Table.Td visibleFrom="lg" maw={180} style={{ overflow: 'hidden', textOverflow: 'ellipsis', whiteSpace: 'nowrap' }}>
                        {bot.symbols.length ? bot.symbols.join(', ') : '—'}
                      </Table.Td>
                      <Table.Td ta="right" ff="monospace">
                        {money(s.balance, s.currency)}
                      </Table.Td>
                      <Table.Td ta="right" ff="monospace" visibleFrom="sm" c={s.realizedPnl < 0 ? 'red.9' : undefined}>
                        {signedMoney(s.realizedPnl)}
                      </Table.Td>
                      <Table.Td visibleFrom="lg">{positions(s.positionsLong, s.positionsShort)}</Table.Td>
                      <Table.Td visibleFrom="md">{uptime(bot.startedAt, bot.status, now)}</Table.Td>
                      <Table.Td ta="right" visibleFrom="md">
                        {bot.restartCount}
                      </Table.Td>
                    </Table.Tr>
                  );
                })}
                {padBottom > 0 && <tr style={{ height: padBottom }} aria-hidden="true" />}
              </Table.Tbody>
            </Table>
          </Table.ScrollContainer>
        </div>
      )}

      <Modal opened={creating} onClose={closeCreate} title="New bot" size="xl" closeButtonProps={{ 'aria-label': 'Close' }}>
        {creating && (
          <Suspense fallback={<Loader size="sm" aria-label="Loading the form" />}>
            <BotForm
              onCancel={closeCreate}
              onDone={(bot) => {
                closeCreate();
                notifyDone(`Bot ${bot.name} created (stopped)`);
                void navigate({ to: '/bots/$id', params: { id: bot.id } });
              }}
            />
          </Suspense>
        )}
      </Modal>
    </Stack>
  );
}
