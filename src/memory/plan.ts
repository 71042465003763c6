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
  for (let v = 0; v < p.values.length; v++) checkBytes(p.values[v]!.bytes, v, 'value');
  const table = new BufferTable(p);
  let naiveBytes = naiveValueBytes(table, alignment);
  const inPlace = grantInPlace(table, p.steps);
  const slots = p.steps.length + 2;

  // Items: one per buffer root that occupies the arena, then one per non-empty scratch buffer.
  const items: PlacementItem[] = [];
  // The item of each buffer root (-1: none yet), and of each value (-1: not in the arena).
  const itemOfRoot = new Int32Array(table.size).fill(-1);
  const itemOfValue = new Int32Array(table.size).fill(-1);
  for (let v = 0; v < table.size; v++) {
    if (!table.occupiesArena(v)) continue;
    const root = table.find(v);
    if (itemOfRoot[root] === -1) {
      itemOfRoot[root] = items.length;
      items.push({ bytes: table.bytes[root]!, start: table.start[root]! + 1, end: table.end[root]! + 1 });
    }
    itemOfValue[v] = itemOfRoot[root]!;
  }
  const scratchItems: number[][] = [];
  for (let t = 0; t < p.steps.length; t++) {
    const sizes = p.steps[t]!.scratchBytes ?? [];
    const ids: number[] = [];
    for (let k = 0; k < sizes.length; k++) {
      const bytes = sizes[k]!;
      checkBytes(bytes, t, 'scratch buffer of step');
      if (bytes === 0) {
        ids.push(-1);
        continue;
      }
      naiveBytes += alignUp(bytes, alignment);
      items.push({ bytes, start: t + 1, end: t + 1 });
      ids.push(items.length - 1);
    }
    scratchItems.push(ids);
  }

  const placement = placeBuffers(items, slots, alignment);
  const valueOffsets = new Array<number>(p.values.length);
  for (let v = 0; v < p.values.length; v++) {
    const item = p.values[v]!.bytes === 0 ? -1 : itemOfValue[v]!;
    valueOffsets[v] = item < 0 ? -1 : placement.offsets[item]!;
  }
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

/** `what` and `n` name the buffer in the error ('value 3', 'scratch buffer of step 7'), made only on failure. */
function checkBytes(bytes: number, n: number, what: string): void {
  if (!Number.isFinite(bytes) || bytes < 0 || !Number.isInteger(bytes)) {
    throw new GraphError(`memory plan: ${what} ${n} has invalid byte size ${bytes}`);
  }
}
