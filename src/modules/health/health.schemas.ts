import Type from 'typebox';
import { Timestamp } from '../../http/schemas.js';
import { HEALTH_STATES } from '../environments/environments.types.js';

const NullableInt = Type.Union([Type.Integer(), Type.Null()]);

export const HealthHistoryQuery = Type.Object(
  {
    from: Type.Optional(Type.String({ format: 'date-time', description: 'Start of the range (default: 24 hours before to)' })),
    to: Type.Optional(Type.String({ format: 'date-time', description: 'End of the range (default: now)' })),
  },
  { additionalProperties: false },
);

export const HealthHistorySchema = Type.Object(
  {
    environmentId: Type.String(),
    from: Timestamp,
    to: Timestamp,
    samples: Type.Array(
      Type.Object({
        ts: Timestamp,
        health: Type.Enum([...HEALTH_STATES]),
        responseTime: NullableInt,
        message: Type.Union([Type.String(), Type.Null()]),
      }),
      { description: 'Checks in the range, oldest first; at most 5,000 (the newest)' },
    ),
    samplesTruncated: Type.Boolean({ description: 'More checks fell in the range than were returned' }),
    hourly: Type.Array(
      Type.Object({
        hour: Timestamp,
        checks: Type.Integer(),
        uptime: Type.Number({ minimum: 0, maximum: 100, description: 'Percent of checks healthy or degraded' }),
        avgLatency: NullableInt,
        p95Latency: NullableInt,
      }),
      { description: 'Completed hours overlapping the range, oldest first; latency of successful checks, ms' },
    ),
  },
  { $id: 'HealthHistory' },
);
