import { Alert, Badge, Button, Group, Loader, PasswordInput, Select, SimpleGrid, Stack, Switch, TextInput } from '@mantine/core';
import { useForm } from '@mantine/form';
import { useState } from 'react';
import { describeError } from '../../components/notifyError';
import { fieldErrors } from '../../lib/api/client';
import { FIELD_LABELS, useExchanges, useSaveAccount, type Account, type CreateAccount, type Exchange, type ExchangeNeeds, type SecretField } from './api';
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

/** Only the fields the exchange uses (`needs`, from the server); secrets left empty are left out (a PUT keeps them). */
export function toAccountBody(v: Values, needs: ExchangeNeeds, existing?: Account): CreateAccount {
  const body: Record<string, unknown> = {};
  if (!existing || v.name.trim() !== existing.name) body.name = v.name.trim();
  if (!existing || v.exchange !== existing.exchange) body.exchange = v.exchange;
  for (const field of needs.fields) if (v[field].trim() !== '') body[field] = v[field].trim();
  if (needs.vaultFlag && (!existing || v.is_vault !== existing.isVault)) body.is_vault = v.is_vault;
  return body as CreateAccount;
}

interface FormProps {
  account?: Account;
  onSaved: (account: Account) => void;
  onCancel: () => void;
}

/** The form, once the server has said which fields each exchange needs. */
export function AccountForm(props: FormProps) {
  const exchanges = useExchanges();
  if (exchanges.isError) {
    return (
      <Alert color="red" title="The form could not be loaded" role="alert">
        {describeError(exchanges.error)}
      </Alert>
    );
  }
  if (!exchanges.data) return <Loader size="sm" aria-label="Loading the exchanges" />;
  return <ExchangeAccountForm {...props} exchanges={exchanges.data} />;
}

function ExchangeAccountForm({ account, onSaved, onCancel, exchanges }: FormProps & { exchanges: ReadonlyMap<Exchange, ExchangeNeeds> }) {
  const form = useForm<Values>({
    initialValues: { name: account?.name ?? '', exchange: account?.exchange ?? 'binance', key: '', secret: '', passphrase: '', wallet_address: '', private_key: '', is_vault: account?.isVault ?? false },
  });
  const save = useSaveAccount(account?.id ?? null);
  const [problem, setProblem] = useState<string | null>(null);
  const needs = exchanges.get(form.values.exchange) ?? { exchange: form.values.exchange, fields: [], vaultFlag: false };
  // A stored secret only counts for the exchange it was stored for.
  const isSet = (field: SecretField) => account !== undefined && account.exchange === form.values.exchange && account.fields[field];

  const submit = form.onSubmit((values) => {
    setProblem(null);
    const body = toAccountBody(values, needs, account);
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
          <Select label="Exchange" required data={[...exchanges.keys()]} allowDeselect={false} searchable {...form.getInputProps('exchange')} />
        </SimpleGrid>
        {needs.fields.map((field) => (
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
        {needs.vaultFlag && <Switch label="The wallet is a vault" {...form.getInputProps('is_vault', { type: 'checkbox' })} />}
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
