/**
 * Queue a backtest or an optimization. The config comes from a source (`from`: a bot, a saved
 * version, a finished backtest, a pareto entry, a previous optimization or Passivbot's template)
 * into the JSON editor; the fields below it are overrides (empty: the config's value, shown as the
 * placeholder). The target lists environments with their free CPU slots (or the distributed
 * workers). Errors from the API land at their field, config errors at their JSON path.
 */
import { Alert, Anchor, Button, Checkbox, Group, MultiSelect, NumberInput, Paper, SegmentedControl, Select, SimpleGrid, Stack, TagsInput, Text, TextInput, Title } from '@mantine/core';
import { Link, useNavigate, useSearch } from '@tanstack/react-router';
import { useQuery } from '@tanstack/react-query';
import { useMemo, useState } from 'react';
import type { JobKind } from '../../app/router';
import { JsonEditor, jsonSyntaxError, type JsonIssue } from '../../components/JsonEditor';
import { describeError, notifyDone } from '../../components/notifyError';
import { api, ApiError, unwrap } from '../../lib/api/client';
import { useSession } from '../../lib/session';
import { EXCHANGES, useCapacity, useEnvironmentOptions, useFinishedJobs, useParetoFront, useRunJob, type Capacity, type OptimizeBody } from './api';
import { boundsOf, BoundsTable, sameBounds, type Bounds } from './BoundsTable';
import forms from './forms.module.css';
import { formatSource, parseSource, SOURCE_KINDS, useSourceConfig, type Source } from './source';

type Config = Record<string, unknown>;
type Overrides = NonNullable<OptimizeBody['overrides']>;

interface Fields {
  name: string;
  start_date: string;
  end_date: string;
  exchanges: string[];
  symbols: string[];
  starting_balance: number | string;
  iters: number | string;
  n_cpus: number | string;
  population_size: number | string;
  scoring: string[];
  seedJob: string | null;
  seedEntry: string | null;
  environmentId: string;
  priority: number | string;
  requeueOnInterrupt: boolean;
}

const EMPTY: Fields = {
  name: '',
  start_date: '',
  end_date: '',
  exchanges: [],
  symbols: [],
  starting_balance: '',
  iters: '',
  n_cpus: '',
  population_size: '',
  scoring: [],
  seedJob: null,
  seedEntry: null,
  environmentId: 'local',
  priority: 0,
  requeueOnInterrupt: false,
};

const section = (config: Config | null, key: string): Config => {
  const value = config?.[key];
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Config) : {};
};
const hint = (value: unknown): string => {
  if (value === undefined || value === null) return 'not set';
  if (Array.isArray(value)) return value.join(', ');
  return typeof value === 'string' ? value : JSON.stringify(value);
};
const num = (value: number | string): number | undefined => (typeof value === 'number' && Number.isFinite(value) ? value : undefined);
const strings = (value: unknown): string[] => (Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : []);

/** API field names -> this form's fields (`overrides.exchanges.0` -> exchanges) and config paths. */
function splitErrors(error: ApiError): { fields: Record<string, string>; config: JsonIssue[] } {
  const fields: Record<string, string> = {};
  const config: JsonIssue[] = [];
  for (const { field, message } of error.fields) {
    const path = field.replace(/^body\./, '');
    if (path === 'config' || path.startsWith('config.') || path.startsWith('config[')) config.push({ path: path.replace(/^config\.?/, ''), message });
    else {
      const [head = '', second = ''] = path.split(/[.[]/);
      const key = head === 'overrides' ? (second === 'seed' ? 'seedJob' : second) : head;
      fields[key] ??= message;
    }
  }
  return { fields, config };
}

/** An environment in the target picker: its name and free slots (the workers: slots in use, theirs unknown here). */
function targetLabel(name: string, id: string, capacity: Capacity | undefined): string {
  const c = capacity?.environments.find((e) => e.environmentId === id);
  if (capacity?.mode === 'distributed' && id === 'local') return `Distributed workers (${c?.usedSlots ?? 0} slots in use, ${c?.queued ?? 0} waiting)`;
  const slots = c?.slots ?? capacity?.defaultSlots;
  if (slots === undefined || slots === null) return name;
  const used = c?.usedSlots ?? 0;
  return `${name} (${Math.max(0, slots - used)} of ${slots} slots free${c?.queued ? `, ${c.queued} waiting` : ''})`;
}

function SourcePicker({ source, onChange, type }: { source: Source; onChange: (next: Source) => void; type: JobKind }) {
  const bots = useQuery({ queryKey: ['instances', 'options'], queryFn: async () => (await unwrap(api.GET('/api/v1/instances', { params: { query: { limit: 200 } } }))).instances });
  const versions = useQuery({
    queryKey: ['instance', source.id, 'versions'],
    enabled: source.kind === 'version' && source.id !== '',
    queryFn: () => unwrap(api.GET('/api/v1/instances/{id}/config/versions', { params: { path: { id: source.id } } })),
  });
  const backtests = useFinishedJobs('backtest');
  const optimizations = useFinishedJobs('optimize');
  const front = useParetoFront(source.kind === 'pareto' && source.id ? source.id : null);
  const kinds = SOURCE_KINDS.filter((k) => type === 'optimize' || k.value !== 'optimize');
  const jobOptions = (source.kind === 'backtest' ? backtests.data : optimizations.data)?.map((j) => ({ value: j.id, label: `${j.name} (${new Date(j.createdAt).toLocaleDateString()})` })) ?? [];

  return (
    <Group grow align="flex-start" wrap="wrap">
      <Select label="Start from" miw={220} allowDeselect={false} data={kinds} value={source.kind} onChange={(v) => onChange({ kind: (v ?? 'template'), id: '', part: '' })} />
      {(source.kind === 'bot' || source.kind === 'version') && (
        <Select
          label="Bot"
          miw={200}
          searchable
          placeholder="Pick a bot"
          data={(bots.data ?? []).map((b) => ({ value: b.id, label: b.name }))}
          value={source.id || null}
          onChange={(v) => onChange({ ...source, id: v ?? '', part: '' })}
        />
      )}
      {source.kind === 'version' && (
        <Select
          label="Version"
          miw={160}
          placeholder="Pick a version"
          data={(versions.data?.versions ?? []).map((v) => ({ value: String(v.version), label: `v${v.version}${v.note ? ` — ${v.note}` : ''}` }))}
          value={source.part || null}
          onChange={(v) => onChange({ ...source, part: v ?? '' })}
        />
      )}
      {(source.kind === 'backtest' || source.kind === 'pareto' || source.kind === 'optimize') && (
        <Select
          label={source.kind === 'backtest' ? 'Backtest' : 'Optimization'}
          miw={200}
          searchable
          placeholder="Pick a finished job"
          nothingFoundMessage="No finished job"
          data={jobOptions}
          value={source.id || null}
          onChange={(v) => onChange({ ...source, id: v ?? '', part: '' })}
        />
      )}
      {source.kind === 'pareto' && (
        <Select
          label="Pareto entry"
          miw={200}
          placeholder="Pick an entry"
          data={(front.data?.front ?? []).map((e, i) => ({ value: String(e.id), label: `#${i + 1} ${String(e.id).slice(0, 12)}` }))}
          value={source.part || null}
          onChange={(v) => onChange({ ...source, part: v ?? '' })}
        />
      )}
    </Group>
  );
}

export default function NewJobPage() {
  const search = useSearch({ from: '/app/jobs/new' });
  const navigate = useNavigate();
  const { can } = useSession();
  const type: JobKind = search.type ?? 'backtest';
  const source = useMemo(() => parseSource(search.from), [search.from]);
  const [fields, setFields] = useState<Fields>(EMPTY);
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [issues, setIssues] = useState<JsonIssue[]>([]);
  const [failure, setFailure] = useState<string | null>(null);
  const [text, setText] = useState('');
  const [bounds, setBounds] = useState<Bounds>({});
  const [limitsText, setLimitsText] = useState('');
  const environments = useEnvironmentOptions();
  const capacity = useCapacity();
  const loaded = useSourceConfig(source, fields.environmentId);
  const run = useRunJob();
  const seedFront = useParetoFront(type === 'optimize' && fields.seedJob ? fields.seedJob : null);
  const seedOptions = [...(useFinishedJobs('optimize').data ?? []), ...(useFinishedJobs('backtest').data ?? [])];

  // A newly loaded source replaces the editor's config and what follows from it (set while
  // rendering, the way React adjusts state to a changed input).
  const base = loaded.data;
  const [applied, setApplied] = useState<typeof base>(undefined);
  if (base && base !== applied) {
    setApplied(base);
    setText(JSON.stringify(base.config, null, 2));
    setBounds(boundsOf(base.config));
    const fromOptimize = section(base.config, 'optimize');
    setLimitsText(fromOptimize.limits === undefined ? '' : JSON.stringify(fromOptimize.limits, null, 2));
    setFields((f) => ({ ...f, scoring: strings(fromOptimize.scoring), seedJob: base.seed?.jobId ?? null, seedEntry: null }));
    setIssues([]);
  }

  const parsed = useMemo(() => {
    try {
      const value: unknown = JSON.parse(text);
      return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Config) : null;
    } catch {
      return null;
    }
  }, [text]);
  const backtest = section(parsed, 'backtest');
  const optimize = section(parsed, 'optimize');
  const configBounds = useMemo(() => boundsOf(parsed), [parsed]);
  const configCoins = strings(section(parsed, 'live').approved_coins);

  const set = <K extends keyof Fields>(key: K, value: Fields[K]) => setFields((f) => ({ ...f, [key]: value }));
  const err = (key: string) => errors[key];
  const pickSource = (next: Source) => void navigate({ to: '/jobs/new', search: { type, from: formatSource(next) }, replace: true });

  if (!can('operator')) {
    return (
      <Stack>
        <Title order={1}>New job</Title>
        <Alert color="gray">Queueing jobs needs the operator role.</Alert>
      </Stack>
    );
  }

  const submit = async () => {
    setFailure(null);
    setErrors({});
    setIssues([]);
    const syntax = jsonSyntaxError(text);
    if (syntax || !parsed) {
      setFailure(syntax ? `The config is not valid JSON: ${syntax}` : 'The config must be a JSON object.');
      return;
    }
    const overrides: Overrides = {
      ...(fields.start_date && { start_date: fields.start_date }),
      ...(fields.end_date && { end_date: fields.end_date }),
      ...(fields.exchanges.length && { exchanges: fields.exchanges as NonNullable<Overrides['exchanges']> }),
      ...(fields.symbols.length && { symbols: fields.symbols }),
      ...(num(fields.starting_balance) !== undefined && { starting_balance: num(fields.starting_balance) }),
    };
    if (type === 'optimize') {
      if (num(fields.iters) !== undefined) overrides.iters = num(fields.iters);
      if (num(fields.n_cpus) !== undefined) overrides.n_cpus = num(fields.n_cpus);
      if (num(fields.population_size) !== undefined) overrides.population_size = num(fields.population_size);
      if (!sameBounds(bounds, configBounds)) overrides.bounds = bounds;
      if (fields.scoring.length && JSON.stringify(fields.scoring) !== JSON.stringify(strings(optimize.scoring))) overrides.scoring = fields.scoring;
      if (limitsText.trim() && limitsText.trim() !== JSON.stringify(optimize.limits, null, 2)) {
        const limitsError = jsonSyntaxError(limitsText);
        if (limitsError) {
          setErrors({ limits: `Not valid JSON: ${limitsError}` });
          return;
        }
        overrides.limits = JSON.parse(limitsText) as unknown;
      }
      if (fields.seedJob) overrides.seed = { jobId: fields.seedJob, ...(fields.seedEntry && { entry: fields.seedEntry }) };
    }
    const common = {
      config: parsed,
      environmentId: fields.environmentId,
      priority: num(fields.priority) ?? 0,
      requeueOnInterrupt: fields.requeueOnInterrupt,
      ...(fields.name.trim() && { name: fields.name.trim() }),
      ...(Object.keys(overrides).length && { overrides }),
    };
    try {
      const job = await run.mutateAsync(type === 'backtest' ? { type, body: common } : { type, body: common });
      notifyDone(`${job.name} queued`);
      void navigate({ to: '/jobs' });
    } catch (error) {
      if (error instanceof ApiError && error.fields.length) {
        const split = splitErrors(error);
        setErrors(split.fields);
        setIssues(split.config);
        setFailure(split.config.length ? 'The config has errors (marked in the editor).' : 'Some fields need a change.');
      } else setFailure(describeError(error));
    }
  };

  const targets = (environments.data ?? []).map((e) => ({ value: e.id, label: targetLabel(e.name, e.id, capacity.data) }));
  return (
    <form
      className={forms.forms}
      aria-label={type === 'backtest' ? 'New backtest' : 'New optimization'}
      noValidate
      onSubmit={(e) => {
        e.preventDefault();
        void submit();
      }}
    >
      <Stack gap="md">
      <Anchor renderRoot={(props) => <Link {...props} to="/jobs" />} size="sm">
        ← Jobs
      </Anchor>
      <Group justify="space-between" wrap="wrap">
        <Title order={1}>{type === 'backtest' ? 'New backtest' : 'New optimization'}</Title>
        <SegmentedControl
          aria-label="Job type"
          value={type}
          onChange={(v) => void navigate({ to: '/jobs/new', search: { type: v, ...(search.from && { from: search.from }) }, replace: true })}
          data={[
            { value: 'backtest', label: 'Backtest' },
            { value: 'optimize', label: 'Optimization' },
          ]}
        />
      </Group>

      <Paper withBorder p="md" radius="sm">
        <Stack gap="sm">
          <SourcePicker source={source} onChange={pickSource} type={type} />
          {loaded.error && (
            <Alert color="red" role="alert" title="The config could not be loaded">
              {describeError(loaded.error)}
            </Alert>
          )}
          {base && (
            <Text size="sm" c="dimmed" data-testid="config-source">
              Config from {base.label}
            </Text>
          )}
          <JsonEditor label="Config (JSON)" value={text} onChange={setText} issues={issues} height="320px" />
        </Stack>
      </Paper>

      <Title order={2} size="h3">
        Overrides
      </Title>
      <Text size="sm" c="dimmed">
        Empty fields keep the config’s value (shown in grey).
      </Text>
      <SimpleGrid cols={{ base: 1, sm: 2, lg: 3 }} spacing="sm">
        <TextInput label="Name" placeholder={`${type} <date>`} maxLength={100} value={fields.name} onChange={(e) => set('name', e.currentTarget.value)} error={err('name')} />
        <TextInput label="Start date" type="date" placeholder={hint(backtest.start_date)} description={`config: ${hint(backtest.start_date)}`} value={fields.start_date} onChange={(e) => set('start_date', e.currentTarget.value)} error={err('start_date')} />
        <TextInput label="End date" type="date" description={`config: ${hint(backtest.end_date)}`} value={fields.end_date} onChange={(e) => set('end_date', e.currentTarget.value)} error={err('end_date')} />
        <MultiSelect label="Exchanges" placeholder={hint(backtest.exchanges)} data={[...EXCHANGES]} value={fields.exchanges} onChange={(v) => set('exchanges', v)} error={err('exchanges')} clearable />
        <TagsInput label="Symbols" placeholder={configCoins.length ? configCoins.join(', ') : 'the config’s coins'} value={fields.symbols} onChange={(v) => set('symbols', v.map((c) => c.trim().toUpperCase()).filter(Boolean))} splitChars={[',', ' ']} error={err('symbols')} />
        <NumberInput label="Starting balance" placeholder={hint(backtest.starting_balance)} min={0} value={fields.starting_balance} onChange={(v) => set('starting_balance', v)} error={err('starting_balance')} />
      </SimpleGrid>

      {type === 'optimize' && (
        <>
          <Title order={2} size="h3">
            Optimizer
          </Title>
          <SimpleGrid cols={{ base: 1, sm: 3 }} spacing="sm">
            <NumberInput label="Iterations" placeholder={hint(optimize.iters)} min={1} value={fields.iters} onChange={(v) => set('iters', v)} error={err('iters')} />
            <NumberInput label="CPUs" placeholder={hint(optimize.n_cpus)} description="Also the CPU slots the job takes" min={1} value={fields.n_cpus} onChange={(v) => set('n_cpus', v)} error={err('n_cpus')} />
            <NumberInput label="Population" placeholder={hint(optimize.population_size)} min={1} value={fields.population_size} onChange={(v) => set('population_size', v)} error={err('population_size')} />
          </SimpleGrid>
          <TagsInput label="Scoring metrics" description="optimize.scoring, e.g. adg_usd, drawdown_worst_usd" value={fields.scoring} onChange={(v) => set('scoring', v)} error={err('scoring')} />
          <Text fw={500} size="sm">
            Limits (optimize.limits, JSON)
          </Text>
          <JsonEditor label="Limits (JSON)" value={limitsText} onChange={setLimitsText} height="140px" />
          {err('limits') && (
            <Text c="red.9" size="sm" role="alert">
              {err('limits')}
            </Text>
          )}
          <Text fw={500} size="sm">
            Bounds
          </Text>
          <BoundsTable bounds={bounds} onChange={setBounds} error={err('bounds')} />
          <Group grow align="flex-start" wrap="wrap">
            <Select
              label="Seed from"
              description="Start the optimizer from a previous result"
              placeholder="No seed"
              clearable
              searchable
              miw={220}
              data={seedOptions.map((j) => ({ value: j.id, label: `${j.type === 'optimize' ? 'optimization' : 'backtest'} ${j.name}` }))}
              value={fields.seedJob}
              onChange={(v) => setFields((f) => ({ ...f, seedJob: v, seedEntry: null }))}
              error={err('seedJob')}
            />
            {seedFront.data && (
              <Select
                label="Seed entry"
                placeholder="The best entry"
                clearable
                miw={200}
                data={seedFront.data.front.map((e, i) => ({ value: String(e.id), label: `#${i + 1} ${String(e.id).slice(0, 12)}` }))}
                value={fields.seedEntry}
                onChange={(v) => set('seedEntry', v)}
              />
            )}
          </Group>
        </>
      )}

      <Title order={2} size="h3">
        Where and when
      </Title>
      <SimpleGrid cols={{ base: 1, sm: 2 }} spacing="sm">
        <Select label="Run on" allowDeselect={false} data={targets} value={fields.environmentId} onChange={(v) => set('environmentId', v ?? 'local')} error={err('environmentId')} />
        <NumberInput label="Priority" description="Higher runs first (-100 to 100)" min={-100} max={100} value={fields.priority} onChange={(v) => set('priority', v)} error={err('priority')} />
      </SimpleGrid>
      <Checkbox
        label="Requeue on interrupt"
        description="Queue it again if pbfleet stops while it runs"
        checked={fields.requeueOnInterrupt}
        onChange={(e) => set('requeueOnInterrupt', e.currentTarget.checked)}
      />

      {failure && (
        <Alert color="red" role="alert" title="Not queued">
          {failure}
        </Alert>
      )}
      <Group justify="flex-end">
        <Button type="submit" loading={run.isPending} disabled={!parsed}>
          {type === 'backtest' ? 'Queue backtest' : 'Queue optimization'}
        </Button>
      </Group>
      </Stack>
    </form>
  );
}
