import { describe, expect, it } from 'vitest';
import { MinMaxDownsampler } from './downsample.js';

interface Row {
  i: number;
  v: number | null;
}

function sample(values: (number | null)[], maxPoints: number): Row[] {
  const sampler = new MinMaxDownsampler<Row>(maxPoints, (row) => row.v);
  values.forEach((v, i) => sampler.push({ i, v }));
  expect(sampler.count).toBe(values.length);
  return sampler.result();
}

describe('MinMaxDownsampler', () => {
  it('keeps every row when there are at most maxPoints', () => {
    const values = Array.from({ length: 100 }, (_, i) => Math.sin(i));
    expect(sample(values, 100).map((r) => r.i)).toEqual(values.map((_, i) => i));
    expect(sample([], 10)).toEqual([]);
  });

  it('reduces to at most maxPoints, in row order, keeping first, last, every extreme', () => {
    const n = 100_003;
    const values = Array.from({ length: n }, (_, i) => 1000 + 50 * Math.sin(i / 5000) + ((i * 7919) % 13));
    values[31_337] = 5000; // a one-row spike
    values[77_777] = -5000; // a one-row crash
    const rows = sample(values, 2000);
    expect(rows.length).toBeLessThanOrEqual(2000);
    expect(rows.length).toBeGreaterThan(900);
    const indices = rows.map((r) => r.i);
    expect(indices).toEqual([...indices].sort((a, b) => a - b));
    expect(new Set(indices).size).toBe(indices.length);
    expect(indices[0]).toBe(0);
    expect(indices.at(-1)).toBe(n - 1);
    expect(indices).toContain(31_337);
    expect(indices).toContain(77_777);
  });

  it('equals bucketing with the final bucket size from the start (the pairwise merges are exact)', () => {
    const n = 10_000;
    const values = Array.from({ length: n }, (_, i) => Math.sin(i * 0.37) * 100 + (i % 17));
    const rows = sample(values, 100);
    // 49 buckets at most; 10,000 rows / 49 -> bucket size 256 (a power of two).
    const size = 256;
    const expected = new Set<number>([0, n - 1]);
    for (let start = 0; start < n; start += size) {
      let lo = start;
      let hi = start;
      for (let i = start; i < Math.min(n, start + size); i++) {
        if (values[i]! < values[lo]!) lo = i;
        if (values[i]! > values[hi]!) hi = i;
      }
      expected.add(lo).add(hi);
    }
    expect(rows.map((r) => r.i)).toEqual([...expected].sort((a, b) => a - b));
  });

  it('skips null values for the extremes but still returns first and last', () => {
    const values: (number | null)[] = Array.from({ length: 1000 }, (_, i) => (i % 2 ? i : null));
    values[0] = null;
    const rows = sample(values, 10);
    expect(rows.length).toBeLessThanOrEqual(10);
    expect(rows[0]!.i).toBe(0);
    expect(rows.at(-1)!.i).toBe(999);
    expect(rows.slice(1, -1).every((r) => r.v !== null)).toBe(true);
  });

  it('retains (copies) only rows it keeps, O(maxPoints log n) times, also for a curve that always rises', () => {
    let retained = 0;
    const sampler = new MinMaxDownsampler<Row>(
      200,
      (row) => row.v,
      (row) => {
        retained++;
        return { ...row };
      },
    );
    for (let i = 0; i < 100_000; i++) sampler.push({ i, v: i });
    const rows = sampler.result();
    expect(rows.length).toBeLessThanOrEqual(200);
    // each pairwise merge halves the buckets and later ones are settled anew: ~2 * 99 * log2(100000 / 200)
    expect(retained).toBeLessThan(2 * 99 * (1 + Math.log2(100_000 / 200)));
  });

  it('treats a tiny budget as 4 points', () => {
    expect(sample(Array.from({ length: 50 }, (_, i) => i), 1).length).toBeLessThanOrEqual(4);
  });
});
