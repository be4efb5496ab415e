import { Alert, Badge, Button, Group, Loader, Modal, Pagination, Select, Stack, Table, Text, TextInput, Title } from '@mantine/core';
import { useDebouncedValue } from '@mantine/hooks';
import { useState } from 'react';
import { ConfirmButton } from '../../components/ConfirmButton';
import { describeError, notifyDone } from '../../components/notifyError';
import { useSession } from '../../lib/session';
import { keys, ROLES, useDeleteUser, useUpdateUser, useUsers, type Role, type User } from './api';
import { useAuditActionRefresh } from './live';
import { CreateUserForm, EditUserForm, isLastAdminRefusal, ResetPasswordForm } from './UserForms';
import classes from '../../components/readable.module.css';

const PAGE_SIZE = 25;
const USER_ACTIONS = ['user_create', 'user_update', 'user_delete', 'password_reset'];
const ROLE_COLOR: Record<Role, string> = { admin: 'grape.9', operator: 'blue.9', viewer: 'gray.8' };

type Dialog = { kind: 'create' } | { kind: 'edit' | 'reset'; user: User } | null;

/** What a refused change means; the server's last-admin answer gets a title of its own. */
function refusalOf(action: string, error: unknown): { title: string; message: string } {
  return { title: isLastAdminRefusal(error) ? `${action} refused: pbfleet would be left without an active admin` : `${action} failed`, message: describeError(error) };
}

function when(iso: string | null): string {
  return iso ? new Date(iso).toLocaleString() : 'never';
}

function UserActions({ user, self, onDialog, onRefused }: { user: User; self: boolean; onDialog: (d: Dialog) => void; onRefused: (r: { title: string; message: string }) => void }) {
  const update = useUpdateUser();
  const remove = useDeleteUser();
  const toggleActive = async () => {
    try {
      await update.mutateAsync({ id: user.id, body: { active: !user.active } });
      notifyDone(`${user.username} ${user.active ? 'deactivated' : 'activated'}`);
    } catch (error) {
      onRefused(refusalOf(user.active ? 'Deactivation' : 'Activation', error));
    }
  };
  return (
    <Group gap="xs" wrap="nowrap">
      <Button size="xs" variant="default" onClick={() => onDialog({ kind: 'edit', user })} aria-label={`Edit ${user.username}`}>
        Edit
      </Button>
      <Button size="xs" variant="default" onClick={() => onDialog({ kind: 'reset', user })} aria-label={`Reset password of ${user.username}`}>
        Reset password
      </Button>
      {!self &&
        (user.active ? (
          <ConfirmButton
            size="xs"
            variant="outline"
            aria-label={`Deactivate ${user.username}`}
            title={`Deactivate ${user.username}?`}
            message={`${user.username} can no longer sign in; their sessions and API tokens end now. You can activate them again later.`}
            confirmLabel="Deactivate"
            onConfirm={toggleActive}
          >
            Deactivate
          </ConfirmButton>
        ) : (
          <Button size="xs" variant="default" onClick={() => void toggleActive()} aria-label={`Activate ${user.username}`}>
            Activate
          </Button>
        ))}
      {!self && (
        <ConfirmButton
          size="xs"
          variant="outline"
          aria-label={`Delete ${user.username}`}
          title={`Delete ${user.username}?`}
          message={`${user.username} is deleted with their sessions and API tokens. Audit entries keep their name.`}
          confirmLabel="Delete"
          onConfirm={async () => {
            try {
              await remove.mutateAsync(user.id);
              notifyDone(`${user.username} deleted`);
            } catch (error) {
              onRefused(refusalOf('Deletion', error));
            }
          }}
        >
          Delete
        </ConfirmButton>
      )}
    </Group>
  );
}

function UsersTable({ users, selfId, onDialog, onRefused }: { users: User[]; selfId: string; onDialog: (d: Dialog) => void; onRefused: (r: { title: string; message: string }) => void }) {
  return (
    <Table.ScrollContainer minWidth={900}>
      <Table striped aria-label="Users" verticalSpacing="xs">
        <Table.Thead>
          <Table.Tr>
            <Table.Th>Username</Table.Th>
            <Table.Th>Email</Table.Th>
            <Table.Th>Role</Table.Th>
            <Table.Th>Status</Table.Th>
            <Table.Th>Last sign-in</Table.Th>
            <Table.Th>Actions</Table.Th>
          </Table.Tr>
        </Table.Thead>
        <Table.Tbody>
          {users.map((user) => (
            <Table.Tr key={user.id} data-user={user.username}>
              <Table.Td fw={600}>
                {user.username}
                {user.id === selfId && (
                  <Badge size="xs" ml={6} variant="outline" color="gray.8">
                    you
                  </Badge>
                )}
              </Table.Td>
              <Table.Td>{user.email ?? '–'}</Table.Td>
              <Table.Td>
                <Badge variant="filled" color={ROLE_COLOR[user.role]} data-testid="role">
                  {user.role}
                </Badge>
              </Table.Td>
              <Table.Td>
                <Badge variant="filled" c="black" color={user.active ? 'teal.6' : 'orange.6'}>
                  {user.active ? 'active' : 'deactivated'}
                </Badge>
              </Table.Td>
              <Table.Td>
                <Text size="sm">{when(user.lastLogin)}</Text>
              </Table.Td>
              <Table.Td>
                <UserActions user={user} self={user.id === selfId} onDialog={onDialog} onRefused={onRefused} />
              </Table.Td>
            </Table.Tr>
          ))}
        </Table.Tbody>
      </Table>
    </Table.ScrollContainer>
  );
}

export default function UsersPage() {
  const { user: me, can } = useSession();
  const admin = can('admin');
  const [q, setQ] = useState('');
  const [role, setRole] = useState<Role | null>(null);
  const [page, setPage] = useState(1);
  const [search] = useDebouncedValue(q.trim(), 250);
  const users = useUsers({ page, limit: PAGE_SIZE, ...(search ? { q: search } : {}), ...(role ? { role } : {}) }, admin);
  const [dialog, setDialog] = useState<Dialog>(null);
  const [refusal, setRefusal] = useState<{ title: string; message: string } | null>(null);
  useAuditActionRefresh(USER_ACTIONS, keys.users);

  if (!admin) {
    return (
      <Stack className={classes.readable}>
        <Title order={1} size="h2">
          Users
        </Title>
        <Alert color="blue">Only admins manage users. Your own password, sessions and API tokens are in My account.</Alert>
      </Stack>
    );
  }

  const close = () => setDialog(null);
  return (
    <Stack gap="md" className={classes.readable}>
      <Group justify="space-between">
        <Title order={1} size="h2">
          Users
        </Title>
        <Button onClick={() => setDialog({ kind: 'create' })}>Add user</Button>
      </Group>
      {refusal && (
        <Alert color="red" title={refusal.title} role="alert" withCloseButton closeButtonLabel="Dismiss" onClose={() => setRefusal(null)} data-testid="users-refusal">
          {refusal.message}
        </Alert>
      )}
      <Group align="flex-end">
        <TextInput label="Search" placeholder="username or email" value={q} onChange={(e) => (setQ(e.currentTarget.value), setPage(1))} />
        <Select
          label="Role"
          placeholder="any role"
          clearable
          data={ROLES.map((r) => ({ value: r, label: r }))}
          value={role}
          onChange={(value) => (setRole(value), setPage(1))}
        />
      </Group>
      {users.isPending && <Loader aria-label="Loading users" />}
      {users.isError && (
        <Alert color="red" title="Users could not be loaded">
          {describeError(users.error)}
        </Alert>
      )}
      {users.data && users.data.users.length === 0 && <Text c="dimmed">No user matches.</Text>}
      {users.data && users.data.users.length > 0 && <UsersTable users={users.data.users} selfId={me.id} onDialog={setDialog} onRefused={setRefusal} />}
      {users.data && users.data.pagination.totalPages > 1 && (
        <Pagination total={users.data.pagination.totalPages} value={page} onChange={setPage} aria-label="Pages of users" getControlProps={(control) => ({ 'aria-label': `${control} page` })} />
      )}
      <Modal
        closeButtonProps={{ 'aria-label': 'Close' }}
        opened={dialog !== null}
        onClose={close}
        title={dialog?.kind === 'create' ? 'Add user' : dialog?.kind === 'edit' ? `Edit ${dialog.user.username}` : `Reset the password of ${dialog?.user.username ?? ''}`}
      >
        {dialog?.kind === 'create' && (
          <CreateUserForm
            onCancel={close}
            onDone={(user) => {
              close();
              notifyDone(`${user.username} added as ${user.role}`);
            }}
          />
        )}
        {dialog?.kind === 'edit' && (
          <EditUserForm
            user={dialog.user}
            self={dialog.user.id === me.id}
            onCancel={close}
            onDone={(user) => {
              close();
              setRefusal(null);
              notifyDone(`${user.username} saved`);
            }}
          />
        )}
        {dialog?.kind === 'reset' && <ResetPasswordForm user={dialog.user} onCancel={close} />}
      </Modal>
    </Stack>
  );
}
