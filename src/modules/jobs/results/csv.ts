import { isAscii } from 'node:buffer';

/**
 * CSV reading for Passivbot's result files (pandas `to_csv` output). One record per line: pandas
 * only emits a multi-line record for a field with a newline inside, which Passivbot's numeric and
 * coin/type columns never hold, and one record per line is what lets fills.csv be indexed by byte
 * offset. Lines come in batches (one per input chunk), so a 500k-row file costs one await per
 * ~64 KiB, not per row, and the event loop gets a turn between chunks.
 */

/** A line longer than this is reported as `tooLong` and never held in memory whole. */
export const MAX_LINE_BYTES = 1 << 20;

export interface RawLine {
  /** The line without its `\n` / `\r\n`; '' when `tooLong`. */
  text: string;
  /** Byte offset of the line's first byte in the source. */
  start: number;
  /** Byte length without the `\n` (a `\r` before it is counted, and stripped from `text`). */
  bytes: number;
  tooLong: boolean;
}

/** Splits a byte stream into lines with their byte offsets; a last line without `\n` counts too. */
export async function* readLines(source: AsyncIterable<Buffer | string>, maxBytes = MAX_LINE_BYTES): AsyncGenerator<RawLine[]> {
  let carry: Buffer[] = [];
  let carryBytes = 0;
  let lineStart = 0;
  let lineBytes = 0;
  let tooLong = false;

  const finish = (tail: Buffer | null): RawLine => {
    let text = '';
    if (!tooLong) {
      const parts = tail ? [...carry, tail] : carry;
      text = parts.length === 1 ? parts[0]!.toString('utf8') : Buffer.concat(parts).toString('utf8');
      if (text.endsWith('\r')) text = text.slice(0, -1);
    }
    const line: RawLine = { text, start: lineStart, bytes: lineBytes, tooLong };
    lineStart += lineBytes + 1;
    lineBytes = 0;
    carry = [];
    carryBytes = 0;
    tooLong = false;
    return line;
  };

  for await (const input of source) {
    const chunk = typeof input === 'string' ? Buffer.from(input) : input;
    // One decode per chunk and string slices per line: far cheaper than a decode per line. Only
    // for ASCII chunks, where a char offset is a byte offset (Passivbot's CSVs are ASCII).
    const text = isAscii(chunk) ? chunk.toString('latin1') : null;
    const batch: RawLine[] = [];
    let pos = 0;
    while (pos < chunk.length) {
      const newline = chunk.indexOf(10, pos);
      const end = newline === -1 ? chunk.length : newline;
      const piece = end - pos;
      lineBytes += piece;
      if (!tooLong && carryBytes + piece > maxBytes) {
        tooLong = true;
        carry = [];
        carryBytes = 0;
      }
      if (newline === -1) {
        // Copied: the source may reuse its buffer for the next chunk.
        if (!tooLong && piece > 0) {
          carry.push(Buffer.from(chunk.subarray(pos, end)));
          carryBytes += piece;
        }
        break;
      }
      if (text !== null && carry.length === 0 && !tooLong) {
        const line = end > pos && text.charCodeAt(end - 1) === 13 ? text.slice(pos, end - 1) : text.slice(pos, end);
        batch.push({ text: line, start: lineStart, bytes: lineBytes, tooLong: false });
        lineStart += lineBytes + 1;
        lineBytes = 0;
      } else {
        batch.push(finish(tooLong ? null : chunk.subarray(pos, end)));
      }
      pos = newline + 1;
    }
    if (batch.length > 0) yield batch;
  }
  if (lineBytes > 0) yield [finish(null)];
}

/** Splits one CSV record (RFC 4180 quoting); null when a quote is left open. */
export function splitCsvLine(line: string): string[] | null {
  if (!line.includes('"')) return line.split(',');
  const fields: string[] = [];
  let field = '';
  let i = 0;
  for (;;) {
    if (line.charCodeAt(i) === 34 /* " */) {
      i++;
      for (;;) {
        const quote = line.indexOf('"', i);
        if (quote === -1) return null;
        field += line.slice(i, quote);
        if (line.charCodeAt(quote + 1) === 34) {
          field += '"';
          i = quote + 2;
        } else {
          i = quote + 1;
          break;
        }
      }
      // Anything between the closing quote and the next comma is kept, as lenient readers do.
      const comma = line.indexOf(',', i);
      field += line.slice(i, comma === -1 ? line.length : comma);
      i = comma === -1 ? line.length : comma;
    } else {
      const comma = line.indexOf(',', i);
      field = line.slice(i, comma === -1 ? line.length : comma);
      i = comma === -1 ? line.length : comma;
    }
    fields.push(field);
    field = '';
    if (i >= line.length) return fields;
    i++; // the comma
    if (i === line.length) {
      fields.push('');
      return fields;
    }
  }
}

/** The number of fields of a record; null when a quote is left open. */
export function countFields(line: string): number | null {
  if (line.includes('"')) return splitCsvLine(line)?.length ?? null;
  let count = 1;
  for (let i = line.indexOf(','); i !== -1; i = line.indexOf(',', i + 1)) count++;
  return count;
}

/**
 * The fields at `positions` of a record and its field count, without splitting the whole line;
 * null when a quote is left open. Positions past the end (or -1) give undefined.
 */
export function pickFields(line: string, positions: readonly number[]): { count: number; values: (string | undefined)[] } | null {
  if (line.includes('"')) {
    const fields = splitCsvLine(line);
    return fields && { count: fields.length, values: positions.map((p) => fields[p]) };
  }
  const values: (string | undefined)[] = new Array<string | undefined>(positions.length);
  let count = 0;
  let start = 0;
  for (;;) {
    const comma = line.indexOf(',', start);
    for (let k = 0; k < positions.length; k++) {
      if (positions[k] === count) values[k] = line.slice(start, comma === -1 ? line.length : comma);
    }
    count++;
    if (comma === -1) return { count, values };
    start = comma + 1;
  }
}

/** Quotes a field for CSV output when it needs it. */
export function csvField(value: string): string {
  return /[",\r\n]/.test(value) ? `"${value.replaceAll('"', '""')}"` : value;
}

/** Cells that mean "no value": pandas writes NaN as '', numpy prints nan/inf, Python None. */
const NULL_WORDS = new Set(['nan', '-nan', '+nan', 'inf', '-inf', '+inf', 'infinity', '-infinity', '+infinity', 'none', 'null', 'nat']);

/** A numeric cell as a finite number; '', NaN and ±inf as null; anything else stays text. */
export function parseCell(raw: string): number | string | null {
  let text = raw;
  if (text.length > 0 && (text.charCodeAt(0) <= 32 || text.charCodeAt(text.length - 1) <= 32)) text = text.trim();
  if (text === '') return null;
  const c = text.charCodeAt(0);
  if ((c >= 48 && c <= 57) || c === 45 || c === 43 || c === 46) {
    const n = Number(text);
    if (Number.isFinite(n)) return n;
  }
  if (text.length <= 9 && NULL_WORDS.has(text.toLowerCase())) return null;
  return text;
}

/** A cell that must be a number: text that is not one becomes null. */
export function parseNumber(raw: string | undefined): number | null {
  if (raw === undefined || raw === '') return null;
  const n = Number(raw); // NaN for text, nan and inf; ±Infinity for "Infinity"
  if (!Number.isFinite(n)) return null;
  return n === 0 && raw.trim() === '' ? null : n; // Number('  ') is 0
}

/**
 * Column names from a header record: the unnamed leading index column (pandas writes '' or,
 * re-saved, 'Unnamed: 0') is dropped; blank names become `column_<i>`, repeats get `_<n>`.
 */
export function headerColumns(fields: readonly string[]): { columns: string[]; indices: number[] } {
  const columns: string[] = [];
  const indices: number[] = [];
  const seen = new Map<string, number>();
  fields.forEach((raw, i) => {
    let name = detach(raw.trim());
    if (i === 0 && (name === '' || name === 'Unnamed: 0')) return;
    if (name === '') name = `column_${i}`;
    const count = (seen.get(name) ?? 0) + 1;
    seen.set(name, count);
    columns.push(count === 1 ? name : `${name}_${count}`);
    indices.push(i);
  });
  return { columns, indices };
}

/**
 * A copy of `text` that does not keep its source alive. Lines are slices of one decoded 64 KiB
 * chunk, and V8 keeps the whole chunk for as long as any slice of it lives: whatever is held past
 * the chunk (header names, downsampled points) is copied.
 */
export function detach(text: string): string {
  return Buffer.from(text, 'utf8').toString('utf8');
}

/** Strips a UTF-8 byte order mark from a header line. */
export function stripBom(text: string): string {
  return text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
}
