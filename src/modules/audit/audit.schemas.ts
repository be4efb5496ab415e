import Type from 'typebox';
import { NO_CONTROL_CHARS, PageQuery, Pagination, Timestamp } from '../../http/schemas.js';
import { AUDIT_LEVELS, AUDIT_TYPES } from './audit.types.js';

const Nullable = <T extends ReturnType<typeof Type.String>>(schema: T) => Type.Union([schema, Type.Null()]);

export const AuditEntrySchema = Type.Object(
  {
    id: Type.String(),
    timestamp: Timestamp,
    environmentId: Nullable(Type.String()),
    environmentName: Nullable(Type.String()),
    userId: Nullable(Type.String()),
    username: Nullable(Type.String()),
    type: Type.Enum([...AUDIT_TYPES]),
    level: Type.Enum([...AUDIT_LEVELS]),
    action: Nullable(Type.String()),
    message: Type.String(),
    details: Type.Union([Type.Record(Type.String(), Type.Unknown()), Type.Null()]),
    requestId: Nullable(Type.String()),
    ip: Nullable(Type.String()),
  },
  { $id: 'AuditEntry' },
);

const Id = Type.String({ maxLength: 64, pattern: '^[A-Za-z0-9_-]+$' });

export const AuditFilterQuery = {
  type: Type.Optional(Type.Enum([...AUDIT_TYPES])),
  level: Type.Optional(Type.Enum([...AUDIT_LEVELS])),
  action: Type.Optional(Type.String({ maxLength: 64, pattern: '^[a-z0-9_.:-]+$' })),
  environmentId: Type.Optional(Id),
  userId: Type.Optional(Id),
  from: Type.Optional(Type.String({ format: 'date-time' })),
  to: Type.Optional(Type.String({ format: 'date-time' })),
  q: Type.Optional(Type.String({ minLength: 1, maxLength: 200, pattern: NO_CONTROL_CHARS, description: 'Text the message contains (case-insensitive)' })),
};

export const AuditListQuery = Type.Object({ ...PageQuery, ...AuditFilterQuery }, { additionalProperties: false });
export const AuditCountQuery = Type.Object(AuditFilterQuery, { additionalProperties: false });
export const AuditList = Type.Object({ logs: Type.Array(AuditEntrySchema), pagination: Pagination });
export const AuditCount = Type.Object({ count: Type.Integer() });
export const AuditStats = Type.Object({
  total: Type.Integer(),
  byType: Type.Record(Type.String(), Type.Integer()),
  byLevel: Type.Record(Type.String(), Type.Integer()),
});
