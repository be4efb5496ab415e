/**
 * The one place a remote shell command is built. Arguments are quoted for POSIX sh with
 * single quotes, inside which nothing is special; a quote itself becomes '\''. NUL cannot
 * be passed in an argument at all, so it is refused rather than silently cut.
 */
const SAFE = /^[A-Za-z0-9_@%+=:,./-]+$/;

export class ShellQuoteError extends Error {
  override name = 'ShellQuoteError';
}

export function shellQuote(arg: string): string {
  if (arg.includes('\0')) throw new ShellQuoteError('argument contains a NUL byte');
  if (arg !== '' && SAFE.test(arg)) return arg;
  return `'${arg.replace(/'/g, `'\\''`)}'`;
}

/** Joins an argument array into one command line for `sh -c`. */
export function shellJoin(args: readonly string[]): string {
  if (args.length === 0) throw new ShellQuoteError('empty command');
  return args.map(shellQuote).join(' ');
}
