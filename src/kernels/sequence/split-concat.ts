/** SplitToSequence and ConcatFromSequence (ONNX §SplitToSequence, §ConcatFromSequence). */
import { attrInt } from '../../graph/attributes.js';
import { allocData, sizeOf, type TensorData } from '../../dtype.js';
import { kernelError, type KernelDef, type PrepareContext } from '../kernel.js';
import { constantResult, copyRange, elementsOf, makeSequence, requireSequence, requireTensorValue } from './common.js';

// SplitToSequence: (input [.., d, ..], split? scalar s | 1-D sizes) -> sequence of slices along `axis`
// split absent: d slices of 1 (the axis dropped when keepdims=0); scalar s: ceil(d/s) slices of s (the last
// may be shorter); 1-D: slices of those sizes, which must sum to d. keepdims only applies without split.
const SplitToSequence: KernelDef = {
  opType: 'SplitToSequence',
  prepare(ctx) {
    const x = requireTensorValue(ctx, 0);
    const rank = x.shape.length;
    const axis = normalizeAxis(ctx, attrInt(ctx.node, 'axis', 0), rank);
    const d = x.shape[axis]!;
    const keepdims = attrInt(ctx.node, 'keepdims', 1) !== 0;
    const split = ctx.inputs[1] ? requireTensorValue(ctx, 1) : undefined;
    const sizes = splitSizes(ctx, split, d);
    const parts: TensorData[] = [];
    let start = 0;
    for (const size of sizes) {
      const part = sliceAxis(x, axis, start, size);
      if (split === undefined && !keepdims) part.shape.splice(axis, 1);
      parts.push(part);
      start += size;
    }
    return constantResult([makeSequence(parts, x.dtype)]);
  },
};

function splitSizes(ctx: PrepareContext, split: TensorData | undefined, d: number): number[] {
  if (split === undefined) return new Array<number>(d).fill(1);
  if (split.dtype !== 'int32' && split.dtype !== 'int64') throw kernelError(ctx, `split must be int32 or int64, got ${split.dtype}`);
  const values = Array.from(split.data as ArrayLike<number | bigint>, Number);
  if (split.shape.length === 0) {
    const s = values[0]!;
    if (!(s > 0)) throw kernelError(ctx, `split ${s} must be positive`);
    const n = Math.ceil(d / s);
    return Array.from({ length: n }, (_, i) => Math.min(s, d - i * s));
  }
  if (split.shape.length !== 1) throw kernelError(ctx, `split must be a scalar or 1-D, got shape [${split.shape}]`);
  if (values.some((v) => v < 0)) throw kernelError(ctx, `split sizes must not be negative: [${values}]`);
  const total = values.reduce((a, b) => a + b, 0);
  if (total !== d) throw kernelError(ctx, `split sizes [${values}] sum to ${total}, not the axis length ${d}`);
  return values;
}

/** `size` entries of `t` along `axis` from `start` (the axis kept). */
function sliceAxis(t: TensorData, axis: number, start: number, size: number): TensorData {
  const outer = sizeOf(t.shape.slice(0, axis));
  const inner = sizeOf(t.shape.slice(axis + 1));
  const d = t.shape[axis]!;
  const shape = [...t.shape];
  shape[axis] = size;
  const data = allocData(t.dtype, sizeOf(shape));
  for (let o = 0; o < outer; o++) copyRange(t.data, (o * d + start) * inner, data, o * size * inner, size * inner);
  return { dtype: t.dtype, shape, data };
}

// ConcatFromSequence: (sequence of tensors) -> one tensor joined along `axis` (new_axis=0: like Concat, other dims
// equal) or stacked along a new axis at `axis` (new_axis=1: all shapes equal; axis in [-r-1, r]).
const ConcatFromSequence: KernelDef = {
  opType: 'ConcatFromSequence',
  prepare(ctx) {
    const elems = elementsOf(requireSequence(ctx, 0));
    const axisAttr = attrInt(ctx.node, 'axis');
    if (axisAttr === undefined) throw kernelError(ctx, "attribute 'axis' is required");
    const newAxis = attrInt(ctx.node, 'new_axis', 0) === 1;
    if (elems.length === 0) throw kernelError(ctx, 'cannot concatenate an empty sequence');
    const first = elems[0]!;
    const rank = first.shape.length;
    const axis = normalizeAxis(ctx, axisAttr, newAxis ? rank + 1 : rank);
    // Stacking is concatenation of the inputs reshaped with a 1 inserted at `axis`.
    const parts = newAxis ? elems.map((e) => ({ ...e, shape: [...e.shape.slice(0, axis), 1, ...e.shape.slice(axis)] })) : elems;
    for (const p of parts) {
      if (p.dtype !== first.dtype) throw kernelError(ctx, `elements must share one dtype (${first.dtype} vs ${p.dtype})`);
      const ok = p.shape.length === parts[0]!.shape.length && p.shape.every((dim, i) => i === axis || dim === parts[0]!.shape[i]);
      if (!ok) throw kernelError(ctx, `element shapes [${parts[0]!.shape}] and [${p.shape}] cannot be joined on axis ${axis}`);
    }
    return constantResult([concatAxis(parts, axis)]);
  },
};

function concatAxis(parts: TensorData[], axis: number): TensorData {
  const base = parts[0]!.shape;
  const total = parts.reduce((a, p) => a + p.shape[axis]!, 0);
  const shape = [...base];
  shape[axis] = total;
  const outer = sizeOf(base.slice(0, axis));
  const inner = sizeOf(base.slice(axis + 1));
  const data = allocData(parts[0]!.dtype, sizeOf(shape));
  let offset = 0;
  for (const p of parts) {
    const block = p.shape[axis]! * inner;
    for (let o = 0; o < outer; o++) copyRange(p.data, o * block, data, o * total * inner + offset, block);
    offset += block;
  }
  return { dtype: parts[0]!.dtype, shape, data };
}

function normalizeAxis(ctx: PrepareContext, axis: number, rank: number): number {
  if (axis < -rank || axis >= rank) throw kernelError(ctx, `axis ${axis} is out of range for rank ${rank}`);
  return axis < 0 ? axis + rank : axis;
}

export const splitConcatKernels: KernelDef[] = [SplitToSequence, ConcatFromSequence];
