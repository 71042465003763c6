import { GraphError } from '../errors.js';
import type { MemoryProblem } from './types.js';

/**
 * Live ranges of the planner's buffers. Values that alias each other (views) or were granted
 * in-place reuse share one buffer, tracked with a union-find over value ids. A buffer is live over
 * the inclusive step range [start, end]: start is the first step that writes it (-1 for graph
 * inputs), end the last step that reads it (steps.length for graph outputs).
 */
export const NOT_LIVE = Number.POSITIVE_INFINITY;

export class BufferTable {
  /** Union-find parent per value id. */
  private readonly parent: Int32Array;
  /** Per root: merged byte size (max of members), lifetime, and flags. */
  readonly bytes: number[];
  readonly start: number[];
  readonly end: number[];
  readonly external: boolean[];
  readonly holdsGraphInput: boolean[];
  readonly holdsGraphOutput: boolean[];

  constructor(readonly problem: MemoryProblem) {
    const n = problem.values.length;
    this.parent = new Int32Array(n);
    for (let v = 0; v < n; v++) this.parent[v] = v;
    this.bytes = problem.values.map((v) => v.bytes);
    this.external = problem.values.map((v) => v.external === true);
    this.start = new Array<number>(n).fill(NOT_LIVE);
    this.end = new Array<number>(n).fill(Number.NEGATIVE_INFINITY);
    this.holdsGraphInput = new Array<boolean>(n).fill(false);
    this.holdsGraphOutput = new Array<boolean>(n).fill(false);
    this.recordEvents();
    for (const a of problem.aliases ?? []) {
      this.checkId(a.value);
      this.checkId(a.of);
      this.union(a.value, a.of);
    }
  }

  get size(): number {
    return this.parent.length;
  }

  /** The root value id of v's buffer (with path halving). */
  find(v: number): number {
    const p = this.parent;
    while (p[v] !== v) {
      p[v] = p[p[v]!]!;
      v = p[v]!;
    }
    return v;
  }

  /** Merges the buffers of a and b; the merged buffer lives over both ranges and is as large as the larger. */
  union(a: number, b: number): number {
    const ra = this.find(a);
    const rb = this.find(b);
    if (ra === rb) return ra;
    this.parent[rb] = ra;
    this.bytes[ra] = Math.max(this.bytes[ra]!, this.bytes[rb]!);
    this.start[ra] = Math.min(this.start[ra]!, this.start[rb]!);
    this.end[ra] = Math.max(this.end[ra]!, this.end[rb]!);
    this.external[ra] = this.external[ra]! || this.external[rb]!;
    this.holdsGraphInput[ra] = this.holdsGraphInput[ra]! || this.holdsGraphInput[rb]!;
    this.holdsGraphOutput[ra] = this.holdsGraphOutput[ra]! || this.holdsGraphOutput[rb]!;
    return ra;
  }

  /** True when v's buffer is live at some step and takes arena space. */
  occupiesArena(v: number): boolean {
    const r = this.find(v);
    return !this.external[r] && this.bytes[r]! > 0 && this.start[r]! <= this.end[r]!;
  }

  /** Per-value lifetimes before any merging: writes and reads widen the range, inputs/outputs pin its ends. */
  private recordEvents(): void {
    const { steps, inputs, outputs } = this.problem;
    const touch = (v: number, t: number): void => {
      this.checkId(v);
      if (t < this.start[v]!) this.start[v] = t;
      if (t > this.end[v]!) this.end[v] = t;
    };
    for (let i = 0; i < inputs.length; i++) {
      touch(inputs[i]!, -1);
      this.holdsGraphInput[inputs[i]!] = true;
    }
    for (let t = 0; t < steps.length; t++) {
      const { writes, reads } = steps[t]!;
      for (let i = 0; i < writes.length; i++) touch(writes[i]!, t);
      for (let i = 0; i < reads.length; i++) touch(reads[i]!, t);
    }
    for (let i = 0; i < outputs.length; i++) {
      touch(outputs[i]!, steps.length);
      this.holdsGraphOutput[outputs[i]!] = true;
    }
  }

  private checkId(v: number): void {
    if (!Number.isInteger(v) || v < 0 || v >= this.parent.length) {
      throw new GraphError(`memory plan: value id ${v} is out of range [0, ${this.parent.length})`);
    }
  }
}
