import { createContext, Script } from 'node:vm';

/**
 * User-supplied patterns (health-check validation) run against bodies of up to 1 MB. A
 * catastrophic pattern would freeze the event loop, so matching runs under a V8 time limit.
 */
export const MAX_PATTERN_LENGTH = 500;
const script = new Script('pattern.test(text)');

export class RegexTimeoutError extends Error {
  override name = 'RegexTimeoutError';
}

/** Returns an error message for an invalid pattern, or undefined when it compiles. */
export function patternError(pattern: string): string | undefined {
  if (pattern.length > MAX_PATTERN_LENGTH) return `must be at most ${MAX_PATTERN_LENGTH} characters`;
  try {
    new RegExp(pattern);
    return undefined;
  } catch (error) {
    return `is not a valid regular expression (${(error as Error).message.replace(/^Invalid regular expression: /, '')})`;
  }
}

export function safeTest(pattern: string, text: string, timeoutMs = 100): boolean {
  const context = createContext({ pattern: new RegExp(pattern), text });
  try {
    return script.runInContext(context, { timeout: timeoutMs }) === true;
  } catch (error) {
    if ((error as { code?: string }).code === 'ERR_SCRIPT_EXECUTION_TIMEOUT') throw new RegexTimeoutError(`pattern took longer than ${timeoutMs} ms`);
    throw error;
  }
}
