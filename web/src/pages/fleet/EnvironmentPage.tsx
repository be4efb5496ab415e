import { Alert, Anchor, Badge, Button, Group, Loader, Modal, Paper, Stack, Text, Title } from '@mantine/core';
import { useDisclosure } from '@mantine/hooks';
import { Link, useNavigate, useParams } from '@tanstack/react-router';
import { ConfirmButton } from '../../components/ConfirmButton';
import { StatusBadge } from '../../components/StatusBadge';
import { describeError, notifyDone, notifyError } from '../../components/notifyError';
import { useLiveInvalidate } from '../../lib/hub';
import { useSession } from '../../lib/session';
import { keys, useDeleteEnvironment, useEnvironment, useHealthHistory, useInstances, type Environment } from './api';
import { EnvironmentForm } from './EnvironmentForm';
import { ago, latency } from './format';
import { HealthChart } from './HealthChart';
import { HostKeyPanel } from './HostKeyPanel';
import { OperationsPanel } from './OperationsPanel';
import { SystemInfoCard } from './SystemInfoCard';
import classes from '../../components/readable.module.css';

function Section({ title, children }: { title: string; children: React.ReactNode }) {
  return (
    <Paper withBorder p="md" component="section" aria-label={title}>
      <Title order={2} size="h4" mb="sm">
        {title}
      </Title>
      {children}
    </Paper>
  );
}

function Bots({ environment }: { environment: Environment }) {
  const instances = useInstances();
  const bots = (instances.data ?? []).filter((bot) => bot.environmentId === environment.id);
  if (!bots.length) return <Text c="dimmed">No bots on this environment.</Text>;
  return (
    <Group gap="xs">
      {bots.map((bot) => (
        <Anchor key={bot.id} renderRoot={(props) => <Link {...props} to="/bots/$id" params={{ id: bot.id }} />}>
          <Group gap={4}>
            {bot.name}
            <StatusBadge status={bot.status} size="xs" />
          </Group>
        </Anchor>
      ))}
    </Group>
  );
}

function Header({ environment }: { environment: Environment }) {
  const { can } = useSession();
  const navigate = useNavigate();
  const [editing, { open, close }] = useDisclosure(false);
  const remove = useDeleteEnvironment();
  const { status } = environment;
  return (
    <Stack gap="xs">
      <Anchor renderRoot={(props) => <Link {...props} to="/fleet" />} size="sm">
        ← Fleet
      </Anchor>
      <Group justify="space-between" align="flex-start">
        <Stack gap={4}>
          <Group gap="sm">
            <Title order={1} size="h2">
              {environment.name}
            </Title>
            <StatusBadge status={status.health} size="lg" />
            {environment.kind === 'local' && <Badge variant="outline">this server</Badge>}
          </Group>
          <Text size="sm" c="dimmed">
            {environment.target ? `${environment.credentials?.username ?? ''}@${environment.target.host}:${environment.target.port}` : 'local'} · latency {latency(status.responseTime)} · last check {ago(status.lastCheck)}
            {status.lastHealthyAt ? ` · last healthy ${ago(status.lastHealthyAt)}` : ''}
          </Text>
          {status.message && (
            <Text size="sm" data-testid="health-message">
              {status.message}
            </Text>
          )}
          {environment.description && <Text size="sm">{environment.description}</Text>}
        </Stack>
        {can('admin') && (
          <Group gap="xs">
            <Button variant="default" onClick={open}>
              Edit
            </Button>
            {environment.kind === 'ssh' && (
              <ConfirmButton
                title={`Remove ${environment.name}?`}
                message={`${environment.name} and its health history are removed from pbfleet. Bots running on it keep running but are no longer managed.`}
                confirmLabel="Remove"
                variant="outline"
                onConfirm={() =>
                  remove.mutateAsync(
                    { id: environment.id, force: true },
                    {
                      onSuccess: () => {
                        notifyDone(`${environment.name} removed`);
                        void navigate({ to: '/fleet' });
                      },
                      onError: (error) => notifyError('Not removed', error),
                    },
                  )
                }
              >
                Remove
              </ConfirmButton>
            )}
          </Group>
        )}
      </Group>
      <Modal closeButtonProps={{ 'aria-label': 'Close' }} opened={editing} onClose={close} title={`Edit ${environment.name}`} size="xl">
        <EnvironmentForm
          environment={environment}
          onCancel={close}
          onSaved={() => {
            close();
            notifyDone('Saved');
          }}
        />
      </Modal>
    </Stack>
  );
}

export default function EnvironmentPage() {
  const { id = '' } = useParams({ strict: false });
  const environment = useEnvironment(id);
  const history = useHealthHistory(id);
  // Health, system info, changes and operations of this environment all arrive on its topic.
  useLiveInvalidate([`environment:${id}`, 'instances'], [keys.environment(id), keys.operations, keys.instances], { ignoreTypes: ['operation_output'] });

  if (environment.isPending) return <Loader aria-label="Loading environment" />;
  if (environment.isError)
    return (
      <Alert color="red" title="Environment could not be loaded">
        {describeError(environment.error)}
      </Alert>
    );
  const env = environment.data;
  return (
    <Stack gap="md" className={classes.readable}>
      <Header environment={env} />
      <HostKeyPanel environment={env} />
      <Section title="System">
        <SystemInfoCard info={env.systemInfo} />
      </Section>
      <Section title="Health history">
        {history.data ? <HealthChart history={history.data} /> : history.isError ? <Alert color="red">{describeError(history.error)}</Alert> : <Loader size="sm" aria-label="Loading health history" />}
      </Section>
      <Section title="Operations">
        <OperationsPanel environment={env} />
      </Section>
      <Section title="Bots">
        <Bots environment={env} />
      </Section>
    </Stack>
  );
}
