import type { NumericArray, TensorType } from '../../dtype.js';
import { attrFloat, attrInt } from '../../graph/attributes.js';
import { SOFTMAX_SCALE_ATTR } from '../../graph/passes/fuse-softmax-scale.js';
import { MATH_KERNELS } from '../../wasm/math-kernels.js';
import {
  chooseVariant, onWasmOrReference, requireInput, viewsInWasm, type Data, type KernelDef, type PrepareContext, type PreparedKernel, type VariantDef,
} from '../kernel.js';
import { BCAST_MODULE } from '../elementwise/binary.wasm.js';
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

interface SoftmaxProblem {
  kind: SoftmaxKind;
  x: TensorType;
  outer: number;
  n: number;
  inner: number;
  /** The attention scale fused by fuse-softmax-scale (softmax only; 1 otherwise). */
  scale: number;
}

/** The reference: stable softmax per row, or per column of (n, inner) blocks reading whole rows. */
function prepareSoftmaxJs(p: SoftmaxProblem): PreparedKernel {
  const { kind, x, outer, n, inner, scale } = p;
  return {
    outputs: [{ dtype: x.dtype, shape: [...x.shape] }],
    detail: `js ${kind} ${inner === 1 ? 'rows' : 'columns (inner axis > 1)'}`,
    inPlace: 0,
    // Per-column running max and sum for the strided (inner > 1) case.
    scratch: inner > 1 ? [{ dtype: 'float64', length: 2 * inner }] : [],
    run(inputs, outputs, scratch) {
      const xd = inputs[0] as NumericArray;
      const y = outputs[0] as NumericArray;
      if (inner === 1) {
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
}

/** Softmax along the last axis: one wasm call over every row. */
function prepareSoftmaxRowsWasm(p: SoftmaxProblem, ctx: PrepareContext): PreparedKernel {
  const wasm = ctx.options.wasm!;
  const k = wasm.use(MATH_KERNELS)!;
  const { x, outer, n, scale } = p;
  // X or Y outside wasm memory (a hand-made run): the JS rows, counted.
  const kernel = onWasmOrReference(prepareSoftmaxJs(p), `wasm softmax rows ${outer}x${n}`, (inputs, outputs) => {
    const xs = inputs[0] as Float32Array;
    const ys = outputs[0] as Float32Array;
    if (!viewsInWasm(wasm, xs, ys)) return false;
    wasm.invokeRows(k.softmax, [xs.byteOffset, ys.byteOffset, outer, n, scale], outer, 4 * n, [0, 1], 2);
    return true;
  });
  return { ...kernel, scratch: undefined };
}

/**
 * The JS columns for a wasm variant whose scratch is float32: they keep their float64 running max and sum in an
 * array of their own, made on the first fallback.
 */
function softmaxColumnsFallback(p: SoftmaxProblem): PreparedKernel {
  const js = prepareSoftmaxJs(p);
  let acc: Data[] | undefined;
  return { ...js, run: (inputs, outputs) => js.run(inputs, outputs, (acc ??= [new Float64Array(2 * p.inner)])) };
}

/**
 * Softmax along a middle axis (the channel axis of NCHW): per (n, inner) block, the column maxima and sums
 * are folded row by row with the broadcast kernels, and exp runs on the whole block:
 * m = max_i x[i,:]; y = exp(x - m); s = Σ_i y[i,:]; y = y / s. Scratch holds m and s.
 */
function prepareSoftmaxColumnsWasm(p: SoftmaxProblem, ctx: PrepareContext): PreparedKernel {
  const wasm = ctx.options.wasm!;
  const b = wasm.use(BCAST_MODULE)!;
  const exp = wasm.use(MATH_KERNELS)!.unary.exp;
  const { x, outer, n, inner } = p;
  const block = n * inner;
  const row = (k: typeof b.add, a: number, c: number, out: number, len: number): void => k(a, c, out, 1, 1, 1, len, 0, 0, 0, 0, 0, 0, 0);
  // X, Y or the scratch outside wasm memory (a hand-made run): the JS columns, counted.
  const kernel = onWasmOrReference(softmaxColumnsFallback(p), `wasm softmax columns ${outer} x ${n}x${inner}`, (inputs, outputs, scratch) => {
    const xs = inputs[0] as Float32Array;
    const ys = outputs[0] as Float32Array;
    const ms = scratch[0] as Float32Array;
    if (!viewsInWasm(wasm, xs, ys, ms)) return false;
    const x0 = xs.byteOffset;
    const y0 = ys.byteOffset;
    const m = ms.byteOffset;
    const s = m + 4 * inner;
    for (let o = 0; o < outer; o++) {
      const xb = x0 + 4 * o * block;
      const yb = y0 + 4 * o * block;
      row(b.max, xb, xb, m, inner);
      for (let i = 1; i < n; i++) row(b.max, m, xb + 4 * i * inner, m, inner);
      // y[i,:] = x[i,:] - m: B is one row, stepped 0 over the n rows.
      b.sub(xb, m, yb, 1, 1, n, inner, 0, 0, 4 * inner, 0, 0, 0, 0);
      exp(yb, yb, block);
      row(b.max, yb, yb, s, inner);
      for (let i = 1; i < n; i++) row(b.add, s, yb + 4 * i * inner, s, inner);
      b.div(yb, s, yb, 1, 1, n, inner, 0, 0, 4 * inner, 0, 0, 0, 0);
    }
    return true;
  });
  return { ...kernel, scratch: [{ dtype: 'float32', length: 2 * inner }] };
}

const SOFTMAX_VARIANTS: readonly VariantDef<SoftmaxProblem>[] = [
  { name: (p) => `${p.x.dtype === 'float32' ? 'f32' : p.x.dtype}_${p.kind}__js`, applies: () => true, placement: 'any', prepare: prepareSoftmaxJs },
  {
    name: 'f32_softmax_rows__wasmsimd',
    applies: (p, caps) => caps.wasm !== undefined && p.kind === 'softmax' && p.x.dtype === 'float32' && p.inner === 1 && caps.wasm.use(MATH_KERNELS) !== undefined,
    placement: 'wasm',
    prepare: prepareSoftmaxRowsWasm,
  },
  {
    name: 'f32_softmax_columns__wasmsimd',
    applies: (p, caps) =>
      caps.wasm !== undefined && p.kind === 'softmax' && p.x.dtype === 'float32' && p.inner > 1 && p.n > 0 && p.scale === 1 &&
      caps.wasm.use(MATH_KERNELS) !== undefined && caps.wasm.use(BCAST_MODULE) !== undefined,
    placement: 'wasm',
    prepare: prepareSoftmaxColumnsWasm,
  },
];

function makeSoftmax(opType: string, kind: SoftmaxKind): KernelDef {
  return {
    opType,
    prepare(ctx) {
      // X (any shape) -> Y (same shape), normalised along the axis
      const x = requireInput(ctx, 0);
      requireFloat(ctx, x.dtype);
      const { outer, n, inner } = softmaxSplit(ctx, x.shape);
      const scale = kind === 'softmax' ? attrFloat(ctx.node, SOFTMAX_SCALE_ATTR, 1) : 1;
      return chooseVariant(SOFTMAX_VARIANTS, { kind, x, outer, n, inner, scale }, ctx);
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

export const softmaxKernels: KernelDef[] = [
  makeSoftmax('Softmax', 'softmax'),
  makeSoftmax('LogSoftmax', 'logsoftmax'),
  makeSoftmax('Hardmax', 'hardmax'),
];
