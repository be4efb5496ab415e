import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { FastifyInstance } from 'fastify';
import { ErrorEnvelope } from './schemas.js';

/** Every tag a route may use, with what the area is for; a route with another tag fails at startup. */
export const API_TAGS = [
  { name: 'system', description: 'Liveness, readiness and this document' },
  { name: 'auth', description: 'Sign-in, sessions, your password and API tokens' },
  { name: 'users', description: 'User accounts and roles (admin)' },
  { name: 'audit', description: 'The audit log' },
  { name: 'settings', description: 'Server settings and working paths' },
  { name: 'realtime', description: 'Live updates: the WebSocket hub and Server-Sent Events' },
  { name: 'environments', description: 'Servers bots run on: SSH access, health, upgrades, operations' },
  { name: 'vps', description: 'PBGui-compatible names for environments' },
  { name: 'accounts', description: 'Exchange accounts and their API keys (write-only secrets)' },
  { name: 'instances', description: 'Bot instances: config versions, start and stop, logs' },
  { name: 'jobs', description: 'Backtests and optimizations: queue, results, bots from results' },
  { name: 'dashboard', description: 'Balance, PnL and positions of every account and bot, from the files the bots write' },
] as const;

const TAG_NAMES = new Set<string>(API_TAGS.map((t) => t.name));

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/**
 * The document the routes produce, made valid OpenAPI 3.0: TypeBox writes JSON Schema's numeric
 * `exclusiveMinimum`/`exclusiveMaximum` (3.0 wants `minimum` plus a boolean), and our own AJV
 * keyword `maxDepth` (schemas.ts) is not an OpenAPI keyword, so it is published as `x-maxDepth`.
 * Returns a copy: the route schemas AJV compiled from are never touched.
 */
export function toOpenApi30(value: Json): Json {
  if (Array.isArray(value)) return value.map(toOpenApi30);
  if (value === null || typeof value !== 'object') return value;
  const out: { [key: string]: Json } = {};
  for (const [key, child] of Object.entries(value)) {
    // A keyword holds a number; a property that happens to be called so holds a schema (an object).
    if ((key === 'exclusiveMinimum' || key === 'exclusiveMaximum') && typeof child === 'number') {
      out[key === 'exclusiveMinimum' ? 'minimum' : 'maximum'] = child;
      out[key] = true;
    } else if (key === 'maxDepth' && typeof child === 'number') {
      out['x-maxDepth'] = child;
    } else {
      out[key] = toOpenApi30(child);
    }
  }
  return out;
}

const ENVELOPE_REF = { $ref: '#/components/schemas/ErrorEnvelope' };
const ENVELOPE_SHAPE = shapeOf(toOpenApi30(ErrorEnvelope as unknown as Json));

/** A schema's type, required and properties, as text with sorted keys (for comparison). */
function shapeOf(schema: Json): string {
  if (schema === null || typeof schema !== 'object' || Array.isArray(schema)) return JSON.stringify(schema);
  const { type = null, required = null, properties = null } = schema;
  return JSON.stringify({ type, required, properties }, (_key, value: Json) =>
    value !== null && typeof value === 'object' && !Array.isArray(value) ? Object.fromEntries(Object.entries(value).sort(([a], [b]) => a.localeCompare(b))) : value,
  );
}

/** Error responses point at the one ErrorEnvelope component instead of repeating it ~170 times. */
function referenceEnvelope(doc: { [key: string]: Json }): void {
  const paths = doc.paths as Record<string, Record<string, { responses?: Record<string, { content?: Record<string, { schema?: Json }> }> }>>;
  for (const operations of Object.values(paths)) {
    for (const operation of Object.values(operations)) {
      for (const response of Object.values(operation.responses ?? {})) {
        const media = response.content?.['application/json'];
        if (media?.schema && shapeOf(media.schema) === ENVELOPE_SHAPE) media.schema = ENVELOPE_REF;
      }
    }
  }
}

/**
 * The OpenAPI document (/api/v1/openapi.json) and Swagger UI (/docs). Every documented route
 * must name an operationId (the web UI's typed client is generated from this document) and use
 * a known tag: a route without them fails at startup, so the document cannot regress.
 */
export async function registerOpenApi(app: FastifyInstance, version: string): Promise<void> {
  app.addHook('onRoute', (route) => {
    const schema = route.schema as { hide?: boolean; operationId?: string; tags?: string[] } | undefined;
    if (!schema || schema.hide || (route as { websocket?: boolean }).websocket) return;
    const name = `${[route.method].flat().join(',')} ${route.url}`;
    if (!schema.operationId) throw new Error(`route ${name} has no schema.operationId`);
    for (const tag of schema.tags ?? []) if (!TAG_NAMES.has(tag)) throw new Error(`route ${name} uses tag ${tag}, which API_TAGS does not describe`);
  });

  await app.register(swagger, {
    openapi: {
      openapi: '3.0.3',
      info: {
        title: 'pbfleet API',
        version,
        description: 'Control plane for Passivbot fleets',
        license: { name: 'MIT', url: 'https://opensource.org/licenses/MIT' },
      },
      // Relative: the document describes whichever host and scheme served it.
      servers: [{ url: '/' }],
      tags: API_TAGS.map((t) => ({ ...t })),
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer', description: 'A session JWT from /auth/login or an API token (pbf_...)' } } },
    },
    // Shared schemas keep their $id as the component name (User, Environment, ...), not def-N.
    refResolver: { buildLocalReference: (json, _baseUri, _fragment, i) => (typeof json.$id === 'string' ? json.$id : `def-${i}`) },
    transformObject: (documentObject) => {
      const doc = toOpenApi30(structuredClone((documentObject as { openapiObject: unknown }).openapiObject) as Json) as { [key: string]: Json };
      referenceEnvelope(doc);
      return doc;
    },
  });
  // Its own CSP (the UI's is stricter than swagger-ui can live with).
  await app.register(swaggerUi, { routePrefix: '/docs', staticCSP: true });
}
