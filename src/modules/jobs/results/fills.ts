import { open, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { ValidationError } from '../../../lib/errors.js';
import { countFields, csvField, headerColumns, parseCell, readLines, splitCsvLine, stripBom, type RawLine } from './csv.js';
import { openResultStream, ResultFileError, resultFileError } from './result-files.js';

/**
 * fills.csv: an unnamed index column, then columns read by header name (v7.4 and v7.5+ differ).
 * Pages come from a byte-offset index of the good rows, built in one streaming pass and cached per
 * (path, mtime, size): page 900 of a 100k-row file is one or a few positional reads.
 */

export const FILLS_FILE = 'fills.csv';
/** Columns kept as text even when a value looks numeric (a coin named 1000 stays "1000"). */
const TEXT_COLUMNS = new Set(['coin', 'symbol', 'type']);
export const MAX_PAGE_LIMIT = 5000;
const CACHED_INDEXES = 8;
/** Rows further apart than this are read separately, so a huge bad line between them is never read. */
const MAX_READ_GAP = 1 << 16;

export type FillRow = Record<string, string | number | null>;

export interface FillsIndex {
  columns: string[];
  /** Field positions of `columns` in a record (the index column is skipped). */
  indices: number[];
  fieldCount: number;
  count: number;
  /** Rows skipped: wrong field count, an open quote, or longer than MAX_LINE_BYTES. */
  malformed: number;
  starts: Float64Array;
  lengths: Uint32Array;
}

const cache = new Map<string, Promise<FillsIndex>>();

/** The index of `<dir>/fills.csv` (cached while the file's mtime and size stay the same). */
export async function fillsIndex(dir: string): Promise<FillsIndex> {
  const path = join(dir, FILLS_FILE);
  const info = await stat(path).catch((error: unknown) => {
    throw resultFileError(path, error);
  });
  const key = `${path}\0${info.mtimeMs}\0${info.size}`;
  let index = cache.get(key);
  if (index) {
    cache.delete(key); // re-inserted below: most recently used last
  } else {
    index = buildIndex(path);
    index.catch(() => cache.delete(key));
  }
  cache.set(key, index);
  for (const old of cache.keys()) {
    if (cache.size <= CACHED_INDEXES) break;
    cache.delete(old);
  }
  return index;
}

async function buildIndex(path: string): Promise<FillsIndex> {
  let header: { columns: string[]; indices: number[]; fieldCount: number } | null = null;
  let starts = new Float64Array(1024);
  let lengths = new Uint32Array(1024);
  let count = 0;
  let malformed = 0;
  try {
    for await (const batch of readLines(openResultStream(path))) {
      for (const line of batch) {
        if (!header) {
          header = parseHeader(line.text, line.tooLong);
          continue;
        }
        if (!line.tooLong && line.text.trim() === '') continue;
        if (line.tooLong || countFields(line.text) !== header.fieldCount) {
          malformed++;
          continue;
        }
        if (count === starts.length) {
          starts = grow(starts, new Float64Array(count * 2));
          lengths = grow(lengths, new Uint32Array(count * 2));
        }
        starts[count] = line.start;
        lengths[count] = line.bytes;
        count++;
      }
    }
  } catch (error) {
    throw resultFileError(path, error);
  }
  return { ...(header ?? { columns: [], indices: [], fieldCount: 0 }), count, malformed, starts, lengths };
}

function grow<T extends Float64Array | Uint32Array>(from: T, to: T): T {
  to.set(from);
  return to;
}

function parseHeader(text: string, tooLong: boolean): { columns: string[]; indices: number[]; fieldCount: number } {
  const fields = tooLong ? null : splitCsvLine(stripBom(text));
  if (!fields) throw new ResultFileError(FILLS_FILE, 'corrupt', tooLong ? 'the header line is too long' : 'the header line has an open quote');
  return { ...headerColumns(fields), fieldCount: fields.length };
}

/** One record as an object keyed by column name, numbers parsed; null when malformed. */
export function fillRow(index: Pick<FillsIndex, 'columns' | 'indices' | 'fieldCount'>, text: string): FillRow | null {
  const fields = splitCsvLine(text);
  if (!fields || fields.length !== index.fieldCount) return null;
  const row: FillRow = {};
  index.columns.forEach((name, i) => {
    const raw = fields[index.indices[i]!]!;
    row[name] = TEXT_COLUMNS.has(name) ? raw || null : parseCell(raw);
  });
  return row;
}

/** Page `page` (1-based) of `limit` fills; rows past the end give an empty page. */
export async function readFillsPage(dir: string, page: number, limit: number): Promise<{ rows: FillRow[]; total: number; columns: string[] }> {
  checkPage(page, limit);
  const index = await fillsIndex(dir);
  const first = (page - 1) * limit;
  const last = Math.min(index.count, first + limit); // exclusive
  const ids: number[] = [];
  for (let i = first; i < last; i++) ids.push(i);
  return { rows: await readFillRows(dir, index, ids), total: index.count, columns: index.columns };
}

export function checkPage(page: number, limit: number): void {
  if (!Number.isSafeInteger(page) || page < 1) throw ValidationError.field('page', 'must be an integer >= 1');
  if (!Number.isSafeInteger(limit) || limit < 1 || limit > MAX_PAGE_LIMIT) throw ValidationError.field('limit', `must be an integer from 1 to ${MAX_PAGE_LIMIT}`);
}

/**
 * The good rows numbered `ids` (0-based, any order), in that order. Rows close together in the
 * file are read with one positional read; far apart ones separately.
 */
export async function readFillRows(dir: string, index: FillsIndex, ids: readonly number[]): Promise<FillRow[]> {
  const out: FillRow[] = new Array<FillRow>(ids.length);
  if (ids.length === 0) return out;
  const order = ids.map((_, k) => k).sort((a, b) => index.starts[ids[a]!]! - index.starts[ids[b]!]!);
  const path = join(dir, FILLS_FILE);
  try {
    const handle = await open(path, 'r');
    try {
      for (let runStart = 0; runStart < order.length; ) {
        const startOf = (k: number) => index.starts[ids[order[k]!]!]!;
        const endOf = (k: number) => startOf(k) + index.lengths[ids[order[k]!]!]!;
        let runEnd = runStart + 1;
        while (runEnd < order.length && startOf(runEnd) - endOf(runEnd - 1) <= MAX_READ_GAP) runEnd++;
        const from = startOf(runStart);
        const buffer = Buffer.alloc(endOf(runEnd - 1) - from); // rows do not overlap: the last starting ends last
        const { bytesRead } = await handle.read(buffer, 0, buffer.length, from);
        for (let k = runStart; k < runEnd; k++) {
          const offset = startOf(k) - from;
          const length = index.lengths[ids[order[k]!]!]!;
          if (offset + length > bytesRead) throw new ResultFileError(FILLS_FILE, 'corrupt', 'the file shrank while it was read');
          const row = fillRow(index, buffer.toString('utf8', offset, offset + length).replace(/\r$/, ''));
          if (!row) throw new ResultFileError(FILLS_FILE, 'corrupt', 'the file changed while it was read');
          out[order[k]!] = row;
        }
        runStart = runEnd;
      }
    } finally {
      await handle.close();
    }
  } catch (error) {
    throw resultFileError(path, error);
  }
  return out;
}

/**
 * All fills, streamed, for export routes: CSV (named columns only, malformed rows dropped) or JSON
 * lines (one object per fill, numbers parsed). Resolves once the file is open and its header read,
 * so a missing or unreadable file is an error before the first byte is sent.
 */
export async function exportFills(dir: string, format: 'csv' | 'json'): Promise<Readable> {
  const path = join(dir, FILLS_FILE);
  const lines = readLines(openResultStream(path));
  let first: IteratorResult<RawLine[]>;
  try {
    first = await lines.next();
  } catch (error) {
    throw resultFileError(path, error);
  }
  const firstBatch = first.done ? [] : first.value;
  const headerLine = firstBatch[0];
  // An empty file is an export of no fills (no header either), as in readFillsPage.
  const header = headerLine ? parseHeader(headerLine.text, headerLine.tooLong) : { columns: [], indices: [], fieldCount: 0 };

  async function* render(): AsyncGenerator<string> {
    if (format === 'csv' && header.columns.length > 0) yield `${header.columns.map(csvField).join(',')}\n`;
    let batch = firstBatch.slice(1);
    for (;;) {
      let out = '';
      for (const line of batch) {
        if (line.tooLong) continue;
        const fields = splitCsvLine(line.text);
        if (!fields || fields.length !== header.fieldCount) continue;
        if (format === 'csv') out += `${header.indices.map((i) => csvField(fields[i]!)).join(',')}\n`;
        else out += `${JSON.stringify(fillRow(header, line.text))}\n`;
      }
      if (out) yield out;
      let next;
      try {
        next = await lines.next();
      } catch (error) {
        throw resultFileError(path, error);
      }
      if (next.done) return;
      batch = next.value;
    }
  }
  const stream = Readable.from(render(), { objectMode: false });
  // Closes the file also when the stream is destroyed before render() ever ran.
  stream.once('close', () => void lines.return(undefined).catch(() => undefined));
  return stream;
}
