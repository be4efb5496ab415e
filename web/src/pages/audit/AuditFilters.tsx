import { Button, Group, Select, TextInput } from '@mantine/core';
import { useState } from 'react';
import { useSession } from '../../lib/session';
import { useEnvironmentOptions, useUserOptions } from './api';
import { AUDIT_LEVELS, AUDIT_TYPES, type AuditFilter, type AuditSearch } from './search';

const TYPE_LABELS: Record<string, string> = { action: 'action', auth: 'auth (sign-ins, tokens)', health_check: 'health check', system: 'system', error: 'error' };

/** A text filter applied on Enter or when the field is left, not on every key (each would be a request). */
function CommitInput({ label, value, placeholder, onCommit }: { label: string; value: string | undefined; placeholder: string; onCommit: (v: string | undefined) => void }) {
  const [text, setText] = useState(value ?? '');
  // The URL changed (Clear filters, back): show its value.
  const [shown, setShown] = useState(value);
  if (shown !== value) {
    setShown(value);
    setText(value ?? '');
  }
  const commit = () => {
    const next = text.trim() || undefined;
    if (next !== value) onCommit(next);
  };
  return (
    <TextInput
      label={label}
      placeholder={placeholder}
      value={text}
      onChange={(e) => setText(e.currentTarget.value)}
      onBlur={commit}
      onKeyDown={(e) => {
        if (e.key === 'Enter') commit();
      }}
    />
  );
}

/** `datetime-local` shows local time without a zone; the URL and the API hold UTC ISO. */
const toLocalInput = (iso: string | undefined) => (iso ? new Date(Date.parse(iso) - new Date(iso).getTimezoneOffset() * 60_000).toISOString().slice(0, 16) : '');
const fromLocalInput = (value: string) => (value && !Number.isNaN(Date.parse(value)) ? new Date(value).toISOString() : undefined);

export function AuditFilters({ filter, onChange }: { filter: AuditFilter; onChange: (patch: Partial<AuditSearch>) => void }) {
  const { can } = useSession();
  const admin = can('admin');
  const environments = useEnvironmentOptions();
  const users = useUserOptions(admin);
  const types = AUDIT_TYPES.filter((t) => admin || t !== 'auth').map((t) => ({ value: t, label: TYPE_LABELS[t] ?? t }));
  const active = Object.keys(filter).length > 0;
  return (
    <Group align="flex-end" gap="sm" role="search" aria-label="Filter the audit log">
      <Select label="Type" placeholder="any type" clearable data={types} value={filter.type ?? null} onChange={(v) => onChange({ type: (v ?? undefined) })} w={170} />
      <Select
        label="Level"
        placeholder="any level"
        clearable
        data={AUDIT_LEVELS.map((l) => ({ value: l, label: l }))}
        value={filter.level ?? null}
        onChange={(v) => onChange({ level: (v ?? undefined) })}
        w={130}
      />
      <CommitInput label="Action" placeholder="e.g. user_create" value={filter.action} onCommit={(action) => onChange({ action })} />
      <Select
        label="Environment"
        placeholder="any environment"
        clearable
        searchable
        data={environments.data ?? []}
        value={filter.environmentId ?? null}
        onChange={(v) => onChange({ environmentId: v ?? undefined })}
        w={180}
      />
      {admin && (
        <Select label="User" placeholder="any user" clearable searchable data={users.data ?? []} value={filter.userId ?? null} onChange={(v) => onChange({ userId: v ?? undefined })} w={160} />
      )}
      <TextInput label="From" type="datetime-local" value={toLocalInput(filter.from)} onChange={(e) => onChange({ from: fromLocalInput(e.currentTarget.value) })} />
      <TextInput label="To" type="datetime-local" value={toLocalInput(filter.to)} onChange={(e) => onChange({ to: fromLocalInput(e.currentTarget.value) })} />
      <CommitInput label="Text" placeholder="message contains" value={filter.q} onCommit={(q) => onChange({ q })} />
      {active && (
        <Button
          variant="default"
          onClick={() => onChange({ type: undefined, level: undefined, action: undefined, environmentId: undefined, userId: undefined, from: undefined, to: undefined, q: undefined })}
        >
          Clear filters
        </Button>
      )}
    </Group>
  );
}
