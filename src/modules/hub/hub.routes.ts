import type {} from '@fastify/websocket';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyRequest } from 'fastify';
import Type from 'typebox';
import type { WebSocket } from 'ws';
import { principalOf } from '../../http/auth.js';
import { mediaResponse, responses } from '../../http/schemas.js';
import { ForbiddenError } from '../../lib/errors.js';
import { CLOSE, type Hub, type HubClient } from './hub.js';
import { openSseStream } from './sse.js';
import { topics as t } from './topics.js';
import { originAllowed, webSocketTransport } from './transports.js';

const tags = ['realtime'];
const TopicList = Type.String({ maxLength: 4000, description: 'Comma-separated topics' });
const TokenQuery = Type.Optional(Type.String({ maxLength: 4096, description: 'Bearer token, for browsers that cannot set headers' }));
const IdParam = Type.Object({ id: Type.String({ minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9_-]+$' }) });

interface ClientMessage {
  type?: unknown;
  topics?: unknown;
}

export const splitTopics = (text: string | undefined): string[] => (text ? text.split(',').map((s) => s.trim()).filter(Boolean) : []);

export interface HubRoutesOptions {
  hub: Hub;
  allowOrigins: readonly string[];
  /** Sends what a topic has before live messages (a bot's last log lines) to a new subscriber. */
  backlog?: (client: HubClient, topic: string) => void;
}

export const hubRoutes: FastifyPluginAsyncTypebox<HubRoutesOptions> = async (app, { hub, allowOrigins, backlog }) => {
  const checkOrigin = async (request: FastifyRequest) => {
    if (!originAllowed(request.headers.origin, request.headers.host, allowOrigins)) {
      throw new ForbiddenError(`origin ${request.headers.origin ?? ''} is not in allowOrigins`);
    }
  };

  function serve(socket: WebSocket, request: FastifyRequest, initial: string[]): void {
    const principal = principalOf(request);
    // Past the upgrade, a refusal is a close code: browsers never show a refused upgrade's status.
    const refusal = hub.refusal(principal);
    if (refusal) {
      webSocketTransport(socket).close(CLOSE.policyViolation, refusal);
      return;
    }
    const client = hub.attach(principal, webSocketTransport(socket));
    const { accepted, rejected } = hub.subscribe(client, initial);
    hub.send(client, 'welcome', { clientId: client.id, user: client.principal.username, role: client.principal.role, topics: accepted, rejected });
    for (const topic of accepted) backlog?.(client, topic);
    socket.on('message', (data, isBinary) => {
      let message: ClientMessage;
      try {
        message = (isBinary ? null : JSON.parse(Buffer.isBuffer(data) ? data.toString('utf8') : Buffer.concat(data instanceof ArrayBuffer ? [Buffer.from(data)] : data).toString('utf8'))) as ClientMessage;
        if (typeof message !== 'object' || message === null) throw new Error('not an object');
      } catch {
        hub.send(client, 'error', { code: 'VALIDATION_ERROR', message: 'messages must be JSON objects with a type' });
        return;
      }
      const list = Array.isArray(message.topics) ? message.topics.filter((x): x is string => typeof x === 'string').slice(0, 500) : [];
      if (message.type === 'ping') hub.send(client, 'pong', {});
      else if (message.type === 'subscribe') {
        const already = new Set(client.topics);
        const result = hub.subscribe(client, list);
        hub.send(client, 'subscribed', result);
        // Only a new subscription gets the backlog: a repeated one would duplicate lines.
        for (const topic of result.accepted) if (!already.has(topic)) backlog?.(client, topic);
      }
      else if (message.type === 'unsubscribe') {
        hub.unsubscribe(client, list);
        hub.send(client, 'unsubscribed', { topics: list });
      } else hub.send(client, 'error', { code: 'VALIDATION_ERROR', message: 'type must be subscribe, unsubscribe or ping' });
    });
    socket.on('close', () => hub.detach(client));
    socket.on('error', () => hub.detach(client));
  }

  const wsConfig = { auth: 'viewer' as const, allowQueryToken: true };
  const upgrade = { 101: Type.Null({ description: 'Switching protocols' }) };

  app.get(
    '/ws',
    {
      websocket: true,
      config: wsConfig,
      onRequest: checkOrigin,
      schema: {
        tags,
        summary: 'Real-time hub. Send {type:"subscribe",topics:[...]}; receive {type,topic,payload,ts}',
        querystring: Type.Object({ topics: Type.Optional(TopicList), token: TokenQuery }),
        response: responses(upgrade),
      },
    },
    (socket, request) => serve(socket, request, splitTopics((request.query as { topics?: string }).topics)),
  );

  const preSubscribed = (url: string, summary: string, topicOf: (id: string) => string) =>
    app.get(
      url,
      {
        websocket: true,
        config: wsConfig,
        onRequest: checkOrigin,
        schema: { tags, summary, params: IdParam, querystring: Type.Object({ token: TokenQuery }), response: responses(upgrade) },
      },
      (socket, request) => serve(socket, request, [topicOf(request.params.id)]),
    );
  preSubscribed('/ws/instances/:id/logs', 'A bot’s live log lines (hub topic instance:<id>:logs)', t.instanceLogs);
  preSubscribed('/ws/jobs/:id/progress', 'A job’s progress (hub topic job:<id>)', t.job);

  app.get(
    '/ws/dashboard/metrics',
    {
      websocket: true,
      config: wsConfig,
      onRequest: checkOrigin,
      schema: { tags, summary: 'Live dashboard updates (hub topic dashboard)', querystring: Type.Object({ token: TokenQuery }), response: responses(upgrade) },
    },
    (socket, request) => serve(socket, request, [t.dashboard]),
  );

  app.get(
    '/api/v1/events',
    {
      config: wsConfig,
      onRequest: checkOrigin,
      schema: {
        operationId: 'streamEvents',
        tags,
        summary: 'Server-Sent Events on the same hub and topics (for EventSource)',
        querystring: Type.Object({ topics: TopicList, token: TokenQuery }),
        response: responses({ 200: mediaResponse('Server-Sent Events, each data line {type,topic,payload,ts}', ['text/event-stream']) }),
      },
    },
    (request, reply) => openSseStream(hub, request, reply, splitTopics(request.query.topics)),
  );
};
