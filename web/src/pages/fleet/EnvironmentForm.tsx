import { Alert, Badge, Button, Fieldset, FileInput, Group, NumberInput, PasswordInput, SegmentedControl, Select, SimpleGrid, Stack, Switch, Text, TextInput, Textarea } from '@mantine/core';
import { useForm } from '@mantine/form';
import { useState } from 'react';
import { ApiError, fieldErrors } from '../../lib/api/client';
import { describeError } from '../../components/notifyError';
import { useSaveEnvironment, type CreateEnvironment, type Environment, type UpdateEnvironment } from './api';
import classes from '../../components/readable.module.css';

type CheckType = Environment['healthCheck']['type'];
type Method = NonNullable<Environment['healthCheck']['method']>;
type CommandMode = 'none' | 'ssh' | 'http';

export interface EnvironmentFormValues {
  name: string;
  description: string;
  target: { host: string; port: number | string; domain: string };
  credentials: { type: 'key' | 'password'; username: string; privateKey: string; passphrase: string; password: string };
  hostKey: { fingerprint: string };
  healthCheck: { enabled: boolean; type: CheckType; endpoint: string; method: Method; interval: number | string; timeout: number | string; retries: number | string; command: string };
  commands: { type: CommandMode; restart: { command: string; url: string; method: Method } };
  upgradeConfig: { type: CommandMode; command: string; url: string; method: Method; versionListURL: string; versionPath: string };
  runtime: { passivbotDir: string; pythonPath: string; kind: 'v7' | 'cli'; workDir: string };
}

const METHODS: Method[] = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE'];

function initialValues(env?: Environment): EnvironmentFormValues {
  const hc = env?.healthCheck;
  const upgrade = env?.upgradeConfig;
  return {
    name: env?.name ?? '',
    description: env?.description ?? '',
    target: { host: env?.target?.host ?? '', port: env?.target?.port ?? 22, domain: env?.target?.domain ?? '' },
    credentials: { type: env?.credentials?.type ?? 'key', username: env?.credentials?.username ?? '', privateKey: '', passphrase: '', password: '' },
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
    },
    commands: {
      type: env?.commands?.type ?? 'none',
      restart: { command: env?.commands?.restart.command ?? '', url: env?.commands?.restart.url ?? '', method: env?.commands?.restart.method ?? 'POST' },
    },
    upgradeConfig: {
      type: upgrade?.type ?? 'none',
      command: upgrade?.command ?? '',
      url: upgrade?.url ?? '',
      method: upgrade?.method ?? 'POST',
      versionListURL: upgrade?.versionListURL ?? '',
      versionPath: upgrade?.versionPath ?? '',
    },
    runtime: { passivbotDir: env?.runtime.passivbotDir ?? '', pythonPath: env?.runtime.pythonPath ?? '', kind: env?.runtime.kind ?? 'v7', workDir: env?.runtime.workDir ?? '' },
  };
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
              : { enabled: true, url: text(v.commands.restart.url), method: v.commands.restart.method },
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
          ...(u.type === 'ssh' ? { command: text(u.command) } : { url: text(u.url), method: u.method }),
          versionListURL: text(u.versionListURL),
          versionPath: text(u.versionPath),
        };
  const hc = v.healthCheck;
  const body = {
    name: v.name.trim(),
    description: existing || v.description.trim() ? v.description : undefined,
    target: { host: v.target.host.trim(), port: num(v.target.port), domain: text(v.target.domain) },
    credentials: {
      type: v.credentials.type,
      username: v.credentials.username.trim(),
      privateKey: v.credentials.type === 'key' ? text(v.credentials.privateKey) : undefined,
      passphrase: v.credentials.type === 'key' ? text(v.credentials.passphrase) : undefined,
      password: v.credentials.type === 'password' ? text(v.credentials.password) : undefined,
    },
    hostKey: !existing && text(v.hostKey.fingerprint) ? { fingerprint: v.hostKey.fingerprint.trim() } : undefined,
    healthCheck: {
      enabled: hc.enabled,
      type: hc.type,
      endpoint: hc.type === 'http' || hc.type === 'tcp' ? text(hc.endpoint) : undefined,
      method: hc.type === 'http' ? hc.method : undefined,
      command: hc.type === 'ssh' ? text(hc.command) : undefined,
      interval: num(hc.interval),
      timeout: num(hc.timeout),
      retries: num(hc.retries),
    },
    commands,
    upgradeConfig,
    runtime: { passivbotDir: text(v.runtime.passivbotDir), pythonPath: text(v.runtime.pythonPath), kind: v.runtime.kind, workDir: text(v.runtime.workDir) },
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

  const submit = form.onSubmit((values) => {
    setProblem(null);
    save.mutate(toBody(values, environment), {
      onSuccess: onSaved,
      onError: (error) => {
        const errors = fieldErrors(error);
        form.setErrors(errors);
        const known = Object.keys(errors).filter((path) => form.getInputProps(path).value !== undefined);
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
          <TextInput label="Name" required description="letters, digits, . _ -" {...form.getInputProps('name')} />
          <TextInput label="Description" {...form.getInputProps('description')} />
        </SimpleGrid>

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
          </Stack>
        </Fieldset>

        <Fieldset legend="Health check">
          <Stack gap="sm">
            <Switch label="Check health on a schedule" {...form.getInputProps('healthCheck.enabled', { type: 'checkbox' })} />
            <SimpleGrid cols={{ base: 1, sm: 4 }}>
              <Select
                label="Check type"
                data={[
                  { value: 'ssh', label: 'SSH command' },
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
            {v.healthCheck.type === 'ssh' && <TextInput label="Probe command (optional)" description="exit 0 is healthy" {...form.getInputProps('healthCheck.command')} />}
            {(v.healthCheck.type === 'http' || v.healthCheck.type === 'tcp') && (
              <SimpleGrid cols={{ base: 1, sm: v.healthCheck.type === 'http' ? 2 : 1 }}>
                <TextInput label={v.healthCheck.type === 'http' ? 'URL' : 'host:port (optional)'} {...form.getInputProps('healthCheck.endpoint')} />
                {v.healthCheck.type === 'http' && <Select label="Method" data={METHODS} allowDeselect={false} {...form.getInputProps('healthCheck.method')} />}
              </SimpleGrid>
            )}
          </Stack>
        </Fieldset>

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
          </Stack>
        </Fieldset>

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
