import type { TSchema } from 'typebox';
import { describe, expect, it } from 'vitest';
import { validatorCompiler } from '../../http/validation.js';
import { ValidationError } from '../../lib/errors.js';
import { validateEmail, validatePassword, validateUsername } from './users.fns.js';
import { Email, Password, Username } from './users.schemas.js';

/** Whether the API's body validator accepts `value` under `schema`. */
const schemaAccepts = (schema: TSchema, value: string) =>
  validatorCompiler({ schema, httpPart: 'body', method: 'POST', url: '/users' })(value) === true;

const passes = (check: (value: string) => void, value: string) => {
  try {
    check(value);
    return true;
  } catch (error) {
    if (!(error instanceof ValidationError)) throw error;
    return false;
  }
};

const SAMPLES = {
  username: ['bob', 'Bob.Smith', 'a1', 'x_y-z.0', '0day', 'x', '-dash', '.dot', 'Bad Name!', 'bob\n', 'émile', '', 'a'.repeat(64), 'a'.repeat(65), 'bob;rm'],
  email: ['bob@example.com', 'Bob.Smith+tag@Example.CO.uk', "o'brien@example.com", 'not-an-email', '@example.com', 'bob@', 'bob@@example.com', 'bob @example.com', '', `${'a'.repeat(64)}@${'b'.repeat(185)}.com`, `${'a'.repeat(64)}@${'b'.repeat(186)}.com`],
  password: ['12345678', 'short', '', '🔥🔥🔥🔥🔥🔥🔥🔥', '🔥🔥🔥🔥', 'x'.repeat(256), 'x'.repeat(257), 'with spaces in it'],
};

describe('user rules', () => {
  it.each([
    ['username', validateUsername, Username],
    ['email', validateEmail, Email],
    ['password', (p: string) => validatePassword(p), Password],
  ] as const)('%s: the service check agrees with the route schema on every sample', (name, check, schema) => {
    for (const value of SAMPLES[name]) {
      expect(passes(check, value), JSON.stringify(value)).toBe(schemaAccepts(schema, value));
    }
    // Both kinds of answer are among the samples.
    expect(new Set(SAMPLES[name].map((v) => passes(check, v)))).toEqual(new Set([true, false]));
  });

  it('names the field and says what is wrong', () => {
    expect(() => validateUsername('Bad Name!')).toThrow('username: must be letters, digits, . _ or -, starting with a letter or digit');
    expect(() => validateUsername('x')).toThrow('username: must be 2-64 characters');
    expect(() => validateEmail('nope')).toThrow('email: must be an email address');
    expect(() => validatePassword('short', 'newPassword')).toThrow('newPassword: must be at least 8 characters');
    try {
      validateEmail('nope');
    } catch (error) {
      expect((error as ValidationError).details).toEqual({ fields: [{ field: 'email', message: 'must be an email address' }] });
    }
  });
});
