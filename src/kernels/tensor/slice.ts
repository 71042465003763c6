import { sizeOf, type Data } from '../../dtype.js';
import { attrInts } from '../../graph/attributes.js';
import { blockCopyOk, kernelError, requireConstant, requireInput, type KernelDef, type PrepareContext } from '../kernel.js';
import { copyBlock, elems, intValues, normalizeAxis, stridesOf } from './common.js';

/**
 * A strided view copy: out[o0..] = in[base + Σ o_k·step_k·stride_k]. Shared by Slice and by
 * any kernel that reads a box of its input with a step per axis.
 */
export function planStridedCopy(
  inShape: readonly number[],
  starts: readonly number[],
  steps: readonly number[],
  outShape: readonly number[],
): (src: Data, dst: Data) => void {
  const total = sizeOf(outShape);
  if (total === 0) return () => {};
  const inStrides0 = stridesOf(inShape);
  let base = 0;
  for (let k = 0; k < outShape.length; k++) base += starts[k]! * inStrides0[k]!;
  ({ inShape, steps, outShape } = mergeContiguousTail(inShape, starts, steps, outShape));
  const inStrides = stridesOf(inShape);
  const r = outShape.length;
  if (r === 0) return (src, dst) => void (elems(dst)[0] = elems(src)[0]);
  const jump = inStrides.map((s, k) => s * steps[k]!);
  const n = outShape[r - 1]!;
  const step = jump[r - 1]!;
  const outer = total / n;
  const idx = new Int32Array(r);
  return (s, d) => {
    const src = elems(s);
    const dst = elems(d);
    idx.fill(0);
    let off = base;
    let o = 0;
    for (let row = 0; row < outer; row++) {
      if (step === 1) {
        copyBlock(s, off, d, o, n);
        o += n;
      } else for (let j = 0, p = off; j < n; j++, p += step) dst[o++] = src[p];
      for (let k = r - 2; k >= 0; k--) {
        off += jump[k]!;
        if (++idx[k]! < outShape[k]!) break;
        off -= jump[k]! * outShape[k]!;
        idx[k] = 0;
      }
    }
  };
}

/**
 * Folds the innermost axis into the one before it while the innermost is read whole with step 1 and the
 * one before has step 1: rows then become one contiguous run (e.g. a channel slice of NCHW copies
 * C·H·W elements at once instead of W at a time). Starts only matter through `base`, computed before.
 */
function mergeContiguousTail(inShape: readonly number[], starts: readonly number[], steps: readonly number[], outShape: readonly number[]) {
  const inS = [...inShape];
  const st = [...steps];
  const out = [...outShape];
  while (out.length >= 2) {
    const r = out.length;
    const whole = out[r - 1] === inS[r - 1] && st[r - 1] === 1 && starts[r - 1] === 0;
    if (!whole || st[r - 2] !== 1) break;
    out.splice(r - 2, 2, out[r - 2]! * out[r - 1]!);
    inS.splice(r - 2, 2, inS[r - 2]! * inS[r - 1]!);
    st.pop();
  }
  return { inShape: inS, steps: st, outShape: out };
}

/** Starts/ends/axes/steps from attributes (opset < 10) or inputs 1..4 (opset ≥ 10). */
function sliceParams(ctx: PrepareContext, rank: number) {
  let starts: number[];
  let ends: number[];
  let axes: number[] | undefined;
  let steps: number[] | undefined;
  if (ctx.opset < 10) {
    starts = attrInts(ctx.node, 'starts', []);
    ends = attrInts(ctx.node, 'ends', []);
    axes = attrInts(ctx.node, 'axes');
  } else {
    starts = intValues(requireConstant(ctx, 1));
    ends = intValues(requireConstant(ctx, 2));
    if (ctx.inputs[3] !== undefined) axes = intValues(requireConstant(ctx, 3));
    if (ctx.inputs[4] !== undefined) steps = intValues(requireConstant(ctx, 4));
  }
  if (ends.length !== starts.length) throw kernelError(ctx, `starts and ends have different lengths`);
  axes ??= starts.map((_, i) => i);
  steps ??= starts.map(() => 1);
  if (axes.length !== starts.length || steps.length !== starts.length) {
    throw kernelError(ctx, 'starts, ends, axes and steps must have the same length');
  }
  return { starts, ends, axes: axes.map((a) => normalizeAxis(ctx, a, rank)), steps };
}

// Slice: data [d...] -> [ceil((end_k - start_k) / step_k)...] after ONNX clamping
const Slice: KernelDef = {
  opType: 'Slice',
  prepare(ctx) {
    const x = requireInput(ctx, 0);
    const r = x.shape.length;
    const p = sliceParams(ctx, r);
    const start = new Array<number>(r).fill(0);
    const step = new Array<number>(r).fill(1);
    const outShape = x.shape.slice();
    const seen = new Set<number>();
    for (let i = 0; i < p.axes.length; i++) {
      const a = p.axes[i]!;
      if (seen.has(a)) throw kernelError(ctx, `axis ${a} is sliced twice`);
      seen.add(a);
      const dim = x.shape[a]!;
      const st = p.steps[i]!;
      if (st === 0) throw kernelError(ctx, 'steps must not be 0');
      // Spec: negative starts/ends add dim, then clamp to [0, dim] (step > 0) or [0, dim-1] / [-1, dim-1] (step < 0).
      // INT64_MAX / INT64_MIN arrive as ±9.2e18 and clamp the same way.
      let s = p.starts[i]!;
      let e = p.ends[i]!;
      if (s < 0) s += dim;
      if (e < 0) e += dim;
      if (st > 0) {
        s = Math.min(Math.max(s, 0), dim);
        e = Math.min(Math.max(e, 0), dim);
      } else {
        s = Math.min(Math.max(s, 0), dim - 1);
        e = Math.min(Math.max(e, -1), dim - 1);
      }
      const n = Math.max(0, Math.ceil((e - s) / st));
      outShape[a] = n;
      start[a] = n > 0 ? s : 0;
      step[a] = st;
    }
    const copy = planStridedCopy(x.shape, start, step, outShape);
    return {
      outputs: [{ dtype: x.dtype, shape: outShape }],
      jsOk: blockCopyOk(contiguousRun(x.shape, outShape, step)),
      run(inputs, outputs) {
        copy(inputs[0]!, outputs[0]!);
      },
    };
  },
};

/**
 * Elements copied per contiguous run: the trailing axes taken whole with step 1, times the first axis before
 * them that is cut with step 1 (0 when the last axis has another step).
 */
function contiguousRun(inShape: readonly number[], outShape: readonly number[], step: readonly number[]): number {
  let run = 1;
  for (let k = outShape.length - 1; k >= 0; k--) {
    if (step[k] !== 1 && outShape[k] !== 1) return k === outShape.length - 1 ? 0 : run;
    run *= outShape[k]!;
    if (outShape[k] !== inShape[k]) break;
  }
  return run;
}

export const sliceKernels: KernelDef[] = [Slice];
