import { fullFormats } from 'ajv-formats/dist/formats.js';
import { ValidationError } from '../../lib/errors.js';
import { PASSWORD_MAX, PASSWORD_MIN } from '../../lib/passwords.js';

/**
 * What makes a username, an email and a password acceptable, in one place: the route schemas
 * are built from these rules, and the service checks them again for callers that have no
 * schema in front of them (the CLI).
 */
export const USERNAME_RULES = { minLength: 2, maxLength: 64, pattern: '^[A-Za-z0-9][A-Za-z0-9._-]*$' } as const;
export const EMAIL_MAX = 254;

const USERNAME = new RegExp(USERNAME_RULES.pattern);
// The check behind the schemas' `format: 'email'` (ajv-formats, full mode), so both agree.
const EMAIL = fullFormats.email as RegExp;

/** Length as JSON Schema counts it: in code points, not UTF-16 units. */
const length = (text: string) => [...text].length;

export function validateUsername(username: string): void {
  if (length(username) < USERNAME_RULES.minLength || length(username) > USERNAME_RULES.maxLength) {
    throw ValidationError.field('username', `must be ${USERNAME_RULES.minLength}-${USERNAME_RULES.maxLength} characters`);
  }
  if (!USERNAME.test(username)) throw ValidationError.field('username', 'must be letters, digits, . _ or -, starting with a letter or digit');
}

export function validateEmail(email: string): void {
  if (length(email) > EMAIL_MAX) throw ValidationError.field('email', `must be at most ${EMAIL_MAX} characters`);
  if (!EMAIL.test(email)) throw ValidationError.field('email', 'must be an email address');
}

export function validatePassword(password: string, field = 'password'): void {
  if (length(password) < PASSWORD_MIN) throw ValidationError.field(field, `must be at least ${PASSWORD_MIN} characters`);
  if (length(password) > PASSWORD_MAX) throw ValidationError.field(field, `must be at most ${PASSWORD_MAX} characters`);
}
