import { createReadStream, readFileSync, statSync } from 'node:fs';
import { basename } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream';
import { createGunzip, gunzipSync } from 'node:zlib';
import { AppError } from '../../../lib/errors.js';

/**
 * A result file that is missing or unreadable. The message names the file (its base name, not the
 * host path) and says what is wrong; the cause keeps the system error. A missing file is
 * NOT_FOUND; a corrupt one (truncated gzip, bad JSON, no usable header) is CONFLICT: the run's
 * output is not in the state the request needs, and nothing the client sends can fix it.
 */
export class ResultFileError extends AppError {
  override name = 'ResultFileError';
  constructor(
    readonly file: string,
    readonly problem: 'missing' | 'corrupt',
    reason: string,
    options?: ErrorOptions,
  ) {
    super(problem === 'missing' ? 'NOT_FOUND' : 'CONFLICT', `result file ${file} ${problem === 'missing' ? 'is missing' : `is unreadable: ${reason}`}`, { file, problem }, options);
  }
}

const errnoCode = (error: unknown): string | undefined =>
  error instanceof Error && 'code' in error && typeof error.code === 'string' ? error.code : undefined;

/** Turns an fs/zlib/parse error about `path` into a ResultFileError (ENOENT/ENOTDIR: missing). */
export function resultFileError(path: string, error: unknown): ResultFileError {
  if (error instanceof ResultFileError) return error;
  const code = errnoCode(error);
  const name = basename(path);
  if (code === 'ENOENT' || code === 'ENOTDIR') return new ResultFileError(name, 'missing', 'no such file', { cause: error });
  const message = error instanceof Error ? error.message : String(error);
  const reason = code === 'Z_BUF_ERROR' ? `truncated gzip (${message})` : code?.startsWith('Z_') ? `not valid gzip (${message})` : message;
  return new ResultFileError(name, 'corrupt', reason, { cause: error });
}

/**
 * Files up to this size are read (and gunzipped) in one synchronous call: a short run's results
 * are a few KiB, and a stream's open, reads, close and zlib calls through the thread pool cost far
 * more than the read. Larger ones are streamed, never held whole.
 */
export const SMALL_FILE_BYTES = 64 << 10;

/** A file's bytes, gunzipped when the name ends in .gz; errors (a missing file too) come out of the iteration. */
export async function* openResultStream(path: string): AsyncGenerator<Buffer> {
  const { size } = statSync(path);
  if (size <= SMALL_FILE_BYTES) {
    const bytes = readFileSync(path);
    yield path.endsWith('.gz') ? gunzipSync(bytes) : bytes;
    return;
  }
  yield* streamed(path) as AsyncIterable<Buffer>;
}

function streamed(path: string): Readable {
  const source = createReadStream(path, { highWaterMark: 1 << 16 });
  if (!path.endsWith('.gz')) return source;
  // pipeline() destroys the gunzip stream with the source's error (or zlib's own, e.g. a truncated
  // file's "unexpected end of file"), so a for-await over it throws instead of hanging.
  return pipeline(source, createGunzip({ chunkSize: 1 << 16 }), () => undefined);
}

/** Python's json.dump writes NaN, Infinity and -Infinity, which JSON.parse rejects: they become null. */
const STRING_OR_NON_FINITE = /"(?:[^"\\]|\\.)*"|-?\bInfinity\b|\bNaN\b/g;

export function parsePythonJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (first) {
    if (!/NaN|Infinity/.test(text)) throw first;
    return JSON.parse(text.replace(STRING_OR_NON_FINITE, (match) => (match.startsWith('"') ? match : 'null')));
  }
}

/** Default size cap for a JSON result file (analysis.json is ~5 KiB, a pareto entry ~25 KiB). */
export const MAX_JSON_BYTES = 16 << 20;

/** Reads a JSON object file; missing, too large, not JSON or not an object is a ResultFileError. */
export async function readJsonObject(path: string, maxBytes = MAX_JSON_BYTES): Promise<Record<string, unknown>> {
  // Read synchronously: parsing the text blocks longer than reading it, whatever its size.
  let text: string;
  try {
    const { size } = statSync(path);
    if (size > maxBytes) throw new ResultFileError(basename(path), 'corrupt', `larger than ${maxBytes} bytes`);
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw resultFileError(path, error);
  }
  let value: unknown;
  try {
    value = parsePythonJson(text);
  } catch (error) {
    throw new ResultFileError(basename(path), 'corrupt', `not JSON (${error instanceof Error ? error.message : String(error)})`, { cause: error });
  }
  if (!isRecord(value)) throw new ResultFileError(basename(path), 'corrupt', 'not a JSON object');
  return value;
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function finiteOrNull(value: unknown): number | null {
  return typeof value === 'number' && Number.isFinite(value) ? value : null;
}
