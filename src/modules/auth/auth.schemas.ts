import Type from 'typebox';
import { NO_CONTROL_CHARS, NullableTimestamp, Timestamp } from '../../http/schemas.js';
import { Password, RoleSchema, UserSchema } from '../users/users.schemas.js';

export const LoginBody = Type.Object(
  {
    username: Type.String({ minLength: 1, maxLength: 64, pattern: NO_CONTROL_CHARS }),
    password: Type.String({ minLength: 1, maxLength: 256 }),
    cookie: Type.Optional(Type.Boolean({ description: 'Browser sign-in: set the HttpOnly session cookie and leave the token out of the answer' })),
  },
  { additionalProperties: false },
);

export const LoginResult = Type.Object({
  token: Type.Optional(Type.String({ description: 'The bearer token; absent when the session went into the cookie' })),
  expiresAt: Timestamp,
  user: UserSchema,
});

export const Me = Type.Object({
  user: UserSchema,
  credential: Type.Object({ kind: Type.Enum(['session', 'api_token']), id: Type.String(), expiresAt: NullableTimestamp }),
  role: RoleSchema,
});

export const ChangePasswordBody = Type.Object(
  {
    currentPassword: Type.String({ minLength: 1, maxLength: 256 }),
    newPassword: Password,
    keepApiTokens: Type.Optional(Type.Boolean({ default: false, description: 'Keep your API tokens working; by default the change ends them with your other sessions' })),
  },
  { additionalProperties: false },
);

export const ApiTokenSchema = Type.Object({
  id: Type.String(),
  name: Type.String(),
  prefix: Type.String({ description: 'The first characters, to recognise a token' }),
  createdAt: Timestamp,
  expiresAt: NullableTimestamp,
  lastUsedAt: NullableTimestamp,
});

export const CreateApiTokenBody = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 100, pattern: NO_CONTROL_CHARS }),
    expiresInDays: Type.Optional(Type.Integer({ minimum: 1, maximum: 3650 })),
  },
  { additionalProperties: false },
);

export const CreatedApiToken = Type.Object({ ...ApiTokenSchema.properties, token: Type.String({ description: 'Shown once; store it now' }) });

export const SessionSchema = Type.Object({
  id: Type.String(),
  createdAt: Timestamp,
  expiresAt: Timestamp,
  ip: Type.Union([Type.String(), Type.Null()], { description: 'Where the sign-in came from' }),
  userAgent: Type.Union([Type.String(), Type.Null()], { description: 'The browser or client that signed in (first 512 characters)' }),
  current: Type.Boolean({ description: 'The session making this request' }),
});
