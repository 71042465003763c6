/** The planner's input and output: plain data, no operators, only sizes and lifetimes. */

export interface MemoryProblem {
  /** Byte size of each value (index = value id). external values (weights, constants) get no arena space. */
  values: { bytes: number; external?: boolean }[];
  /** The schedule, in order. */
  steps: MemoryStep[];
  /** Values alive before step 0 (graph inputs, copied into the arena before the run). */
  inputs: number[];
  /** Values that must survive the last step (graph outputs). */
  outputs: number[];
  /** value shares the buffer of `of` (views such as Reshape); chains resolve transitively; lifetimes merge. */
  aliases?: { value: number; of: number }[];
}

export interface MemoryStep {
  reads: number[];
  writes: number[];
  scratchBytes: number[];
  /** Requests to write `output` over `input`'s buffer; granted only when that is safe (see inplace.ts). */
  inPlace?: { output: number; input: number }[];
}

export interface MemoryPlan {
  arenaBytes: number;
  /** Byte offset per value id; -1 for external values, 0-byte values and values never live. */
  valueOffsets: number[];
  /** Per step, per scratch buffer. A 0-byte scratch buffer gets offset 0 (an empty view overlaps nothing). */
  scratchOffsets: number[][];
  /** The in-place requests that were granted. */
  inPlace: { step: number; output: number; input: number }[];
  /** The largest sum of bytes live at any one step (after alias/in-place merging). */
  lowerBound: number;
  /** Sum of all intermediate + input + output + scratch buffers with no reuse, each rounded up to the alignment. */
  naiveBytes: number;
}
