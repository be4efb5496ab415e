/** What the heap needs of an item: its key and slots where the heap keeps its bookkeeping. */
export interface HeapItem {
  heapKey: number;
  heapIndex: number;
  /** Set by push: equal keys come out in the order they went in. */
  heapSeq: number;
}

/** A binary min-heap on `heapKey` with O(log n) removal of any item (by its stored index). */
export class MinHeap<T extends HeapItem> {
  private readonly items: T[] = [];
  private seq = 0;

  get size(): number {
    return this.items.length;
  }

  peek(): T | undefined {
    return this.items[0];
  }

  has(item: T): boolean {
    return item.heapIndex >= 0 && this.items[item.heapIndex] === item;
  }

  push(item: T): void {
    item.heapSeq = this.seq++;
    item.heapIndex = this.items.length;
    this.items.push(item);
    this.up(item.heapIndex);
  }

  pop(): T | undefined {
    const top = this.items[0];
    if (top) this.remove(top);
    return top;
  }

  remove(item: T): boolean {
    if (!this.has(item)) return false;
    const index = item.heapIndex;
    const last = this.items.pop() as T;
    item.heapIndex = -1;
    if (last !== item) {
      this.items[index] = last;
      last.heapIndex = index;
      this.down(index);
      this.up(last.heapIndex);
    }
    return true;
  }

  /** Empties the heap, returning what it held. */
  drain(): T[] {
    const all = this.items.splice(0);
    for (const item of all) item.heapIndex = -1;
    return all;
  }

  private up(index: number): void {
    let i = index;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!this.less(i, parent)) break;
      this.swap(i, parent);
      i = parent;
    }
  }

  private down(index: number): void {
    let i = index;
    for (;;) {
      const left = 2 * i + 1;
      const right = left + 1;
      let smallest = i;
      if (left < this.items.length && this.less(left, smallest)) smallest = left;
      if (right < this.items.length && this.less(right, smallest)) smallest = right;
      if (smallest === i) return;
      this.swap(i, smallest);
      i = smallest;
    }
  }

  private less(a: number, b: number): boolean {
    const itemA = this.items[a] as T;
    const itemB = this.items[b] as T;
    return itemA.heapKey < itemB.heapKey || (itemA.heapKey === itemB.heapKey && itemA.heapSeq < itemB.heapSeq);
  }

  private swap(a: number, b: number): void {
    const itemA = this.items[a] as T;
    const itemB = this.items[b] as T;
    this.items[a] = itemB;
    this.items[b] = itemA;
    itemA.heapIndex = b;
    itemB.heapIndex = a;
  }
}
