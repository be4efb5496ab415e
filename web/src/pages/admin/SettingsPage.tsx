import { Alert, Badge, Button, Card, Group, List, Loader, NumberInput, PasswordInput, Select, SimpleGrid, Stack, Switch, Text, TextInput, Title } from '@mantine/core';
import { useForm } from '@mantine/form';
import { notifications } from '@mantine/notifications';
import { useEffect, useState } from 'react';
import { describeError } from '../../components/notifyError';
import { fieldErrors } from '../../lib/api/client';
import { useSession } from '../../lib/session';
import { keys, usePathSettings, useSaveSettings, useSavePaths, useSettings } from './api';
import { useAuditActionRefresh } from './live';
import { clearKey, diffSection, initialValues, SECTIONS, type Change, type FieldDef, type FormValues, type SectionDef } from './settings-fields';
import classes from '../../components/readable.module.css';
import forms from './forms.module.css';

function Field({ field, form, view, readOnly }: { field: FieldDef; form: ReturnType<typeof useForm<FormValues>>; view: Record<string, unknown>; readOnly: boolean }) {
  const common = { label: field.label, description: field.description, readOnly, ...form.getInputProps(field.key) };
  if (field.kind === 'number') return <NumberInput {...common} min={field.min} max={field.max} allowDecimal={false} hideControls={readOnly} />;
  if (typeof field.kind === 'object') {
    const data = field.kind.options.map((o) => ({ value: o, label: o }));
    return readOnly ? <TextInput {...common} /> : <Select {...common} data={data} allowDeselect={false} />;
  }
  if (field.kind === 'secret') {
    const set = view[`${field.key}Set`] === true;
    const badge = (
      <Badge size="xs" ml={6} variant="filled" c="black" color={set ? 'teal.6' : 'gray.4'} data-testid={`${field.key}-state`}>
        {set ? 'set' : 'not set'}
      </Badge>
    );
    if (readOnly) return <TextInput label={<>{field.label}{badge}</>} description="Write-only: the value is never shown" readOnly value={set ? 'stored' : ''} placeholder="not set" />;
    const clearing = form.values[clearKey(field.key)] === true;
    return (
      <Stack gap={4}>
        <PasswordInput
          {...common}
          label={
            <>
              {field.label}
              {badge}
            </>
          }
          description={set ? 'Write-only: stored; type a new value to replace it, leave empty to keep it' : 'Write-only: it is never shown again'}
          autoComplete="new-password"
          disabled={clearing}
        />
        {set && <Switch size="xs" label="Clear the stored value" {...form.getInputProps(clearKey(field.key), { type: 'checkbox' })} />}
      </Stack>
    );
  }
  return <TextInput {...common} autoComplete="off" />;
}

function SectionForm({ section, view, admin, save }: { section: SectionDef; view: Record<string, unknown>; admin: boolean; save: (patch: Record<string, unknown>) => Promise<unknown> }) {
  const form = useForm<FormValues>({ initialValues: initialValues(section, view) });
  const [busy, setBusy] = useState(false);
  const [problem, setProblem] = useState<string | null>(null);
  const [saved, setSaved] = useState<Change[] | null>(null);
  const viewKey = JSON.stringify(view);
  // A change saved elsewhere (another admin, another tab) shows here unless this form has edits.
  useEffect(() => {
    if (form.isDirty()) return;
    const next = initialValues(section, JSON.parse(viewKey) as Record<string, unknown>);
    form.setInitialValues(next);
    form.setValues(next);
    // eslint-disable-next-line react-hooks/exhaustive-deps -- only when the stored values change
  }, [viewKey]);

  const submit = form.onSubmit(async (values) => {
    setProblem(null);
    const { patch, changes } = diffSection(section, view, values);
    if (changes.length === 0) {
      setSaved([]);
      return;
    }
    setBusy(true);
    try {
      await save(patch);
      // Secrets are write-only: once saved, their fields are empty again.
      const secret = (k: string) => section.fields.some((f) => f.kind === 'secret' && (f.key === k || clearKey(f.key) === k));
      const after = Object.fromEntries(Object.entries(values).map(([k, x]) => [k, secret(k) ? (typeof x === 'boolean' ? false : '') : x]));
      form.setValues(after);
      form.resetDirty(after);
      setSaved(changes);
      notifications.show({
        className: classes.readable,
        closeButtonProps: { 'aria-label': 'Close notification' },
        color: 'green',
        title: `${section.title} saved`,
        message: changes.map((c) => c.text).join('\n'),
        style: { whiteSpace: 'pre-line' },
        autoClose: 8000,
      });
    } catch (error) {
      const prefix = `${section.group}.`;
      const errors = Object.fromEntries(Object.entries(fieldErrors(error)).map(([k, m]) => [k.startsWith(prefix) ? k.slice(prefix.length) : k, m]));
      form.setErrors(errors);
      // Field errors are shown at their fields; the banner only says so.
      setProblem(Object.keys(errors).length ? 'Some values were refused: see the fields marked in red.' : describeError(error));
    } finally {
      setBusy(false);
    }
  });

  return (
    <Card withBorder component="section" aria-labelledby={`settings-${section.group}`} data-section={section.group}>
      <form onSubmit={(e) => void submit(e)} noValidate>
        <Stack gap="sm">
          <div>
            <Title order={2} size="h4" id={`settings-${section.group}`}>
              {section.title}
            </Title>
            <Text size="sm" c="dimmed">
              {section.description}
            </Text>
          </div>
          {problem && (
            <Alert color="red" title="Not saved" role="alert">
              {problem}
            </Alert>
          )}
          {saved && (
            <Alert variant="outline" color={saved.length ? 'teal.9' : 'gray.8'} title={saved.length ? 'Saved' : 'Nothing to save: no value differs'} role="status" withCloseButton closeButtonLabel="Dismiss" onClose={() => setSaved(null)} data-testid={`saved-${section.group}`}>
              {saved.length > 0 && (
                <List size="sm">
                  {saved.map((c) => (
                    <List.Item key={c.setting}>{c.text}</List.Item>
                  ))}
                </List>
              )}
            </Alert>
          )}
          <SimpleGrid cols={{ base: 1, md: 2 }}>
            {section.fields.map((field) => (
              <Field key={field.key} field={field} form={form} view={view} readOnly={!admin} />
            ))}
          </SimpleGrid>
          {admin && (
            <Group justify="flex-end">
              <Button variant="default" onClick={() => (form.reset(), setProblem(null))} disabled={busy}>
                Undo changes
              </Button>
              <Button type="submit" loading={busy} aria-label={`Save ${section.title}`}>
                Save
              </Button>
            </Group>
          )}
        </Stack>
      </form>
    </Card>
  );
}

export default function SettingsPage() {
  const { can } = useSession();
  const admin = can('admin');
  const general = useSettings();
  const paths = usePathSettings();
  const saveGeneral = useSaveSettings();
  const savePaths = useSavePaths();
  useAuditActionRefresh(['settings_update'], keys.settings);
  const error = general.error ?? paths.error;

  return (
    <Stack gap="md" className={`${classes.readable} ${forms.forms}`}>
      <Title order={1} size="h2">
        Settings
      </Title>
      {!admin && <Alert color="blue">You can read the settings; only admins change them.</Alert>}
      {(general.isPending || paths.isPending) && <Loader aria-label="Loading settings" />}
      {error && (
        <Alert color="red" title="Settings could not be loaded">
          {describeError(error)}
        </Alert>
      )}
      {general.data && paths.data && (
        <SimpleGrid cols={{ base: 1, xl: 2 }}>
          {SECTIONS.map((section) => {
            const view: Record<string, unknown> = section.group === 'paths' ? paths.data : general.data[section.group];
            const save = (patch: Record<string, unknown>) =>
              section.group === 'paths' ? savePaths.mutateAsync(patch) : saveGeneral.mutateAsync({ [section.group]: patch });
            return <SectionForm key={section.group} section={section} view={view} admin={admin} save={save} />;
          })}
        </SimpleGrid>
      )}
    </Stack>
  );
}
