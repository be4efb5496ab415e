import { ActionIcon, Alert, Badge, Button, Checkbox, Fieldset, FileInput, Group, NumberInput, PasswordInput, SegmentedControl, Select, SimpleGrid, Stack, Switch, Text, TextInput, Textarea } from '@mantine/core';
import { useForm, type UseFormReturnType } from '@mantine/form';
import { useState } from 'react';
import { ApiError, fieldErrors } from '../../lib/api/client';
import { describeError } from '../../components/notifyError';
import { useSaveEnvironment, type CreateEnvironment, type Environment, type UpdateEnvironment } from './api';
import classes from '../../components/readable.module.css';

type CheckType = Environment['healthCheck']['type'];
type Method = NonNullable<Environment['healthCheck']['method']>;
type CommandMode = 'none' | 'ssh' | 'http';

/** One header row: a stored one shows its name only; an empty value keeps it, `remove` drops it. */
export interface HeaderRow {
  name: string;
  value: string;
  stored: boolean;
  remove: boolean;
}
/** A command's JSON body as text; a secret stored body is not shown (empty keeps it). */
interface BodyValues {
  text: string;
  secret: boolean;
  storedSecret: boolean;
  removeStored: boolean;
}
type SecretField = 'privateKey' | 'passphrase' | 'password';

export interface EnvironmentFormValues {
  name: string;
  description: string;
  target: { host: string; port: number | string; domain: string };
  credentials: { type: 'key' | 'password'; username: string; privateKey: string; passphrase: string; password: string; clear: Record<SecretField, boolean> };
  hostKey: { fingerprint: string };
  healthCheck: {
    enabled: boolean;
    type: CheckType;
    endpoint: string;
    method: Method;
    interval: number | string;
    timeout: number | string;
    retries: number | string;
    command: string;
    headers: HeaderRow[];
  };
  commands: { type: CommandMode; restart: { command: string; url: string; method: Method; headers: HeaderRow[]; body: BodyValues } };
  upgradeConfig: { type: CommandMode; command: string; url: string; method: Method; versionListURL: string; versionPath: string; headers: HeaderRow[]; body: BodyValues };
  runtime: { passivbotDir: string; pythonPath: string; kind: 'v7' | 'cli'; workDir: string };
  /** JSON object text. */
  metadata: string;
}

type StoredCommand = NonNullable<Environment['commands']>['restart'];
const headerRows = (headers: Record<string, unknown> | undefined): HeaderRow[] => Object.keys(headers ?? {}).map((name) => ({ name, value: '', stored: true, remove: false }));
const bodyValues = (command: Pick<StoredCommand, 'body' | 'bodySecret'> | null | undefined): BodyValues => ({
  text: command?.body ? JSON.stringify(command.body, null, 2) : '',
  secret: command?.bodySecret ?? false,
  storedSecret: command?.bodySecret ?? false,
  removeStored: false,
});

const METHODS: Method[] = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE'];

function initialValues(env?: Environment): EnvironmentFormValues {
  const hc = env?.healthCheck;
  const upgrade = env?.upgradeConfig;
  return {
    name: env?.name ?? '',
    description: env?.description ?? '',
    target: { host: env?.target?.host ?? '', port: env?.target?.port ?? 22, domain: env?.target?.domain ?? '' },
    credentials: { type: env?.credentials?.type ?? 'key', username: env?.credentials?.username ?? '', privateKey: '', passphrase: '', password: '', clear: { privateKey: false, passphrase: false, password: false } },
    hostKey: { fingerprint: '' },
    healthCheck: {
      enabled: hc?.enabled ?? true,
      type: hc?.type ?? 'ssh',
      endpoint: hc?.endpoint ?? '',
      method: hc?.method ?? 'GET',
      interval: hc?.interval ?? 60,
      timeout: hc?.timeout ?? 10,
      retries: hc?.retries ?? 2,
      command: hc?.command ?? '',
      headers: headerRows(hc?.headers),
    },
    commands: {
      type: env?.commands?.type ?? 'none',
      restart: {
        command: env?.commands?.restart.command ?? '',
        url: env?.commands?.restart.url ?? '',
        method: env?.commands?.restart.method ?? 'POST',
        headers: headerRows(env?.commands?.restart.headers),
        body: bodyValues(env?.commands?.restart),
      },
    },
    upgradeConfig: {
      type: upgrade?.type ?? 'none',
      command: upgrade?.command ?? '',
      url: upgrade?.url ?? '',
      method: upgrade?.method ?? 'POST',
      versionListURL: upgrade?.versionListURL ?? '',
      versionPath: upgrade?.versionPath ?? '',
      headers: headerRows(upgrade?.headers),
      body: bodyValues(upgrade),
    },
    runtime: { passivbotDir: env?.runtime.passivbotDir ?? '', pythonPath: env?.runtime.pythonPath ?? '', kind: env?.runtime.kind ?? 'v7', workDir: env?.runtime.workDir ?? '' },
    metadata: env && Object.keys(env.metadata).length ? JSON.stringify(env.metadata, null, 2) : '',
  };
}

/** Headers as the API takes them: a value sets, null removes a stored one, a stored one left out is kept. */
function headersBody(rows: HeaderRow[]): Record<string, string | null> | undefined {
  const out: Record<string, string | null> = {};
  for (const row of rows) {
    const name = row.name.trim();
    if (!name) continue;
    if (row.stored && row.remove) out[name] = null;
    else if (!row.stored || row.value !== '') out[name] = row.value;
  }
  return Object.keys(out).length ? out : undefined;
}

/** Text that must hold a JSON object: the object, undefined when empty, or the problem. */
export function parseJsonObject(text: string): { value?: Record<string, unknown>; error?: string } {
  if (text.trim() === '') return {};
  try {
    const value: unknown = JSON.parse(text);
    if (value === null || typeof value !== 'object' || Array.isArray(value)) return { error: 'must be a JSON object, like {"key": "value"}' };
    return { value: value as Record<string, unknown> };
  } catch (error) {
    return { error: `is not valid JSON: ${(error as Error).message}` };
  }
}

/** A command's body: given, removed (null), or left out to keep the stored one. */
function bodyBody(b: BodyValues, hadBody: boolean): { body?: Record<string, unknown> | null; bodySecret?: boolean } {
  const parsed = parseJsonObject(b.text).value;
  if (parsed) return { body: parsed, bodySecret: b.secret };
  if (b.storedSecret) return b.removeStored ? { body: null } : {};
  return hadBody ? { body: null } : {};
}

/** Problems the browser can name before sending (JSON that does not parse), by field path. */
export function localErrors(v: EnvironmentFormValues): Record<string, string> {
  const errors: Record<string, string> = {};
  const check = (path: string, text: string) => {
    const { error } = parseJsonObject(text);
    if (error) errors[path] = error;
  };
  check('metadata', v.metadata);
  if (v.commands.type === 'http') check('commands.restart.body', v.commands.restart.body.text);
  if (v.upgradeConfig.type === 'http') check('upgradeConfig.body', v.upgradeConfig.body.text);
  return errors;
}

/** Empty text means "not given"; the server applies its default, or keeps a stored secret. */
const text = (value: string): string | undefined => (value.trim() === '' ? undefined : value.trim());
/** Number inputs hold '' while empty; the server then names the field. */
const num = (value: number | string): number => (value === '' ? Number.NaN : Number(value));

/** The request body: secrets left empty are left out, so a PUT keeps them. */
export function toBody(v: EnvironmentFormValues, existing?: Environment): CreateEnvironment | UpdateEnvironment {
  const commands =
    v.commands.type === 'none'
      ? existing?.commands
        ? null
        : undefined
      : {
          type: v.commands.type,
          restart:
            v.commands.type === 'ssh'
              ? { enabled: true, command: text(v.commands.restart.command) }
              : {
                  enabled: true,
                  url: text(v.commands.restart.url),
                  method: v.commands.restart.method,
                  headers: headersBody(v.commands.restart.headers),
                  ...bodyBody(v.commands.restart.body, Boolean(existing?.commands?.restart.body)),
                },
        };
  const u = v.upgradeConfig;
  const upgradeConfig =
    u.type === 'none'
      ? existing?.upgradeConfig
        ? null
        : undefined
      : {
          enabled: true,
          type: u.type,
          ...(u.type === 'ssh'
            ? { command: text(u.command) }
            : { url: text(u.url), method: u.method, headers: headersBody(u.headers), ...bodyBody(u.body, Boolean(existing?.upgradeConfig?.body)) }),
          versionListURL: text(u.versionListURL),
          versionPath: text(u.versionPath),
        };
  const hc = v.healthCheck;
  const healthCheck = {
    enabled: hc.enabled,
    type: hc.type,
    endpoint: hc.type === 'http' || hc.type === 'tcp' ? text(hc.endpoint) : undefined,
    method: hc.type === 'http' ? hc.method : undefined,
    command: hc.type === 'ssh' || hc.type === 'local' ? text(hc.command) : undefined,
    headers: hc.type === 'http' ? headersBody(hc.headers) : undefined,
    interval: num(hc.interval),
    timeout: num(hc.timeout),
    retries: num(hc.retries),
  };
  const metadata = parseJsonObject(v.metadata).value ?? (existing ? {} : undefined);
  // The local environment is this machine: only its description, check and labels change.
  if (existing?.kind === 'local') return JSON.parse(JSON.stringify({ description: v.description, healthCheck, metadata })) as UpdateEnvironment;
  // A secret is sent only when typed (replace) or its removal is asked for (null); left out, it is kept.
  const secret = (field: SecretField, active: boolean) => (v.credentials.clear[field] ? null : active ? text(v.credentials[field]) : undefined);
  const body = {
    name: v.name.trim(),
    description: existing || v.description.trim() ? v.description : undefined,
    target: { host: v.target.host.trim(), port: num(v.target.port), domain: text(v.target.domain) },
    credentials: {
      type: v.credentials.type,
      username: v.credentials.username.trim(),
      privateKey: secret('privateKey', v.credentials.type === 'key'),
      passphrase: secret('passphrase', v.credentials.type === 'key'),
      password: secret('password', v.credentials.type === 'password'),
    },
    hostKey: !existing && text(v.hostKey.fingerprint) ? { fingerprint: v.hostKey.fingerprint.trim() } : undefined,
    healthCheck,
    commands,
    upgradeConfig,
    runtime: { passivbotDir: text(v.runtime.passivbotDir), pythonPath: text(v.runtime.pythonPath), kind: v.runtime.kind, workDir: text(v.runtime.workDir) },
    metadata,
  };
  // JSON drops the undefined members: left out means default (create) or keep (edit).
  return JSON.parse(JSON.stringify(body)) as CreateEnvironment;
}

const SetBadge = ({ set }: { set: boolean }) =>
  set ? (
    <Badge size="xs" color="teal.6" c="black" variant="filled" ml={6}>
      set
    </Badge>
  ) : null;

type Form = UseFormReturnType<EnvironmentFormValues>;
type HeaderListPath = 'healthCheck.headers' | 'commands.restart.headers' | 'upgradeConfig.headers';

/** An error the API gave for anything under `prefix` (a header by name, the list itself). */
const errorUnder = (form: Form, prefix: string): string | undefined => {
  const hit = Object.entries(form.errors).find(([path]) => path === prefix || path.startsWith(`${prefix}.`));
  return hit ? `${hit[0] === prefix ? '' : `${hit[0].slice(prefix.length + 1)}: `}${typeof hit[1] === 'string' ? hit[1] : 'is invalid'}` : undefined;
};

/** HTTP headers; values are write-only: a stored one shows "set", empty keeps it. */
function HeadersEditor({ form, path, label }: { form: Form; path: HeaderListPath; label: string }) {
  const v = form.values;
  const rows = path === 'healthCheck.headers' ? v.healthCheck.headers : path === 'commands.restart.headers' ? v.commands.restart.headers : v.upgradeConfig.headers;
  const error = errorUnder(form, path);
  return (
    <Stack gap={6} role="group" aria-label={label}>
      <Group justify="space-between">
        <Text size="sm" fw={500}>
          {label}
        </Text>
        <Button size="compact-sm" variant="subtle" onClick={() => form.insertListItem(path, { name: '', value: '', stored: false, remove: false })}>
          Add header
        </Button>
      </Group>
      {rows.length === 0 && (
        <Text size="xs" c="dimmed">
          No headers.
        </Text>
      )}
      {rows.map((row, index) => (
        <Group key={index} gap="xs" align="flex-end" wrap="nowrap">
          <TextInput label="Header name" size="xs" style={{ flex: 1 }} readOnly={row.stored} {...form.getInputProps(`${path}.${index}.name`)} />
          {row.stored ? (
            <>
              <PasswordInput
                label={
                  <>
                    Value
                    <SetBadge set />
                  </>
                }
                aria-label={`Value of ${row.name}`}
                placeholder="stored; empty keeps it"
                size="xs"
                style={{ flex: 1 }}
                autoComplete="new-password"
                disabled={row.remove}
                {...form.getInputProps(`${path}.${index}.value`)}
              />
              <Checkbox size="xs" mb={6} label="Remove" aria-label={`Remove header ${row.name}`} {...form.getInputProps(`${path}.${index}.remove`, { type: 'checkbox' })} />
            </>
          ) : (
            <>
              <PasswordInput label="Value" aria-label={`Value of ${row.name || 'new header'}`} size="xs" style={{ flex: 1 }} autoComplete="new-password" {...form.getInputProps(`${path}.${index}.value`)} />
              <ActionIcon variant="subtle" color="red.9" mb={2} aria-label={`Remove new header ${row.name || index + 1}`} onClick={() => form.removeListItem(path, index)}>
                ×
              </ActionIcon>
            </>
          )}
        </Group>
      ))}
      {error && (
        <Text size="xs" c="red.9" role="alert">
          {error}
        </Text>
      )}
    </Stack>
  );
}

/** A command's JSON body, optionally kept secret (sealed, never shown again). */
function BodyEditor({ form, path, label }: { form: Form; path: 'commands.restart.body' | 'upgradeConfig.body'; label: string }) {
  const body = path === 'commands.restart.body' ? form.values.commands.restart.body : form.values.upgradeConfig.body;
  return (
    <Stack gap={4}>
      <Textarea
        label={
          <>
            {label}
            <SetBadge set={body.storedSecret && !body.removeStored} />
          </>
        }
        description={body.storedSecret ? 'A secret body is stored; leave empty to keep it, or type a new one.' : 'JSON object sent with the request; empty sends none.'}
        autosize
        minRows={2}
        maxRows={8}
        styles={{ input: { fontFamily: 'monospace', fontSize: 12 } }}
        spellCheck={false}
        {...form.getInputProps(`${path}.text`)}
        error={errorUnder(form, path)}
      />
      <Group gap="md">
        <Checkbox size="xs" label="Keep the body secret (sealed, never shown)" {...form.getInputProps(`${path}.secret`, { type: 'checkbox' })} />
        {body.storedSecret && <Checkbox size="xs" label="Remove the stored body" {...form.getInputProps(`${path}.removeStored`, { type: 'checkbox' })} />}
      </Group>
    </Stack>
  );
}

/** "Remove the stored …" for a write-only credential that is set. */
function ClearSecret({ form, field, label, set }: { form: Form; field: SecretField; label: string; set: boolean }) {
  if (!set) return null;
  return <Checkbox size="sm" label={`Remove the stored ${label}`} {...form.getInputProps(`credentials.clear.${field}`, { type: 'checkbox' })} />;
}

export interface EnvironmentFormProps {
  environment?: Environment;
  onSaved: (env: Environment) => void;
  onCancel: () => void;
}

/** Create or edit an environment. Secrets are write-only: shown as "set", kept when left empty. */
export function EnvironmentForm({ environment, onSaved, onCancel }: EnvironmentFormProps) {
  const form = useForm<EnvironmentFormValues>({ initialValues: initialValues(environment) });
  const save = useSaveEnvironment(environment?.id ?? null);
  const [problem, setProblem] = useState<string | null>(null);
  const creds = environment?.credentials;
  const v = form.values;

  const local = environment?.kind === 'local';
  const submit = form.onSubmit((values) => {
    setProblem(null);
    const invalid = localErrors(values);
    if (Object.keys(invalid).length) {
      form.setErrors(invalid);
      setProblem('Some fields need attention.');
      return;
    }
    save.mutate(toBody(values, environment), {
      onSuccess: onSaved,
      onError: (error) => {
        const errors = fieldErrors(error);
        form.setErrors(errors);
        // Header, body and metadata errors are shown by their editors, whatever the exact path.
        const shownByEditor = (path: string) => /^(healthCheck\.headers|commands\.restart\.(headers|body)|upgradeConfig\.(headers|body)|metadata)(\.|$)/.test(path);
        const known = Object.keys(errors).filter((path) => shownByEditor(path) || form.getInputProps(path).value !== undefined);
        // Errors on fields the form does not show (or none at all) go in the summary.
        if (!(error instanceof ApiError) || known.length < Object.keys(errors).length || !known.length) setProblem(describeError(error));
        else setProblem('Some fields need attention.');
      },
    });
  });

  const loadKey = async (file: File | null) => {
    if (!file) return;
    form.setFieldValue('credentials.privateKey', await file.text());
  };

  return (
    <form className={classes.readable} onSubmit={submit} noValidate aria-label={environment ? `Edit ${environment.name}` : 'Add environment'}>
      <Stack gap="md">
        {problem && (
          <Alert color="red" title="Not saved" role="alert">
            {problem}
          </Alert>
        )}
        <SimpleGrid cols={{ base: 1, sm: 2 }}>
          <TextInput label="Name" required description={local ? 'the local environment keeps its name' : 'letters, digits, . _ -'} readOnly={local} {...form.getInputProps('name')} />
          <TextInput label="Description" {...form.getInputProps('description')} />
        </SimpleGrid>

        {!local && (
          <>
          <Fieldset legend="Target">
            <SimpleGrid cols={{ base: 1, sm: 3 }}>
              <TextInput label="Host" required placeholder="203.0.113.7 or bot1.example.com" {...form.getInputProps('target.host')} />
              <NumberInput label="SSH port" min={1} max={65535} allowDecimal={false} {...form.getInputProps('target.port')} />
              <TextInput label="Domain (optional)" {...form.getInputProps('target.domain')} />
            </SimpleGrid>
          </Fieldset>

          <Fieldset legend="SSH credentials">
            <Stack gap="sm">
              <SimpleGrid cols={{ base: 1, sm: 2 }}>
                <TextInput label="User" required {...form.getInputProps('credentials.username')} />
                <Select
                  label="Sign in with"
                  data={[
                    { value: 'key', label: 'Private key' },
                    { value: 'password', label: 'Password' },
                  ]}
                  allowDeselect={false}
                  {...form.getInputProps('credentials.type')}
                />
              </SimpleGrid>
              {v.credentials.type === 'key' ? (
                <>
                  <Textarea
                    label={
                      <>
                        Private key
                        <SetBadge set={creds?.hasPrivateKey ?? false} />
                      </>
                    }
                    description={creds?.hasPrivateKey ? `A key is stored${creds.keyFingerprint ? ` (${creds.keyFingerprint})` : ''}; leave empty to keep it.` : 'OpenSSH or PEM; paste it or load the file.'}
                    autosize
                    minRows={3}
                    maxRows={8}
                    styles={{ input: { fontFamily: 'monospace', fontSize: 12 } }}
                    autoComplete="off"
                    spellCheck={false}
                    {...form.getInputProps('credentials.privateKey')}
                  />
                  <FileInput label="Load private key from a file" placeholder="Choose a key file" clearable onChange={(file) => void loadKey(file)} />
                  <PasswordInput
                    label={
                      <>
                        Key passphrase
                        <SetBadge set={creds?.hasPassphrase ?? false} />
                      </>
                    }
                    description={creds?.hasPassphrase ? 'Stored; leave empty to keep it.' : 'Only for an encrypted key.'}
                    autoComplete="new-password"
                    {...form.getInputProps('credentials.passphrase')}
                  />
                </>
              ) : (
                <PasswordInput
                  label={
                    <>
                      Password
                      <SetBadge set={creds?.hasPassword ?? false} />
                    </>
                  }
                  description={creds?.hasPassword ? 'Stored; leave empty to keep it.' : undefined}
                  autoComplete="new-password"
                  {...form.getInputProps('credentials.password')}
                />
              )}
              {!environment && (
                <TextInput
                  label="Pin host key (optional)"
                  description="SHA256:… fingerprint; left empty, the key the host presents first is trusted and shown."
                  {...form.getInputProps('hostKey.fingerprint')}
                />
              )}
              <ClearSecret form={form} field="privateKey" label="private key" set={creds?.hasPrivateKey ?? false} />
              <ClearSecret form={form} field="passphrase" label="key passphrase" set={creds?.hasPassphrase ?? false} />
              <ClearSecret form={form} field="password" label="password" set={creds?.hasPassword ?? false} />
            </Stack>
          </Fieldset>
          </>
        )}

        <Fieldset legend="Health check">
          <Stack gap="sm">
            <Switch label="Check health on a schedule" {...form.getInputProps('healthCheck.enabled', { type: 'checkbox' })} />
            <SimpleGrid cols={{ base: 1, sm: 4 }}>
              <Select
                label="Check type"
                data={[
                  local ? { value: 'local', label: 'Probe on this machine' } : { value: 'ssh', label: 'SSH command' },
                  { value: 'tcp', label: 'TCP connect' },
                  { value: 'http', label: 'HTTP request' },
                  { value: 'none', label: 'None' },
                ]}
                allowDeselect={false}
                {...form.getInputProps('healthCheck.type')}
              />
              <NumberInput label="Interval (s)" min={5} max={86400} allowDecimal={false} {...form.getInputProps('healthCheck.interval')} />
              <NumberInput label="Timeout (s)" min={1} max={300} allowDecimal={false} {...form.getInputProps('healthCheck.timeout')} />
              <NumberInput label="Retries" min={0} max={20} allowDecimal={false} {...form.getInputProps('healthCheck.retries')} />
            </SimpleGrid>
            {(v.healthCheck.type === 'ssh' || v.healthCheck.type === 'local') && (
              <TextInput
                label="Probe command (optional)"
                description={v.healthCheck.type === 'local' ? 'exit 0 is healthy; empty: a process starts here and the data directory takes writes' : 'exit 0 is healthy'}
                {...form.getInputProps('healthCheck.command')}
              />
            )}
            {(v.healthCheck.type === 'http' || v.healthCheck.type === 'tcp') && (
              <SimpleGrid cols={{ base: 1, sm: v.healthCheck.type === 'http' ? 2 : 1 }}>
                <TextInput label={v.healthCheck.type === 'http' ? 'URL' : 'host:port (optional)'} {...form.getInputProps('healthCheck.endpoint')} />
                {v.healthCheck.type === 'http' && <Select label="Method" data={METHODS} allowDeselect={false} {...form.getInputProps('healthCheck.method')} />}
              </SimpleGrid>
            )}
            {v.healthCheck.type === 'http' && <HeadersEditor form={form} path="healthCheck.headers" label="Health check headers" />}
          </Stack>
        </Fieldset>

        {!local && (
          <Fieldset legend="Commands">
            <Stack gap="sm">
              <Text size="sm" id="restart-mode-label">
                Restart
              </Text>
              <SegmentedControl aria-labelledby="restart-mode-label" data={['none', 'ssh', 'http']} {...form.getInputProps('commands.type')} />
              {v.commands.type === 'ssh' && <TextInput label="Restart command" {...form.getInputProps('commands.restart.command')} />}
              {v.commands.type === 'http' && (
                <SimpleGrid cols={{ base: 1, sm: 2 }}>
                  <TextInput label="Restart URL" {...form.getInputProps('commands.restart.url')} />
                  <Select label="Restart method" data={METHODS} allowDeselect={false} {...form.getInputProps('commands.restart.method')} />
                </SimpleGrid>
              )}
              {v.commands.type === 'http' && (
                <>
                  <HeadersEditor form={form} path="commands.restart.headers" label="Restart headers" />
                  <BodyEditor form={form} path="commands.restart.body" label="Restart body (JSON)" />
                </>
              )}
              <Text size="sm" id="upgrade-mode-label">
                Upgrade
              </Text>
              <SegmentedControl aria-labelledby="upgrade-mode-label" data={['none', 'ssh', 'http']} {...form.getInputProps('upgradeConfig.type')} />
              {v.upgradeConfig.type !== 'none' && (
                <SimpleGrid cols={{ base: 1, sm: 2 }}>
                  {v.upgradeConfig.type === 'ssh' ? (
                    <TextInput label="Upgrade command" description="{VERSION} is replaced by the chosen version" {...form.getInputProps('upgradeConfig.command')} />
                  ) : (
                    <TextInput label="Upgrade URL" description="{VERSION} is replaced by the chosen version" {...form.getInputProps('upgradeConfig.url')} />
                  )}
                  <TextInput label="Version list URL" {...form.getInputProps('upgradeConfig.versionListURL')} />
                  <TextInput label="Version path in the JSON" placeholder="versions or data.releases[*].tag" {...form.getInputProps('upgradeConfig.versionPath')} />
                </SimpleGrid>
              )}
              {v.upgradeConfig.type === 'http' && (
                <>
                  <HeadersEditor form={form} path="upgradeConfig.headers" label="Upgrade headers" />
                  <BodyEditor form={form} path="upgradeConfig.body" label="Upgrade body (JSON)" />
                </>
              )}
            </Stack>
          </Fieldset>
        )}

        {!local && (
          <Fieldset legend="Runtime">
            <SimpleGrid cols={{ base: 1, sm: 2 }}>
              <Select
                label="Passivbot kind"
                data={[
                  { value: 'v7', label: 'v7 (git checkout)' },
                  { value: 'cli', label: 'CLI (pip package)' },
                ]}
                allowDeselect={false}
                {...form.getInputProps('runtime.kind')}
              />
              <TextInput label="Passivbot directory" placeholder="server default" {...form.getInputProps('runtime.passivbotDir')} />
              <TextInput label="Python" placeholder="server default" {...form.getInputProps('runtime.pythonPath')} />
              <TextInput label="Work directory" placeholder="server default" {...form.getInputProps('runtime.workDir')} />
            </SimpleGrid>
          </Fieldset>
        )}

        <Textarea
          label="Metadata (JSON)"
          description='Free-form labels, e.g. {"region": "eu", "provider": "hetzner"}'
          autosize
          minRows={2}
          maxRows={10}
          styles={{ input: { fontFamily: 'monospace', fontSize: 12 } }}
          spellCheck={false}
          {...form.getInputProps('metadata')}
          error={errorUnder(form, 'metadata')}
        />

        <Group justify="flex-end">
          <Button variant="default" onClick={onCancel}>
            Cancel
          </Button>
          <Button type="submit" loading={save.isPending}>
            {environment ? 'Save changes' : 'Add environment'}
          </Button>
        </Group>
      </Stack>
    </form>
  );
}
