import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import Type, { type Static } from 'typebox';
import { actorOf } from '../../http/auth.js';
import { IdParams, mediaResponse, pagination, responses } from '../../http/schemas.js';
import type { Hub } from '../hub/hub.js';
import { openSseStream } from '../hub/sse.js';
import { topics } from '../hub/topics.js';
import { LOCAL_ENVIRONMENT_ID } from '../environments/environments.types.js';
import type { JobType } from './jobs.types.js';
import { InstanceSchema } from '../instances/instances.schemas.js';
import type { FromResultService } from './from-result.js';
import {
  BacktestInstanceBody,
  BacktestResultSchema,
  BacktestRunBody,
  CoinPnlList,
  CapacitySchema,
  EntryBacktestBody,
  ExportQuery,
  JobList,
  JobListQuery,
  JobSchema,
  OptimizeInstanceBody,
  OptimizeResultSchema,
  OptimizeRunBody,
  PriorityBody,
  ResultQuery,
  TemplateQuery,
  TemplateSchema,
} from './jobs.schemas.js';
import type { JobsService } from './jobs.service.js';
import { exportFills } from './results/fills.js';

const tags = ['jobs'];
const afterPendingIo = () => new Promise<void>((resolve) => setImmediate(resolve));
const Accepted = responses({ 202: JobSchema });
const One = responses({ 200: JobSchema });
const CreatedInstance = responses({ 201: InstanceSchema });

export interface JobsRoutesOptions {
  jobs: JobsService;
  fromResult: FromResultService;
  hub: Hub;
  /** The last lines of a job's log: from memory while it runs, from its log file after. */
  logTail: (id: string, lines: number) => Promise<string[]>;
  /** Passivbot's template config from an environment's checkout. */
  template: (environmentId: string) => Promise<Static<typeof TemplateSchema>>;
  capacity: () => Promise<Static<typeof CapacitySchema>>;
}

export const jobsRoutes: FastifyPluginAsyncTypebox<JobsRoutesOptions> = async (app, { jobs, fromResult, hub, logTail, template, capacity }) => {
  const listOf = (type?: JobType) => async (request: { query: Static<typeof JobListQuery> }) => {
    const { page = 1, limit = 50, environment, ...filter } = request.query;
    const result = await jobs.list({ page, limit, environmentId: environment, ...filter, ...(type && { type }) });
    return { jobs: result.jobs, pagination: pagination(page, limit, result.total) };
  };

  for (const type of ['backtest', 'optimize'] as const) {
    const label = type === 'backtest' ? 'backtest' : 'optimization';
    const Label = type === 'backtest' ? 'Backtest' : 'Optimization';
    app.post(
      `/${type}/run`,
      {
        config: { auth: 'operator' },
        schema: { operationId: type === 'backtest' ? 'runBacktest' : 'runOptimization', tags, summary: `Queue a ${label} (202 with the job)`, body: type === 'backtest' ? BacktestRunBody : OptimizeRunBody, response: Accepted },
      },
      async (request, reply) => {
        // The work of a submission waits for the I/O events that arrived with it: in a burst of
        // submissions, a process exit (a free slot) is acted on first, not after all of them.
        await afterPendingIo();
        return reply.code(202).send(await jobs.run(type, request.body, actorOf(request)));
      },
    );
    app.get(`/${type}/jobs`, { config: { auth: 'viewer' }, schema: { operationId: `list${Label}Jobs`, tags, summary: `List ${label} jobs, newest first`, querystring: Type.Omit(JobListQuery, ['type']), response: responses({ 200: JobList }) } }, listOf(type));
    app.get(`/${type}/jobs/:id`, { config: { auth: 'viewer' }, schema: { operationId: `get${Label}Job`, tags, summary: `One ${label} job`, params: IdParams, response: One } }, async (request) => jobs.get(request.params.id, type));
    app.delete(
      `/${type}/jobs/:id`,
      { config: { auth: 'operator' }, schema: { operationId: `cancel${Label}`, tags, summary: `Cancel a ${label} (SIGINT, then SIGKILL; partial results are kept)`, params: IdParams, response: One } },
      async (request) => jobs.cancel(request.params.id, actorOf(request), type),
    );
  }

  app.get(
    '/backtest/results/:id',
    {
      config: { auth: 'viewer' },
      schema: { operationId: 'getBacktestResult', tags, summary: 'Metrics and equity curve of a backtest; `?fills=N` adds a page of fills (sort, order, coin and side apply to it)', params: IdParams, querystring: ResultQuery, response: responses({ 200: BacktestResultSchema }) },
    },
    async (request) => {
      const { fills, limit, sort, order, coin, side } = request.query;
      return jobs.backtestResult(request.params.id, fills, limit, { sort, order, coin, side });
    },
  );

  app.get(
    '/backtest/results/:id/coins',
    { config: { auth: 'viewer' }, schema: { operationId: 'getBacktestCoinPnl', tags, summary: 'PnL, fees and fill count per coin of a backtest', params: IdParams, response: responses({ 200: CoinPnlList }) } },
    async (request) => ({ coins: await jobs.backtestCoinPnl(request.params.id) }),
  );

  app.get(
    '/backtest/results/:id/fills/export',
    {
      config: { auth: 'viewer', allowQueryToken: true },
      schema: { operationId: 'exportBacktestFills', tags, summary: 'All fills of a backtest as CSV or JSON lines', params: IdParams, querystring: ExportQuery, response: responses({ 200: mediaResponse('The fills: CSV for format=csv, JSON lines for format=json (an attachment)', ['text/csv', 'application/x-ndjson']) }) },
    },
    async (request, reply) => {
      const format = request.query.format ?? 'csv';
      const stream = await exportFills(await jobs.resultDir(request.params.id), format);
      return reply
        .header('content-type', format === 'csv' ? 'text/csv; charset=utf-8' : 'application/x-ndjson; charset=utf-8')
        .header('content-disposition', `attachment; filename="fills-${request.params.id}.${format === 'csv' ? 'csv' : 'jsonl'}"`)
        .send(stream);
    },
  );

  app.get(
    '/optimize/results/:id',
    { config: { auth: 'viewer' }, schema: { operationId: 'getOptimizationResult', tags, summary: 'The pareto front of an optimization, best first', params: IdParams, response: responses({ 200: OptimizeResultSchema }) } },
    async (request) => jobs.optimizeResult(request.params.id),
  );

  app.post(
    '/optimize/results/:id/backtest',
    {
      config: { auth: 'operator' },
      schema: { operationId: 'backtestParetoEntry', tags, summary: 'Queue a backtest of a pareto entry (default: the best); 202 with the job', params: IdParams, body: EntryBacktestBody, response: Accepted },
    },
    async (request, reply) => reply.code(202).send(await fromResult.backtestEntry(request.params.id, request.body, actorOf(request))),
  );

  app.post(
    '/backtest/results/:id/instance',
    { config: { auth: 'operator' }, schema: { operationId: 'createInstanceFromBacktest', tags, summary: "Create a bot (stopped) with a backtest's config", params: IdParams, body: BacktestInstanceBody, response: CreatedInstance } },
    async (request, reply) => reply.code(201).send(await fromResult.instanceFromResult('backtest', request.params.id, request.body, actorOf(request))),
  );

  app.post(
    '/optimize/results/:id/instance',
    {
      config: { auth: 'operator' },
      schema: { operationId: 'createInstanceFromOptimization', tags, summary: "Create a bot (stopped) with a pareto entry's config (default: the best)", params: IdParams, body: OptimizeInstanceBody, response: CreatedInstance },
    },
    async (request, reply) => reply.code(201).send(await fromResult.instanceFromResult('optimize', request.params.id, request.body, actorOf(request))),
  );

  app.get('/jobs', { config: { auth: 'viewer' }, schema: { operationId: 'listJobs', tags, summary: 'Backtests and optimizations, newest first', querystring: JobListQuery, response: responses({ 200: JobList }) } }, listOf());
  app.get(
    '/jobs/capacity',
    { config: { auth: 'viewer' }, schema: { operationId: 'getJobCapacity', tags, summary: 'CPU slots per environment: total, used by running jobs, and jobs waiting', response: responses({ 200: CapacitySchema }) } },
    async () => capacity(),
  );
  app.get(
    '/jobs/template',
    {
      config: { auth: 'viewer' },
      schema: { operationId: 'getPassivbotTemplate', tags, summary: "Passivbot's template config (configs/template.json of an environment's checkout; default: local)", querystring: TemplateQuery, response: responses({ 200: TemplateSchema }) },
    },
    async (request) => template(request.query.environment ?? LOCAL_ENVIRONMENT_ID),
  );
  app.get('/jobs/:id', { config: { auth: 'viewer' }, schema: { operationId: 'getJob', tags, summary: 'One job', params: IdParams, response: One } }, async (request) => jobs.get(request.params.id));

  app.post(
    '/jobs/:id/priority',
    { config: { auth: 'operator' }, schema: { operationId: 'setJobPriority', tags, summary: 'Reorder a queued job (higher runs first)', params: IdParams, body: PriorityBody, response: One } },
    async (request) => jobs.setPriority(request.params.id, request.body.priority, actorOf(request)),
  );

  app.get(
    '/jobs/:id/log',
    {
      config: { auth: 'viewer', allowQueryToken: true },
      schema: {
        operationId: 'streamJobLog',
        tags,
        summary: "A job's output as Server-Sent Events: the last `tail` lines, then live lines and progress",
        params: IdParams,
        querystring: Type.Object({ tail: Type.Optional(Type.Integer({ minimum: 0, maximum: 500, default: 100 })), token: Type.Optional(Type.String({ maxLength: 4096 })) }),
        response: responses({ 200: mediaResponse('Server-Sent Events: job_log lines and progress', ['text/event-stream']) }),
      },
    },
    async (request, reply) => {
      const job = await jobs.get(request.params.id);
      const lines = await logTail(job.id, request.query.tail ?? 100);
      openSseStream(hub, request, reply, [topics.job(job.id)], (client) => {
        hub.send(client, 'job_log', { id: job.id, lines, backlog: true }, topics.job(job.id));
      });
    },
  );
};
