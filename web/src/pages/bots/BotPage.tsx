/**
 * One bot: summary cards from the live summary, the live log, its config (edited by operators,
 * read by viewers) and its config history. Kept live by the hub (`instance:<id>` and
 * `instance:<id>:logs`).
 */
import { Alert, Anchor, Badge, Button, Group, Loader, Paper, SimpleGrid, Stack, Tabs, Text, Title } from '@mantine/core';
import { Link, useNavigate, useParams } from '@tanstack/react-router';
import { lazy, Suspense, useState, type ReactNode } from 'react';
import { ConfirmButton } from '../../components/ConfirmButton';
import { LogViewer } from '../../components/LogViewer';
import { notifyDone, notifyError } from '../../components/notifyError';
import { StatusBadge } from '../../components/StatusBadge';
import { useSession } from '../../lib/session';
import { useDeleteInstance, useEnvironmentOptions, useInstance, useInstanceAction, type BulkAction, type Instance } from './api';
import { ConfigHistory } from './ConfigHistory';
import { toText } from './config';
import { ago, money, positions, signedMoney, uptime } from './format';

/** The config editor (CodeMirror) loads when the config tab opens, not with the summary and the log. */
const BotForm = lazy(() => import('./BotForm').then((m) => ({ default: m.BotForm })));
const JsonEditor = lazy(() => import('../../components/JsonEditor').then((m) => ({ default: m.JsonEditor })));

function Card({ label, children, hint }: { label: string; children: ReactNode; hint?: string }) {
  return (
    <Paper withBorder p="sm" radius="sm">
      <Text size="xs" c="dimmed" tt="uppercase" fw={600}>
        {label}
      </Text>
      <Text fw={600} size="lg" component="div" data-card={label}>
        {children}
      </Text>
      {hint && (
        <Text size="xs" c="dimmed">
          {hint}
        </Text>
      )}
    </Paper>
  );
}

function SummaryCards({ bot }: { bot: Instance }) {
  const s = bot.summary;
  return (
    <SimpleGrid cols={{ base: 2, sm: 4 }} spacing="sm">
      <Card label="Status" hint={bot.lastError ?? (bot.lastExitCode !== null ? `last exit code ${bot.lastExitCode}` : undefined)}>
        <StatusBadge status={bot.status} size="lg" />
      </Card>
      <Card label="PID">{bot.pid ?? '—'}</Card>
      <Card label="Uptime" hint={s.uptime ? `bot reports ${s.uptime}` : undefined}>
        {uptime(bot.startedAt, bot.status)}
      </Card>
      <Card label="Balance" hint={s.equity !== null ? `equity ${money(s.equity, s.currency)}` : undefined}>
        {money(s.balance, s.currency)}
      </Card>
      <Card label="Realised PnL" hint={`${s.fills} fill(s)`}>
        {signedMoney(s.realizedPnl, s.currency)}
      </Card>
      <Card label="Positions">{positions(s.positionsLong, s.positionsShort)}</Card>
      <Card label="Last health" hint={s.loopSeconds !== null ? `loop ${s.loopSeconds}s` : undefined}>
        {ago(s.lastHealthAt)}
      </Card>
      <Card label="Crashes" hint={`${s.errors} error line(s)`}>
        {bot.restartCount}
      </Card>
    </SimpleGrid>
  );
}

function Actions({ bot }: { bot: Instance }) {
  const action = useInstanceAction();
  const remove = useDeleteInstance();
  const navigate = useNavigate();
  const run = async (name: BulkAction) => {
    try {
      await action.mutateAsync({ id: bot.id, action: name });
    } catch (error) {
      notifyError(`Could not ${name} ${bot.name}`, error);
    }
  };
  const active = bot.status === 'running' || bot.status === 'starting' || bot.status === 'unknown';
  const busy = (name: BulkAction) => action.isPending && action.variables.action === name;
  return (
    <Group gap="xs">
      {!active && (
        <Button onClick={() => void run('start')} loading={busy('start')}>
          Start
        </Button>
      )}
      {active && (
        <Button variant="default" onClick={() => void run('stop')} loading={busy('stop')}>
          Stop
        </Button>
      )}
      {active && (
        <Button variant="default" onClick={() => void run('restart')} loading={busy('restart')}>
          Restart
        </Button>
      )}
      <ConfirmButton
        variant="default"
        title={`Delete ${bot.name}?`}
        message="The bot is stopped (waiting for it) and deleted with its files on the host. Its config history is lost."
        confirmLabel="Delete bot"
        onConfirm={async () => {
          try {
            await remove.mutateAsync(bot.id);
            notifyDone(`Bot ${bot.name} deleted`);
            void navigate({ to: '/bots' });
          } catch (error) {
            notifyError('Delete failed', error);
            throw error;
          }
        }}
      >
        Delete
      </ConfirmButton>
    </Group>
  );
}

export default function BotPage() {
  const { id } = useParams({ strict: false });
  const botId = id ?? '';
  const { can } = useSession();
  const operator = can('operator');
  const query = useInstance(botId);
  const environments = useEnvironmentOptions();
  const [logOpen, setLogOpen] = useState(true);
  const [tab, setTab] = useState<string | null>('overview');

  if (query.error) {
    return (
      <Stack>
        <Anchor component={Link} to="/bots">
          ← Bots
        </Anchor>
        <Alert color="red" title="Bot not available">
          {query.error.message}
        </Alert>
      </Stack>
    );
  }
  const bot = query.data;
  if (!bot) return <Text c="dimmed">Loading…</Text>;
  const envName = environments.data?.find((e) => e.id === bot.environmentId)?.name ?? bot.environmentId;

  return (
    <Stack gap="md">
      <Anchor component={Link} to="/bots" size="sm">
        ← Bots
      </Anchor>
      <Group justify="space-between" wrap="wrap" align="flex-start">
        <Stack gap={4}>
          <Group gap="xs">
            <Title order={1}>{bot.name}</Title>
            <StatusBadge status={bot.status} />
            {bot.restartNeeded && (
              <Badge color="orange" variant="light">
                restart needed
              </Badge>
            )}
          </Group>
          <Text size="sm" c="dimmed">
            {envName} · {bot.account} ({bot.exchange}) · {bot.runtime === 'cli' ? 'passivbot CLI' : 'v7 scripts'} · config v{bot.configVersion}
            {bot.runningConfigVersion !== null && bot.runningConfigVersion !== bot.configVersion ? ` (running v${bot.runningConfigVersion})` : ''} · {bot.symbols.length ? bot.symbols.join(', ') : 'coins from file/all'}
          </Text>
        </Stack>
        {operator && <Actions bot={bot} />}
      </Group>

      <Tabs value={tab} onChange={setTab} keepMounted={false}>
        <Tabs.List>
          <Tabs.Tab value="overview">Overview</Tabs.Tab>
          <Tabs.Tab value="config">{operator ? 'Edit config' : 'Config'}</Tabs.Tab>
          <Tabs.Tab value="history">History</Tabs.Tab>
        </Tabs.List>

        <Tabs.Panel value="overview" pt="md">
          <Stack>
            <SummaryCards bot={bot} />
            <Group justify="space-between">
              <Title order={2} size="h4">
                Live log
              </Title>
              <Button size="xs" variant="default" onClick={() => setLogOpen((o) => !o)} aria-expanded={logOpen}>
                {logOpen ? 'Hide log' : 'Show log'}
              </Button>
            </Group>
            {logOpen && <LogViewer topic={`instance:${bot.id}:logs`} downloadHref={`/api/v1/instances/${bot.id}/logs/download`} label={`Log of ${bot.name}`} height="min(60vh, 520px)" />}
          </Stack>
        </Tabs.Panel>

        <Tabs.Panel value="config" pt="md">
          <Suspense fallback={<Loader size="sm" aria-label="Loading the config editor" />}>
            {operator ? (
              <BotForm key={bot.configVersion} instance={bot} onDone={(saved) => notifyDone(`Saved ${saved.name}: config v${saved.configVersion}${saved.restartNeeded ? ' (restart needed)' : ''}`)} />
            ) : (
              <JsonEditor label="Passivbot config (read-only)" value={toText(bot.config)} readOnly />
            )}
          </Suspense>
        </Tabs.Panel>

        <Tabs.Panel value="history" pt="md">
          <ConfigHistory instance={bot} canRestore={operator} />
        </Tabs.Panel>
      </Tabs>
    </Stack>
  );
}
