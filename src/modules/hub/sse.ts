import type { FastifyReply, FastifyRequest } from 'fastify';
import { principalOf } from '../../http/auth.js';
import { RateLimitedError, ValidationError } from '../../lib/errors.js';
import type { Hub, HubClient } from './hub.js';
import { isValidTopic } from './topics.js';
import { sseTransport } from './transports.js';

/** When a client refused for too many connections may try again (EventSource retries by itself). */
const RETRY_AFTER_SECONDS = 10;

/**
 * Opens an SSE stream on the hub for the authenticated caller, subscribed to `topics`.
 * `onOpen` can write a backlog first (a bot's last log lines) through the returned client.
 */
export function openSseStream(hub: Hub, request: FastifyRequest, reply: FastifyReply, topics: readonly string[], onOpen?: (client: HubClient) => void): void {
  const invalid = topics.filter((t) => !isValidTopic(t));
  if (topics.length === 0) throw ValidationError.field('topics', 'name at least one topic');
  if (invalid.length) throw ValidationError.field('topics', `unknown topic(s): ${invalid.join(', ')}`);
  const principal = principalOf(request);
  const refusal = hub.refusal(principal);
  if (refusal) throw new RateLimitedError(refusal, RETRY_AFTER_SECONDS);
  reply.hijack();
  const res = reply.raw;
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(reply.getHeaders())) if (value !== undefined) headers[name] = String(value);
  res.writeHead(200, {
    ...headers,
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-cache, no-transform',
    connection: 'keep-alive',
    'x-accel-buffering': 'no',
    'x-request-id': String(request.id),
  });
  // Streams live as long as the client wants; the idle-socket timeout is for ordinary requests.
  request.raw.socket.setTimeout(0);
  res.write('retry: 3000\n\n');
  const client = hub.attach(principal, sseTransport(res));
  hub.subscribe(client, topics);
  request.log.info({ path: request.url.split('?')[0], topics, user: principal.username }, 'sse stream opened');
  res.on('close', () => hub.detach(client));
  onOpen?.(client);
}
