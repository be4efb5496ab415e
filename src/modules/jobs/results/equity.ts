import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { detach, headerColumns, parseNumber, pickFields, readLines, splitCsvLine, stripBom } from './csv.js';
import { MinMaxDownsampler } from './downsample.js';
import { openResultStream, ResultFileError, resultFileError } from './result-files.js';

/**
 * balance_and_equity: a datetime index, then `usd_total_balance`, `usd_total_equity` (and cash /
 * btc twins) from v7.5, gzipped; before v7.5 a plain .csv with `balance, equity`. Streamed and
 * downsampled on the way (min/max of equity per bucket), never held whole.
 */

export const EQUITY_FILES = ['balance_and_equity.csv.gz', 'balance_and_equity.csv'] as const;
export const DEFAULT_MAX_POINTS = 2000;

export interface EquityPoint {
  /** ISO 8601 (UTC) when the index is a date or epoch; otherwise the index as written. */
  t: string;
  balance: number | null;
  equity: number | null;
}

interface RawPoint {
  t: string;
  balance: string;
  equity: number | null;
}

export interface EquityCurve {
  points: EquityPoint[];
  /** Good data rows in the file (before downsampling). */
  sourceRows: number;
  /** Rows skipped: wrong field count, an open quote, or too long. */
  malformedRows: number;
  /** The file's named columns, after the index. */
  columns: string[];
  file: (typeof EQUITY_FILES)[number];
}

/** The equity file of a result dir: the .gz when both exist; missing names the v7.5+ file. */
export async function findEquityFile(dir: string): Promise<(typeof EQUITY_FILES)[number]> {
  for (const name of EQUITY_FILES) {
    const found = await stat(join(dir, name)).then(
      (info) => info.isFile(),
      () => false,
    );
    if (found) return name;
  }
  throw new ResultFileError(EQUITY_FILES[0], 'missing', 'no such file');
}

export async function readEquityCurve(dir: string, maxPoints = DEFAULT_MAX_POINTS): Promise<EquityCurve> {
  const file = await findEquityFile(dir);
  const path = join(dir, file);
  const sampler = new MinMaxDownsampler<RawPoint>(
    maxPoints,
    (point) => point.equity,
    (point) => ({ t: detach(point.t), balance: detach(point.balance), equity: point.equity }),
  );
  let columns: string[] | null = null;
  let balanceAt = -1;
  let equityAt = -1;
  let fieldCount = 0;
  let positions: number[] = [];
  let malformedRows = 0;
  try {
    for await (const batch of readLines(openResultStream(path))) {
      for (const line of batch) {
        if (!columns) {
          const fields = line.tooLong ? null : splitCsvLine(stripBom(line.text));
          if (!fields) throw new ResultFileError(file, 'corrupt', 'no header line');
          const header = headerColumns(fields);
          const named = (name: string) => header.indices[header.columns.indexOf(name)] ?? -1;
          balanceAt = named('usd_total_balance') >= 0 ? named('usd_total_balance') : named('balance');
          equityAt = named('usd_total_equity') >= 0 ? named('usd_total_equity') : named('equity');
          if (equityAt < 0) throw new ResultFileError(file, 'corrupt', `no usd_total_equity or equity column (columns: ${header.columns.join(', ').slice(0, 200)})`);
          columns = header.columns;
          fieldCount = fields.length;
          positions = [0, balanceAt, equityAt];
          continue;
        }
        if (!line.tooLong && line.text.trim() === '') continue;
        const picked = line.tooLong ? null : pickFields(line.text, positions);
        if (!picked || picked.count !== fieldCount) {
          malformedRows++;
          continue;
        }
        const [t, balance, equity] = picked.values;
        // balance stays text until its row is kept: most rows are dropped by the downsampling.
        sampler.push({ t: t!, balance: balance ?? '', equity: parseNumber(equity) });
      }
    }
  } catch (error) {
    throw resultFileError(path, error);
  }
  if (!columns) throw new ResultFileError(file, 'corrupt', 'empty file (no header line)');
  const points = sampler.result().map((point) => ({ t: isoTime(point.t), balance: parseNumber(point.balance), equity: point.equity }));
  return { points, sourceRows: sampler.count, malformedRows, columns, file };
}

const DATE_TIME = /^(\d{4}-\d{2}-\d{2})(?:[ T](\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?))?(Z|[+-]\d{2}:?\d{2})?$/;

/**
 * pandas writes the index as `2024-01-01 00:00:00` (naive UTC in Passivbot), maybe with an offset
 * or fractions; an epoch index is taken as ms (>= 1e11) or s. Anything else is returned as is.
 */
export function isoTime(raw: string): string {
  const text = raw.trim();
  const match = DATE_TIME.exec(text);
  let ms = Number.NaN;
  if (match) {
    const zone = (match[3] ?? 'Z').replace(/^([+-]\d{2})(\d{2})$/, '$1:$2');
    ms = Date.parse(`${match[1]}T${match[2] ?? '00:00:00'}${zone}`);
  } else if (/^\d+(?:\.\d+)?$/.test(text)) {
    const n = Number(text);
    ms = n >= 1e11 ? n : n >= 1e9 ? n * 1000 : Number.NaN;
  }
  return Number.isFinite(ms) && Math.abs(ms) <= 8.64e15 ? new Date(ms).toISOString() : raw;
}
