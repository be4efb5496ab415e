import Type from 'typebox';
import { PASSWORD_MAX, PASSWORD_MIN } from '../../lib/passwords.js';
import { ROLES } from '../../lib/roles.js';
import { NO_CONTROL_CHARS, NullableTimestamp, PageQuery, Pagination, Timestamp } from '../../http/schemas.js';
import { EMAIL_MAX, USERNAME_RULES } from './users.fns.js';

export const RoleSchema = Type.Enum([...ROLES], { description: 'viewer reads; operator also operates; admin also manages' });
export const Username = Type.String({ ...USERNAME_RULES, description: 'letters, digits, . _ -' });
export const Email = Type.String({ format: 'email', maxLength: EMAIL_MAX });
export const Password = Type.String({ minLength: PASSWORD_MIN, maxLength: PASSWORD_MAX });

/** Picks the public fields: a password hash cannot be serialised even if one is passed. */
export const UserSchema = Type.Object(
  {
    id: Type.String(),
    username: Type.String(),
    email: Type.Union([Type.String(), Type.Null()]),
    role: RoleSchema,
    active: Type.Boolean(),
    lastLogin: NullableTimestamp,
    createdAt: Timestamp,
    updatedAt: Timestamp,
  },
  { $id: 'User' },
);

export const UserListQuery = Type.Object(
  {
    ...PageQuery,
    q: Type.Optional(Type.String({ maxLength: 200, pattern: NO_CONTROL_CHARS })),
    role: Type.Optional(RoleSchema),
    active: Type.Optional(Type.Boolean()),
  },
  { additionalProperties: false },
);

export const UserList = Type.Object({ users: Type.Array(UserSchema), pagination: Pagination });

export const CreateUserBody = Type.Object(
  {
    username: Username,
    email: Type.Optional(Type.Union([Email, Type.Null()])),
    password: Password,
    role: RoleSchema,
    active: Type.Optional(Type.Boolean()),
  },
  { additionalProperties: false },
);

export const UpdateUserBody = Type.Object(
  {
    email: Type.Optional(Type.Union([Email, Type.Null()])),
    role: Type.Optional(RoleSchema),
    active: Type.Optional(Type.Boolean()),
  },
  { additionalProperties: false, minProperties: 1 },
);

export const ResetPasswordBody = Type.Object(
  { newPassword: Type.Optional(Password) },
  { additionalProperties: false, description: 'Omit newPassword to have one generated and returned once' },
);

export const ResetPasswordResult = Type.Object({ ok: Type.Literal(true), temporaryPassword: Type.Optional(Type.String()) });
