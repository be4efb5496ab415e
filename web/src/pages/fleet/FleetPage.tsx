import { Alert, Anchor, Box, Button, Card, Group, Loader, Modal, Stack, Table, Text, Title } from '@mantine/core';
import { useDisclosure } from '@mantine/hooks';
import { Link, useNavigate } from '@tanstack/react-router';
import { lazy, Suspense, useMemo } from 'react';
import { StatusBadge } from '../../components/StatusBadge';
import { describeError } from '../../components/notifyError';
import { useLiveInvalidate } from '../../lib/hub';
import { useSession } from '../../lib/session';
import { keys, useEnvironments, useInstances, type Environment } from './api';
import { ago, latency } from './format';
import { loadText, SystemBars, versionText } from './SystemBars';
import classes from '../../components/readable.module.css';

/** The add form (and its form library) loads when the dialog opens, not with the table. */
const EnvironmentForm = lazy(() => import('./EnvironmentForm').then((m) => ({ default: m.EnvironmentForm })));

const EnvLink = ({ env }: { env: Environment }) => (
  <Anchor renderRoot={(props) => <Link {...props} to="/fleet/$id" params={{ id: env.id }} />} fw={600}>
    {env.name}
  </Anchor>
);

function FleetTable({ environments, bots }: { environments: Environment[]; bots: Map<string, number> }) {
  return (
    <Table.ScrollContainer minWidth={1100}>
      <Table striped highlightOnHover verticalSpacing="xs" aria-label="Environments">
        <Table.Thead>
          <Table.Tr>
            <Table.Th>Name</Table.Th>
            <Table.Th>Health</Table.Th>
            <Table.Th>Latency</Table.Th>
            <Table.Th>Last check</Table.Th>
            <Table.Th>CPU / memory / disk</Table.Th>
            <Table.Th>Load (1/5/15)</Table.Th>
            <Table.Th>Passivbot</Table.Th>
            <Table.Th>Bots</Table.Th>
          </Table.Tr>
        </Table.Thead>
        <Table.Tbody>
          {environments.map((env) => (
            <Table.Tr key={env.id} data-environment={env.name}>
              <Table.Td>
                <EnvLink env={env} />
                <Text size="xs" c="dimmed">
                  {env.target ? `${env.target.host}:${env.target.port}` : 'this server'}
                </Text>
              </Table.Td>
              <Table.Td>
                <StatusBadge status={env.status.health} />
              </Table.Td>
              <Table.Td>{latency(env.status.responseTime)}</Table.Td>
              <Table.Td title={env.status.lastCheck ?? undefined}>{ago(env.status.lastCheck)}</Table.Td>
              <Table.Td miw={200}>
                <SystemBars info={env.systemInfo} compact />
              </Table.Td>
              <Table.Td ff="monospace">{loadText(env.systemInfo)}</Table.Td>
              <Table.Td>{versionText(env.systemInfo)}</Table.Td>
              <Table.Td>{bots.get(env.id) ?? 0}</Table.Td>
            </Table.Tr>
          ))}
        </Table.Tbody>
      </Table>
    </Table.ScrollContainer>
  );
}

/** Phones: one card per environment instead of a wide table. */
function FleetCards({ environments, bots }: { environments: Environment[]; bots: Map<string, number> }) {
  return (
    <Stack gap="sm">
      {environments.map((env) => (
        <Card key={env.id} withBorder padding="sm" component="article" aria-label={env.name}>
          <Group justify="space-between" wrap="nowrap">
            <EnvLink env={env} />
            <StatusBadge status={env.status.health} />
          </Group>
          <Text size="xs" c="dimmed" mb="xs">
            {latency(env.status.responseTime)} · checked {ago(env.status.lastCheck)} · {bots.get(env.id) ?? 0} bots · {versionText(env.systemInfo)}
          </Text>
          <SystemBars info={env.systemInfo} compact />
          <Text size="xs" mt={4}>
            Load {loadText(env.systemInfo)}
          </Text>
        </Card>
      ))}
    </Stack>
  );
}

/** Health counts at a glance: how many healthy, degraded, unhealthy, … */
function Summary({ environments }: { environments: Environment[] }) {
  const counts = new Map<string, number>();
  for (const env of environments) counts.set(env.status.health, (counts.get(env.status.health) ?? 0) + 1);
  return (
    <Group gap="xs" aria-label="Health summary">
      {[...counts].map(([health, count]) => (
        <Group key={health} gap={4}>
          <StatusBadge status={health} size="sm" />
          <Text size="sm">{count}</Text>
        </Group>
      ))}
    </Group>
  );
}

export default function FleetPage() {
  const { can } = useSession();
  const navigate = useNavigate();
  const environments = useEnvironments();
  const instances = useInstances();
  const [adding, { open, close }] = useDisclosure(false);
  // system_info events go to each environment's own topic; health and changes to the collection.
  const topics = ['environments', 'operations', 'instances', ...(environments.data ?? []).map((env) => `environment:${env.id}`)];
  useLiveInvalidate(topics, [keys.environments, keys.instances], { ignoreTypes: ['operation_output'] });

  const bots = useMemo(() => {
    const byEnv = new Map<string, number>();
    for (const bot of instances.data ?? []) byEnv.set(bot.environmentId, (byEnv.get(bot.environmentId) ?? 0) + 1);
    return byEnv;
  }, [instances.data]);

  return (
    <Stack gap="md" className={classes.readable}>
      <Group justify="space-between">
        <Title order={1} size="h2">
          Fleet
        </Title>
        {can('admin') && <Button onClick={open}>Add environment</Button>}
      </Group>
      {environments.isPending && <Loader aria-label="Loading environments" />}
      {environments.isError && (
        <Alert color="red" title="Environments could not be loaded">
          {describeError(environments.error)}
        </Alert>
      )}
      {environments.data && (
        <>
          <Summary environments={environments.data} />
          {environments.data.length === 0 ? (
            <Text c="dimmed">No environments yet.{can('admin') ? ' Add the first server bots run on.' : ''}</Text>
          ) : (
            <>
              <Box visibleFrom="md">
                <FleetTable environments={environments.data} bots={bots} />
              </Box>
              <Box hiddenFrom="md">
                <FleetCards environments={environments.data} bots={bots} />
              </Box>
            </>
          )}
        </>
      )}
      <Modal closeButtonProps={{ 'aria-label': 'Close' }} opened={adding} onClose={close} title="Add environment" size="xl" fullScreen={false}>
        {adding && (
          <Suspense fallback={<Loader size="sm" aria-label="Loading the form" />}>
            <EnvironmentForm
              onCancel={close}
              onSaved={(env) => {
                close();
                void navigate({ to: '/fleet/$id', params: { id: env.id } });
              }}
            />
          </Suspense>
        )}
      </Modal>
    </Stack>
  );
}
