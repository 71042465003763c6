/**
 * Greedy-by-size arena placement (the strategy of TFLite's and MNN's planners): buffers go largest
 * first, each at the lowest aligned offset that overlaps no already placed buffer whose lifetime
 * intersects its own. Lifetimes are inclusive ranges of time slots [start, end] in [0, slots).
 *
 * Finding the placed buffers that conflict with [s, e] uses the fact that an interval intersects
 * [s, e] iff it contains s or starts in (s, e]: a segment tree over time answers both (stabbing
 * through canonical nodes, starts through per-leaf lists with subtree counts), so placing n buffers
 * costs O(n log T + sum of k log k) with k the conflicts of each, not O(n^2).
 */
export interface PlacementItem {
  bytes: number;
  start: number;
  end: number;
}

export interface Placement {
  offsets: number[];
  /** The end of the highest placed byte, rounded up to the alignment. */
  arenaBytes: number;
}

export function alignUp(n: number, alignment: number): number {
  return Math.ceil(n / alignment) * alignment;
}

export function placeBuffers(items: readonly PlacementItem[], slots: number, alignment: number): Placement {
  const offsets = new Array<number>(items.length).fill(-1);
  const index = new LifetimeIndex(Math.max(1, slots));
  let arenaBytes = 0;
  const conflicts: number[] = [];
  for (const id of placementOrder(items)) {
    const item = items[id]!;
    conflicts.length = 0;
    index.collectIntersecting(item.start, item.end, conflicts);
    const offset = lowestFreeOffset(item.bytes, conflicts, items, offsets, alignment);
    offsets[id] = offset;
    index.insert(id, item.start, item.end);
    arenaBytes = Math.max(arenaBytes, alignUp(offset + item.bytes, alignment));
  }
  return { offsets, arenaBytes };
}

/** Largest first; ties by earlier start, then id, so plans are deterministic. */
function placementOrder(items: readonly PlacementItem[]): number[] {
  const order = items.map((_, i) => i);
  order.sort((a, b) => items[b]!.bytes - items[a]!.bytes || items[a]!.start - items[b]!.start || a - b);
  return order;
}

/** Sweeps the conflicting buffers by offset and returns the first aligned gap of `bytes`. */
function lowestFreeOffset(
  bytes: number,
  conflicts: number[],
  items: readonly PlacementItem[],
  offsets: readonly number[],
  alignment: number,
): number {
  conflicts.sort((a, b) => offsets[a]! - offsets[b]!);
  let candidate = 0;
  for (const other of conflicts) {
    const lo = offsets[other]!;
    if (lo >= candidate + bytes) break;
    candidate = Math.max(candidate, alignUp(lo + items[other]!.bytes, alignment));
  }
  return candidate;
}

/** A segment tree over time slots holding placed lifetimes (see the file comment). */
class LifetimeIndex {
  private readonly leaves: number;
  /** Per tree node: ids whose lifetime's canonical decomposition includes the node (created on first use). */
  private readonly covering: (number[] | undefined)[];
  /** Per leaf: ids whose lifetime starts at that slot; per node: how many starts lie below it. */
  private readonly startsAt: (number[] | undefined)[];
  private readonly startCount: Int32Array;

  constructor(slots: number) {
    let leaves = 1;
    while (leaves < slots) leaves *= 2;
    this.leaves = leaves;
    this.covering = new Array<number[] | undefined>(2 * leaves);
    this.startsAt = new Array<number[] | undefined>(leaves);
    this.startCount = new Int32Array(2 * leaves);
  }

  insert(id: number, start: number, end: number): void {
    for (let l = start + this.leaves, r = end + this.leaves + 1; l < r; l >>= 1, r >>= 1) {
      if (l & 1) push(this.covering, l++, id);
      if (r & 1) push(this.covering, --r, id);
    }
    push(this.startsAt, start, id);
    for (let node = start + this.leaves; node >= 1; node >>= 1) this.startCount[node] += 1;
  }

  /** Appends to `out` every inserted lifetime that intersects [start, end], each once. */
  collectIntersecting(start: number, end: number, out: number[]): void {
    for (let node = start + this.leaves; node >= 1; node >>= 1) {
      const ids = this.covering[node];
      if (ids) for (const id of ids) out.push(id);
    }
    if (end > start) this.collectStarts(1, 0, this.leaves - 1, start + 1, end, out);
  }

  private collectStarts(node: number, lo: number, hi: number, from: number, to: number, out: number[]): void {
    if (hi < from || lo > to || this.startCount[node] === 0) return;
    if (lo === hi) {
      for (const id of this.startsAt[lo]!) out.push(id);
      return;
    }
    const mid = (lo + hi) >> 1;
    this.collectStarts(2 * node, lo, mid, from, to, out);
    this.collectStarts(2 * node + 1, mid + 1, hi, from, to, out);
  }
}

function push(lists: (number[] | undefined)[], at: number, id: number): void {
  const list = lists[at];
  if (list) list.push(id);
  else lists[at] = [id];
}
