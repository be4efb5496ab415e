import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { Readable } from 'node:stream';
import Type from 'typebox';
import { IdParams, mediaResponse, responses } from '../../../http/schemas.js';
import type { Hub, HubClient } from '../../hub/hub.js';
import { openSseStream } from '../../hub/sse.js';
import { topics } from '../../hub/topics.js';
import { levelAtLeast, parseLogLine, type LogLevel } from './log-lines.js';
import type { BacklogLine, LogBatch, LogStreams } from './log-streams.js';
import { LogQuery } from '../instances.schemas.js';
import type { InstancesService } from '../instances.service.js';

const tags = ['instances'];
export const DEFAULT_BACKLOG = 100;

type LineMatch = (text: string, level: LogLevel | null, error: boolean) => boolean;

export function lineMatcher(q: string | undefined, level: LogLevel | undefined): LineMatch | null {
  if (!q && !level) return null;
  const needle = q?.toLowerCase();
  return (text, lineLevel, error) => (!needle || text.toLowerCase().includes(needle)) && (!level || levelAtLeast(lineLevel, level) || (error && level !== 'CRITICAL'));
}

/** The batch as a filtered subscriber sees it; undefined when no line passes. */
function filterBatch(batch: LogBatch, match: LineMatch): LogBatch | undefined {
  const errors = new Set(batch.errors);
  const out: LogBatch = { instanceId: batch.instanceId, seq: batch.seq, lines: [], errors: [] };
  batch.lines.forEach((text, i) => {
    const error = errors.has(i);
    if (!match(text, parseLogLine(text).level, error)) return;
    if (error) out.errors.push(out.lines.length);
    out.lines.push(text);
  });
  return out.lines.length ? out : undefined;
}

export function backlogBatch(instanceId: string, lines: readonly BacklogLine[]): LogBatch {
  return { instanceId, seq: lines[0]?.seq ?? 0, lines: lines.map((l) => l.text), errors: lines.flatMap((l, i) => (l.error ? [i] : [])), backlog: true };
}

/** Hub subscribers of `instance:<id>:logs` get the last lines first, then live ones. */
export function sendLogBacklog(hub: Hub, logs: LogStreams, client: HubClient, topic: string, count = DEFAULT_BACKLOG, match: LineMatch | null = null): void {
  const id = /^instance:(.+):logs$/.exec(topic)?.[1];
  if (!id) return;
  let lines = logs.backlog(id, match ? Number.MAX_SAFE_INTEGER : count);
  if (match) lines = lines.filter((l) => match(l.text, l.level, l.error)).slice(-count || lines.length);
  if (count === 0) lines = [];
  // Nothing to catch up on (no lines yet, or an unknown bot): live lines are all there is.
  if (lines.length) hub.send(client, 'log', backlogBatch(id, lines), topic);
}

export interface InstanceLogsRoutesOptions {
  hub: Hub;
  logs: LogStreams;
  instances: { get(this: void, id: string): ReturnType<InstancesService['get']> };
  openLog: (id: string) => Promise<Readable>;
}

export const instanceLogsRoutes: FastifyPluginAsyncTypebox<InstanceLogsRoutesOptions> = async (app, { hub, logs, instances, openLog }) => {
  app.get(
    '/instances/:id/logs',
    {
      config: { auth: 'viewer', allowQueryToken: true },
      schema: {
        operationId: 'streamInstanceLogs',
        tags,
        summary: "A bot's log as Server-Sent Events: the last `tail` lines, then live lines ({type:'log', payload:{seq, lines, errors}})",
        params: IdParams,
        querystring: LogQuery,
        response: responses({ 200: mediaResponse('Server-Sent Events: log batches {seq, lines, errors}', ['text/event-stream']) }),
      },
    },
    async (request, reply) => {
      const instance = await instances.get(request.params.id);
      const { tail = DEFAULT_BACKLOG, q, level } = request.query;
      const match = lineMatcher(q, level);
      const topic = topics.instanceLogs(instance.id);
      // Backlog and subscription happen in one turn of the event loop: no line is missed or doubled.
      openSseStream(hub, request, reply, [topic], (client) => {
        if (match) client.filter = (_topic, type, payload) => (type === 'log' ? filterBatch(payload as LogBatch, match) : payload);
        sendLogBacklog(hub, logs, client, topic, tail, match);
      });
    },
  );

  app.get(
    '/instances/:id/logs/download',
    {
      config: { auth: 'viewer', allowQueryToken: true },
      schema: {
        operationId: 'downloadInstanceLog',
        tags,
        summary: "The bot's whole current log file, as text",
        params: IdParams,
        querystring: Type.Object({ token: Type.Optional(Type.String({ maxLength: 4096, description: 'Bearer token, for a plain download link' })) }),
        response: responses({ 200: mediaResponse('The log file (attachment <name>.log)', ['text/plain']) }),
      },
    },
    async (request, reply) => {
      const instance = await instances.get(request.params.id);
      const stream = await openLog(instance.id);
      return reply
        .header('content-type', 'text/plain; charset=utf-8')
        .header('content-disposition', `attachment; filename="${instance.name}.log"`)
        .send(stream);
    },
  );
};
