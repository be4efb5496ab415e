import { Alert, Anchor, Badge, Button, Card, Group, Loader, Pagination, Stack, Table, Text, Title } from '@mantine/core';
import { useQueryClient } from '@tanstack/react-query';
import { useLocation, useNavigate } from '@tanstack/react-router';
import { useEffect, useMemo, useState } from 'react';
import { describeError } from '../../components/notifyError';
import { useHub, useHubTopic } from '../../lib/hub';
import { keys, PAGE_SIZE, useAuditList, useAuditStats, type AuditEntry } from './api';
import { AuditFilters } from './AuditFilters';
import { EntryDrawer } from './EntryDrawer';
import { LevelBadge } from './LevelBadge';
import { filterOf, matchesFilter, validateAuditSearch, type AuditFilter, type AuditSearch } from './search';
import classes from '../../components/readable.module.css';

type List = NonNullable<ReturnType<typeof useAuditList>['data']>;
type Stats = NonNullable<ReturnType<typeof useAuditStats>['data']>;

/** The URL's search as the page's validated filters, and a way to change them (filters go back to page 1). */
function useAuditSearch(): [AuditSearch, (patch: Partial<AuditSearch>, options?: { keepPage?: boolean; push?: boolean }) => void] {
  const raw = useLocation({ select: (l) => JSON.stringify(l.search) });
  const search = useMemo(() => validateAuditSearch(JSON.parse(raw) as Record<string, unknown>), [raw]);
  const navigate = useNavigate();
  const update = (patch: Partial<AuditSearch>, options: { keepPage?: boolean; push?: boolean } = {}) => {
    const next: AuditSearch = validateAuditSearch({ ...search, ...(options.keepPage ? {} : { page: undefined }), ...patch });
    void navigate({ to: '/audit', search: next, replace: !options.push });
  };
  return [search, update];
}

function StatsCard({ stats, filter, onPick }: { stats: Stats | undefined; filter: AuditFilter; onPick: (patch: Partial<AuditSearch>) => void }) {
  if (!stats) return null;
  const group = (title: string, counts: Record<string, number>, field: 'type' | 'level') => (
    <Group gap={6} aria-label={`Entries by ${field}`} role="group">
      <Text size="sm" fw={600} w={70}>
        {title}
      </Text>
      {Object.entries(counts)
        .sort(([, a], [, b]) => b - a)
        .map(([name, count]) => (
          <Button
            key={name}
            size="compact-sm"
            variant={filter[field] === name ? 'filled' : 'default'}
            aria-pressed={filter[field] === name}
            data-stat={`${field}:${name}`}
            onClick={() => onPick({ [field]: filter[field] === name ? undefined : name })}
          >
            {name}: {count}
          </Button>
        ))}
    </Group>
  );
  return (
    <Card withBorder padding="sm" aria-label="Statistics" component="section">
      <Stack gap={6}>
        <Text size="sm" data-testid="audit-total">
          {stats.total} {stats.total === 1 ? 'entry' : 'entries'} match
        </Text>
        {group('By type', stats.byType, 'type')}
        {group('By level', stats.byLevel, 'level')}
      </Stack>
    </Card>
  );
}

function EntriesTable({ logs, fresh, onOpen }: { logs: AuditEntry[]; fresh: ReadonlySet<string>; onOpen: (id: string) => void }) {
  return (
    <Table.ScrollContainer minWidth={960}>
      <Table striped aria-label="Audit entries" verticalSpacing={6}>
        <Table.Thead>
          <Table.Tr>
            <Table.Th>Time</Table.Th>
            <Table.Th>Level</Table.Th>
            <Table.Th>Type</Table.Th>
            <Table.Th>Action</Table.Th>
            <Table.Th>User</Table.Th>
            <Table.Th>Environment</Table.Th>
            <Table.Th>Message</Table.Th>
          </Table.Tr>
        </Table.Thead>
        <Table.Tbody>
          {logs.map((entry) => (
            <Table.Tr key={entry.id} data-entry={entry.id} data-fresh={fresh.has(entry.id) || undefined}>
              <Table.Td style={{ whiteSpace: 'nowrap' }}>
                <Text size="sm">{new Date(entry.timestamp).toLocaleString()}</Text>
              </Table.Td>
              <Table.Td>
                <LevelBadge level={entry.level} />
              </Table.Td>
              <Table.Td>{entry.type}</Table.Td>
              <Table.Td>{entry.action ?? '–'}</Table.Td>
              <Table.Td>{entry.username ?? '–'}</Table.Td>
              <Table.Td>{entry.environmentName ?? '–'}</Table.Td>
              <Table.Td>
                {fresh.has(entry.id) && (
                  <Badge size="xs" mr={6} variant="filled" c="black" color="teal.6">
                    new
                  </Badge>
                )}
                <Anchor component="button" type="button" size="sm" ta="left" onClick={() => onOpen(entry.id)}>
                  {entry.message}
                </Anchor>
              </Table.Td>
            </Table.Tr>
          ))}
        </Table.Tbody>
      </Table>
    </Table.ScrollContainer>
  );
}

/**
 * Live tail: a new entry from the hub that matches the filters goes on top of page 1 and into the
 * counts at once, from the message itself (no refetch). Paused, or on a later page, it is only
 * counted, and the list catches up when the tail resumes.
 */
function useLiveTail(filter: AuditFilter, page: number, paused: boolean) {
  const client = useQueryClient();
  const hub = useHub();
  const [missed, setMissed] = useState(0);
  const [fresh, setFresh] = useState<ReadonlySet<string>>(new Set());
  // Other filters, other list: what was new or missed no longer applies.
  const filterKey = JSON.stringify(filter);
  const [tailing, setTailing] = useState(filterKey);
  if (tailing !== filterKey) {
    setTailing(filterKey);
    setFresh(new Set());
    setMissed(0);
  }
  useEffect(() => hub.onReconnect(() => void client.invalidateQueries({ queryKey: keys.all })), [hub, client]);

  useHubTopic(['audit'], (message) => {
    const entry = message.payload as AuditEntry;
    if (!entry?.id || !matchesFilter(entry, filter)) return;
    if (paused || page > 1) {
      setMissed((n) => n + 1);
      return;
    }
    client.setQueryData<List>(keys.list(filter, 1), (old) => {
      if (!old || old.logs.some((l) => l.id === entry.id)) return old;
      const total = old.pagination.total + 1;
      return { logs: [entry, ...old.logs].slice(0, PAGE_SIZE), pagination: { ...old.pagination, total, totalPages: Math.ceil(total / PAGE_SIZE) } };
    });
    client.setQueryData<Stats>(keys.stats(filter), (old) =>
      old && {
        total: old.total + 1,
        byType: { ...old.byType, [entry.type]: (old.byType[entry.type] ?? 0) + 1 },
        byLevel: { ...old.byLevel, [entry.level]: (old.byLevel[entry.level] ?? 0) + 1 },
      },
    );
    setFresh((s) => new Set(s).add(entry.id));
  });

  const catchUp = () => {
    setMissed(0);
    void client.invalidateQueries({ queryKey: keys.all });
  };
  return { missed, fresh, catchUp };
}

export default function AuditPage() {
  const [search, setSearch] = useAuditSearch();
  const filter = useMemo(() => filterOf(search), [search]);
  const page = search.page ?? 1;
  const list = useAuditList(filter, page);
  const stats = useAuditStats(filter);
  const [paused, setPaused] = useState(false);
  const tail = useLiveTail(filter, page, paused);

  return (
    <Stack gap="md" className={classes.readable}>
      <Group justify="space-between">
        <Title order={1} size="h2">
          Audit log
        </Title>
        <Group gap="xs">
          {tail.missed > 0 && (
            <Button
              variant="light"
              onClick={() => {
                setPaused(false);
                if (page > 1) setSearch({}, {});
                tail.catchUp();
              }}
            >
              {tail.missed} new {tail.missed === 1 ? 'entry' : 'entries'}: show
            </Button>
          )}
          <Button
            variant="default"
            aria-pressed={paused}
            data-testid="live-toggle"
            onClick={() => {
              if (paused) tail.catchUp();
              setPaused(!paused);
            }}
          >
            {paused ? 'Resume live tail' : 'Pause live tail'}
          </Button>
        </Group>
      </Group>
      <AuditFilters filter={filter} onChange={(patch) => setSearch(patch)} />
      <StatsCard stats={stats.data} filter={filter} onPick={(patch) => setSearch(patch)} />
      {list.isPending && <Loader aria-label="Loading the audit log" />}
      {list.isError && (
        <Alert color="red" title="The audit log could not be loaded">
          {describeError(list.error)}
        </Alert>
      )}
      {list.data && list.data.logs.length === 0 && <Text c="dimmed">No entry matches.</Text>}
      {list.data && list.data.logs.length > 0 && <EntriesTable logs={list.data.logs} fresh={tail.fresh} onOpen={(entry) => setSearch({ entry }, { keepPage: true, push: true })} />}
      {list.data && list.data.pagination.totalPages > 1 && (
        <Pagination
          total={list.data.pagination.totalPages}
          value={page}
          onChange={(p) => setSearch({ page: p }, { keepPage: true, push: true })}
          aria-label="Pages of entries"
          getControlProps={(control) => ({ 'aria-label': `${control} page` })}
        />
      )}
      <EntryDrawer id={search.entry} known={list.data?.logs.find((l) => l.id === search.entry)} onClose={() => setSearch({ entry: undefined }, { keepPage: true })} />
    </Stack>
  );
}
