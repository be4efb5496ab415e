/**
 * Where a JSON path (as the API names it: `live.leverage`, `a["x.y"]`, `scenarios[0].end_date`)
 * sits in a JSON text, so an API error can be drawn at its value. A small position-keeping
 * scanner: it tolerates broken JSON by stopping where it cannot go on.
 */

export interface TextRange {
  from: number;
  to: number;
}

const PLAIN_KEY = /^[A-Za-z0-9_$-]+$/;

/** The API's path syntax (see passivbot-config.rules.ts joinPath). */
export function joinPath(path: string, key: string | number): string {
  if (typeof key === 'number') return `${path}[${key}]`;
  if (PLAIN_KEY.test(key)) return path ? `${path}.${key}` : key;
  return `${path}[${JSON.stringify(key.length > 64 ? `${key.slice(0, 64)}…` : key)}]`;
}

class Scanner {
  i = 0;
  readonly ranges = new Map<string, TextRange>();
  /** For each path, the range of its key (objects) — what a missing-value error is best drawn at. */
  readonly keys = new Map<string, TextRange>();
  constructor(readonly text: string) {}

  ws(): void {
    while (this.i < this.text.length && ' \t\n\r'.includes(this.text[this.i] as string)) this.i++;
  }

  string(): string {
    const start = this.i;
    this.i++; // opening quote
    while (this.i < this.text.length && this.text[this.i] !== '"') this.i += this.text[this.i] === '\\' ? 2 : 1;
    this.i++;
    return JSON.parse(this.text.slice(start, this.i)) as string;
  }

  value(path: string, depth: number): void {
    this.ws();
    const from = this.i;
    const c = this.text[this.i];
    if (c === '{' && depth < 64) {
      this.i++;
      this.ws();
      while (this.i < this.text.length && this.text[this.i] !== '}') {
        if (this.text[this.i] !== '"') throw new Error('key expected');
        const keyFrom = this.i;
        const key = this.string();
        const child = joinPath(path, key);
        this.keys.set(child, { from: keyFrom, to: this.i });
        this.ws();
        if (this.text[this.i] !== ':') throw new Error(': expected');
        this.i++;
        this.value(child, depth + 1);
        this.ws();
        if (this.text[this.i] === ',') {
          this.i++;
          this.ws();
        }
      }
      this.i++;
    } else if (c === '[' && depth < 64) {
      this.i++;
      this.ws();
      for (let n = 0; this.i < this.text.length && this.text[this.i] !== ']'; n++) {
        this.value(joinPath(path, n), depth + 1);
        this.ws();
        if (this.text[this.i] === ',') this.i++;
        this.ws();
      }
      this.i++;
    } else if (c === '"') {
      this.string();
    } else {
      while (this.i < this.text.length && !',]}\n\r\t '.includes(this.text[this.i] as string)) this.i++;
      if (this.i === from) throw new Error('value expected');
    }
    this.ranges.set(path, { from, to: this.i });
  }
}

/**
 * The text range of the value at `path`, or of the closest existing parent (a missing key is
 * reported at the object that should hold it); null when the text is not readable that far.
 */
export function locateJsonPath(text: string, path: string): TextRange | null {
  const scanner = new Scanner(text);
  try {
    scanner.value('', 0);
  } catch {
    // Broken JSON: use what was read before the break.
  }
  for (let p = path; ; ) {
    const found = scanner.ranges.get(p);
    if (found) {
      // Draw errors on a whole object at its key (or first line), not over the whole block.
      const key = scanner.keys.get(p);
      const multiline = text.slice(found.from, found.to).includes('\n');
      if (multiline) return key ?? { from: found.from, to: found.from + 1 };
      return found;
    }
    if (!p) return null;
    p = parentPath(p);
  }
}

/** `a.b[0]` -> `a.b`, `a.b` -> `a`, `a["x.y"]` -> `a`, `a` -> ``. */
export function parentPath(path: string): string {
  if (path.endsWith(']')) {
    const open = path.endsWith('"]') ? path.lastIndexOf('["') : path.lastIndexOf('[');
    return open > 0 ? path.slice(0, open) : '';
  }
  const dot = path.lastIndexOf('.');
  return dot > 0 ? path.slice(0, dot) : '';
}
