/**
 * "Create a bot from this entry": name, environment and account; the config is the entry's own
 * (shown read-only: the server takes it from the pareto file, so what is shown is what the bot
 * gets). The bot is created stopped.
 */
import { Alert, Button, Code, Group, Select, Stack, Text, TextInput } from '@mantine/core';
import { useForm } from '@mantine/form';
import { useState } from 'react';
import { describeError } from '../../components/notifyError';
import { fieldErrors } from '../../lib/api/client';
import { useAccountOptions, useEnvironmentOptions } from '../bots/api';
import { useInstanceFromEntry, type Instance, type ParetoEntry } from './api';

export function EntryBotForm({ optimizationId, entry, onDone, onCancel }: { optimizationId: string; entry: ParetoEntry; onDone: (bot: Instance) => void; onCancel: () => void }) {
  const environments = useEnvironmentOptions();
  const accounts = useAccountOptions();
  const create = useInstanceFromEntry(optimizationId);
  const [failure, setFailure] = useState<string | null>(null);
  const form = useForm({ initialValues: { name: `pareto-${entry.rank}-${entry.id.slice(0, 8)}`, environmentId: 'local', account: '' } });

  const submit = form.onSubmit(async (values) => {
    setFailure(null);
    try {
      onDone(await create.mutateAsync({ ...values, entry: entry.id }));
    } catch (error) {
      const fields = fieldErrors(error);
      form.setErrors(fields);
      setFailure(Object.keys(fields).length ? 'Some fields need a change.' : describeError(error));
    }
  });

  return (
    <form onSubmit={submit} noValidate>
      <Stack gap="sm">
        <Text size="sm">
          A new bot, stopped, running entry #{entry.rank} ({entry.id}) of this optimization.
        </Text>
        <TextInput label="Name" required description="Letters, digits, . _ -" {...form.getInputProps('name')} />
        <Select label="Environment" required data={(environments.data ?? []).map((e) => ({ value: e.id, label: e.name }))} {...form.getInputProps('environmentId')} />
        <Select label="Account" required placeholder="Pick an exchange account" data={(accounts.data ?? []).map((a) => ({ value: a.name, label: `${a.name} (${a.exchange})` }))} {...form.getInputProps('account')} />
        <Text size="sm" fw={500}>
          Config
        </Text>
        {/* Focusable: a keyboard user can scroll it. */}
        <Code block data-testid="entry-config" tabIndex={0} aria-label="The entry's config (JSON)" style={{ maxHeight: 260, overflow: 'auto' }}>
          {JSON.stringify(entry.config, null, 2)}
        </Code>
        {failure && (
          <Alert color="red" role="alert">
            {failure}
          </Alert>
        )}
        <Group justify="flex-end">
          <Button variant="default" onClick={onCancel}>
            Cancel
          </Button>
          <Button type="submit" loading={create.isPending}>
            Create bot
          </Button>
        </Group>
      </Stack>
    </form>
  );
}
