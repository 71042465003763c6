/**
 * The broadcast engine shared by every binary op, the variadic ops and Where.
 *
 * Numpy (multidirectional) broadcasting, ONNX docs/Broadcasting.md: shapes are right-aligned, and
 * each output dim is the common value of the inputs' dims, where a dim of 1 stretches.
 *
 * At prepare, the output shape is collapsed into as few loop dims as possible: dims of size 1 are
 * dropped and neighbouring dims are merged when every input walks them contiguously (or not at all).
 * [N,C,H,W] + [C,1,1] becomes a [N, C, H*W] loop where the second input has strides [0, 1, 0];
 * [M, D] + [D] becomes [M, D] with strides [0, 1]; equal shapes become one flat loop.
 * At run, an odometer walks the outer dims and hands the innermost dim to an inner loop.
 */
import { sizeOf } from '../../dtype.js';
import { kernelError, type PrepareContext } from '../kernel.js';

/** The loop structure of an N-input broadcast, fixed at prepare. */
export interface BroadcastPlan {
  outShape: number[];
  outSize: number;
  /** Collapsed loop dims, outermost first; at least one (a scalar loop is [1]). */
  dims: number[];
  /** strides[k][d]: element step of input k along collapsed dim d (0 where it is broadcast). */
  strides: number[][];
  /** Odometer counter, reused by every run (a prepared kernel runs one step at a time). */
  counter: number[];
}

/** The multidirectional broadcast of `shapes`, or a GraphError naming the node. */
export function broadcastShapes(ctx: PrepareContext, shapes: readonly (readonly number[])[]): number[] {
  const rank = Math.max(0, ...shapes.map((s) => s.length));
  const out = new Array<number>(rank).fill(1);
  for (let d = 0; d < rank; d++) {
    let dim = 1;
    for (const s of shapes) {
      const k = s.length - rank + d;
      const v = k >= 0 ? s[k] : 1;
      if (v === 1) continue;
      if (dim !== 1 && v !== dim) {
        throw kernelError(ctx, `shapes ${shapes.map((x) => `[${x.join(',')}]`).join(' and ')} cannot be broadcast together`);
      }
      dim = v;
    }
    // A 0 dim wins over 1 and must match any other non-1 dim (checked above).
    out[d] = dim;
  }
  return out;
}

/**
 * Unidirectional broadcast (PRelu slope, legacy Add/Mul with broadcast=1): `shape` must stretch to
 * `target` without changing it.
 */
export function checkUnidirectional(ctx: PrepareContext, shape: readonly number[], target: readonly number[], what: string): void {
  const ok =
    shape.length <= target.length &&
    shape.every((d, i) => d === 1 || d === target[target.length - shape.length + i]);
  if (!ok) throw kernelError(ctx, `${what} of shape [${shape.join(',')}] cannot be broadcast to [${target.join(',')}]`);
}

/** Collapses the loops of `inputShapes` broadcast to `outShape` (which they must be compatible with). */
export function planBroadcast(outShape: readonly number[], inputShapes: readonly (readonly number[])[]): BroadcastPlan {
  const rank = outShape.length;
  const n = inputShapes.length;
  // Contiguous strides of each input, right-aligned to the output, 0 where broadcast.
  const full = inputShapes.map((s) => {
    const st = new Array<number>(rank).fill(0);
    let acc = 1;
    for (let d = rank - 1; d >= 0; d--) {
      const k = s.length - rank + d;
      const v = k >= 0 ? s[k] : 1;
      st[d] = v === 1 ? 0 : acc;
      acc *= v;
    }
    return st;
  });
  const dims: number[] = [];
  const strides: number[][] = inputShapes.map(() => []);
  for (let d = 0; d < rank; d++) {
    const size = outShape[d];
    if (size === 1) continue;
    const last = dims.length - 1;
    // Merge into the previous loop dim when every input steps through both as one contiguous run.
    const mergeable = last >= 0 && full.every((st, k) => strides[k][last] === st[d] * size);
    if (mergeable) {
      dims[last] *= size;
      for (let k = 0; k < n; k++) strides[k][last] = full[k][d];
    } else {
      dims.push(size);
      for (let k = 0; k < n; k++) strides[k].push(full[k][d]);
    }
  }
  if (dims.length === 0) {
    dims.push(1);
    for (const s of strides) s.push(0);
  }
  return { outShape: outShape.slice(), outSize: sizeOf(outShape), dims, strides, counter: new Array<number>(dims.length).fill(0) };
}

/** Processes `n` output elements starting at `o`, reading inputs from `ia`/`ib` with steps `sa`/`sb` (each 0 or 1 or more). */
export type BinaryInner = (out: any, o: number, a: any, ia: number, sa: number, b: any, ib: number, sb: number, n: number) => void;

/** Runs a two-input plan: the odometer walks the outer dims, `inner` does the innermost one. */
export function runBinaryPlan(plan: BroadcastPlan, a: any, b: any, out: any, inner: BinaryInner): void {
  if (plan.outSize === 0) return;
  const { dims, strides, counter } = plan;
  const r = dims.length - 1;
  const n = dims[r];
  const as = strides[0];
  const bs = strides[1];
  const sa = as[r];
  const sb = bs[r];
  if (r === 0) {
    inner(out, 0, a, 0, sa, b, 0, sb, n);
    return;
  }
  counter.fill(0);
  let ia = 0;
  let ib = 0;
  for (let o = 0; o < plan.outSize; o += n) {
    inner(out, o, a, ia, sa, b, ib, sb, n);
    // Advance the odometer over dims r-1 .. 0, rewinding each dim that wraps.
    for (let d = r - 1; d >= 0; d--) {
      ia += as[d];
      ib += bs[d];
      if (++counter[d] < dims[d]) break;
      counter[d] = 0;
      ia -= as[d] * dims[d];
      ib -= bs[d] * dims[d];
    }
  }
}

/** Like BinaryInner with a third input (Where's condition first). */
export type TernaryInner = (
  out: any, o: number, c: any, ic: number, sc: number, a: any, ia: number, sa: number, b: any, ib: number, sb: number, n: number,
) => void;

/** Runs a three-input plan; same odometer as runBinaryPlan. */
export function runTernaryPlan(plan: BroadcastPlan, c: any, a: any, b: any, out: any, inner: TernaryInner): void {
  if (plan.outSize === 0) return;
  const { dims, strides, counter } = plan;
  const r = dims.length - 1;
  const n = dims[r];
  const [cs, as, bs] = strides;
  counter.fill(0);
  let ic = 0;
  let ia = 0;
  let ib = 0;
  for (let o = 0; o < plan.outSize; o += n) {
    inner(out, o, c, ic, cs[r], a, ia, as[r], b, ib, bs[r], n);
    for (let d = r - 1; d >= 0; d--) {
      ic += cs[d];
      ia += as[d];
      ib += bs[d];
      if (++counter[d] < dims[d]) break;
      counter[d] = 0;
      ic -= cs[d] * dims[d];
      ia -= as[d] * dims[d];
      ib -= bs[d] * dims[d];
    }
  }
}
