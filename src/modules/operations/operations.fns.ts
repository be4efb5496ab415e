/**
 * Operation output (command stdout/stderr, an HTTP answer's body) is for operators and admins;
 * it is stored capped and with anything that looks like a credential replaced.
 */

export const REDACTED = '[redacted]';

/** Names whose value is a credential: `password=...`, `"api_key": "..."`, `X-Auth-Token: ...`. */
const KEY = String.raw`[\w.-]{0,40}?(?:passw(?:or)?d|passphrase|pwd|secret|token|api[_-]?key|apikey|access[_-]?key|private[_-]?key|credential|authorization|auth|session|cookie)[\w.-]{0,40}`;
const SEPARATOR = String.raw`["']?[ \t]*[:=][ \t]*`;

/** Bounded quantifiers only: linear in the input, whatever a host prints. */
const RULES: readonly [RegExp, string | ((...groups: string[]) => string)][] = [
  // PEM private keys, whole or cut off by the output cap.
  [/-----BEGIN [A-Z0-9 ]{0,40}PRIVATE KEY-----[\s\S]*?(?:-----END [A-Z0-9 ]{0,40}PRIVATE KEY-----|$)/g, `-----BEGIN PRIVATE KEY----- ${REDACTED} -----END PRIVATE KEY-----`],
  // JWTs (header.payload.signature, base64url).
  [/\beyJ[A-Za-z0-9_-]{5,}\.eyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*/g, REDACTED],
  // pbfleet API tokens.
  [/\bpbf_[A-Za-z0-9_-]{16,}/g, REDACTED],
  // AWS access key ids.
  [/\b(?:AKIA|ASIA|AGPA|AIDA|AROA|ANPA|ANVA|AIPA)[A-Z0-9]{16}\b/g, REDACTED],
  // Bearer / Basic / Token credentials, with or without a header name before them.
  [/\b(Bearer|Basic|Token)[ \t]+[A-Za-z0-9._~+/=-]{8,}/gi, (_m, scheme) => `${scheme} ${REDACTED}`],
  // user:password@ in URLs.
  [/(\b[a-z][a-z0-9+.-]{0,20}:\/\/[^\s:/@]{0,200}):[^\s@/]{1,200}@/gi, (_m, prefix) => `${prefix}:${REDACTED}@`],
  // key = "quoted value", key: 'quoted value'
  [new RegExp(`(${KEY}${SEPARATOR})"[^"\\n]{0,2000}"`, 'gi'), (_m, head) => `${head}"${REDACTED}"`],
  [new RegExp(`(${KEY}${SEPARATOR})'[^'\\n]{0,2000}'`, 'gi'), (_m, head) => `${head}'${REDACTED}'`],
  // key=value, key: value (up to a space, quote, comma, semicolon, ampersand or brace)
  [new RegExp(`(${KEY}${SEPARATOR})(?!\\[redacted\\]|Bearer |Basic |Token )[^\\s"',;&{}]{1,2000}`, 'gi'), (_m, head) => `${head}${REDACTED}`],
];

/** Replaces what looks like a credential: tokens, keys, passwords, `Authorization` values. */
export function redactSecrets(text: string): string {
  let result = text;
  for (const [pattern, replacement] of RULES) result = result.replace(pattern, replacement as (substring: string, ...args: string[]) => string);
  return result;
}

export interface OutputLimits {
  /** Characters kept from the start. */
  head: number;
  /** Characters kept from the end. */
  tail: number;
}

export const OUTPUT_LIMITS: OutputLimits = { head: 4096, tail: 12_288 };

/**
 * Collects an operation's output: each piece redacted whole (so the cap never cuts a secret
 * in two before it is recognised), then the first `head` and last `tail` characters kept,
 * with a note of how much was left out between them.
 */
export function createOutputLog(limits: OutputLimits = OUTPUT_LIMITS) {
  let head = '';
  let tail = '';
  let omitted = 0;
  return {
    /** Returns the piece as kept (redacted, ending in a newline), to show it live as well. */
    append(piece: string): string {
      const redacted = redactSecrets(piece.endsWith('\n') ? piece : `${piece}\n`);
      let text = redacted;
      if (head.length < limits.head) {
        const room = limits.head - head.length;
        head += text.slice(0, room);
        text = text.slice(room);
      }
      tail += text;
      if (tail.length > limits.tail) {
        omitted += tail.length - limits.tail;
        tail = tail.slice(-limits.tail);
      }
      return redacted;
    },
    text(): string {
      return omitted ? `${head}\n… ${omitted} characters left out …\n${tail}` : `${head}${tail}`;
    },
  };
}

const PEM_BEGIN = /-----BEGIN [A-Z0-9 ]{0,40}PRIVATE KEY-----/;
const PEM_END = /-----END [A-Z0-9 ]{0,40}PRIVATE KEY-----/;

/**
 * Turns output that arrives in pieces (a command's stdout as it runs) into whole lines, each
 * redacted on its own: a chunk boundary never cuts a secret in two before it is recognised. A
 * private key spanning lines is left out from its BEGIN line to its END line. A line longer
 * than `maxLine` is passed on in parts.
 */
export function createLineRedactor(emit: (line: string) => void, maxLine = 4096) {
  let partial = '';
  let inKey = false;
  const line = (text: string) => {
    if (inKey) {
      if (PEM_END.test(text)) inKey = false;
      return;
    }
    if (PEM_BEGIN.test(text) && !PEM_END.test(text)) inKey = true;
    const body = text.endsWith('\n') ? text.slice(0, -1) : text;
    emit(`${redactSecrets(body)}\n`);
  };
  return {
    write(chunk: string): void {
      partial += chunk;
      for (let nl = partial.indexOf('\n'); nl !== -1; nl = partial.indexOf('\n')) {
        line(partial.slice(0, nl + 1));
        partial = partial.slice(nl + 1);
      }
      while (partial.length > maxLine) {
        line(partial.slice(0, maxLine));
        partial = partial.slice(maxLine);
      }
    },
    /** The last line, even without its newline. */
    end(): void {
      if (partial) line(partial);
      partial = '';
    },
  };
}

/**
 * Output waiting to be sent live: at most `max` characters between two sends, the newest
 * kept, with a note of how much was left out (a command flooding its output cannot flood
 * the operators' browsers).
 */
export function createLiveBuffer(max: number = OUTPUT_LIMITS.tail) {
  let text = '';
  let omitted = 0;
  return {
    push(piece: string): void {
      text += piece;
      if (text.length > max) {
        omitted += text.length - max;
        text = text.slice(-max);
      }
    },
    /** What to send now, or undefined when nothing new arrived. */
    take(): string | undefined {
      if (!text && !omitted) return undefined;
      const out = omitted ? `… ${omitted} characters left out …\n${text}` : text;
      text = '';
      omitted = 0;
      return out;
    },
  };
}
