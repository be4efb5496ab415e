/**
 * Jobs over the generated client: the list (`['jobs']`) and each job (`['job', id]`) kept live by
 * the hub topics `jobs` and `job:<id>` (state changes replace the job, progress is patched in
 * place; nothing polls), plus what the new-job form reads and the mutations.
 */
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useCallback } from 'react';
import { api, unwrap } from '../../lib/api/client';
import type { paths } from '../../lib/api/schema';
import { useHubTopic, useRefetchOnReconnect, useLiveInvalidate, type HubMessage } from '../../lib/hub';

type Json<T> = T extends { content: { 'application/json': infer B } } ? B : never;

export type Job = Json<paths['/api/v1/jobs/{id}']['get']['responses'][200]>;
export type JobSummary = Json<paths['/api/v1/jobs']['get']['responses'][200]>['jobs'][number];
export type JobStatus = Job['status'];
export type JobType = Job['type'];
export type JobProgress = Job['progress'];
export type BacktestBody = NonNullable<paths['/api/v1/backtest/run']['post']['requestBody']>['content']['application/json'];
export type OptimizeBody = NonNullable<paths['/api/v1/optimize/run']['post']['requestBody']>['content']['application/json'];
export type Capacity = Json<paths['/api/v1/jobs/capacity']['get']['responses'][200]>;
export type ParetoEntry = Json<paths['/api/v1/optimize/results/{id}']['get']['responses'][200]>['front'][number];
type Exchange = NonNullable<NonNullable<BacktestBody['overrides']>['exchanges']>[number];

/** Exchanges a backtest can use (the API's list; checked against its type). */
export const EXCHANGES = ['binance', 'bybit', 'bitget', 'okx', 'gateio', 'hyperliquid', 'kucoin', 'defx', 'paradex', 'bitunix', 'weex'] as const satisfies readonly Exchange[];
export const FINISHED: readonly JobStatus[] = ['completed', 'failed', 'cancelled', 'interrupted'];
export const isFinished = (status: JobStatus) => FINISHED.includes(status);

export const keys = {
  jobs: ['jobs'] as const,
  job: (id: string) => ['job', id] as const,
  capacity: ['jobs', 'capacity'] as const,
  template: (environmentId: string) => ['jobs', 'template', environmentId] as const,
  pareto: (id: string) => ['job', id, 'pareto'] as const,
};

/** Newest first; the queue page shows at most this many. */
const LIST_LIMIT = 200;

type JobPatch = Partial<JobSummary> & { id: string };

/** A `jobs` / `job:<id>` message applied to a job as it was (undefined: not about this job). */
export function applyJobMessage<T extends JobSummary>(current: T | undefined, message: HubMessage): T | undefined {
  const payload = message.payload as JobPatch | null;
  if (!current || !payload || payload.id !== current.id) return undefined;
  if (message.type === 'job_progress') return payload.progress ? { ...current, progress: payload.progress } : undefined;
  if (message.type === 'job_updated' || message.type === 'job_created') return { ...current, ...payload };
  return undefined;
}

function applyToList(list: JobSummary[] | undefined, message: HubMessage): JobSummary[] | undefined {
  if (!list) return list;
  const payload = message.payload as JobPatch | null;
  if (!payload || typeof payload.id !== 'string') return list;
  const index = list.findIndex((j) => j.id === payload.id);
  if (index < 0) {
    // A job created elsewhere: its event carries the whole summary.
    return message.type === 'job_created' && typeof payload.status === 'string' ? [payload as JobSummary, ...list] : list;
  }
  const next = applyJobMessage(list[index], message);
  if (!next) return list;
  const copy = list.slice();
  copy[index] = next;
  return copy;
}

export function useJobs() {
  const queryClient = useQueryClient();
  const onMessage = useCallback((m: HubMessage) => queryClient.setQueryData<JobSummary[]>(keys.jobs, (old) => applyToList(old, m)), [queryClient]);
  useHubTopic(['jobs'], onMessage);
  useRefetchOnReconnect(queryClient, keys.jobs);
  return useQuery({ queryKey: keys.jobs, queryFn: async () => (await unwrap(api.GET('/api/v1/jobs', { params: { query: { limit: LIST_LIMIT } } }))).jobs });
}

export function useJob(id: string) {
  const queryClient = useQueryClient();
  const onMessage = useCallback(
    (m: HubMessage) => {
      const next = applyJobMessage(queryClient.getQueryData<Job>(keys.job(id)), m);
      if (next) queryClient.setQueryData(keys.job(id), next);
      // A finished job has its result summary now: fetch it once.
      if (m.type === 'job_updated' && next && isFinished(next.status)) void queryClient.invalidateQueries({ queryKey: keys.job(id), exact: true });
    },
    [queryClient, id],
  );
  useHubTopic([`job:${id}`], onMessage);
  useRefetchOnReconnect(queryClient, keys.job(id));
  return useQuery({ queryKey: keys.job(id), queryFn: () => unwrap(api.GET('/api/v1/jobs/{id}', { params: { path: { id } } })) });
}

/** Slots per environment; what runs and waits changes with every job event. */
export function useCapacity() {
  useLiveInvalidate(['jobs'], [keys.capacity]);
  return useQuery({ queryKey: keys.capacity, queryFn: () => unwrap(api.GET('/api/v1/jobs/capacity')) });
}

export function useTemplate(environmentId: string, enabled: boolean) {
  return useQuery({
    queryKey: keys.template(environmentId),
    enabled,
    staleTime: Infinity,
    retry: false,
    queryFn: () => unwrap(api.GET('/api/v1/jobs/template', { params: { query: { environment: environmentId } } })),
  });
}

export function useParetoFront(jobId: string | null) {
  return useQuery({
    queryKey: keys.pareto(jobId ?? ''),
    enabled: jobId !== null,
    staleTime: Infinity,
    queryFn: () => unwrap(api.GET('/api/v1/optimize/results/{id}', { params: { path: { id: jobId ?? '' } } })),
  });
}

/** Finished jobs of a type, for the "start from" pickers. */
export function useFinishedJobs(type: JobType) {
  return useQuery({
    queryKey: ['jobs', 'completed', type],
    queryFn: async () => (await unwrap(api.GET('/api/v1/jobs', { params: { query: { type, status: 'completed', limit: 100 } } }))).jobs,
  });
}

function useSetJob() {
  const queryClient = useQueryClient();
  return (job: Job) => {
    queryClient.setQueryData(keys.job(job.id), job);
    queryClient.setQueryData<JobSummary[]>(keys.jobs, (old) => applyToList(old, { type: 'job_updated', topic: 'jobs', payload: job, ts: '' }));
  };
}

export function useRunJob() {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: (input: { type: 'backtest'; body: BacktestBody } | { type: 'optimize'; body: OptimizeBody }) =>
      input.type === 'backtest' ? unwrap(api.POST('/api/v1/backtest/run', { body: input.body })) : unwrap(api.POST('/api/v1/optimize/run', { body: input.body })),
    onSuccess: (job) => {
      queryClient.setQueryData(keys.job(job.id), job);
      void queryClient.invalidateQueries({ queryKey: keys.jobs });
    },
  });
}

export function useCancelJob() {
  const set = useSetJob();
  return useMutation({
    mutationFn: ({ id, type }: { id: string; type: JobType }) =>
      type === 'backtest' ? unwrap(api.DELETE('/api/v1/backtest/jobs/{id}', { params: { path: { id } } })) : unwrap(api.DELETE('/api/v1/optimize/jobs/{id}', { params: { path: { id } } })),
    onSuccess: set,
  });
}

export function useSetPriority() {
  const set = useSetJob();
  return useMutation({
    mutationFn: ({ id, priority }: { id: string; priority: number }) => unwrap(api.POST('/api/v1/jobs/{id}/priority', { params: { path: { id } }, body: { priority } })),
    onSuccess: set,
  });
}

type EnvironmentList = Json<paths['/api/v1/environments']['get']['responses'][200]>;
export type EnvironmentOption = EnvironmentList['environments'][number];

/** Environments for names and the target picker. */
export function useEnvironmentOptions() {
  return useQuery({
    queryKey: ['environments', 'options'],
    queryFn: async () => (await unwrap(api.GET('/api/v1/environments', { params: { query: { limit: 200 } } }))).environments,
  });
}
