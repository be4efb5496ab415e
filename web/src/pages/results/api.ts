/**
 * Backtest and optimization results over the generated client. A result is fixed once its job
 * has finished; the `job:<id>` topic refreshes it when the job it belongs to ends while the page
 * is open (a running job has no result yet).
 */
import { keepPreviousData, useMutation, useQueries, useQuery, useQueryClient } from '@tanstack/react-query';
import { api, unwrap } from '../../lib/api/client';
import type { paths } from '../../lib/api/schema';
import { useLiveInvalidate } from '../../lib/hub';

type Json<T> = T extends { content: { 'application/json': infer B } } ? B : never;

export type BacktestResult = Json<paths['/api/v1/backtest/results/{id}']['get']['responses'][200]>;
export type FillsQuery = NonNullable<paths['/api/v1/backtest/results/{id}']['get']['parameters']['query']>;
export type FillsPage = NonNullable<BacktestResult['fills']>;
export type CoinPnl = Json<paths['/api/v1/backtest/results/{id}/coins']['get']['responses'][200]>['coins'][number];
export type OptimizeResult = Json<paths['/api/v1/optimize/results/{id}']['get']['responses'][200]>;
export type JobSummary = Json<paths['/api/v1/backtest/jobs']['get']['responses'][200]>['jobs'][number];
export type Job = Json<paths['/api/v1/jobs/{id}']['get']['responses'][200]>;
export type Instance = Json<paths['/api/v1/optimize/results/{id}/instance']['post']['responses'][201]>;
export type InstanceFromEntry = NonNullable<paths['/api/v1/optimize/results/{id}/instance']['post']['requestBody']>['content']['application/json'];

/** A pareto entry as the server ranks it (the schema leaves entries open). */
export interface ParetoEntry {
  id: string;
  rank: number;
  objectives: Record<string, number>;
  stats: Record<string, { mean: number | null; min: number | null; max: number | null; std: number | null }>;
  constraintViolation: number | null;
  config: Record<string, unknown>;
}

export interface EquityPoint {
  t: string;
  balance: number | null;
  equity: number | null;
}

export const keys = {
  backtest: (id: string) => ['backtest-result', id] as const,
  fills: (id: string, query: FillsQuery) => ['backtest-result', id, 'fills', query] as const,
  coins: (id: string) => ['backtest-result', id, 'coins'] as const,
  optimize: (id: string) => ['optimize-result', id] as const,
  finishedBacktests: ['jobs', 'backtests', 'completed'] as const,
};

const fetchBacktest = async (id: string) => unwrap(api.GET('/api/v1/backtest/results/{id}', { params: { path: { id } } }));

export function useBacktestResult(id: string) {
  useLiveInvalidate([`job:${id}`], [keys.backtest(id)]);
  return useQuery({ queryKey: keys.backtest(id), queryFn: () => fetchBacktest(id), staleTime: Infinity, retry: false });
}

interface Several {
  loaded: BacktestResult[];
  errors: (Error | null)[];
  done: boolean;
}

/** Stable across renders (a module function), so the combined value changes only with the queries. */
const combineResults = (queries: { data?: BacktestResult; error: Error | null; isPending: boolean }[]): Several => ({
  loaded: queries.flatMap((q) => (q.data ? [q.data] : [])),
  errors: queries.map((q) => q.error),
  done: queries.every((q) => !q.isPending),
});

/** Several backtests at once (compare). */
export function useBacktestResults(ids: string[]): Several {
  return useQueries({ queries: ids.map((id) => ({ queryKey: keys.backtest(id), queryFn: () => fetchBacktest(id), staleTime: Infinity, retry: false })), combine: combineResults });
}

export function useFillsPage(id: string, query: FillsQuery, enabled = true) {
  return useQuery({
    queryKey: keys.fills(id, query),
    queryFn: async () => (await unwrap(api.GET('/api/v1/backtest/results/{id}', { params: { path: { id }, query } }))).fills ?? null,
    placeholderData: keepPreviousData,
    staleTime: Infinity,
    enabled,
  });
}

export function useCoinPnl(id: string, enabled = true) {
  return useQuery({
    queryKey: keys.coins(id),
    queryFn: async () => (await unwrap(api.GET('/api/v1/backtest/results/{id}/coins', { params: { path: { id } } }))).coins,
    staleTime: Infinity,
    enabled,
  });
}

export function useOptimizeResult(id: string) {
  useLiveInvalidate([`job:${id}`], [keys.optimize(id)]);
  return useQuery({
    queryKey: keys.optimize(id),
    queryFn: async () => {
      const result = await unwrap(api.GET('/api/v1/optimize/results/{id}', { params: { path: { id } } }));
      return { ...result, front: result.front as unknown as ParetoEntry[] };
    },
    staleTime: Infinity,
    retry: false,
  });
}

/** The newest finished backtests, for "compare with". */
export function useFinishedBacktests(enabled: boolean) {
  useLiveInvalidate(['jobs'], [keys.finishedBacktests]);
  return useQuery({
    queryKey: keys.finishedBacktests,
    queryFn: async () => (await unwrap(api.GET('/api/v1/backtest/jobs', { params: { query: { status: 'completed', limit: 200 } } }))).jobs,
    enabled,
  });
}

export function useBacktestEntry(optimizationId: string) {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: (entry: string) => unwrap(api.POST('/api/v1/optimize/results/{id}/backtest', { params: { path: { id: optimizationId } }, body: { entry } })),
    onSuccess: () => void queryClient.invalidateQueries({ queryKey: ['jobs'] }),
  });
}

export function useInstanceFromEntry(optimizationId: string) {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: (body: InstanceFromEntry) => unwrap(api.POST('/api/v1/optimize/results/{id}/instance', { params: { path: { id: optimizationId } }, body })),
    onSuccess: () => void queryClient.invalidateQueries({ queryKey: ['instances'] }),
  });
}
