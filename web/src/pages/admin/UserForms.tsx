import { Alert, Button, Code, CopyButton, Group, PasswordInput, Select, Stack, Switch, Text, TextInput } from '@mantine/core';
import { useForm } from '@mantine/form';
import { useState } from 'react';
import { describeError } from '../../components/notifyError';
import { ApiError, fieldErrors } from '../../lib/api/client';
import { ROLES, useCreateUser, useResetPassword, useUpdateUser, type Role, type User } from './api';
import classes from '../../components/readable.module.css';
import forms from './forms.module.css';

const ROLE_OPTIONS = ROLES.map((role) => ({ value: role, label: role }));
/** The server's refusal to demote, deactivate or delete the last active admin. */
export const isLastAdminRefusal = (error: unknown): boolean => error instanceof ApiError && error.status === 409 && /last active admin/i.test(error.message);

export const ROLE_HELP = 'viewer reads; operator also starts, stops and edits bots and jobs; admin also manages users and settings';

function Problem({ message, title = 'Not saved' }: { message: string | null; title?: string }) {
  if (!message) return null;
  return (
    <Alert color="red" title={title} role="alert">
      {message}
    </Alert>
  );
}

export function CreateUserForm({ onDone, onCancel }: { onDone: (user: User) => void; onCancel: () => void }) {
  const form = useForm({ initialValues: { username: '', email: '', password: '', role: 'viewer' as Role } });
  const create = useCreateUser();
  const [problem, setProblem] = useState<string | null>(null);
  const submit = form.onSubmit((v) => {
    setProblem(null);
    create.mutate(
      { username: v.username.trim(), password: v.password, role: v.role, ...(v.email.trim() ? { email: v.email.trim() } : {}) },
      {
        onSuccess: onDone,
        onError: (error) => {
          form.setErrors(fieldErrors(error));
          setProblem(describeError(error));
        },
      },
    );
  });
  return (
    <form onSubmit={submit} noValidate aria-label="Add user" className={`${classes.readable} ${forms.forms}`}>
      <Stack>
        <Problem message={problem} />
        <TextInput label="Username" required description="Letters, digits, . _ -" autoComplete="off" {...form.getInputProps('username')} />
        <TextInput label="Email" type="email" autoComplete="off" {...form.getInputProps('email')} />
        <PasswordInput label="Password" required description="At least 8 characters; they can change it in My account" autoComplete="new-password" {...form.getInputProps('password')} />
        <Select label="Role" required data={ROLE_OPTIONS} allowDeselect={false} description={ROLE_HELP} {...form.getInputProps('role')} />
        <Group justify="flex-end">
          <Button variant="default" onClick={onCancel}>
            Cancel
          </Button>
          <Button type="submit" loading={create.isPending}>
            Add user
          </Button>
        </Group>
      </Stack>
    </form>
  );
}

export function EditUserForm({ user, self, onDone, onCancel }: { user: User; self: boolean; onDone: (user: User) => void; onCancel: () => void }) {
  const form = useForm({ initialValues: { email: user.email ?? '', role: user.role, active: user.active } });
  const update = useUpdateUser();
  const [problem, setProblem] = useState<string | null>(null);
  const [lastAdmin, setLastAdmin] = useState(false);
  const submit = form.onSubmit((v) => {
    setProblem(null);
    const email = v.email.trim() || null;
    const body = { ...(email !== user.email ? { email } : {}), ...(v.role !== user.role ? { role: v.role } : {}), ...(v.active !== user.active ? { active: v.active } : {}) };
    if (Object.keys(body).length === 0) return onCancel();
    update.mutate(
      { id: user.id, body },
      {
        onSuccess: onDone,
        onError: (error) => {
          form.setErrors(fieldErrors(error));
          setLastAdmin(isLastAdminRefusal(error));
          setProblem(describeError(error));
        },
      },
    );
  });
  return (
    <form onSubmit={submit} noValidate aria-label={`Edit ${user.username}`} className={`${classes.readable} ${forms.forms}`}>
      <Stack>
        <Problem message={problem} title={lastAdmin ? 'Refused: pbfleet would be left without an active admin' : undefined} />
        <TextInput label="Email" type="email" autoComplete="off" {...form.getInputProps('email')} />
        <Select label="Role" required data={ROLE_OPTIONS} allowDeselect={false} description={ROLE_HELP} {...form.getInputProps('role')} />
        <Switch
          label="Active"
          description={self ? 'You cannot deactivate yourself here.' : 'A deactivated user cannot sign in; their sessions and API tokens end.'}
          disabled={self}
          {...form.getInputProps('active', { type: 'checkbox' })}
        />
        <Group justify="flex-end">
          <Button variant="default" onClick={onCancel}>
            Cancel
          </Button>
          <Button type="submit" loading={update.isPending}>
            Save changes
          </Button>
        </Group>
      </Stack>
    </form>
  );
}

/** Sets a chosen password or has one generated, which is shown once. */
export function ResetPasswordForm({ user, onCancel }: { user: User; onCancel: () => void }) {
  const form = useForm({ initialValues: { newPassword: '' } });
  const reset = useResetPassword();
  const [problem, setProblem] = useState<string | null>(null);
  const [result, setResult] = useState<{ temporary?: string } | null>(null);
  const submit = form.onSubmit((v) => {
    setProblem(null);
    reset.mutate(
      { id: user.id, ...(v.newPassword ? { newPassword: v.newPassword } : {}) },
      {
        onSuccess: (data) => setResult(data.temporaryPassword ? { temporary: data.temporaryPassword } : {}),
        onError: (error) => {
          form.setErrors(fieldErrors(error));
          setProblem(describeError(error));
        },
      },
    );
  });
  if (result) {
    return (
      <Stack className={classes.readable}>
        <Alert variant="outline" color="teal.9" title="Password reset" role="status">
          {user.username}&apos;s sessions and API tokens have ended.
          {result.temporary ? ' Give them this password; it is shown only now.' : ' They sign in with the password you chose.'}
        </Alert>
        {result.temporary && (
          <Group gap="xs" wrap="nowrap">
            <Code data-testid="temporary-password" style={{ wordBreak: 'break-all' }}>
              {result.temporary}
            </Code>
            <CopyButton value={result.temporary}>
              {({ copied, copy }) => (
                <Button size="xs" variant="default" onClick={copy}>
                  {copied ? 'Copied' : 'Copy'}
                </Button>
              )}
            </CopyButton>
          </Group>
        )}
        <Group justify="flex-end">
          <Button onClick={onCancel}>Done</Button>
        </Group>
      </Stack>
    );
  }
  return (
    <form onSubmit={submit} noValidate aria-label={`Reset the password of ${user.username}`} className={`${classes.readable} ${forms.forms}`}>
      <Stack>
        <Problem message={problem} />
        <Text size="sm">Their sessions and API tokens end at once. Leave the field empty to have a password generated.</Text>
        <PasswordInput label="New password" autoComplete="new-password" {...form.getInputProps('newPassword')} />
        <Group justify="flex-end">
          <Button variant="default" onClick={onCancel}>
            Cancel
          </Button>
          <Button type="submit" color="red.9" loading={reset.isPending}>
            Reset password
          </Button>
        </Group>
      </Stack>
    </form>
  );
}
