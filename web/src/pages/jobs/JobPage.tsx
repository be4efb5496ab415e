/**
 * One job: status and progress (live from `job:<id>`), what it was asked to do, its output (the
 * log viewer on `job:<id>:logs`: the last lines first, then live), and what to do next: cancel it,
 * open its result, run it again or optimize from it. Viewers see all of it without the controls.
 */
import { Alert, Anchor, Badge, Button, Group, Paper, SimpleGrid, Stack, Table, Text, Title } from '@mantine/core';
import { Link, useParams } from '@tanstack/react-router';
import type { ReactNode } from 'react';
import { JsonEditor } from '../../components/JsonEditor';
import { LogViewer } from '../../components/LogViewer';
import { useSession } from '../../lib/session';
import { isFinished, useCapacity, useEnvironmentOptions, useJob, type Job } from './api';
import { duration, elapsedSeconds, useNow, when } from './format';
import { JobProgressBar } from './JobProgressBar';
import { CancelJobButton, ResultButton } from './JobActions';

function Card({ label, children }: { label: string; children: ReactNode }) {
  return (
    <Paper withBorder p="sm" radius="sm">
      <Text size="xs" c="dimmed" tt="uppercase" fw={600}>
        {label}
      </Text>
      <Text fw={600} component="div" data-card={label}>
        {children}
      </Text>
    </Paper>
  );
}

const show = (value: unknown): string => (typeof value === 'string' ? value : JSON.stringify(value));

function Overrides({ job }: { job: Job }) {
  const entries = Object.entries(job.params.overrides);
  if (entries.length === 0) return <Text c="dimmed">No overrides: the config as given.</Text>;
  return (
    <Table.ScrollContainer minWidth={0}>
      <Table fz="sm" withTableBorder striped>
        <Table.Tbody>
          {entries.map(([key, value]) => (
            <Table.Tr key={key}>
              <Table.Th scope="row" ff="monospace" w="30%">
                {key}
              </Table.Th>
              <Table.Td ff="monospace" style={{ wordBreak: 'break-all' }}>
                {show(value).slice(0, 2000)}
              </Table.Td>
            </Table.Tr>
          ))}
        </Table.Tbody>
      </Table>
    </Table.ScrollContainer>
  );
}

/** "Backtest again" / "Optimize from this": the new-job form, started from this job. */
function AgainButtons({ job }: { job: Job }) {
  return (
    <>
      <Button variant="default" renderRoot={(props) => <Link {...props} to="/jobs/new" search={{ type: 'backtest', from: `backtest:${job.id}` }} />}>
        Backtest again
      </Button>
      <Button
        variant="default"
        renderRoot={(props) => <Link {...props} to="/jobs/new" search={job.type === 'optimize' ? { type: 'optimize', from: `optimize:${job.id}` } : { type: 'optimize', from: `backtest:${job.id}` }} />}
      >
        Optimize from this
      </Button>
    </>
  );
}

export default function JobPage() {
  const { id } = useParams({ from: '/app/jobs/$id' });
  const { can } = useSession();
  const operator = can('operator');
  const query = useJob(id);
  const environments = useEnvironmentOptions();
  const capacity = useCapacity();
  const job = query.data;
  const now = useNow(job?.status === 'running');

  if (query.error) {
    return (
      <Stack>
        <Alert color="red" title="Job not loaded">
          {query.error.message}
        </Alert>
        <Anchor renderRoot={(props) => <Link {...props} to="/jobs" />}>Back to jobs</Anchor>
      </Stack>
    );
  }
  if (!job) return <Text c="dimmed">Loading…</Text>;

  const envName = environments.data?.find((e) => e.id === job.environmentId)?.name ?? job.environmentId;
  const where = capacity.data?.mode === 'distributed' && job.environmentId === 'local' ? 'distributed workers' : envName;
  const elapsed = elapsedSeconds(job.startedAt, job.finishedAt, now);
  const finished = isFinished(job.status);
  return (
    <Stack gap="md">
      <Anchor renderRoot={(props) => <Link {...props} to="/jobs" />} size="sm">
        ← Jobs
      </Anchor>
      <Group justify="space-between" wrap="wrap" align="flex-start">
        <Group gap="xs" wrap="wrap">
          <Title order={1}>{job.name}</Title>
          <Badge variant="outline" color="gray.7">
            {job.type === 'optimize' ? 'optimization' : 'backtest'}
          </Badge>
        </Group>
        <Group gap="xs" wrap="wrap">
          {(job.status === 'completed' || job.result !== null) && <ResultButton job={job} />}
          {operator && !finished && <CancelJobButton job={job} size="sm" />}
          {operator && <AgainButtons job={job} />}
        </Group>
      </Group>

      <Paper withBorder p="md" radius="sm">
        <JobProgressBar status={job.status} progress={job.progress} name={job.name} />
        {job.error && (
          <Text c="red.9" size="sm" mt="xs" data-testid="job-error">
            {job.error}
          </Text>
        )}
      </Paper>

      <SimpleGrid cols={{ base: 2, sm: 3, lg: 6 }} spacing="sm">
        <Card label="Where">
          {where}
          {job.runner && job.runner !== 'server' ? ` · ${job.runner}` : ''}
        </Card>
        <Card label="Priority">{job.priority}</Card>
        <Card label="CPU slots">{job.slots}</Card>
        <Card label="Elapsed">{elapsed === null ? '—' : duration(elapsed)}</Card>
        <Card label="Requeue on interrupt">{job.requeueOnInterrupt ? `yes (attempt ${Math.max(1, job.attempts)})` : 'no'}</Card>
        <Card label="Requested by">{job.requestedBy ?? '—'}</Card>
      </SimpleGrid>
      <Text size="sm" c="dimmed">
        Queued {when(job.createdAt)} · started {when(job.startedAt)} · finished {when(job.finishedAt)}
      </Text>

      <Title order={2} size="h3">
        Output
      </Title>
      <LogViewer topic={`job:${job.id}:logs`} label={`Output of ${job.name}`} height="min(50vh, 420px)" />

      <Title order={2} size="h3">
        Overrides
      </Title>
      <Overrides job={job} />
      <Title order={2} size="h3">
        Config used
      </Title>
      <JsonEditor label={`Config used by ${job.name}`} value={JSON.stringify(job.params.effective, null, 2)} readOnly height="360px" />
    </Stack>
  );
}
