/**
 * Streaming min/max downsampling: rows go into equal buckets of 2^k consecutive rows, and each
 * bucket keeps its lowest and highest row (by `value`), in row order, so every peak and every
 * drawdown trough of the curve survives. The total row count is not known up front (the equity
 * file is gzipped), so the bucket size starts at 1 and doubles, merging neighbouring buckets
 * pairwise, whenever the buckets would exceed the budget; memory stays O(maxPoints) and the result
 * equals bucketing with the final size from the start. LTTB would need the row count first (a
 * second pass over the gzip) and can drop a one-row spike that min/max keeps.
 *
 * Output: every row when there are at most `maxPoints`; otherwise the first row, the per-bucket
 * min/max rows and the last row: between about maxPoints/2 and maxPoints points.
 */
export class MinMaxDownsampler<T> {
  private readonly maxPoints: number;
  private readonly maxBuckets: number;
  private pending: T[] | null = [];
  private bucketSize = 1;
  private readonly buckets: (Bucket<T> | undefined)[] = [];
  private rows = 0;
  private first: T | null = null;
  private last: T | null = null;

  /**
   * @param retain called once for each row the sampler keeps past its bucket (and for the first
   * row), e.g. to copy strings that would otherwise keep a whole input chunk alive.
   */
  constructor(
    maxPoints: number,
    private readonly value: (row: T) => number | null,
    private readonly retain: (row: T) => T = (row) => row,
  ) {
    this.maxPoints = Math.max(4, Math.floor(maxPoints));
    this.maxBuckets = Math.floor((this.maxPoints - 2) / 2);
  }

  push(row: T): void {
    const index = this.rows++;
    this.first ??= this.retain(row);
    this.last = row;
    if (this.pending) {
      this.pending.push(row);
      if (this.pending.length <= this.maxPoints) return;
      const rows = this.pending;
      this.pending = null;
      this.bucketSize = 2 ** Math.ceil(Math.log2(rows.length / this.maxBuckets));
      rows.forEach((r, i) => this.add(r, i));
      return;
    }
    this.add(row, index);
  }

  private add(row: T, index: number): void {
    let slot = Math.floor(index / this.bucketSize);
    if (slot >= this.maxBuckets) {
      this.merge();
      slot = Math.floor(index / this.bucketSize);
    }
    const v = this.value(row);
    if (v === null || !Number.isFinite(v)) return;
    let bucket = this.buckets[slot];
    if (!bucket) {
      const previous = this.buckets[slot - 1];
      if (previous) this.settle(previous);
      bucket = { min: { row, index, v, retained: false }, max: { row, index, v, retained: false } };
      this.buckets[slot] = bucket;
      return;
    }
    if (v < bucket.min.v) bucket.min = { row, index, v, retained: false };
    if (v > bucket.max.v) bucket.max = { row, index, v, retained: false };
  }

  /** A bucket the rows have moved past: its picks are final (until a merge drops some). */
  private settle(bucket: Bucket<T>): void {
    for (const pick of [bucket.min, bucket.max]) {
      if (pick.retained) continue;
      pick.row = this.retain(pick.row);
      pick.retained = true;
    }
  }

  /** Doubles the bucket size: bucket j of the new layout = old buckets 2j and 2j+1. */
  private merge(): void {
    const merged: (Bucket<T> | undefined)[] = [];
    for (let j = 0; j * 2 < this.buckets.length; j++) {
      const a = this.buckets[j * 2];
      const b = this.buckets[j * 2 + 1];
      if (!a || !b) {
        const only = a ?? b;
        if (only) merged[j] = only;
        continue;
      }
      merged[j] = { min: b.min.v < a.min.v ? b.min : a.min, max: b.max.v > a.max.v ? b.max : a.max };
    }
    this.buckets.length = 0;
    merged.forEach((bucket, j) => (this.buckets[j] = bucket));
    this.bucketSize *= 2;
  }

  /** Rows seen so far. */
  get count(): number {
    return this.rows;
  }

  result(): T[] {
    if (this.pending) return this.pending.map((row, i) => (i === 0 && this.first !== null ? this.first : this.retain(row)));
    const picks: { row: T; index: number }[] = [];
    for (const bucket of this.buckets) {
      if (!bucket) continue;
      const [a, b] = bucket.min.index <= bucket.max.index ? [bucket.min, bucket.max] : [bucket.max, bucket.min];
      picks.push(a);
      if (b.index !== a.index) picks.push(b);
    }
    const out: T[] = [];
    if (this.first !== null && picks[0]?.index !== 0) out.push(this.first);
    for (const pick of picks) out.push(pick.row);
    if (this.last !== null && picks.at(-1)?.index !== this.rows - 1) out.push(this.retain(this.last));
    return out;
  }
}

interface Chosen<T> {
  row: T;
  index: number;
  v: number;
  retained: boolean;
}

interface Bucket<T> {
  min: Chosen<T>;
  max: Chosen<T>;
}
