import type { NumericArray } from '../../dtype.js';
import { attrFloat, attrInt } from '../../graph/attributes.js';
import { SOFTMAX_SCALE_ATTR } from '../../graph/passes/fuse-softmax-scale.js';
import { MATH_KERNELS, wasmSoftmaxRows, type WasmMathKernels } from '../../wasm/math-kernels.js';
import type { WasmContext } from '../../wasm/context.js';
import { jsFallbacks, ranOnWasm, requireInput, type KernelDef, type PrepareContext } from '../kernel.js';
import { normalizeAxis, product, requireFloat, splitAt } from './common.js';

export type SoftmaxKind = 'softmax' | 'logsoftmax' | 'hardmax';

/**
 * The (outer, n, inner) view the op normalises over.
 * Opset < 13: the input is coerced to 2-D [prod(d[:axis]), prod(d[axis:])] (axis default 1).
 * Opset >= 13: a single axis (default -1), the other dims untouched.
 */
function softmaxSplit(ctx: PrepareContext, shape: readonly number[]): { outer: number; n: number; inner: number } {
  const rank = shape.length;
  if (ctx.opset < 13) {
    const axis = normalizeAxis(ctx, attrInt(ctx.node, 'axis', 1), Math.max(rank, 1));
    return { outer: product(shape, 0, axis), n: product(shape, axis), inner: 1 };
  }
  return splitAt(shape, normalizeAxis(ctx, attrInt(ctx.node, 'axis', -1), rank));
}

/**
 * Numerically stable softmax: exp(x - max) / Σ exp(x - max); log-softmax: x - max - log Σ exp(x - max).
 * `scale` multiplies x as it is read (the attention scale fused by fuse-softmax-scale; softmax only).
 */
export function softmaxStrided(kind: SoftmaxKind, x: NumericArray, y: NumericArray, b: number, n: number, s: number, scale = 1): void {
  if (n === 0) return;
  let m = -Infinity;
  let mi = 0;
  for (let i = 0; i < n; i++) {
    const v = scale * x[b + i * s]!;
    if (v > m) {
      m = v;
      mi = i;
    }
  }
  if (kind === 'hardmax') {
    // One-hot of the first maximum (ONNX Hardmax).
    for (let i = 0; i < n; i++) y[b + i * s] = i === mi ? 1 : 0;
    return;
  }
  let sum = 0;
  if (kind === 'softmax') {
    for (let i = 0; i < n; i++) {
      const e = Math.exp(scale * x[b + i * s]! - m);
      y[b + i * s] = e;
      sum += e;
    }
    const inv = 1 / sum;
    for (let i = 0; i < n; i++) y[b + i * s]! *= inv;
    return;
  }
  for (let i = 0; i < n; i++) sum += Math.exp(x[b + i * s]! - m);
  const shift = m + Math.log(sum);
  for (let i = 0; i < n; i++) y[b + i * s] = x[b + i * s]! - shift;
}

function makeSoftmax(opType: string, kind: SoftmaxKind): KernelDef {
  return {
    opType,
    prepare(ctx) {
      // X (any shape) -> Y (same shape), normalised along the axis
      const x = requireInput(ctx, 0);
      requireFloat(ctx, x.dtype);
      const { outer, n, inner } = softmaxSplit(ctx, x.shape);
      const scale = kind === 'softmax' ? attrFloat(ctx.node, SOFTMAX_SCALE_ATTR, 1) : 1;
      const wasm = kind === 'softmax' && inner === 1 && x.dtype === 'float32' ? wasmSoftmax(ctx) : undefined;
      const fallbacks = jsFallbacks();
      return {
        outputs: [{ dtype: x.dtype, shape: [...x.shape] }],
        detail: wasm !== undefined ? `wasm ${kind} rows` : `js ${kind} ${inner === 1 ? 'rows' : 'columns (inner axis > 1)'}`,
        jsFallbacks: fallbacks,
        inPlace: 0,
        // Per-column running max and sum for the strided (inner > 1) case.
        scratch: inner > 1 ? [{ dtype: 'float64', length: 2 * inner }] : [],
        run(inputs, outputs, scratch) {
          const xd = inputs[0] as NumericArray;
          const y = outputs[0] as NumericArray;
          if (inner === 1) {
            // Last-axis fast path: unit stride; rows on wasm SIMD when the views are in its memory.
            if (wasm !== undefined && ranOnWasm(fallbacks, wasmSoftmaxRows(wasm.ctx, wasm.k, xd as Float32Array, y as Float32Array, outer, n, scale))) return;
            for (let o = 0; o < outer; o++) softmaxStrided(kind, xd, y, o * n, n, 1, scale);
            return;
          }
          const acc = scratch[0] as Float64Array;
          for (let o = 0; o < outer; o++) {
            if (kind === 'hardmax') for (let j = 0; j < inner; j++) softmaxStrided(kind, xd, y, o * n * inner + j, n, inner);
            else softmaxColumns(kind, xd, y, o * n * inner, n, inner, acc, scale);
          }
        },
      };
    },
  };
}

/**
 * Softmax over the middle axis of an (n, inner) block, one whole row of `inner` at a time so
 * every pass reads memory sequentially (e.g. the channel axis of NCHW).
 */
function softmaxColumns(kind: SoftmaxKind, x: NumericArray, y: NumericArray, b: number, n: number, inner: number, acc: Float64Array, scale = 1): void {
  if (n === 0) return;
  acc.fill(-Infinity, 0, inner);
  acc.fill(0, inner, 2 * inner);
  for (let i = 0; i < n; i++) {
    const r = b + i * inner;
    for (let j = 0; j < inner; j++) if (scale * x[r + j]! > acc[j]!) acc[j] = scale * x[r + j]!;
  }
  for (let i = 0; i < n; i++) {
    const r = b + i * inner;
    for (let j = 0; j < inner; j++) {
      const e = Math.exp(scale * x[r + j]! - acc[j]!);
      acc[inner + j]! += e;
      if (kind === 'softmax') y[r + j] = e;
    }
  }
  for (let i = 0; i < n; i++) {
    const r = b + i * inner;
    if (kind === 'softmax') for (let j = 0; j < inner; j++) y[r + j]! /= acc[inner + j]!;
    else for (let j = 0; j < inner; j++) y[r + j] = x[r + j]! - acc[j]! - Math.log(acc[inner + j]!);
  }
}

/** The wasm math kernels when the wasm backend is active and the engine compiled them. */
function wasmSoftmax(ctx: PrepareContext): { ctx: WasmContext; k: WasmMathKernels } | undefined {
  const w = ctx.options.wasm;
  const k = w?.use(MATH_KERNELS);
  return w === undefined || k === undefined ? undefined : { ctx: w, k };
}

export const softmaxKernels: KernelDef[] = [
  makeSoftmax('Softmax', 'softmax'),
  makeSoftmax('LogSoftmax', 'logsoftmax'),
  makeSoftmax('Hardmax', 'hardmax'),
];
