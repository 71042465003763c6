import { GraphError } from '../errors.js';
import { grantInPlace } from './inplace.js';
import { BufferTable } from './liveness.js';
import { alignUp, placeBuffers, type PlacementItem } from './placement.js';
import type { MemoryPlan, MemoryProblem } from './types.js';

/**
 * Plans one arena for a schedule: merge aliases and safe in-place requests into shared buffers,
 * take each buffer's live range, then place buffers and per-step scratch greedily by size.
 * Time slot 0 is "before step 0" (graph inputs), slot t+1 is step t, slot steps+1 is "after the run".
 */
export function planMemory(p: MemoryProblem, alignment = 64): MemoryPlan {
  if (!Number.isInteger(alignment) || alignment < 1) {
    throw new GraphError(`memory plan: alignment must be a positive integer, got ${alignment}`);
  }
  p.values.forEach((value, v) => checkBytes(value.bytes, `value ${v}`));
  const table = new BufferTable(p);
  let naiveBytes = naiveValueBytes(table, alignment);
  const inPlace = grantInPlace(table, p.steps);
  const slots = p.steps.length + 2;

  // Items: one per buffer root that occupies the arena, then one per non-empty scratch buffer.
  const items: PlacementItem[] = [];
  const itemOfRoot = new Map<number, number>();
  for (let v = 0; v < table.size; v++) {
    if (!table.occupiesArena(v)) continue;
    const root = table.find(v);
    if (!itemOfRoot.has(root)) {
      itemOfRoot.set(root, items.length);
      items.push({ bytes: table.bytes[root]!, start: table.start[root]! + 1, end: table.end[root]! + 1 });
    }
  }
  const scratchItems: number[][] = p.steps.map((step, t) =>
    (step.scratchBytes ?? []).map((bytes) => {
      checkBytes(bytes, `scratch buffer of step ${t}`);
      if (bytes === 0) return -1;
      naiveBytes += alignUp(bytes, alignment);
      items.push({ bytes, start: t + 1, end: t + 1 });
      return items.length - 1;
    }),
  );

  const placement = placeBuffers(items, slots, alignment);
  const valueOffsets = p.values.map((value, v) => {
    if (value.bytes === 0 || !table.occupiesArena(v)) return -1;
    return placement.offsets[itemOfRoot.get(table.find(v))!]!;
  });
  const scratchOffsets = scratchItems.map((ids) => ids.map((id) => (id < 0 ? 0 : placement.offsets[id]!)));
  return {
    arenaBytes: placement.arenaBytes,
    valueOffsets,
    scratchOffsets,
    inPlace,
    lowerBound: peakLiveBytes(items, slots),
    naiveBytes,
  };
}

/**
 * A no-reuse allocator gives every value its own buffer, except views (aliases), which share the
 * buffer of what they view. In-place reuse is reuse, so this is measured before in-place merging.
 * Each buffer is rounded up to the alignment, so greedy placement never exceeds it.
 */
function naiveValueBytes(table: BufferTable, alignment: number): number {
  let total = 0;
  for (let v = 0; v < table.size; v++) {
    if (table.find(v) === v && table.occupiesArena(v)) total += alignUp(table.bytes[v]!, alignment);
  }
  return total;
}

/** The largest sum of bytes live in any one time slot (a difference array over slots). */
function peakLiveBytes(items: readonly PlacementItem[], slots: number): number {
  const delta = new Float64Array(slots + 1);
  for (const it of items) {
    delta[it.start] += it.bytes;
    delta[it.end + 1] -= it.bytes;
  }
  let live = 0;
  let peak = 0;
  for (let t = 0; t < slots; t++) {
    live += delta[t]!;
    peak = Math.max(peak, live);
  }
  return peak;
}

function checkBytes(bytes: number, what: string): void {
  if (!Number.isFinite(bytes) || bytes < 0 || !Number.isInteger(bytes)) {
    throw new GraphError(`memory plan: ${what} has invalid byte size ${bytes}`);
  }
}
