/** Agreement of the quantized model's outputs with the float model's: cosine similarity, max |error|, top-1. */
import type { Tensor } from '../session/tensor.js';

export interface OutputComparison {
  output: string;
  cosine: number;
  maxAbsError: number;
  /** For classifier-shaped outputs ([1, C] or [C]): whether both models rank the same class first. */
  top1Agrees?: boolean;
}

/** cos(a, b) = a·b / (|a| |b|); 1 when both are all zero. */
export function cosineSimilarity(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let dot = 0;
  let na = 0;
  let nb = 0;
  for (let i = 0; i < a.length; i++) {
    dot += a[i]! * b[i]!;
    na += a[i]! * a[i]!;
    nb += b[i]! * b[i]!;
  }
  if (na === 0 && nb === 0) return 1;
  if (na === 0 || nb === 0) return 0;
  return dot / Math.sqrt(na * nb);
}

export function maxAbsDifference(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

export function argMax(a: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < a.length; i++) if (a[i]! > a[best]!) best = i;
  return best;
}

function isClassifierShape(dims: readonly number[]): boolean {
  const big = dims.filter((d) => d !== 1);
  return big.length === 1 && big[0]! > 1 && dims.length <= 2;
}

export function compareOutput(name: string, reference: Tensor, actual: Tensor): OutputComparison {
  const a = toNumbers(reference);
  const b = toNumbers(actual);
  const result: OutputComparison = { output: name, cosine: cosineSimilarity(a, b), maxAbsError: maxAbsDifference(a, b) };
  if (isClassifierShape(reference.dims)) result.top1Agrees = argMax(a) === argMax(b);
  return result;
}

function toNumbers(t: Tensor): ArrayLike<number> {
  const d = t.data;
  if (d instanceof BigInt64Array || d instanceof BigUint64Array) return Array.from(d, Number);
  if (Array.isArray(d)) return [];
  return d as ArrayLike<number>;
}
