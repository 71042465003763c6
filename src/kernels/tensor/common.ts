import type { Data, TensorData } from '../../dtype.js';
import { InputError, nodeLabel } from '../../errors.js';
import type { Node } from '../../loader/model.js';
import { kernelError, type PrepareContext } from '../kernel.js';

/**
 * Element access that works for every storage (typed arrays, BigInt64Array, string[]):
 * the tensor kernels only move elements, so they never need to know what the elements are.
 */
export interface Elems {
  [index: number]: unknown;
  length: number;
}

export function elems(d: Data): Elems {
  return d as unknown as Elems;
}

/** Row-major strides of `shape` (elements). */
export function stridesOf(shape: readonly number[]): number[] {
  const s = new Array<number>(shape.length);
  let acc = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    s[i] = acc;
    acc *= shape[i]!;
  }
  return s;
}

/** Maps a possibly negative axis into [0, rank); `rank` is the rank the axis refers to. */
export function normalizeAxis(ctx: PrepareContext, axis: number, rank: number, what = 'axis'): number {
  if (!Number.isInteger(axis) || axis < -rank || axis >= rank) {
    throw kernelError(ctx, `${what} ${axis} is out of range for rank ${rank}`);
  }
  return axis < 0 ? axis + rank : axis;
}

/** Reads an integer tensor (int32/int64/...) as plain numbers. */
export function intValues(t: TensorData): number[] {
  const out = new Array<number>(t.data.length);
  for (let i = 0; i < t.data.length; i++) out[i] = Number(t.data[i]);
  return out;
}

/** Index inputs are int32 or int64; anything else is a graph error. */
export function checkIndexType(ctx: PrepareContext, dtype: string, what: string): void {
  if (dtype !== 'int32' && dtype !== 'int64') throw kernelError(ctx, `${what} must be int32 or int64, got ${dtype}`);
}

/**
 * Copies n elements; typed-array blocks go through TypedArray.set (a memcpy), short float32 runs and
 * string tensors through a plain loop. Both arrays hold the same dtype.
 */
export function copyBlock(src: Data, srcOff: number, dst: Data, dstOff: number, n: number): void {
  // Measured (V8, Node 20): set(subarray) costs ~35 ns whatever n up to a few hundred; a float32 index
  // loop wins below ~24 elements. A loop shared by every dtype is ~30 ns/element, so it is the fallback
  // only for string tensors.
  if (src instanceof Float32Array) {
    if (n < 24) copyFloat32(src, srcOff, dst as Float32Array, dstOff, n);
    else (dst as Float32Array).set(src.subarray(srcOff, srcOff + n), dstOff);
    return;
  }
  if (!Array.isArray(src)) {
    // Same dtype on both sides, so viewing them as one typed-array type is sound.
    (dst as unknown as Float64Array).set((src as unknown as Float64Array).subarray(srcOff, srcOff + n), dstOff);
    return;
  }
  const s = elems(src);
  const d = elems(dst);
  for (let i = 0; i < n; i++) d[dstOff + i] = s[srcOff + i];
}

function copyFloat32(src: Float32Array, srcOff: number, dst: Float32Array, dstOff: number, n: number): void {
  for (let i = 0; i < n; i++) dst[dstOff + i] = src[srcOff + i]!;
}

/** A run-time index out of [-dim, dim) is an input error naming the node, never a silent garbage read. */
export function badIndex(node: Node, index: number, dim: number, what = 'index'): InputError {
  return new InputError(`${nodeLabel(node)}: ${what} ${index} is out of range for a dimension of size ${dim}`);
}

/** The numeric value of element i of an index array, with negative indices wrapped once. */
export function wrapIndex(node: Node, indices: Data, i: number, dim: number): number {
  let v = Number(indices[i]);
  if (v < 0) v += dim;
  if (!(v >= 0 && v < dim)) throw badIndex(node, Number(indices[i]), dim);
  return v;
}

/** A scalar or one-element tensor's value as a number. */
export function scalarValue(ctx: PrepareContext, t: TensorData, what: string): number {
  if (t.data.length !== 1) throw kernelError(ctx, `${what} must have exactly one element, got ${t.data.length}`);
  return Number(t.data[0]);
}
