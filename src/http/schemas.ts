import type { Readable } from 'node:stream';
import Type, { type Static, type TSchema, type TSchemaOptions, type TString } from 'typebox';

export const ErrorEnvelope = Type.Object(
  {
    error: Type.Object({
      code: Type.String(),
      message: Type.String(),
      details: Type.Optional(Type.Unknown()),
      requestId: Type.String(),
    }),
  },
  { $id: 'ErrorEnvelope', description: 'Every error answers with this envelope' },
);

/** Adds the error envelope to a route's responses, so OpenAPI and serialisation both know it. */
export function responses<T extends Record<number, TSchema>>(ok: T) {
  return { ...ok, '4xx': ErrorEnvelope, '5xx': ErrorEnvelope };
}

/**
 * A 2xx answer that is not JSON (an event stream, a file), by media type, so the OpenAPI document
 * says what really comes back. Fastify never serialises these: the route sends a stream.
 */
export function mediaResponse(description: string, mediaTypes: readonly string[]) {
  const body = Type.Unsafe<string | Readable>(Type.String({ description }));
  return { description, content: Object.fromEntries(mediaTypes.map((type) => [type, { schema: body }])) };
}

export const Pagination = Type.Object({
  page: Type.Integer(),
  limit: Type.Integer(),
  total: Type.Integer(),
  totalPages: Type.Integer(),
});
export type Pagination = Static<typeof Pagination>;

export const PageQuery = {
  page: Type.Optional(Type.Integer({ minimum: 1, maximum: 1_000_000, default: 1 })),
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 500, default: 50 })),
};

/** C0 controls, DEL and C1 controls, as a regex character range for schema patterns. */
export const CONTROL_CHARS = '\\u0000-\\u001f\\u007f-\\u009f';
/** Text without control characters: names, paths, search text (bound its length with minLength/maxLength). */
export const NO_CONTROL_CHARS = `^[^${CONTROL_CHARS}]*$`;

export const IdParams = Type.Object({ id: Type.String({ minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9_-]+$' }) });

export const Timestamp = Type.String({ format: 'date-time' });
export const NullableTimestamp = Type.Union([Timestamp, Type.Null()]);

export const Ok = Type.Object({ ok: Type.Literal(true) });

export function pagination(page: number, limit: number, total: number): Pagination {
  return { page, limit, total, totalPages: Math.ceil(total / limit) };
}

/** How deep a free-form JSON field may nest; a Passivbot config needs a handful of levels. */
export const MAX_JSON_DEPTH = 64;
/**
 * Any JSON value (optimize.limits), at most MAX_JSON_DEPTH levels deep. Every free-form field
 * of a request body has this bound (FreeJson or FreeObject), checked in validation.ts: deeper
 * input is a 400 naming the field, before any recursive code (JSON.stringify) sees it.
 */
export const FreeJson = (options: TSchemaOptions = {}) => Type.Unknown({ maxDepth: MAX_JSON_DEPTH, ...options });
/** An object of free keys and any JSON values (metadata, a Passivbot config), at most MAX_JSON_DEPTH levels deep. */
export const FreeObject = (options: TSchemaOptions & { keys?: TString } = {}) => {
  const { keys = Type.String(), ...rest } = options;
  return Type.Record(keys, Type.Unknown(), { maxDepth: MAX_JSON_DEPTH, ...rest });
};
