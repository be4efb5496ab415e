/**
 * Where sign-in sends the user back to: a path of this app, taken from the `redirect` search
 * parameter. Anything that could leave the app (another origin, a scheme, `//host`, `/\host`)
 * or loop (sign-in itself) is refused, so the parameter is never an open redirect. Pure.
 */

const BASE = 'http://pbfleet.invalid';
/** Paths the server answers itself: not routes of the app. */
const NOT_APP = /^\/(?:api|docs|ws|openapi\.json)(?:[/?#]|$)/;

function hasControlCharacter(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code < 0x20 || code === 0x7f) return true;
  }
  return false;
}

/** `value` as a same-origin app path (pathname + search + hash), or undefined. */
export function returnPath(value: unknown): string | undefined {
  if (typeof value !== 'string' || value.length > 2000) return undefined;
  // Exactly one leading slash; no backslash or control character anywhere (browsers read `\` as `/` and drop tabs).
  if (!/^\/(?![/\\])/.test(value) || value.includes('\\') || hasControlCharacter(value)) return undefined;
  let url: URL;
  try {
    url = new URL(value, BASE);
  } catch {
    return undefined;
  }
  if (url.origin !== BASE || url.pathname === '/sign-in' || NOT_APP.test(url.pathname)) return undefined;
  return `${url.pathname}${url.search}${url.hash}`;
}
