import { Alert, Button, Code, Group, Loader, Select, Stack, Table, Text } from '@mantine/core';
import { useEffect, useRef, useState } from 'react';
import { ConfirmButton } from '../../components/ConfirmButton';
import { StatusBadge } from '../../components/StatusBadge';
import { describeError, notifyError } from '../../components/notifyError';
import { useHubTopic, useLiveInvalidate } from '../../lib/hub';
import { useSession } from '../../lib/session';
import { keys, useOperation, useOperations, useRefreshSystemInfo, useStartOperation, useVersions, type Environment, type OperationKind } from './api';
import { ago } from './format';

const KIND_LABEL: Record<string, string> = { check_health: 'Check health', restart: 'Restart', upgrade: 'Upgrade', deploy: 'Deploy' };

/** A running operation's output as the hub sends it (operators only; see README, Operations). */
interface OperationOutput {
  operationId: string;
  text: string;
}

/** Characters of live output kept in the page; the stored output keeps its own head and tail. */
const LIVE_OUTPUT_MAX = 64 * 1024;

/**
 * The operation just started or picked: status over the hub (operation:<id>), its output live
 * while it runs (operators), then the stored output once it ends.
 */
function CurrentOperation({ id }: { id: string }) {
  useLiveInvalidate([`operation:${id}`], [keys.operation(id)], { ignoreTypes: ['operation_output'] });
  const op = useOperation(id);
  // Output that arrived after the operation was last read (its output so far).
  const [live, setLive] = useState({ readAt: 0, text: '' });
  useHubTopic([`operation:${id}`], (m) => {
    const piece = m.payload as OperationOutput;
    if (m.type !== 'operation_output' || piece.operationId !== id) return;
    const readAt = op.dataUpdatedAt;
    setLive((prev) => ({ readAt, text: ((prev.readAt === readAt ? prev.text : '') + piece.text).slice(-LIVE_OUTPUT_MAX) }));
  });
  const outputRef = useRef<HTMLPreElement>(null);
  const running = op.data?.status === 'in_progress';
  const output = (op.data?.output ?? '') + (running && live.readAt === op.dataUpdatedAt ? live.text : '');
  // Follows the newest line while the reader is at the bottom.
  useEffect(() => {
    const el = outputRef.current;
    if (el && el.scrollHeight - el.scrollTop - el.clientHeight < 80) el.scrollTop = el.scrollHeight;
  }, [output]);

  if (!op.data) return <Loader size="sm" aria-label="Starting operation" />;
  const { type, status, error } = op.data;
  return (
    <Stack gap={4} data-testid="current-operation">
      <Group gap="xs" aria-live="polite">
        <Text size="sm" fw={600}>
          {KIND_LABEL[type] ?? type}
        </Text>
        <StatusBadge status={status} size="sm" />
        {running && <Loader size="xs" aria-label="Running" />}
      </Group>
      {error && (
        <Text size="sm" c="red.9">
          {error}
        </Text>
      )}
      {output ? (
        <Code block ref={outputRef} mah={300} style={{ overflow: 'auto', whiteSpace: 'pre-wrap' }} aria-label={running ? 'Operation output (live)' : 'Operation output'} data-testid="operation-output" tabIndex={0}>
          {output}
        </Code>
      ) : running ? (
        <Text size="xs" c="dimmed">
          Waiting for output…
        </Text>
      ) : null}
    </Stack>
  );
}

function UpgradeControl({ environment, onStart, busy }: { environment: Environment; onStart: (version: string) => Promise<unknown>; busy: boolean }) {
  const [version, setVersion] = useState<string | null>(null);
  const versions = useVersions(environment.id, environment.upgradeConfig !== null);
  if (!environment.upgradeConfig) return null;
  return (
    <Group gap="xs" align="flex-end">
      <Select
        label="Version"
        placeholder={versions.isPending ? 'loading…' : versions.isError ? 'list unavailable' : 'choose'}
        data={versions.data?.versions ?? []}
        value={version}
        onChange={setVersion}
        searchable
        w={180}
        error={versions.isError ? describeError(versions.error) : undefined}
      />
      <ConfirmButton
        color="blue"
        disabled={!version || busy}
        title={`Upgrade ${environment.name}?`}
        message={`Passivbot on ${environment.name} will be upgraded to ${version ?? ''}. Bots may restart.`}
        confirmLabel="Upgrade"
        onConfirm={() => onStart(version ?? '')}
      >
        Upgrade
      </ConfirmButton>
    </Group>
  );
}

/** Check health, restart, upgrade and deploy (operators), and the recent operations (everyone). */
export function OperationsPanel({ environment }: { environment: Environment }) {
  const { can } = useSession();
  const [current, setCurrent] = useState<string | null>(null);
  const start = useStartOperation(environment.id);
  const refreshInfo = useRefreshSystemInfo(environment.id);
  const recent = useOperations(environment.id);
  const operator = can('operator');
  // An operator opening the page while an operation runs sees it (and its output) at once.
  const shown = current ?? (operator ? (recent.data?.find((op) => op.status === 'in_progress')?.id ?? null) : null);

  const run = (kind: OperationKind, version?: string) =>
    start.mutateAsync({ kind, ...(version !== undefined && { version }) }).then(
      (started) => setCurrent(started.operationId),
      (error: unknown) => {
        notifyError(`${KIND_LABEL[kind] ?? kind} not started`, error);
        throw error;
      },
    );

  return (
    <Stack gap="md">
      {operator && (
        <Group gap="xs" align="flex-end">
          <Button variant="light" onClick={() => void run('check_health').catch(() => undefined)} loading={start.isPending && start.variables.kind === 'check_health'}>
            Check health now
          </Button>
          <Button
            variant="light"
            loading={refreshInfo.isPending}
            onClick={() => refreshInfo.mutate(undefined, { onError: (error) => notifyError('System info not collected', error) })}
          >
            Refresh system info
          </Button>
          {environment.commands && (
            <ConfirmButton color="blue" title={`Restart ${environment.name}?`} message={`The configured restart (${environment.commands.type}) runs on ${environment.name}.`} confirmLabel="Restart" onConfirm={() => run('restart')}>
              Restart
            </ConfirmButton>
          )}
          {environment.kind === 'ssh' && (
            <ConfirmButton
              color="blue"
              title={`Deploy to ${environment.name}?`}
              message={`pbfleet prepares ${environment.name} for bots (directories and helper files). Running it again changes nothing that is already in place.`}
              confirmLabel="Deploy"
              onConfirm={() => run('deploy')}
            >
              Deploy
            </ConfirmButton>
          )}
          <UpgradeControl environment={environment} onStart={(version) => run('upgrade', version)} busy={start.isPending} />
        </Group>
      )}
      {shown && <CurrentOperation key={shown} id={shown} />}
      {recent.isError && <Alert color="red">{describeError(recent.error)}</Alert>}
      {recent.data && recent.data.length > 0 && (
        <Table.ScrollContainer minWidth={480}>
          <Table aria-label="Recent operations" verticalSpacing={4}>
            <Table.Thead>
              <Table.Tr>
                <Table.Th>Operation</Table.Th>
                <Table.Th>Status</Table.Th>
                <Table.Th>By</Table.Th>
                <Table.Th>Started</Table.Th>
                <Table.Th>Result</Table.Th>
              </Table.Tr>
            </Table.Thead>
            <Table.Tbody>
              {recent.data.map((op) => (
                <Table.Tr key={op.id}>
                  <Table.Td>
                    {operator ? (
                      <Button variant="subtle" size="compact-sm" onClick={() => setCurrent(op.id)} aria-label={`Show ${KIND_LABEL[op.type] ?? op.type} output from ${ago(op.startedAt)}`}>
                        {KIND_LABEL[op.type] ?? op.type}
                      </Button>
                    ) : (
                      (KIND_LABEL[op.type] ?? op.type)
                    )}
                  </Table.Td>
                  <Table.Td>
                    <StatusBadge status={op.status} size="sm" />
                  </Table.Td>
                  <Table.Td>{op.requestedBy ?? '–'}</Table.Td>
                  <Table.Td title={op.startedAt}>{ago(op.startedAt)}</Table.Td>
                  <Table.Td>
                    <Text size="xs" lineClamp={2}>
                      {op.error ?? ''}
                    </Text>
                  </Table.Td>
                </Table.Tr>
              ))}
            </Table.Tbody>
          </Table>
        </Table.ScrollContainer>
      )}
    </Stack>
  );
}
