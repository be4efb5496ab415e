import { Alert, Anchor, Badge, Button, Group, Loader, Modal, Stack, Table, Text, Title, Tooltip } from '@mantine/core';
import { Link } from '@tanstack/react-router';
import { useMemo, useState } from 'react';
import { ConfirmButton } from '../../components/ConfirmButton';
import { describeError, notifyDone, notifyError } from '../../components/notifyError';
import { useLiveInvalidate } from '../../lib/hub';
import { useSession } from '../../lib/session';
import { AccountForm } from './AccountForm';
import { FIELD_LABELS, keys, useAccounts, useDeleteAccount, useExchanges, useInstances, type Account, type Instance, type SecretField } from './api';
import classes from '../../components/readable.module.css';

/** Which secrets are stored: "set" or "missing", never a value (before the exchanges' needs load: the ones set). */
function SecretBadges({ account, needs }: { account: Account; needs: readonly SecretField[] | undefined }) {
  const fields = needs ?? (Object.keys(account.fields) as SecretField[]).filter((field) => account.fields[field]);
  return (
    <Group gap={4}>
      {fields.map((field) => (
        <Badge key={field} size="sm" variant="filled" c="black" color={account.fields[field] ? 'teal.6' : 'red.6'} data-field={field}>
          {FIELD_LABELS[field]}: {account.fields[field] ? 'set' : 'missing'}
        </Badge>
      ))}
      {account.exchange === 'hyperliquid' && account.isVault && (
        <Badge size="sm" variant="outline">
          vault
        </Badge>
      )}
    </Group>
  );
}

function UsedBy({ account, bots }: { account: Account; bots: Instance[] }) {
  if (!bots.length) return <Text size="sm">{account.usedBy > 0 ? `${account.usedBy} bots` : 'no bots'}</Text>;
  return (
    <Group gap={6}>
      {bots.map((bot) => (
        <Anchor key={bot.id} size="sm" renderRoot={(props) => <Link {...props} to="/bots/$id" params={{ id: bot.id }} />}>
          {bot.name}
        </Anchor>
      ))}
    </Group>
  );
}

function Actions({ account, onEdit }: { account: Account; onEdit: () => void }) {
  const remove = useDeleteAccount();
  const inUse = account.usedBy > 0;
  return (
    <Group gap="xs" wrap="nowrap">
      <Button size="xs" variant="default" onClick={onEdit} aria-label={`Edit ${account.name}`}>
        Edit
      </Button>
      {inUse ? (
        <Tooltip label="Bots use this account; move them first">
          <Button size="xs" variant="outline" color="red.9" disabled aria-label={`Delete ${account.name} (in use)`}>
            Delete
          </Button>
        </Tooltip>
      ) : (
        <ConfirmButton
          size="xs"
          variant="outline"
          aria-label={`Delete ${account.name}`}
          title={`Delete ${account.name}?`}
          message={`The ${account.exchange} account ${account.name} and its stored secrets are deleted.`}
          confirmLabel="Delete"
          onConfirm={() =>
            remove.mutateAsync(account.id, {
              onSuccess: () => notifyDone(`${account.name} deleted`),
              onError: (error) => notifyError('Not deleted', error),
            })
          }
        >
          Delete
        </ConfirmButton>
      )}
    </Group>
  );
}

export default function AccountsPage() {
  const { can } = useSession();
  const allowed = can('operator');
  const admin = can('admin');
  const accounts = useAccounts(allowed);
  const instances = useInstances();
  const exchanges = useExchanges();
  const [editing, setEditing] = useState<Account | 'new' | null>(null);
  useLiveInvalidate(allowed ? ['instances'] : [], [keys.instances, keys.accounts]);

  const botsByAccount = useMemo(() => {
    const map = new Map<string, Instance[]>();
    for (const bot of instances.data ?? []) map.set(bot.account, [...(map.get(bot.account) ?? []), bot]);
    return map;
  }, [instances.data]);

  return (
    <Stack gap="md" className={classes.readable}>
      <Group justify="space-between">
        <Title order={1} size="h2">
          Exchange accounts
        </Title>
        {admin && <Button onClick={() => setEditing('new')}>Add account</Button>}
      </Group>
      {!allowed && <Alert color="blue">Exchange accounts are shown to operators and admins.</Alert>}
      {allowed && accounts.isPending && <Loader aria-label="Loading accounts" />}
      {accounts.isError && (
        <Alert color="red" title="Accounts could not be loaded">
          {describeError(accounts.error)}
        </Alert>
      )}
      {accounts.data && accounts.data.length === 0 && <Text c="dimmed">No exchange accounts yet.</Text>}
      {accounts.data && accounts.data.length > 0 && (
        <Table.ScrollContainer minWidth={760}>
          <Table striped aria-label="Exchange accounts" verticalSpacing="xs">
            <Table.Thead>
              <Table.Tr>
                <Table.Th>Name</Table.Th>
                <Table.Th>Exchange</Table.Th>
                <Table.Th>Secrets</Table.Th>
                <Table.Th>Used by</Table.Th>
                {admin && <Table.Th>Actions</Table.Th>}
              </Table.Tr>
            </Table.Thead>
            <Table.Tbody>
              {accounts.data.map((account) => (
                <Table.Tr key={account.id} data-account={account.name}>
                  <Table.Td fw={600}>{account.name}</Table.Td>
                  <Table.Td>{account.exchange}</Table.Td>
                  <Table.Td>
                    <SecretBadges account={account} needs={exchanges.data?.get(account.exchange)?.fields} />
                  </Table.Td>
                  <Table.Td>
                    <UsedBy account={account} bots={botsByAccount.get(account.name) ?? []} />
                  </Table.Td>
                  {admin && (
                    <Table.Td>
                      <Actions account={account} onEdit={() => setEditing(account)} />
                    </Table.Td>
                  )}
                </Table.Tr>
              ))}
            </Table.Tbody>
          </Table>
        </Table.ScrollContainer>
      )}
      <Modal closeButtonProps={{ 'aria-label': 'Close' }} opened={editing !== null} onClose={() => setEditing(null)} title={editing === 'new' ? 'Add account' : `Edit ${editing?.name ?? ''}`} size="lg">
        {editing !== null && (
          <AccountForm
            account={editing === 'new' ? undefined : editing}
            onCancel={() => setEditing(null)}
            onSaved={(account) => {
              setEditing(null);
              notifyDone(`${account.name} saved`);
            }}
          />
        )}
      </Modal>
    </Stack>
  );
}
