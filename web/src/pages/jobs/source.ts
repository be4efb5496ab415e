/**
 * Where a new job's config comes from, as the `from` search parameter says: `bot:<id>` (its
 * current config), `version:<botId>:<n>`, `backtest:<jobId>` (the config it ran), `pareto:<jobId>:<entry>`,
 * `optimize:<jobId>` (its config, and the optimization as the seed) or `template` (Passivbot's own).
 */
import { useQuery } from '@tanstack/react-query';
import { api, unwrap } from '../../lib/api/client';

export type SourceKind = 'template' | 'bot' | 'version' | 'backtest' | 'pareto' | 'optimize';
export interface Source {
  kind: SourceKind;
  /** Bot or job id. */
  id: string;
  /** Version number or pareto entry. */
  part: string;
}

export const SOURCE_KINDS: { value: SourceKind; label: string }[] = [
  { value: 'template', label: "Passivbot's template" },
  { value: 'bot', label: "A bot's current config" },
  { value: 'version', label: 'A saved config version' },
  { value: 'backtest', label: 'A finished backtest' },
  { value: 'pareto', label: 'A pareto entry' },
  { value: 'optimize', label: 'A previous optimization (seed from)' },
];

export function parseSource(from: string | undefined): Source {
  const [kind = 'template', id = '', ...rest] = (from ?? 'template').split(':');
  const known = SOURCE_KINDS.some((k) => k.value === kind);
  return known ? { kind: kind as SourceKind, id, part: rest.join(':') } : { kind: 'template', id: '', part: '' };
}

export function formatSource(source: Source): string {
  if (source.kind === 'template') return 'template';
  if (source.kind === 'version' || source.kind === 'pareto') return `${source.kind}:${source.id}:${source.part}`;
  return `${source.kind}:${source.id}`;
}

/** A source with everything it needs picked. */
export function isComplete(source: Source): boolean {
  if (source.kind === 'template') return true;
  if (source.kind === 'version' || source.kind === 'pareto') return source.id !== '' && source.part !== '';
  return source.id !== '';
}

export interface LoadedSource {
  config: Record<string, unknown>;
  /** What the form shows as the origin. */
  label: string;
  /** An optimization to seed from. */
  seed?: { jobId: string; entry?: string };
}

async function load(source: Source, environmentId: string): Promise<LoadedSource> {
  switch (source.kind) {
    case 'template': {
      const t = await unwrap(api.GET('/api/v1/jobs/template', { params: { query: { environment: environmentId } } }));
      return { config: t.config, label: `Passivbot's template (${t.path} on ${t.environmentId})` };
    }
    case 'bot': {
      const bot = await unwrap(api.GET('/api/v1/instances/{id}', { params: { path: { id: source.id } } }));
      return { config: bot.config, label: `bot ${bot.name}, config v${bot.configVersion}` };
    }
    case 'version': {
      const v = await unwrap(api.GET('/api/v1/instances/{id}/config/versions/{version}', { params: { path: { id: source.id, version: Number(source.part) } } }));
      return { config: v.config, label: `config version ${v.version}` };
    }
    case 'backtest': {
      const job = await unwrap(api.GET('/api/v1/jobs/{id}', { params: { path: { id: source.id } } }));
      return { config: job.params.effective, label: `${job.type} ${job.name}` };
    }
    case 'pareto': {
      const result = await unwrap(api.GET('/api/v1/optimize/results/{id}', { params: { path: { id: source.id } } }));
      const entry = result.front.find((e) => e.id === source.part);
      const config = entry?.config;
      if (typeof config !== 'object' || config === null) throw new Error(`no pareto entry ${source.part} in ${result.job.name}`);
      return { config: config as Record<string, unknown>, label: `pareto entry ${source.part} of ${result.job.name}` };
    }
    case 'optimize': {
      const job = await unwrap(api.GET('/api/v1/jobs/{id}', { params: { path: { id: source.id } } }));
      return { config: job.params.config, label: `optimization ${job.name}`, seed: { jobId: job.id } };
    }
  }
}

export function useSourceConfig(source: Source, environmentId: string) {
  return useQuery({
    queryKey: ['job-source', formatSource(source), source.kind === 'template' ? environmentId : ''],
    enabled: isComplete(source),
    staleTime: Infinity,
    retry: false,
    queryFn: () => load(source, environmentId),
  });
}
