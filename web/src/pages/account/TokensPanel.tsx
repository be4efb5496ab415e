import { Alert, Button, Code, CopyButton, Group, Loader, NumberInput, Stack, Table, Text, TextInput, VisuallyHidden } from '@mantine/core';
import { useForm } from '@mantine/form';
import { useState } from 'react';
import { ConfirmButton } from '../../components/ConfirmButton';
import { describeError, notifyDone, notifyError } from '../../components/notifyError';
import { fieldErrors } from '../../lib/api/client';
import { useCreateToken, useRevokeToken, useTokens, type ApiToken } from './api';

const when = (iso: string | null, none: string) => (iso ? new Date(iso).toLocaleString() : none);

/** The new token, shown once with a copy button; gone when dismissed. */
function NewToken({ name, token, onDone }: { name: string; token: string; onDone: () => void }) {
  return (
    <Alert variant="outline" color="teal.9" title={`API token "${name}" created`} role="status" data-testid="new-token">
      <Stack gap="xs">
        <Text size="sm">Copy it now: it is shown only this once. Send it as the header <Code>authorization: Bearer …</Code>; it acts with your role.</Text>
        <Group gap="xs" wrap="nowrap" align="flex-start">
          <Code block data-testid="token-value" style={{ wordBreak: 'break-all', whiteSpace: 'pre-wrap', flex: 1 }}>
            {token}
          </Code>
          <CopyButton value={token}>
            {({ copied, copy }) => (
              <Button size="xs" variant={copied ? 'filled' : 'default'} color={copied ? 'teal.9' : undefined} onClick={copy}>
                {copied ? 'Copied' : 'Copy'}
              </Button>
            )}
          </CopyButton>
        </Group>
        <Group>
          <Button size="xs" variant="default" onClick={onDone}>
            I have stored it
          </Button>
        </Group>
      </Stack>
    </Alert>
  );
}

function CreateToken({ onCreated }: { onCreated: (t: { name: string; token: string }) => void }) {
  const form = useForm<{ name: string; expiresInDays: number | string }>({
    initialValues: { name: '', expiresInDays: '' },
    validate: { name: (v) => (v.trim() ? null : 'Give the token a name') },
  });
  const create = useCreateToken();
  const [problem, setProblem] = useState<string | null>(null);
  const submit = form.onSubmit((v) => {
    setProblem(null);
    const days = typeof v.expiresInDays === 'number' ? v.expiresInDays : undefined;
    create.mutate(
      { name: v.name.trim(), ...(days ? { expiresInDays: days } : {}) },
      {
        onSuccess: (created) => {
          form.reset();
          onCreated({ name: created.name, token: created.token });
        },
        onError: (error) => {
          const fields = fieldErrors(error);
          form.setErrors(fields);
          if (Object.keys(fields).length === 0) setProblem(describeError(error));
        },
      },
    );
  });
  return (
    <form onSubmit={submit} noValidate aria-label="Create API token">
      <Stack gap="xs">
        {problem && (
          <Alert color="red" title="Token not created" role="alert">
            {problem}
          </Alert>
        )}
        <Group align="flex-start">
          <TextInput label="Token name" required description="What uses it, e.g. ci deploy" autoComplete="off" {...form.getInputProps('name')} />
          <NumberInput label="Expires after (days)" description="Empty: never" min={1} max={3650} allowDecimal={false} {...form.getInputProps('expiresInDays')} />
          <Button type="submit" mt={24} loading={create.isPending}>
            Create token
          </Button>
        </Group>
      </Stack>
    </form>
  );
}

function Revoke({ token }: { token: ApiToken }) {
  const revoke = useRevokeToken();
  return (
    <ConfirmButton
      size="xs"
      variant="outline"
      aria-label={`Revoke ${token.name}`}
      title={`Revoke "${token.name}"?`}
      message={`Whatever uses ${token.prefix}… stops working at once.`}
      confirmLabel="Revoke"
      onConfirm={() =>
        revoke.mutateAsync(token.id, {
          onSuccess: () => notifyDone(`API token "${token.name}" revoked`),
          onError: (error) => notifyError('Not revoked', error),
        })
      }
    >
      Revoke
    </ConfirmButton>
  );
}

export function TokensPanel() {
  const tokens = useTokens();
  const [created, setCreated] = useState<{ name: string; token: string } | null>(null);
  return (
    <Stack gap="sm">
      <Text size="sm">Tokens let scripts and tools call the API as you, with your role.</Text>
      {created ? <NewToken {...created} onDone={() => setCreated(null)} /> : <CreateToken onCreated={setCreated} />}
      {tokens.isPending && <Loader aria-label="Loading API tokens" />}
      {tokens.isError && (
        <Alert color="red" title="API tokens could not be loaded">
          {describeError(tokens.error)}
        </Alert>
      )}
      {tokens.data && tokens.data.length === 0 && <Text c="dimmed">No API tokens.</Text>}
      {tokens.data && tokens.data.length > 0 && (
        <Table.ScrollContainer minWidth={640}>
          <Table striped aria-label="API tokens" verticalSpacing="xs">
            <Table.Thead>
              <Table.Tr>
                <Table.Th>Name</Table.Th>
                <Table.Th>Starts with</Table.Th>
                <Table.Th>Created</Table.Th>
                <Table.Th>Last used</Table.Th>
                <Table.Th>Expires</Table.Th>
                <Table.Th>
                  <VisuallyHidden>Actions</VisuallyHidden>
                </Table.Th>
              </Table.Tr>
            </Table.Thead>
            <Table.Tbody>
              {tokens.data.map((token) => (
                <Table.Tr key={token.id} data-token={token.name}>
                  <Table.Td fw={600}>{token.name}</Table.Td>
                  <Table.Td>
                    <Code>{token.prefix}…</Code>
                  </Table.Td>
                  <Table.Td>{when(token.createdAt, '–')}</Table.Td>
                  <Table.Td>{when(token.lastUsedAt, 'never')}</Table.Td>
                  <Table.Td>{when(token.expiresAt, 'never')}</Table.Td>
                  <Table.Td>
                    <Revoke token={token} />
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
