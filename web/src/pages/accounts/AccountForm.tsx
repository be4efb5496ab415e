import { Alert, Badge, Button, Group, PasswordInput, Select, SimpleGrid, Stack, Switch, TextInput } from '@mantine/core';
import { useForm } from '@mantine/form';
import { useState } from 'react';
import { describeError } from '../../components/notifyError';
import { fieldErrors } from '../../lib/api/client';
import { EXCHANGE_FIELDS, EXCHANGES, FIELD_LABELS, useSaveAccount, type Account, type CreateAccount, type Exchange, type SecretField } from './api';
import classes from '../../components/readable.module.css';

interface Values {
  name: string;
  exchange: Exchange;
  key: string;
  secret: string;
  passphrase: string;
  wallet_address: string;
  private_key: string;
  is_vault: boolean;
}

/** Only the fields the exchange uses; secrets left empty are left out (a PUT keeps them). */
export function toAccountBody(v: Values, existing?: Account): CreateAccount {
  const body: Record<string, unknown> = {};
  if (!existing || v.name.trim() !== existing.name) body.name = v.name.trim();
  if (!existing || v.exchange !== existing.exchange) body.exchange = v.exchange;
  for (const field of EXCHANGE_FIELDS[v.exchange]) if (v[field].trim() !== '') body[field] = v[field].trim();
  if (v.exchange === 'hyperliquid' && (!existing || v.is_vault !== existing.isVault)) body.is_vault = v.is_vault;
  return body as CreateAccount;
}

export function AccountForm({ account, onSaved, onCancel }: { account?: Account; onSaved: (account: Account) => void; onCancel: () => void }) {
  const form = useForm<Values>({
    initialValues: { name: account?.name ?? '', exchange: account?.exchange ?? 'binance', key: '', secret: '', passphrase: '', wallet_address: '', private_key: '', is_vault: account?.isVault ?? false },
  });
  const save = useSaveAccount(account?.id ?? null);
  const [problem, setProblem] = useState<string | null>(null);
  const fields = EXCHANGE_FIELDS[form.values.exchange];
  // A stored secret only counts for the exchange it was stored for.
  const isSet = (field: SecretField) => account !== undefined && account.exchange === form.values.exchange && account.fields[field];

  const submit = form.onSubmit((values) => {
    setProblem(null);
    const body = toAccountBody(values, account);
    if (account && Object.keys(body).length === 0) return onCancel();
    save.mutate(body, {
      onSuccess: onSaved,
      onError: (error) => {
        const errors = fieldErrors(error);
        form.setErrors(errors);
        setProblem(describeError(error));
      },
    });
  });

  return (
    <form className={classes.readable} onSubmit={submit} noValidate aria-label={account ? `Edit account ${account.name}` : 'Add account'}>
      <Stack>
        {problem && (
          <Alert color="red" title="Not saved" role="alert">
            {problem}
          </Alert>
        )}
        <SimpleGrid cols={{ base: 1, sm: 2 }}>
          <TextInput label="Name" required description="The Passivbot user: letters, digits, . _ -" autoComplete="off" {...form.getInputProps('name')} />
          <Select label="Exchange" required data={EXCHANGES} allowDeselect={false} searchable {...form.getInputProps('exchange')} />
        </SimpleGrid>
        {fields.map((field) => (
          <PasswordInput
            key={field}
            label={
              <>
                {FIELD_LABELS[field]}
                {isSet(field) && (
                  <Badge size="xs" color="teal.6" c="black" variant="filled" ml={6}>
                    set
                  </Badge>
                )}
              </>
            }
            required={!isSet(field)}
            description={isSet(field) ? 'Stored; leave empty to keep it.' : 'Write-only: it is never shown again.'}
            autoComplete="new-password"
            {...form.getInputProps(field)}
          />
        ))}
        {form.values.exchange === 'hyperliquid' && <Switch label="The wallet is a vault" {...form.getInputProps('is_vault', { type: 'checkbox' })} />}
        <Group justify="flex-end">
          <Button variant="default" onClick={onCancel}>
            Cancel
          </Button>
          <Button type="submit" loading={save.isPending}>
            {account ? 'Save changes' : 'Add account'}
          </Button>
        </Group>
      </Stack>
    </form>
  );
}
