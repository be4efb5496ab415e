/**
 * Create or edit a bot: name, environment, account, runtime and the Passivbot config (v7 or
 * v8). API errors land where they belong: form fields at the field, config issues at their JSON
 * path in the editor. An edit shows its diff against the running config before it is saved.
 */
import { Alert, Button, Group, Modal, SegmentedControl, Select, Stack, TagsInput, Text, TextInput } from '@mantine/core';
import { useForm } from '@mantine/form';
import { useMemo, useState } from 'react';
import { JsonEditor, jsonSyntaxError, type JsonIssue } from '../../components/JsonEditor';
import { ApiError } from '../../lib/api/client';
import { describeError } from '../../components/notifyError';
import { useAccountOptions, useCreateInstance, useEnvironmentOptions, useUpdateInstance, useVersion, type Instance } from './api';
import { ChangesTable } from './ChangesTable';
import { configShape, diffConfigs, TEMPLATES, toText, withCoins, type ConfigChange, type ConfigShape } from './config';

interface FormValues {
  name: string;
  environmentId: string;
  account: string;
  runtime: string;
  note: string;
}

const RUNTIMES = [
  { value: '', label: "The environment's" },
  { value: 'v7', label: 'v7 scripts' },
  { value: 'cli', label: 'passivbot CLI' },
];

/** API field errors split into form fields and config paths (`config.live.user` -> `live.user`). */
function splitErrors(error: ApiError): { form: Record<string, string>; config: JsonIssue[] } {
  const form: Record<string, string> = {};
  const config: JsonIssue[] = [];
  for (const { field, message } of error.fields) {
    const path = field.replace(/^body\./, '');
    if (path === 'config' || path.startsWith('config.') || path.startsWith('config[')) config.push({ path: path.replace(/^config\.?/, ''), message });
    else form[path] ??= message;
  }
  return { form, config };
}

function coinsOf(config: unknown): string[] {
  const live = (config as { live?: { approved_coins?: unknown } } | null)?.live;
  const approved = live?.approved_coins;
  const list = Array.isArray(approved) ? approved : typeof approved === 'object' && approved !== null ? (approved as { long?: unknown }).long : [];
  return Array.isArray(list) ? list.filter((c): c is string => typeof c === 'string') : [];
}

export interface BotFormProps {
  /** The bot to edit; none to create one. */
  instance?: Instance;
  onDone: (instance: Instance) => void;
  onCancel?: () => void;
}

export function BotForm({ instance, onDone, onCancel }: BotFormProps) {
  const editing = instance !== undefined;
  const environments = useEnvironmentOptions();
  const accounts = useAccountOptions();
  const create = useCreateInstance();
  const update = useUpdateInstance(instance?.id ?? '');
  const form = useForm<FormValues>({
    initialValues: { name: instance?.name ?? '', environmentId: instance?.environmentId ?? '', account: instance?.account ?? '', runtime: instance?.runtime ?? '', note: '' },
  });
  const [text, setText] = useState(() => toText(instance?.config ?? TEMPLATES.v7));
  const [issues, setIssues] = useState<JsonIssue[]>([]);
  const [failure, setFailure] = useState<string | null>(null);
  const [review, setReview] = useState<{ config: Record<string, unknown>; changes: ConfigChange[] } | null>(null);
  // The config the bot runs (or, stopped, the saved one): what an edit is compared with.
  const runningVersion = instance?.runningConfigVersion ?? null;
  const running = useVersion(instance?.id ?? '', editing && runningVersion !== null && runningVersion !== instance.configVersion ? runningVersion : null);
  const baseline = running.data?.config ?? instance?.config;
  const baselineLabel = runningVersion !== null ? `running (v${runningVersion})` : `saved (v${instance?.configVersion ?? 1})`;

  const parsed = useMemo(() => {
    try {
      const value: unknown = JSON.parse(text);
      return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : null;
    } catch {
      return null;
    }
  }, [text]);
  const shape: ConfigShape | null = parsed ? configShape(parsed) : null;
  const coins = parsed ? coinsOf(parsed) : [];

  const setCoins = (next: string[]) => {
    if (!parsed) return;
    setText(toText(withCoins(parsed, next.map((c) => c.trim().toUpperCase()).filter(Boolean))));
  };

  const send = async (config: Record<string, unknown>) => {
    setFailure(null);
    setIssues([]);
    form.clearErrors();
    const values = form.getValues();
    const runtime = values.runtime === 'v7' || values.runtime === 'cli' ? values.runtime : undefined;
    try {
      const saved = editing
        ? await update.mutateAsync({
            config,
            ...(values.name !== instance.name && { name: values.name }),
            ...(values.environmentId !== instance.environmentId && { environmentId: values.environmentId }),
            ...(values.account !== instance.account && { account: values.account }),
            ...(runtime && runtime !== instance.runtime && { runtime }),
            ...(values.note.trim() && { note: values.note.trim() }),
          })
        : await create.mutateAsync({ name: values.name, environmentId: values.environmentId, account: values.account, config, ...(runtime && { runtime }) });
      setReview(null);
      onDone(saved);
    } catch (error) {
      setReview(null);
      if (error instanceof ApiError) {
        const split = splitErrors(error);
        form.setErrors(split.form);
        setIssues(split.config);
        if (split.config.length === 0 && Object.keys(split.form).length === 0) setFailure(describeError(error));
        else setFailure(split.config.length ? 'The config has errors (marked in the editor).' : 'Some fields need a change.');
      } else setFailure(describeError(error));
    }
  };

  const submit = form.onSubmit(() => {
    const syntax = jsonSyntaxError(text);
    if (syntax || !parsed) {
      setFailure(syntax ? `The config is not valid JSON: ${syntax}` : 'The config must be a JSON object.');
      return;
    }
    if (editing) setReview({ config: parsed, changes: diffConfigs(baseline, parsed) });
    else void send(parsed);
  });

  const busy = create.isPending || update.isPending;
  return (
    <form onSubmit={submit} noValidate>
      <Stack gap="sm">
        <Group grow align="flex-start" wrap="wrap">
          <TextInput label="Name" required description="Letters, digits, . _ -" miw={200} {...form.getInputProps('name')} />
          <Select
            label="Environment"
            required
            miw={200}
            searchable
            data={(environments.data ?? []).map((e) => ({ value: e.id, label: e.name }))}
            {...form.getInputProps('environmentId')}
          />
        </Group>
        <Group grow align="flex-start" wrap="wrap">
          <Select
            label="Exchange account"
            required
            miw={200}
            searchable
            data={(accounts.data ?? []).map((a) => ({ value: a.name, label: `${a.name} (${a.exchange})` }))}
            {...form.getInputProps('account')}
          />
          <Select label="Runtime" miw={200} data={RUNTIMES} {...form.getInputProps('runtime')} />
        </Group>
        <TagsInput
          label="Approved coins"
          description="live.approved_coins; a change to the coin lists applies to a running bot without a restart"
          placeholder={parsed ? 'Add a coin, Enter' : 'Fix the JSON first'}
          disabled={!parsed}
          value={coins}
          onChange={setCoins}
          splitChars={[',', ' ']}
        />
        <Group justify="space-between" align="flex-end" wrap="wrap">
          <Text fw={500} size="sm" id="config-label">
            Config {shape && <Text span c="dimmed" size="sm">(Passivbot {shape} layout)</Text>}
          </Text>
          {!editing && (
            <SegmentedControl
              size="xs"
              aria-label="Start from a template"
              data={[
                { value: 'v7', label: 'v7 template' },
                { value: 'v8', label: 'v8 template' },
              ]}
              value={shape ?? 'v7'}
              onChange={(value) => setText(toText(TEMPLATES[value]))}
            />
          )}
        </Group>
        <JsonEditor label="Passivbot config (JSON)" value={text} onChange={setText} issues={issues} />
        {editing && <TextInput label="Note for this version" placeholder="Why the change (optional)" maxLength={200} {...form.getInputProps('note')} />}
        {failure && (
          <Alert color="red" role="alert" title={editing ? 'Not saved' : 'Not created'}>
            {failure}
          </Alert>
        )}
        <Group justify="flex-end">
          {onCancel && (
            <Button variant="default" onClick={onCancel}>
              Cancel
            </Button>
          )}
          <Button type="submit" loading={busy && !review}>
            {editing ? 'Review and save' : 'Create bot'}
          </Button>
        </Group>
      </Stack>
      <Modal opened={review !== null} onClose={() => setReview(null)} title="Changes to save" size="xl" closeButtonProps={{ 'aria-label': 'Close' }}>
        {review && (
          <Stack>
            <Text size="sm">
              Compared with the {baselineLabel} config. {review.changes.length} change(s).
            </Text>
            <ChangesTable changes={review.changes} beforeLabel={baselineLabel} afterLabel="new" />
            <Group justify="flex-end">
              <Button variant="default" onClick={() => setReview(null)} disabled={busy}>
                Back
              </Button>
              <Button loading={busy} onClick={() => void send(review.config)}>
                Save
              </Button>
            </Group>
          </Stack>
        )}
      </Modal>
    </form>
  );
}
