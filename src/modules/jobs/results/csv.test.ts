import { describe, expect, it } from 'vitest';
import { countFields, csvField, headerColumns, parseCell, parseNumber, pickFields, readLines, splitCsvLine, type RawLine } from './csv.js';

async function collect(chunks: (Buffer | string)[], maxBytes?: number): Promise<RawLine[]> {
  async function* source() {
    for (const chunk of chunks) yield typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
  }
  const out: RawLine[] = [];
  for await (const batch of readLines(source(), maxBytes)) out.push(...batch);
  return out;
}

describe('readLines', () => {
  it('splits LF and CRLF lines with byte offsets, a last line without newline included', async () => {
    const text = 'a,b\r\nc,d\n\nlast';
    const lines = await collect([text]);
    expect(lines.map((l) => l.text)).toEqual(['a,b', 'c,d', '', 'last']);
    const bytes = Buffer.from(text);
    for (const line of lines) expect(bytes.toString('utf8', line.start, line.start + line.bytes).replace(/\r$/, '')).toBe(line.text);
  });

  it('gives the same lines and offsets whatever the chunking, also for multi-byte UTF-8', async () => {
    const text = 'h1,h2\nÄpfel,"x, y"\r\n€,1\n\n1000PEPE,2';
    const whole = await collect([text]);
    const bytes = Buffer.from(text);
    const oneByte = await collect([...bytes].map((b) => Buffer.from([b])));
    expect(oneByte).toEqual(whole);
    expect(whole[1]).toMatchObject({ text: 'Äpfel,"x, y"', start: 6 });
    expect(whole[2]!.start).toBe(Buffer.byteLength('h1,h2\nÄpfel,"x, y"\r\n'));
  });

  it('reports an over-long line without holding it, and keeps the offsets of the next lines', async () => {
    const big = 'x'.repeat(5000);
    const chunks = ['ok\n', big.slice(0, 1000), big.slice(1000), '\nafter\n'];
    const lines = await collect(chunks, 1024);
    expect(lines.map((l) => [l.text, l.tooLong])).toEqual([
      ['ok', false],
      ['', true],
      ['after', false],
    ]);
    expect(lines[1]!.bytes).toBe(5000);
    expect(lines[2]!.start).toBe(3 + 5000 + 1);
  });

  it('yields nothing for an empty source', async () => {
    expect(await collect([])).toEqual([]);
    expect(await collect([''])).toEqual([]);
  });
});

describe('splitCsvLine and friends', () => {
  it('splits plain and quoted fields (RFC 4180)', () => {
    expect(splitCsvLine('a,b,,c')).toEqual(['a', 'b', '', 'c']);
    expect(splitCsvLine('1,"x, y","say ""hi""",')).toEqual(['1', 'x, y', 'say "hi"', '']);
    expect(splitCsvLine('"",""')).toEqual(['', '']);
    expect(splitCsvLine('')).toEqual(['']);
    expect(splitCsvLine('a,"open')).toBeNull();
  });

  it('counts and picks fields like a full split', () => {
    for (const line of ['a,b,,c', '1,"x, y",3', ',', 'single']) {
      const fields = splitCsvLine(line)!;
      expect(countFields(line)).toBe(fields.length);
      expect(pickFields(line, [0, fields.length - 1, 99, -1])).toEqual({ count: fields.length, values: [fields[0], fields.at(-1), undefined, undefined] });
    }
    expect(countFields('"open')).toBeNull();
  });

  it('quotes a field for output only when needed', () => {
    expect(csvField('plain')).toBe('plain');
    expect(csvField('a,b')).toBe('"a,b"');
    expect(csvField('say "hi"')).toBe('"say ""hi"""');
  });

  it('parses cells: numbers, null for empty/NaN/inf, text otherwise', () => {
    expect(parseCell('1.5')).toBe(1.5);
    expect(parseCell('-3e-7')).toBe(-3e-7);
    expect(parseCell(' 42 ')).toBe(42);
    for (const empty of ['', '  ', 'nan', 'NaN', 'inf', '-inf', 'Infinity', '-Infinity', 'None', 'null']) expect(parseCell(empty)).toBeNull();
    expect(parseCell('entry_grid_normal_long')).toBe('entry_grid_normal_long');
    expect(parseCell('1000PEPE')).toBe('1000PEPE');
    expect(parseCell('-abc')).toBe('-abc');
    expect(parseNumber('2.5')).toBe(2.5);
    expect(parseNumber('abc')).toBeNull();
    expect(parseNumber('  ')).toBeNull();
    expect(parseNumber('0')).toBe(0);
    expect(parseNumber('inf')).toBeNull();
    expect(parseNumber(undefined)).toBeNull();
  });

  it('names header columns: the unnamed index dropped, blanks and repeats renamed', () => {
    expect(headerColumns(['', 'timestamp', 'coin'])).toEqual({ columns: ['timestamp', 'coin'], indices: [1, 2] });
    expect(headerColumns(['Unnamed: 0', 'a'])).toEqual({ columns: ['a'], indices: [1] });
    expect(headerColumns(['t', '', 'a', 'a'])).toEqual({ columns: ['t', 'column_1', 'a', 'a_2'], indices: [0, 1, 2, 3] });
  });
});
