/**
 * The job queue, live from the hub topic `jobs`: running jobs with their progress, queued jobs in
 * the order they will start (operators move them up or down, which sets their priority), and
 * finished jobs with a link to their result. Operators queue, cancel (after a confirmation) and
 * reorder; viewers see the same lists without those controls.
 */
import { ActionIcon, Alert, Anchor, Badge, Group, SegmentedControl, Stack, Table, Text, Title, Tooltip, VisuallyHidden } from '@mantine/core';
import { Link } from '@tanstack/react-router';
import { useMemo, useState } from 'react';
import { notifyError } from '../../components/notifyError';
import { useSession } from '../../lib/session';
import { isFinished, useCapacity, useEnvironmentOptions, useJobs, useSetPriority, type JobSummary } from './api';
import { duration, elapsedSeconds, useNow } from './format';
import { CancelJobButton, NewJobMenu, ResultButton } from './JobActions';
import { JobProgressBar } from './JobProgressBar';

const MIN_PRIORITY = -100;
const MAX_PRIORITY = 100;

/** Queued jobs in the order the queue takes them: priority, then age. */
function queueOrder(a: JobSummary, b: JobSummary): number {
  return b.priority - a.priority || a.createdAt.localeCompare(b.createdAt) || a.id.localeCompare(b.id);
}

function JobLink({ job }: { job: JobSummary }) {
  return (
    <Group gap={6} wrap="nowrap">
      <Anchor renderRoot={(props) => <Link {...props} to="/jobs/$id" params={{ id: job.id }} />} fw={600} size="sm">
        {job.name}
      </Anchor>
      <Badge size="xs" variant="outline" color="gray.7">
        {job.type === 'optimize' ? 'optimize' : 'backtest'}
      </Badge>
      {job.requeueOnInterrupt && (
        <Tooltip label="Queued again if pbfleet stops while it runs">
          <Badge size="xs" variant="light" color="blue">
            requeue on interrupt
          </Badge>
        </Tooltip>
      )}
    </Group>
  );
}

type View = 'active' | 'finished' | 'all';

export default function JobsPage() {
  const { can } = useSession();
  const operator = can('operator');
  const jobs = useJobs();
  const capacity = useCapacity();
  const environments = useEnvironmentOptions();
  const setPriority = useSetPriority();
  const [view, setView] = useState<View>('active');
  const all = jobs.data;
  const running = useMemo(() => (all ?? []).filter((j) => j.status === 'running'), [all]);
  const queued = useMemo(() => (all ?? []).filter((j) => j.status === 'queued').sort(queueOrder), [all]);
  const finished = useMemo(() => (all ?? []).filter((j) => isFinished(j.status)), [all]);
  const now = useNow(running.length > 0);
  const envNames = useMemo(() => new Map((environments.data ?? []).map((e) => [e.id, e.name])), [environments.data]);
  const workers = capacity.data?.mode === 'distributed';
  const where = (job: JobSummary) => {
    const env = envNames.get(job.environmentId) ?? job.environmentId;
    const runner = job.runner && job.runner !== 'server' ? ` · ${job.runner}` : '';
    return workers && job.environmentId === 'local' ? `workers${runner}` : `${env}${runner}`;
  };

  const move = async (job: JobSummary, direction: 'up' | 'down') => {
    const index = queued.indexOf(job);
    const neighbour = queued[direction === 'up' ? index - 1 : index + 1];
    if (!neighbour) return;
    const priority = direction === 'up' ? Math.min(MAX_PRIORITY, neighbour.priority + 1) : Math.max(MIN_PRIORITY, neighbour.priority - 1);
    try {
      await setPriority.mutateAsync({ id: job.id, priority });
    } catch (error) {
      notifyError(`Could not move ${job.name}`, error);
    }
  };

  const activeRows = [...running, ...queued];
  const rows = view === 'active' ? activeRows : view === 'finished' ? finished : [...activeRows, ...finished];

  return (
    <Stack gap="md">
      <Group justify="space-between" wrap="wrap">
        <Title order={1}>Jobs</Title>
        {operator && <NewJobMenu />}
      </Group>

      {capacity.data && (
        <Group gap="xs" wrap="wrap" aria-label="Slots">
          {capacity.data.environments.map((c) => (
            <Badge key={c.environmentId} variant="default" size="lg" radius="sm" tt="none" fw={500}>
              {workers && c.environmentId === 'local' ? 'workers' : (envNames.get(c.environmentId) ?? c.environmentId)}:{' '}
              {c.slots === null ? `${c.usedSlots} slots in use` : `${Math.max(0, c.slots - c.usedSlots)} of ${c.slots} slots free`}
              {c.queued > 0 && `, ${c.queued} waiting`}
            </Badge>
          ))}
        </Group>
      )}

      <SegmentedControl
        aria-label="Jobs shown"
        value={view}
        onChange={(v) => setView(v)}
        data={[
          { value: 'active', label: `Running and queued (${activeRows.length})` },
          { value: 'finished', label: `Finished (${finished.length})` },
          { value: 'all', label: 'All' },
        ]}
        w={{ base: '100%', sm: 'auto' }}
      />

      {jobs.error && <Alert color="red">Jobs could not be loaded: {jobs.error.message}</Alert>}
      {all && rows.length === 0 && <Text c="dimmed">{view === 'finished' ? 'No finished jobs yet.' : `Nothing running or queued.${operator ? ' Start one with “New job”.' : ''}`}</Text>}

      {rows.length > 0 && (
        <Table.ScrollContainer minWidth={0}>
          <Table verticalSpacing="xs" fz="sm" highlightOnHover>
            <Table.Thead>
              <Table.Tr>
                <Table.Th>Job</Table.Th>
                <Table.Th>Progress</Table.Th>
                <Table.Th visibleFrom="md">Where</Table.Th>
                <Table.Th visibleFrom="sm">Priority</Table.Th>
                <Table.Th visibleFrom="md">Elapsed</Table.Th>
                <Table.Th visibleFrom="lg">By</Table.Th>
                <Table.Th>
                  <VisuallyHidden>Actions</VisuallyHidden>
                </Table.Th>
              </Table.Tr>
            </Table.Thead>
            <Table.Tbody>
              {rows.map((job) => {
                const elapsed = elapsedSeconds(job.startedAt, job.finishedAt, now);
                const queueIndex = job.status === 'queued' ? queued.indexOf(job) : -1;
                return (
                  <Table.Tr key={job.id} data-job={job.name} data-status={job.status}>
                    <Table.Td>
                      <JobLink job={job} />
                      {job.error && isFinished(job.status) && (
                        <Text size="xs" c="red.9" lineClamp={1} maw={360}>
                          {job.error}
                        </Text>
                      )}
                    </Table.Td>
                    <Table.Td>
                      <JobProgressBar status={job.status} progress={job.progress} name={job.name} compact />
                    </Table.Td>
                    <Table.Td visibleFrom="md">{where(job)}</Table.Td>
                    <Table.Td visibleFrom="sm">
                      <Group gap={4} wrap="nowrap">
                        <Text size="sm" ff="monospace" miw={28}>
                          {job.priority}
                        </Text>
                        {operator && queueIndex >= 0 && (
                          <>
                            <ActionIcon variant="default" size="sm" aria-label={`Move ${job.name} up`} disabled={queueIndex === 0 || setPriority.isPending} onClick={() => void move(job, 'up')}>
                              <span aria-hidden="true">↑</span>
                            </ActionIcon>
                            <ActionIcon variant="default" size="sm" aria-label={`Move ${job.name} down`} disabled={queueIndex === queued.length - 1 || setPriority.isPending} onClick={() => void move(job, 'down')}>
                              <span aria-hidden="true">↓</span>
                            </ActionIcon>
                          </>
                        )}
                      </Group>
                    </Table.Td>
                    <Table.Td visibleFrom="md">{elapsed === null ? '—' : duration(elapsed)}</Table.Td>
                    <Table.Td visibleFrom="lg">{job.requestedBy ?? '—'}</Table.Td>
                    <Table.Td>
                      <Group gap={6} wrap="nowrap" justify="flex-end">
                        {job.status === 'completed' && <ResultButton job={job} size="xs" />}
                        {operator && !isFinished(job.status) && <CancelJobButton job={job} />}
                      </Group>
                    </Table.Td>
                  </Table.Tr>
                );
              })}
            </Table.Tbody>
          </Table>
        </Table.ScrollContainer>
      )}
    </Stack>
  );
}
