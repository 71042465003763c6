import { sizeOf, type TensorType } from '../../dtype.js';
import { attrInt } from '../../graph/attributes.js';
import { kernelError, type PrepareContext } from '../kernel.js';

/**
 * Where the scale / zero point of element x[o, a, i] lives, with x viewed as [outer, D, inner] around `axis`:
 * index = o·outerStride + ⌊a / blockSize⌋·axisStride + i·innerStride.
 * Per-tensor: all strides 0. Per-axis (opset 13): axisStride 1, blockSize 1. Blocked (opset 21):
 * the scale has x's rank with dim ⌈D / blockSize⌉ on `axis`.
 */
export interface QuantParamLayout {
  outer: number;
  axisDim: number;
  inner: number;
  blockSize: number;
  outerStride: number;
  axisStride: number;
  innerStride: number;
}

/** Lays out the scale of QuantizeLinear / DequantizeLinear for input `x` (ONNX Operators.md §QuantizeLinear). */
export function quantParamLayout(
  ctx: PrepareContext,
  x: TensorType,
  scale: TensorType,
  axisAttr: number,
  blockSize: number,
): QuantParamLayout {
  const rank = x.shape.length;
  const n = sizeOf(scale.shape);
  const perTensor = blockSize <= 0 && (scale.shape.length === 0 || n === 1);
  if (perTensor) {
    return { outer: 1, axisDim: sizeOf(x.shape), inner: 1, blockSize: 1, outerStride: 0, axisStride: 0, innerStride: 0 };
  }
  const axis = axisAttr < 0 ? axisAttr + rank : axisAttr;
  if (axis < 0 || axis >= rank) throw kernelError(ctx, `axis ${axisAttr} is out of range for input of rank ${rank}`);
  const outer = sizeOf(x.shape.slice(0, axis));
  const axisDim = x.shape[axis]!;
  const inner = sizeOf(x.shape.slice(axis + 1));
  if (blockSize <= 0) {
    if (scale.shape.length !== 1 || n !== axisDim) {
      throw kernelError(ctx, `per-axis scale must be 1-D of length ${axisDim} (dim ${axis} of x), got [${scale.shape}]`);
    }
    return { outer, axisDim, inner, blockSize: 1, outerStride: 0, axisStride: 1, innerStride: 0 };
  }
  const blocks = Math.ceil(axisDim / blockSize);
  const expected = x.shape.map((d, i) => (i === axis ? blocks : d));
  if (scale.shape.join(',') !== expected.join(',')) {
    throw kernelError(ctx, `blocked scale must have shape [${expected}] for block_size ${blockSize}, got [${scale.shape}]`);
  }
  return { outer, axisDim, inner, blockSize, outerStride: blocks * inner, axisStride: inner, innerStride: 1 };
}

/** The zero point must have the scale's shape (or be omitted). */
export function checkZeroPointShape(ctx: PrepareContext, scale: TensorType, zp: TensorType | undefined): void {
  if (zp === undefined) return;
  if (sizeOf(zp.shape) !== sizeOf(scale.shape)) {
    throw kernelError(ctx, `zero point shape [${zp.shape}] does not match scale shape [${scale.shape}]`);
  }
}

/**
 * The saturation range of an integer kernel's output: the type's [lo, hi], narrowed by the output_min /
 * output_max attributes of the tinfer-domain variants, where the QDQ fusion folds a Relu / Clip that
 * followed the operator (a clamp of the quantized value, see graph/passes/fuse-qdq.ts).
 */
export function fusedOutputRange(ctx: PrepareContext, lo: number, hi: number): [number, number] {
  if (ctx.node.domain !== 'tinfer') return [lo, hi];
  const min = Math.max(lo, attrInt(ctx.node, 'output_min', lo));
  const max = Math.min(hi, attrInt(ctx.node, 'output_max', hi));
  if (min > max) throw kernelError(ctx, `output_min ${min} is above output_max ${max}`);
  return [min, max];
}
