import { Alert, Button, Checkbox, Group, PasswordInput, Stack, Text } from '@mantine/core';
import { useForm } from '@mantine/form';
import { useState } from 'react';
import { describeError, notifyDone } from '../../components/notifyError';
import { fieldErrors } from '../../lib/api/client';
import { useChangePassword } from './api';

const MIN_LENGTH = 8;

export function PasswordForm() {
  const form = useForm({
    initialValues: { currentPassword: '', newPassword: '', confirm: '', keepApiTokens: false },
    validate: {
      currentPassword: (v) => (v ? null : 'Enter your current password'),
      newPassword: (v) => (v.length >= MIN_LENGTH ? null : `At least ${MIN_LENGTH} characters`),
      confirm: (v, values) => (v === values.newPassword ? null : 'Does not match the new password'),
    },
  });
  const change = useChangePassword();
  const [problem, setProblem] = useState<string | null>(null);
  const submit = form.onSubmit(({ currentPassword, newPassword, keepApiTokens }) => {
    setProblem(null);
    change.mutate(
      { currentPassword, newPassword, keepApiTokens },
      {
        onSuccess: () => {
          form.reset();
          notifyDone(keepApiTokens ? 'Password changed; your other sessions were signed out' : 'Password changed; your other sessions were signed out and your API tokens revoked');
        },
        onError: (error) => {
          const fields = fieldErrors(error);
          form.setErrors(fields);
          // A field error is shown at its field; anything else (a throttle wait) above the form.
          if (Object.keys(fields).length === 0) setProblem(describeError(error));
        },
      },
    );
  });
  return (
    <form onSubmit={submit} noValidate aria-label="Change password">
      <Stack gap="sm" maw={480}>
        <Text size="sm">Changing your password signs out your other sessions. Your API tokens are revoked too, unless you keep them below.</Text>
        {problem && (
          <Alert color="red" title="Password not changed" role="alert">
            {problem}
          </Alert>
        )}
        <PasswordInput label="Current password" required autoComplete="current-password" {...form.getInputProps('currentPassword')} />
        <PasswordInput label="New password" required description={`At least ${MIN_LENGTH} characters`} autoComplete="new-password" {...form.getInputProps('newPassword')} />
        <PasswordInput label="Repeat the new password" required autoComplete="new-password" {...form.getInputProps('confirm')} />
        <Checkbox label="Keep my API tokens working" description="Only if you are sure nobody else learned your old password" {...form.getInputProps('keepApiTokens', { type: 'checkbox' })} />
        <Group>
          <Button type="submit" loading={change.isPending}>
            Change password
          </Button>
        </Group>
      </Stack>
    </form>
  );
}
